"""Foreign endpoints: existing dora nodes (``DoraNode``) and ROS 2 topics (``RosTopic``) inside a System.

A foreign endpoint is a graph member that is not an lkbuild Component: it is wired like one (called with
output handles, its ``outputs`` passed to components) but lkbuild does not run its code. Each of its ports
has a *boundary format* that says how a value crosses between it and lkbuild's components (see
``lk_runtime.boundary`` and docs/foreign.md).

Example:
    >>> echo = DoraNode("echo", path="dora-echo", package="dora-echo==0.5.0",
    ...                 inputs=["x"], outputs={"x": "array"})            # doctest: +SKIP
    >>> echo(x=doubler.out)                                               # doctest: +SKIP
    >>> checker(x=echo.outputs.x)                                         # doctest: +SKIP
"""
from __future__ import annotations

import math
import re
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

from .component import InputPort, OutputPort, _CallOutputs, _Ports
from .errors import GraphError, user_location
from .node import Node
from .runtime_stubs.lk_runtime.boundary import INPUT_FORMATS, OUTPUT_FORMATS

TIMER = re.compile(r"^dora/timer/(?:(secs|millis|micros|nanos)/([0-9]+)|hz/([0-9]*\.?[0-9]+))$")
_PER_SECOND = {"secs": 1.0, "millis": 1e3, "micros": 1e6, "nanos": 1e9}


def timer_hz(source: str) -> Optional[float]:
    """The rate of a dora timer source (``dora/timer/millis/50`` -> 20.0); None for anything else."""
    m = TIMER.match(source)
    if m is None:
        return None
    if m.group(3) is not None:
        return float(m.group(3))
    period = int(m.group(2))
    return _PER_SECOND[m.group(1)] / period if period else None


class ForeignEndpoint:
    """What ``System`` and the IR need from a graph member that is not a Component."""

    kind = "foreign"

    def __init__(self, name: str, inputs: Mapping[str, str], outputs: Mapping[str, str],
                 node: Optional[Node], created_at):
        if not isinstance(name, str) or not name:
            raise GraphError(f"{type(self).__name__}: name must be a non-empty string. Received: name={name!r}",
                             created_at)
        if node is not None and not isinstance(node, Node):
            raise GraphError(f"{type(self).__name__} '{name}': node must be a Node. Received: node={node!r} "
                             f"(of type {type(node).__name__})", created_at)
        self.name = name
        self.node = node
        self._lk_created_at = created_at
        self._lk_formats_in = dict(inputs)
        self._lk_formats_out = dict(outputs)
        self._lk_input_names = tuple(inputs)
        self._lk_required = frozenset()  # a foreign endpoint fires on its own terms
        self._lk_wiring: Dict[str, OutputPort] = {}
        self._lk_output_ports = _Ports(self, tuple(outputs), "output", OutputPort)
        self.inputs = _Ports(self, self._lk_input_names, "input", InputPort)

    @property
    def outputs(self) -> _Ports:
        return self._lk_output_ports

    @property
    def out(self) -> OutputPort:
        names = tuple(self._lk_formats_out)
        if len(names) != 1:
            raise GraphError(f"{type(self).__name__} '{self.name}' has {len(names)} outputs "
                             f"({', '.join(names) or 'none'}); use {self.name}.outputs.<name>.", user_location())
        return self._lk_output_ports[names[0]]

    def __call__(self, *args: OutputPort, **kwargs: OutputPort):
        """Wire outputs into this endpoint's inputs; returns its output handle(s), as a Component does."""
        names = self._lk_input_names
        if len(args) > len(names):
            raise GraphError(f"{type(self).__name__} '{self.name}' takes {len(names)} inputs "
                             f"({', '.join(names) or 'none'}); got {len(args)} positional.", user_location())
        bound = dict(zip(names, args))
        for key, handle in kwargs.items():
            if key not in names:
                raise GraphError(f"{type(self).__name__} '{self.name}' has no input named '{key}'. Its inputs: "
                                 f"{', '.join(names) or 'none'}. Declare it in inputs=[...].", user_location(),
                                 code="LK210")
            bound[key] = handle
        for key, handle in bound.items():
            if not isinstance(handle, OutputPort):
                raise GraphError(f"{type(self).__name__} '{self.name}': input '{key}' must be wired with an output "
                                 f"handle such as camera.out. Received: {handle!r}", user_location(), code="LK210")
        self._lk_wiring.update(bound)
        ports = self._lk_output_ports
        if len(ports) == 1:
            return ports[0]
        return _CallOutputs(ports) if len(ports) else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}'>"


