"""Builds the IR: a ``System``'s components, wiring and placement plus the inspector's facts -> ``SystemSpec``.

This is the one place that turns user objects into the IR; ``System.spec()`` calls it, and every
command builds the IR once and hands the same ``SystemSpec`` to whatever needs it.
"""
from __future__ import annotations

import dataclasses
import inspect
import os
import sys
import weakref
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..component import Component, _source_location, forward_annotations
from ..construction import encode_construction
from ..errors import GraphError, Location
from ..node import LOCAL_NODE
from ..runtime_stubs.lk_runtime import rosmsg


def system_spec(system):
    """The IR of ``system`` (a ``lkbuild.System``). Raises GraphError for what cannot be recorded."""
    from . import EdgeSpec, MachineSpec, NodeSpec, SystemSpec

    nodes: Dict[str, object] = {}
    members: Dict[str, List[str]] = {}
    components = [c for c in system.components if isinstance(c, Component)]
    foreign = [c for c in system.components if not isinstance(c, Component)]
    for c in components:
        node = c.node
        key = node.name if node is not None else LOCAL_NODE
        if node is not None and key in nodes and nodes[key] is not node:
            raise GraphError(f"two different Node objects are named '{key}'; node names must be unique. "
                             "Create the Node once and pass it to each component.",
                             getattr(node, "_lk_created_at", None) or c._lk_created_at, code="LK203")
        nodes.setdefault(key, node)
        members.setdefault(key, []).append(c.name)
    node_specs, machine_specs = [], {}
    for f in foreign:  # a foreign endpoint runs on its Node's machine, in a process of its own
        machine = f.node.machine if f.node is not None else None
        if machine is not None:
            machine_specs.setdefault(machine.name, MachineSpec(**dataclasses.asdict(machine)))
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
            created_at=getattr(node, "_lk_created_at", None),
            restart=getattr(node, "restart", None),
            max_restarts=getattr(node, "max_restarts", None),
            restart_delay=getattr(node, "restart_delay", None),
        ))
    edges = tuple(EdgeSpec(s.name, o, d.name, i) for s, o, d, i in system._edges())
    engines = {n.engine for n in node_specs if n.engine}
    engines |= {f.node.engine for f in foreign if f.node is not None and f.node.engine}
    sources = _source_reader(system.root, components)
    return SystemSpec(
        name=system.name,
        root=system.root,
        components=tuple(component_spec(c, sources, system.root) for c in components),
        foreign=tuple(foreign_spec(f) for f in foreign),
        edges=edges,
        nodes=tuple(node_specs),
        machines=tuple(sorted(machine_specs.values(), key=lambda m: m.name)),
        engine=engines.pop() if len(engines) == 1 else None,
        stand_ins=tuple(system.stand_ins),
        created_at=system._created_at,
    )


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
    from ..inspect import Project

    roots = [root] + [_module_of(type(c))[2] for c in components]
    return Project(roots)


def _source_facts(c: Component, sources, root: str):
    """What the inspector reads from the class's source (libcst), or None without a source file."""
    from ..inspect import class_file, describe

    file = class_file(type(c))
    if file is None:
        return None
    return describe(sources or _source_reader(root, [c]), file, type(c).__qualname__, Path(root))


