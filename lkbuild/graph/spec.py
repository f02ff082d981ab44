"""The intermediate representation: what every generator and engine reads, never user objects."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, Optional, Tuple

from ..errors import ConfigError, Location

# 2: locations are objects ({"file", "line", "col"}), not "file:line" strings; stand_ins; created_at.
SCHEMA_VERSION = 2
QUEUE_POLICIES = ("drop_oldest", "backpressure")
DEFAULT_QUEUE_SIZE = 1000


@dataclass(frozen=True)
class PortSpec:
    """An input or output port. ``required`` only means something for inputs."""

    name: str
    required: bool = True
    annotation: Optional[str] = None
    queue_size: int = DEFAULT_QUEUE_SIZE
    queue_policy: str = "drop_oldest"
    format: Optional[str] = None  # how a value crosses to or from a foreign endpoint (lk_runtime.boundary)
    topic: Optional[str] = None   # ROS 2: the topic an output publishes on (``ros_topics``), not the generated one
    qos: Optional[Dict[str, Any]] = None  # ROS 2: the port's QoS fields (``lkbuild.foreign.resolve_qos``)


@dataclass(frozen=True)
class FieldSpec:
    """A field of a component's Config dataclass, as written in the source."""

    name: str
    annotation: Optional[str] = None
    default: Optional[str] = None  # source text of the default; None when the field has none


@dataclass(frozen=True)
class ImportSpec:
    """A third-party module a component needs, and why (read from the source by ``lkbuild.inspect``)."""

    module: str  # top-level import name, e.g. "cv2"
    requirement: str  # "opencv-python==4.10.0.84"; unpinned when it is not installed where lkbuild ran
    used: bool  # True: the class's code uses it; False: its module imports it, so importing needs it
    where: Location  # the import statement


@dataclass(frozen=True)
class ComponentSpec:
    """One component: its class, how it was built, its ports and where it runs."""

    name: str
    module: str
    qualname: str
    file: str
    import_root: str
    construction: Dict[str, Any]
    inputs: Tuple[PortSpec, ...]
    outputs: Tuple[PortSpec, ...]
    node: str
    rate_hz: float
    starts_loop: bool = False
    config: Dict[str, Any] = field(default_factory=dict)
    line: int = 0
    created_at: Optional[Location] = None  # where the user's code built the component
    requirements: Tuple[str, ...] = ()
    local_modules: Tuple[str, ...] = ()  # files a bundle must copy, relative to SystemSpec.root
    class_at: Optional[Location] = None  # the class name
    forward_at: Optional[Location] = None
    config_fields: Tuple[FieldSpec, ...] = ()
    imports: Tuple[ImportSpec, ...] = ()
    replay: str = ""  # ``lkbuild replay``: the recording part this component's outputs are played from

    @property
    def class_path(self) -> str:
        return f"{self.module}:{self.qualname}"

    @property
    def is_source(self) -> bool:
        return not self.inputs

    def input(self, name: str) -> Optional[PortSpec]:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> Optional[PortSpec]:
        return next((p for p in self.outputs if p.name == name), None)


@dataclass(frozen=True)
class ForeignSpec:
    """A foreign endpoint (``lkbuild.foreign``): a graph member that lkbuild wires but does not run.

    ``kind`` is ``dora`` (an existing dora node) or ``ros_topic`` (an existing ROS 2 topic). Its ports carry their boundary ``format``; its
    ``node``/``machine`` say where it runs (a process of its own either way).
    """

    name: str
    kind: str
    inputs: Tuple[PortSpec, ...]
    outputs: Tuple[PortSpec, ...]
    node: Optional[str] = None
    machine: Optional[str] = None
    path: Optional[str] = None
    args: Tuple[str, ...] = ()
    env: Dict[str, str] = field(default_factory=dict)
    build: Optional[str] = None
    package: Optional[str] = None
    timers: Dict[str, float] = field(default_factory=dict)  # input -> Hz
    topic: Optional[str] = None     # a RosTopic: its name, message type (pkg/msg/Name) and QoS
    msg_type: Optional[str] = None
    qos: Dict[str, Any] = field(default_factory=dict)
    created_at: Optional[Location] = None

    is_source = False
    starts_loop = False

    def input(self, name: str) -> Optional[PortSpec]:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> Optional[PortSpec]:
        return next((p for p in self.outputs if p.name == name), None)


@dataclass(frozen=True)
class EdgeSpec:
    src: str
    output: str
    dst: str
    input: str

    def __str__(self) -> str:
        return f"{self.src}.{self.output} -> {self.dst}.{self.input}"


@dataclass(frozen=True)
class MachineSpec:
    name: str
    host: Optional[str] = None
    arch: str = "x86_64"
    platform: str = "linux"
    python: str = "3.11"
    base_image: Optional[str] = None
    devices: Tuple[str, ...] = ()
    preset: Optional[str] = None


