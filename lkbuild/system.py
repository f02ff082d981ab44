"""``System``: components wired together, compiled to an engine as one graph."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

from .component import Component, InputPort, OutputPort, _user_location
from .errors import GraphError
from .foreign import ForeignEndpoint

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
        self._created_at = _user_location()
        if not isinstance(name, str):
            raise GraphError(f"System name must be a string. Received: name={name!r} (of type "
                             f"{type(name).__name__})", self._created_at)
        if not isinstance(components, (list, tuple)):
            raise GraphError(f"System '{name}': components must be a list of Components, e.g. "
                             f"System(components=[camera, detector]). Received: components={components!r}",
                             self._created_at)
        self.name = name
        self.components: List[Component] = list(components)
        self._connections: List[Tuple[OutputPort, InputPort]] = []
        # Modules the loader replaced by stand-ins (not installed here): such a system can be compiled
        # for its machines but not run in this process.
        self.stand_ins: Tuple[str, ...] = ()
        seen = set()
        for c in self.components:
            if not isinstance(c, (Component, ForeignEndpoint)):
                raise GraphError(
                    f"System '{name}': components must be Component, DoraNode or RosTopic instances. Received: {c!r} "
                    f"(of type {type(c).__name__})",
                    self._created_at,
                )
            if id(c) in seen:
                raise GraphError(f"System '{name}': component '{c.name}' is listed twice in components=[...]; "
                                 "list each component once.", self._created_at, code="LK203")
            seen.add(id(c))
        self.root = os.path.dirname(self._created_at.file) if self._created_at else os.getcwd()

    # -- wiring -------------------------------------------------------------------------------------------
    def add(self, component: Component) -> Component:
        """Add a component (returns it, so ``cam = system.add(Camera())`` reads well)."""
        if not isinstance(component, (Component, ForeignEndpoint)):
            raise GraphError(f"System.add expects a Component, DoraNode or RosTopic. Received: {component!r}", _user_location())
        if any(c is component for c in self.components):
            raise GraphError(f"System '{self.name}': component '{component.name}' is added twice.",
                             _user_location(), code="LK203")
        self.components.append(component)
        return component

    def connect(self, src: OutputPort, dst: InputPort) -> None:
        """Wire an output to an input: ``system.connect(camera.out, detector.inputs.image)``."""
        if not isinstance(src, OutputPort):
            raise GraphError(f"connect(src, dst): src must be an output handle such as camera.out. Received: {src!r}",
                             _user_location(), code="LK210")
        if not isinstance(dst, InputPort):
            raise GraphError(
                f"connect(src, dst): dst must be an input handle such as detector.inputs.image. Received: {dst!r}",
                _user_location(), code="LK210",
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
                        who._lk_created_at, code="LK214",
                    )
        return explicit if explicit else self._sequential_edges()

    def _sequential_edges(self):
        edges = []
        for a, b in zip(self.components, self.components[1:]):
            outs = tuple(a.outputs)
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
                    b._lk_created_at, code="LK215",
                )
            edges.append((a, outs[0], b, candidates[0]))
        return edges

    # -- the IR -------------------------------------------------------------------------------------------
    def spec(self):
        """This system as IR (``lkbuild.graph.SystemSpec``). Raises GraphError for what cannot be recorded."""
        from .graph.build import system_spec

        return system_spec(self)

    def validate(self) -> Tuple[bool, List[str]]:
        """``(ok, problems)``: every structural problem found, with where it is."""
        try:
            found = self.spec().validate()
        except GraphError as exc:
            found = exc.problems
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
        spec = self.spec()  # built once: compile and launch read the same IR
        config_path = runner.compile(spec)
        if coordinator_addr is not None:
            kwargs["coordinator_addr"] = coordinator_addr
        return runner.launch(spec, config_path, iterations=iterations, duration=duration, **kwargs)

    def __repr__(self) -> str:
        return f"<System '{self.name}': {', '.join(c.name for c in self.components)}>"