def _formats(value, what: str, allowed: Tuple[str, ...], default: str, owner: str, where) -> Dict[str, str]:
    """``["x", "y"]`` or ``{"x": "array"}`` -> {port: format}, every format checked."""
    if value is None:
        return {}
    if isinstance(value, str):
        value = [value]
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)):
        pairs = [(name, default) for name in value]
    else:
        raise GraphError(f"DoraNode '{owner}': {what} must be a list of names or a dict of name -> format. "
                         f"Received: {what}={value!r}", where, code="LK275")
    out: Dict[str, str] = {}
    for name, fmt in pairs:
        if not isinstance(name, str):
            raise GraphError(f"DoraNode '{owner}': {what} names must be strings. Received: {name!r}", where,
                             code="LK275")
        if fmt not in allowed:
            raise GraphError(f"DoraNode '{owner}': {what[:-1]} '{name}' has unknown format {fmt!r}; "
                             f"use one of {', '.join(allowed)}.", where, code="LK275")
        out[name] = fmt
    return out


class DoraNode(ForeignEndpoint):
    """An existing dora node (a node-hub package, a Rust/C++ binary, a script) as a member of a System.

    Args:
        name: its dora node id (letters, digits, ``_``).
        path: what dora starts: a console script of ``package``, an executable, or a file.
        args: its command-line arguments (a string, split as a POSIX shell would, or a list).
        env: environment variables for it.
        build: a command dora runs before starting it (``cargo build --release -p my-node``).
        package: the PyPI requirement that provides ``path`` (``"dora-echo==0.5.0"``); installed into the
            environment it runs in (its own venv when it conflicts with the components' requirements).
        timers: ``{input: Hz}``: dora timer inputs (``inputs`` may also map an input to ``dora/timer/...``).
        inputs: input names (format ``auto``) or ``{name: format}``; formats are ``INPUT_FORMATS``.
        outputs: output names (format ``raw``) or ``{name: format}``; formats are ``OUTPUT_FORMATS``.
        node: the Node whose machine it runs on (its own process either way).

    Example:
        >>> cam = DoraNode("camera", path="opencv-video-capture", package="opencv-video-capture==0.5.0",
        ...                timers={"tick": 30}, outputs={"image": "image"})   # doctest: +SKIP
    """

    kind = "dora"

    def __init__(self, name: str, path: str, *, args: Union[str, Sequence[str], None] = None,
                 env: Optional[Mapping[str, Any]] = None, build: Optional[str] = None,
                 package: Optional[str] = None, timers: Optional[Mapping[str, float]] = None,
                 inputs: Union[Sequence[str], Mapping[str, str], None] = None,
                 outputs: Union[Sequence[str], Mapping[str, str], None] = None,
                 node: Optional[Node] = None):
        where = user_location()
        if not isinstance(path, str) or not path.strip():
            raise GraphError(f"DoraNode '{name}': path must name what dora starts (a console script, an "
                             f"executable or a file). Received: path={path!r}", where, code="LK275")
        timer_inputs: Dict[str, float] = {}
        plain_inputs: Any = inputs
        if isinstance(inputs, Mapping):
            plain_inputs = {}
            for key, value in inputs.items():
                hz = timer_hz(value) if isinstance(value, str) and value.startswith("dora/timer/") else None
                if isinstance(value, str) and value.startswith("dora/timer/") and hz is None:
                    raise GraphError(f"DoraNode '{name}': input '{key}' = {value!r} is not a dora timer; write "
                                     "dora/timer/millis/<N> or dora/timer/hz/<F>.", where, code="LK275")
                if hz is not None:
                    timer_inputs[key] = hz
                else:
                    plain_inputs[key] = value
        for key, hz in dict(timers or {}).items():
            if (isinstance(hz, bool) or not isinstance(hz, (int, float)) or not hz > 0 or not math.isfinite(hz)):
                raise GraphError(f"DoraNode '{name}': timer '{key}' must be a positive rate in Hz. "
                                 f"Received: {hz!r}", where, code="LK275")
            timer_inputs[str(key)] = float(hz)
        formats_in = _formats(plain_inputs, "inputs", INPUT_FORMATS, "auto", name, where)
        formats_out = _formats(outputs, "outputs", OUTPUT_FORMATS, "raw", name, where)
        both = set(formats_in) & set(timer_inputs)
        if both:
            raise GraphError(f"DoraNode '{name}': {', '.join(sorted(both))} is both a timer and an input.", where,
                             code="LK275")
        if isinstance(args, str):
            import shlex

            try:
                args = shlex.split(args)
            except ValueError as exc:
                raise GraphError(f"DoraNode '{name}': args cannot be split into words ({exc}). "
                                 f"Received: args={args!r}", where, code="LK275") from None
        self.path = path
        self.args = tuple(str(a) for a in (args or ()))
        self.env = {str(k): str(v) for k, v in dict(env or {}).items()}
        self.build = build
        self.package = package
        self.timers = timer_inputs
        super().__init__(name, formats_in, formats_out, node, where)