def component_spec(c: Component, sources=None, root: Optional[str] = None):
    """The IR of one component; ``sources`` is the inspector's Project shared by a whole system."""
    from . import ComponentSpec, FieldSpec, ImportSpec, PortSpec

    cls = type(c)
    module, file, import_root = _module_of(cls)
    root = root or import_root
    found = _source_facts(c, sources, root)
    notes = forward_annotations(cls)
    namespace = vars(sys.modules[cls.__module__]) if cls.__module__ in sys.modules else {}
    queues = getattr(cls, "input_queues", {}) or {}
    ros_ports = ros_topics_of(cls, c._lk_input_names, cls._lk_outputs)
    inputs = []
    for name in c._lk_input_names:
        q = queues.get(name, {})
        extra = dict(ros_ports.get(name, {}))
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
    outputs = [PortSpec(n, required=False, annotation=rosmsg.qualify(_annotation_text(out_types.get(n)), namespace),
                        **ros_ports.get(n, {}))
               for n in out_names]
    if found is not None:
        source = dict(
            line=found.line,
            class_at=Location(found.file, found.line, found.col),
            forward_at=Location(*found.forward) if found.forward else None,
            config_fields=tuple(FieldSpec(f.name, f.annotation, f.default) for f in found.config),
            imports=tuple(ImportSpec(i.module, i.requirement, i.used, Location(i.file, i.line, i.col))
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
        created_at=c._lk_created_at,
        **source,
    )


def foreign_spec(f):
    """The IR of a foreign endpoint (``lkbuild.foreign``)."""
    from . import ForeignSpec, PortSpec

    node = f.node
    note = getattr(f, "annotation", None)  # a RosTopic's ports carry its message class (or an array)
    return ForeignSpec(
        name=f.name,
        kind=f.kind,
        inputs=tuple(PortSpec(n, required=False, format=fmt, annotation=note) for n, fmt in f._lk_formats_in.items()),
        outputs=tuple(PortSpec(n, required=False, format=fmt, annotation=note)
                      for n, fmt in f._lk_formats_out.items()),
        node=node.name if node is not None else None,
        machine=node.machine.name if node is not None and node.machine is not None else None,
        path=getattr(f, "path", None),
        args=tuple(getattr(f, "args", ())),
        env=dict(sorted(getattr(f, "env", {}).items())),
        build=getattr(f, "build", None),
        package=getattr(f, "package", None),
        timers=dict(sorted(getattr(f, "timers", {}).items())),
        topic=getattr(f, "topic", None),
        msg_type=getattr(f, "msg_type", None),
        qos=dict(getattr(f, "qos", {})),
        created_at=f._lk_created_at,
    )


def ros_topics_of(cls, inputs, outputs) -> Dict[str, Dict]:
    """A component class's ``ros_topics``: per port, the topic an output publishes on and a port's QoS.

    Example: ``ros_topics = {"out": {"topic": "/camera/image_raw", "qos": "sensor_data"}, "cmd": {"qos":
    {"depth": 1}}}``. Only the ROS 2 engine reads them; a topic name is checked by the IR's validation.
    """
    from ..foreign import resolve_qos

    declared = getattr(cls, "ros_topics", None)
    if declared is None:
        return {}
    where = _source_location(cls)
    example = 'ros_topics = {"out": {"topic": "/camera/image_raw", "qos": "sensor_data"}}'
    if not isinstance(declared, dict):
        raise GraphError(f"{cls.__name__}.ros_topics must be a dict port -> {{topic, qos}}, e.g. {example}. "
                         f"Received: ros_topics={declared!r}", where, code="LK275")
    out: Dict[str, Dict] = {}
    for port, settings in declared.items():
        if port not in inputs and port not in outputs:
            raise GraphError(f"{cls.__name__}.ros_topics names port '{port}', which it does not have. Its ports: "
                             f"{', '.join((*inputs, *outputs)) or 'none'}.", where, code="LK275")
        if not isinstance(settings, dict) or set(settings) - {"topic", "qos"}:
            raise GraphError(f"{cls.__name__}.ros_topics['{port}'] must be a dict of topic and qos, e.g. {example}. "
                             f"Received: {settings!r}", where, code="LK275")
        if "topic" in settings and port in inputs:
            raise GraphError(f"{cls.__name__}.ros_topics['{port}']: an input subscribes to what its source publishes; "
                             "give the topic on the output that feeds it (or wire it to a RosTopic).", where,
                             code="LK275")
        entry = {}
        if "topic" in settings:
            entry["topic"] = str(settings["topic"])
        if "qos" in settings:
            entry["qos"] = resolve_qos(settings["qos"], f"{cls.__name__}.{port}", where)
        out[port] = entry
    return out