@dataclass(frozen=True)
class NodeSpec:
    name: str
    machine: Optional[str]
    engine: Optional[str]
    components: Tuple[str, ...]
    implicit: bool = False
    created_at: Optional[Location] = None  # where the user's code built the Node (None: implicit)
    restart: Optional[str] = None          # dora restart_policy: never | on-failure | always
    max_restarts: Optional[int] = None
    restart_delay: Optional[float] = None


@dataclass(frozen=True)
class SystemSpec:
    """The whole system. ``validate()`` (in ``lkbuild.graph.validate``) finds every structural error."""

    name: str
    root: str
    components: Tuple[ComponentSpec, ...]
    edges: Tuple[EdgeSpec, ...]
    nodes: Tuple[NodeSpec, ...]
    machines: Tuple[MachineSpec, ...]
    engine: Optional[str] = None
    stand_ins: Tuple[str, ...] = ()  # modules read with stand-ins: compile and bundle, but not run here
    created_at: Optional[Location] = None  # where the user's code built the System
    foreign: Tuple[ForeignSpec, ...] = ()  # dora nodes and ROS 2 topics that are not lkbuild components
    schema_version: int = SCHEMA_VERSION

    # -- look-ups ----------------------------------------------------------------------------------
    def component(self, name: str) -> ComponentSpec:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(name)

    def member(self, name: str):
        """The component or foreign endpoint of that name (edges may name either)."""
        for c in self.components:
            if c.name == name:
                return c
        for f in self.foreign:
            if f.name == name:
                return f
        raise KeyError(name)

    def is_foreign(self, name: str) -> bool:
        return any(f.name == name for f in self.foreign)

    def node(self, name: str) -> NodeSpec:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def machine(self, name: str) -> MachineSpec:
        for m in self.machines:
            if m.name == name:
                return m
        raise KeyError(name)

    def node_of(self, component: str) -> NodeSpec:
        return self.node(self.component(component).node)

    def edges_into(self, component: str):
        return [e for e in self.edges if e.dst == component]

    def edges_from(self, component: str):
        return [e for e in self.edges if e.src == component]

    def validate(self):
        """Every structural problem, as a list of messages (empty: valid)."""
        from .validate import problems

        return problems(self)

    # -- serialization -------------------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def digest(self) -> str:
        """sha256 of the canonical JSON: identifies this IR in manifests."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "SystemSpec":
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ConfigError(
                f"system.json has schema version {version!r}; this lkbuild reads version {SCHEMA_VERSION}. "
                "Recompile the system with this lkbuild."
            )
        try:
            return cls(
                name=data["name"],
                root=data["root"],
                engine=data.get("engine"),
                components=tuple(_component_from(c) for c in data["components"]),
                edges=tuple(EdgeSpec(**e) for e in data["edges"]),
                nodes=tuple(NodeSpec(**{**n, "components": tuple(n["components"]),
                                         "created_at": _location(n.get("created_at"))}) for n in data["nodes"]),
                machines=tuple(MachineSpec(**{**m, "devices": tuple(m["devices"])}) for m in data["machines"]),
                stand_ins=tuple(data.get("stand_ins", ())),
                created_at=_location(data.get("created_at")),
                foreign=tuple(_foreign_from(f) for f in data.get("foreign", ())),
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"system.json is malformed ({exc}). Recompile the system.") from None

    @classmethod
    def from_json(cls, text: str) -> "SystemSpec":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"system.json is not valid JSON ({exc}). Recompile the system.") from None


def _component_from(data: Dict[str, Any]) -> ComponentSpec:
    known = {f.name for f in fields(ComponentSpec)}
    values = {k: v for k, v in data.items() if k in known}
    values["inputs"] = tuple(PortSpec(**p) for p in data["inputs"])
    values["outputs"] = tuple(PortSpec(**p) for p in data["outputs"])
    for key in ("requirements", "local_modules"):
        values[key] = tuple(values.get(key, ()))
    values["config_fields"] = tuple(FieldSpec(**f) for f in data.get("config_fields", ()))
    values["imports"] = tuple(ImportSpec(**{**i, "where": _location(i["where"])}) for i in data.get("imports", ()))
    for key in ("created_at", "class_at", "forward_at"):
        values[key] = _location(values.get(key))
    return ComponentSpec(**values)


def _location(data: Optional[Dict[str, Any]]) -> Optional[Location]:
    return Location(**data) if data is not None else None


def _foreign_from(data: Dict[str, Any]) -> ForeignSpec:
    values = dict(data)
    values["inputs"] = tuple(PortSpec(**p) for p in data["inputs"])
    values["outputs"] = tuple(PortSpec(**p) for p in data["outputs"])
    values["args"] = tuple(data.get("args", ()))
    values["created_at"] = _location(data.get("created_at"))
    return ForeignSpec(**values)