def is_foreign(member) -> bool:
    return isinstance(member, ForeignEndpoint)


# -- ROS 2 topics ---------------------------------------------------------------------------------------------
RELIABILITY = ("reliable", "best_effort", "system_default")
DURABILITY = ("volatile", "transient_local", "system_default")
HISTORY = ("keep_last", "keep_all", "system_default")
# The presets rclpy names (rclpy.qos.qos_profile_*), written out.
QOS_PRESETS: Dict[str, Dict[str, Any]] = {
    "default": {"reliability": "reliable", "durability": "volatile", "history": "keep_last", "depth": 10},
    "sensor_data": {"reliability": "best_effort", "durability": "volatile", "history": "keep_last", "depth": 5},
    "system_default": {"reliability": "system_default", "durability": "system_default",
                       "history": "system_default", "depth": 0},
    "services_default": {"reliability": "reliable", "durability": "volatile", "history": "keep_last", "depth": 10},
    "parameters": {"reliability": "reliable", "durability": "volatile", "history": "keep_last", "depth": 1000},
    "parameter_events": {"reliability": "reliable", "durability": "volatile", "history": "keep_last",
                         "depth": 1000},
    "latched": {"reliability": "reliable", "durability": "transient_local", "history": "keep_last", "depth": 1},
}
ROS_FORMATS = ("message", "image")
MESSAGE_TYPE = re.compile(r"^([a-z][a-z0-9_]*)/msg/([A-Z][A-Za-z0-9]*)$")


def resolve_qos(qos, owner: str, where) -> Dict[str, Any]:
    """A preset name, or a dict of reliability/durability/history/depth (optionally on a ``preset``)."""
    if qos is None:
        qos = "default"
    if isinstance(qos, str):
        qos = {"preset": qos}
    if not isinstance(qos, Mapping):
        raise GraphError(f"RosTopic '{owner}': qos must be a preset name ({', '.join(QOS_PRESETS)}) or a dict of "
                         f"reliability, durability, history, depth. Received: qos={qos!r}", where, code="LK275")
    fields = dict(qos)
    preset = fields.pop("preset", "default")
    if preset not in QOS_PRESETS:
        raise GraphError(f"RosTopic '{owner}': unknown QoS preset {preset!r}; use one of {', '.join(QOS_PRESETS)}.",
                         where, code="LK275")
    out = dict(QOS_PRESETS[preset])
    for key, value in fields.items():
        allowed = {"reliability": RELIABILITY, "durability": DURABILITY, "history": HISTORY}.get(key)
        if key == "depth":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise GraphError(f"RosTopic '{owner}': QoS depth must be a whole number. Received: {value!r}",
                                 where, code="LK275")
        elif allowed is None:
            raise GraphError(f"RosTopic '{owner}': unknown QoS field {key!r}; use preset, reliability, durability, "
                             "history and depth.", where, code="LK275")
        elif value not in allowed:
            raise GraphError(f"RosTopic '{owner}': QoS {key} {value!r} is not one of {', '.join(allowed)}.", where,
                             code="LK275")
        out[key] = value
    return out


