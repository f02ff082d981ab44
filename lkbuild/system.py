"""``System``: components wired together, compiled to an engine as one graph."""
from __future__ import annotations

import dataclasses
import inspect
import os
import sys
import weakref
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .component import (
    Component, InputPort, OutputPort, _user_location, encode_construction, forward_annotations,
)
from .errors import GraphError
from .node import LOCAL_NODE, Node
from .runtime_stubs.lk_runtime import rosmsg

DEFAULT_OUT = ".lk_build"
# True while lkbuild imports a user's file to read its system: running it then would be a surprise.
BUILD_MODE = False


def _refuse_in_build_mode(what: str) -> None:
    if BUILD_MODE:
        raise GraphError(
            f"system.{what}() runs while lkbuild imports this file to read the system. Guard it with "
            "`if __name__ == \"__main__\":` so it runs only when the file is executed directly.",
            _user_location(),
        )


class System:
    """Components composed into one graph.

    Wiring, three ways, all ending in the same edges:

    * sequential: ``System(components=[camera, detector, planner])`` with no other wiring chains each
      component's single output into the next one's single required input;
    * functional: ``detections = detector(image=camera.out)`` records an edge;
    * explicit: ``system.connect(camera.out, detector.inputs.image)``.

    Example:
        >>> system = System(components=[camera, detector], name="robot")   # doctest: +SKIP
        >>> system.launch(iterations=10)                                   # doctest: +SKIP
    """

    def __init__(self, components: Sequence[Component] = (), name: str = "system"):
        self.name = name
        self.components: List[Component] = list(components)
        self._connections: List[Tuple[OutputPort, InputPort]] = []
        # Modules the loader replaced by stand-ins (not installed here): such a system can be compiled
        # for its machines but not run in this process.
        self.stand_ins: Tuple[str, ...] = ()
        self._created_at = _user_location()
        for c in self.components:
            if not isinstance(c, Component):
                raise GraphError(
                    f"System '{name}': components must be Component instances. Received: {c!r} "
                    f"(of type {type(c).__name__})",
                    self._created_at,
                )
        self.root = os.path.dirname(self._created_at.file) if self._created_at else os.getcwd()

    # -- wiring -------------------------------------------------------------------------------------------
    def add(self, component: Component) -> Component:
        """Add a component (returns it, so ``cam = system.add(Camera())`` reads well)."""
        if not isinstance(component, Component):
            raise GraphError(f"System.add expects a Component. Received: {component!r}")
        self.components.append(component)
        return component

    def connect(self, src: OutputPort, dst: InputPort) -> None:
        """Wire an output to an input: ``system.connect(camera.out, detector.inputs.image)``."""
        if not isinstance(src, OutputPort):
            raise GraphError(f"connect(src, dst): src must be an output handle such as camera.out. Received: {src!r}")
        if not isinstance(dst, InputPort):
            raise GraphError(
                f"connect(src, dst): dst must be an input handle such as detector.inputs.image. Received: {dst!r}"
            )
        self._connections.append((src, dst))

    def _edges(self) -> List[Tuple[Component, str, Component, str]]:
        explicit = [(src.component, src.name, dst.component, dst.name) for src, dst in self._connections]
        for c in self.components:
            explicit += [(h.component, h.name, c, port) for port, h in c._lk_wiring.items()]
        members = {id(c) for c in self.components}
        for src, _, dst, _ in explicit:
            for who in (src, dst):
                if id(who) not in members:
                    raise GraphError(
                        f"component '{who.name}' is wired into system '{self.name}' but is not one of its "
                        f"components; add it to System(components=[...]).",
                        who._lk_created_at,
                    )
        return explicit if explicit else self._sequential_edges()

    def _sequential_edges(self):
        edges = []
        for a, b in zip(self.components, self.components[1:]):
            outs = type(a)._lk_outputs
            required = [n for n in b._lk_input_names if n in b._lk_required]
            candidates = required or (list(b._lk_input_names) if len(b._lk_input_names) == 1 else [])
            if len(outs) != 1 or len(candidates) != 1:
                why = (f"'{a.name}' has {len(outs)} outputs ({', '.join(outs) or 'none'})" if len(outs) != 1 else
                       f"'{b.name}' has {len(candidates)} required inputs ({', '.join(candidates) or 'none'})")
                raise GraphError(
                    f"Cannot chain '{a.name}' -> '{b.name}' sequentially: {why}. Wire them explicitly, "
                    f"e.g. {b.name}({(candidates or ['<input>'])[0]}={a.name}."
                    f"{'out' if len(outs) == 1 else 'outputs.' + (outs[0] if outs else '<output>')}) "
                    f"or system.connect(src, {b.name}.inputs.<name>).",
                    b._lk_created_at,
                )
            edges.append((a, outs[0], b, candidates[0]))
        return edges

    # -- the IR -------------------------------------------------------------------------------------------
    def spec(self):
        """This system as IR (``lkbuild.graph.SystemSpec``). Raises GraphError for what cannot be recorded."""
        from .graph import EdgeSpec, MachineSpec, NodeSpec, SystemSpec

        nodes: Dict[str, Node] = {}
        members: Dict[str, List[str]] = {}
        for c in self.components:
            node = c.node
            key = node.name if node is not None else LOCAL_NODE
            if node is not None and key in nodes and nodes[key] is not node:
                raise GraphError(f"two different Node objects are named '{key}'; node names must be unique.",
                                 c._lk_created_at)
            nodes.setdefault(key, node)
            members.setdefault(key, []).append(c.name)
        node_specs, machine_specs = [], {}
        for key, node in nodes.items():
            machine = node.machine if node is not None else None
            if machine is not None:
                machine_specs.setdefault(machine.name, MachineSpec(**dataclasses.asdict(machine)))
            node_specs.append(NodeSpec(
                name=key,
                machine=machine.name if machine else None,
                engine=node.engine if node is not None else None,
                components=tuple(members[key]),
                implicit=node is None,
                restart=getattr(node, "restart", None),
                max_restarts=getattr(node, "max_restarts", None),
                restart_delay=getattr(node, "restart_delay", None),
            ))
        edges = tuple(EdgeSpec(s.name, o, d.name, i) for s, o, d, i in self._edges())
        engines = {n.engine for n in node_specs if n.engine}
        sources = _source_reader(self.root, self.components)
        return SystemSpec(
            name=self.name,
            root=self.root,
            components=tuple(component_spec(c, sources, self.root) for c in self.components),
            edges=edges,
            nodes=tuple(node_specs),
            machines=tuple(sorted(machine_specs.values(), key=lambda m: m.name)),
            engine=engines.pop() if len(engines) == 1 else None,
        )

    def validate(self) -> Tuple[bool, List[str]]:
        """``(ok, problems)``: every structural problem found, with where it is."""
        try:
            found = self.spec().validate()
        except GraphError as exc:
            found = exc.problems if exc.location is None else [f"{exc.location}: {p}" for p in exc.problems]
        return (not found, found)

    # -- engines ------------------------------------------------------------------------------------------
    def engine_name(self, engine: Optional[str] = None) -> str:
        """The engine to use: the one asked for, else the nodes' engine, else native."""
        if engine:
            return engine
        engines = {c.node.engine for c in self.components if c.node is not None and c.node.engine}
        return engines.pop() if len(engines) == 1 else "native"

    def compile(self, engine: Optional[str] = None, out: os.PathLike | str = DEFAULT_OUT) -> Optional[Path]:
        """Generate everything the engine needs under ``out`` (default ``.lk_build``); returns its config path."""
        from .engines import get_engine

        _refuse_in_build_mode("compile")
        return get_engine(self.engine_name(engine), out_dir=out).compile(self)

    def launch(self, engine: Optional[str] = None, iterations: Optional[int] = None,
               duration: Optional[float] = None, coordinator_addr: Optional[str] = None,
               out: os.PathLike | str = DEFAULT_OUT, **kwargs: Any):
        """Compile, then run. ``iterations``: each source fires N times, then the graph drains and stops."""
        from .engines import get_engine

        _refuse_in_build_mode("launch")
        runner = get_engine(self.engine_name(engine), out_dir=out)
        config_path = runner.compile(self)
        if coordinator_addr is not None:
            kwargs["coordinator_addr"] = coordinator_addr
        return runner.launch(self, config_path, iterations=iterations, duration=duration, **kwargs)

    def __repr__(self) -> str:
        return f"<System '{self.name}': {', '.join(c.name for c in self.components)}>"


