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