def _member_name(topic: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]+", "_", topic).strip("_")
    return name if name[:1].isalpha() else f"topic_{name}"


class RosTopic(ForeignEndpoint):
    """An existing ROS 2 topic: components subscribe to it (``.out``) or publish on it (``.input``).

    Args:
        topic: the topic's name (``/scan``; a relative name is under the system's namespace). ``--ros-args
            -r`` remapping applies to it as to any topic.
        type: its message type, ``pkg/msg/Name`` (``sensor_msgs/msg/LaserScan``). Components get and
            return instances of that message class.
        qos: a preset (``default``, ``sensor_data``, ``system_default``, ``services_default``,
            ``parameters``, ``parameter_events``, ``latched``) or a dict of ``reliability``,
            ``durability``, ``history``, ``depth`` (with an optional ``preset`` they refine).
        format: ``message`` (the ROS message itself) or ``image``: a ``sensor_msgs/msg/Image`` topic whose
            messages arrive in components as ``(H, W, C)`` numpy arrays and are made from them.
        name: its name in the graph (default: from the topic, ``/camera/image_raw`` -> ``camera_image_raw``).

    Example:
        >>> scan = RosTopic("/scan", "sensor_msgs/msg/LaserScan", qos="sensor_data")    # doctest: +SKIP
        >>> cmd_vel = RosTopic("/cmd_vel", "geometry_msgs/msg/Twist")                   # doctest: +SKIP
        >>> cmd_vel(msg=controller(scan=scan.out))                                      # doctest: +SKIP
    """

    kind = "ros_topic"

    def __init__(self, topic: str, type: str, qos=None, *, format: str = "message", name: Optional[str] = None,
                 node: Optional[Node] = None):
        where = user_location()
        if not isinstance(topic, str) or not topic:
            raise GraphError(f"RosTopic: the topic must be a name such as '/scan'. Received: {topic!r}", where,
                             code="LK275")
        owner = name or _member_name(topic)
        if not isinstance(type, str) or not MESSAGE_TYPE.match(type):
            raise GraphError(f"RosTopic '{topic}': the message type must read pkg/msg/Name, e.g. "
                             f"'sensor_msgs/msg/LaserScan'. Received: type={type!r}", where, code="LK275")
        if format not in ROS_FORMATS:
            raise GraphError(f"RosTopic '{topic}': unknown format {format!r}; use one of {', '.join(ROS_FORMATS)}.",
                             where, code="LK275")
        if format == "image" and type != "sensor_msgs/msg/Image":
            raise GraphError(f"RosTopic '{topic}': format 'image' needs type 'sensor_msgs/msg/Image'; this topic "
                             f"carries {type}.", where, code="LK275")
        self.topic = topic
        self.msg_type = type
        self.qos = resolve_qos(qos, topic, where)
        self.format = format
        package, _, cls = type.split("/")
        self.annotation = "numpy.ndarray" if format == "image" else f"{package}.msg.{cls}"
        super().__init__(owner, {"msg": format}, {"out": format}, node, where)

    @property
    def input(self) -> InputPort:
        """The handle to publish on the topic: ``system.connect(controller.out, cmd_vel.input)``."""
        return self.inputs["msg"]