def _annotation_text(annotation) -> Optional[str]:
    if annotation is None:
        return None
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        if annotation.__module__ == "builtins":
            return annotation.__qualname__
        return f"{annotation.__module__}.{annotation.__qualname__}"
    return str(annotation).replace("typing.", "")


def _module_of(cls) -> Tuple[str, str, str]:
    """(module name, source file, import root) for a component class, ``__main__`` resolved to its file."""
    try:
        file = os.path.abspath(inspect.getsourcefile(cls) or "")
    except TypeError:
        file = ""
    module = cls.__module__
    if module == "__main__":
        module = Path(file).stem if file else "__main__"
    root = Path(file).parent if file else Path.cwd()
    for _ in range(module.count(".")):
        root = root.parent
    return module, file, str(root)


def _jsonable(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


_class_lines: "weakref.WeakKeyDictionary[type, int]" = weakref.WeakKeyDictionary()


def _class_line(cls) -> int:
    """The line of a class statement, cached: finding it parses the whole file, once per class is enough."""
    line = _class_lines.get(cls)
    if line is None:
        try:
            line = inspect.getsourcelines(cls)[1]
        except (OSError, TypeError):
            line = 0
        _class_lines[cls] = line
    return line


def _source_reader(root: str, components: Sequence[Component]):
    """One inspector project for the whole system, so each source file is read once."""
    from .inspect import Project

    roots = [root] + [_module_of(type(c))[2] for c in components]
    return Project(roots)


def _source_facts(c: Component, sources, root: str):
    """What the inspector reads from the class's source (libcst), or None without a source file."""
    from .inspect import class_file, describe

    file = class_file(type(c))
    if file is None:
        return None
    return describe(sources or _source_reader(root, [c]), file, type(c).__qualname__, Path(root))


def component_spec(c: Component, sources=None, root: Optional[str] = None):
    """The IR of one component; ``sources`` is the inspector's Project shared by a whole system."""
    from .graph import ComponentSpec, FieldSpec, ImportSpec, PortSpec

    cls = type(c)
    module, file, import_root = _module_of(cls)
    root = root or import_root
    found = _source_facts(c, sources, root)
    notes = forward_annotations(cls)
    namespace = vars(sys.modules[cls.__module__]) if cls.__module__ in sys.modules else {}
    queues = getattr(cls, "input_queues", {}) or {}
    inputs = []
    for name in c._lk_input_names:
        q = queues.get(name, {})
        extra = {}
        if "size" in q:
            extra["queue_size"] = q["size"]
        if "policy" in q:
            extra["queue_policy"] = q["policy"]
        inputs.append(PortSpec(name, required=name in c._lk_required,
                               annotation=rosmsg.qualify(_annotation_text(notes.get(name)), namespace), **extra))
    out_names = cls._lk_outputs
    out_types = dict(cls._lk_output_types)
    if len(out_names) == 1 and "return" in notes and out_names[0] not in out_types:
        out_types[out_names[0]] = notes["return"]
    outputs = [PortSpec(n, required=False, annotation=rosmsg.qualify(_annotation_text(out_types.get(n)), namespace))
               for n in out_names]
    if found is not None:
        source = dict(
            line=found.line,
            class_at=f"{found.file}:{found.line}:{found.col}",
            forward_at=":".join(map(str, found.forward)) if found.forward else None,
            config_fields=tuple(FieldSpec(f.name, f.annotation, f.default) for f in found.config),
            imports=tuple(ImportSpec(i.module, i.requirement, i.used, f"{i.file}:{i.line}:{i.col}")
                          for i in found.imports),
            requirements=tuple(found.requirements),
            local_modules=tuple(found.local_modules),
        )
    else:
        source = dict(line=_class_line(cls))
    return ComponentSpec(
        name=c.name,
        module=module,
        qualname=cls.__qualname__,
        file=file,
        import_root=root,
        construction=encode_construction(c),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        node=c.node.name if c.node is not None else LOCAL_NODE,
        rate_hz=c.rate_hz,
        starts_loop=c.starts_loop,
        config=_jsonable(c.config) if c.config is not None else {},
        created_at=f"{c._lk_created_at.file}:{c._lk_created_at.line}" if c._lk_created_at else None,
        **source,
    )
