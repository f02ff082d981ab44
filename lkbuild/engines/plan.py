"""Node plans: what one Node's host loop needs, cut from the IR (JSON-able, embedded in entrypoints)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional


def component_entry(c) -> Dict[str, Any]:
    return {
        "name": c.name,
        "module": c.module,
        "qualname": c.qualname,
        "file": c.file,
        "import_root": c.import_root,
        "construction": c.construction,
        "inputs": [[p.name, p.required] for p in c.inputs],
        "outputs": [p.name for p in c.outputs],
        "rate_hz": c.rate_hz,
        "starts_loop": c.starts_loop,
    }


def node_plan(spec, node: Optional[str] = None) -> Dict[str, Any]:
    """The plan for one Node (``None``: every component, as the native engine runs them)."""
    if node is None:
        members = [c.name for c in spec.components]
        machine = "local"
    else:
        n = spec.node(node)
        members = list(n.components)
        machine = n.machine or "local"
    inside = set(members)
    routes: List[List[str]] = []
    exports, imports = set(), []
    for e in spec.edges:
        if e.src in inside and e.dst in inside:
            routes.append([e.src, e.output, e.dst, e.input])
        elif e.src in inside:
            exports.add((e.src, e.output))
        elif e.dst in inside:
            imports.append([e.src, e.output, e.dst, e.input])
    return {
        "system": spec.name,
        "node": node or "local",
        "machine": machine,
        "components": [component_entry(spec.component(name)) for name in members],
        "routes": routes,
        "exports": [list(x) for x in sorted(exports)],
        "imports": imports,
    }
