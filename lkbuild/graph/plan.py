"""Node plans: what one Node's process needs at run time, cut from the IR (JSON-able, embedded in entrypoints).

A plan carries every fact the runtime uses, so that no process re-reads the user's classes to learn what
the build already knew:

* ``components``: how to rebuild each component (class, recorded construction), its ports and rate;
* ``routes`` / ``exports`` / ``imports``: edges inside the Node, outputs that leave it, inputs fed from
  other Nodes;
* ``messages``: the ROS message types (``pkg/msg/Name``) the Node's ports carry, from their annotations;
* ``tick_hz``: the run's logical clock, the same in every Node (``lk_runtime.host``: times are ticks);
* ``stand_ins``: modules its files import that no component of its machine uses (-> who does use them);
* ``run``: the control plane of a run spread over several Nodes (``lk_runtime.ending``): every Node,
  the leader that decides when the run is over, the Nodes with clocks (sources or loop starters) and
  every edge between Nodes as ``[src node, "component.output", dst node, "component.input"]``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..runtime_stubs.lk_runtime import rosmsg
from ..runtime_stubs.lk_runtime.host import tick_hz
from . import machines


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
        **({"replay": c.replay} if c.replay else {}),
    }


def output_key(component: str, output: str) -> str:
    """How the control plane names an output that leaves its Node (also its dora output id)."""
    return f"{component}.{output}"


def input_key(component: str, port: str) -> str:
    """How the control plane names an input fed from another Node (also its dora input id)."""
    return f"{component}.{port}"


def crossing(spec):
    """``(src node, dst node, edge)`` for every edge between two Nodes, in IR order (foreign edges: ``boundary``)."""
    node_of = {c.name: c.node for c in spec.components}
    return [(node_of[e.src], node_of[e.dst], e) for e in spec.edges
            if e.src in node_of and e.dst in node_of and node_of[e.src] != node_of[e.dst]]


def boundary(spec):
    """Every edge between a component and a foreign endpoint, in IR order."""
    foreign = {f.name for f in spec.foreign}
    return [e for e in spec.edges if e.src in foreign or e.dst in foreign]


def relays(spec) -> set:
    """The foreign endpoints that a component feeds, directly or through other foreign endpoints.

    The others are *foreign sources*: they end by themselves (or when their timers end), and the lkbuild
    Nodes they feed count as clocked until their inputs close (``lk_runtime.ending``).
    """
    foreign = {f.name for f in spec.foreign}
    fed = {e.dst for e in spec.edges if e.dst in foreign and e.src not in foreign}
    changed = True
    while changed:
        changed = False
        for e in spec.edges:
            if e.src in fed and e.dst in foreign and e.dst not in fed:
                fed.add(e.dst)
                changed = True
    return fed


def feeds(spec) -> List[List[str]]:
    """``[node, input key, "source" | "relay", foreign endpoint]`` for every component input fed by a foreign
    endpoint."""
    node_of = {c.name: c.node for c in spec.components}
    relayed = relays(spec)
    return [[node_of[e.dst], input_key(e.dst, e.input), "relay" if e.src in relayed else "source", e.src]
            for e in boundary(spec) if e.dst in node_of]


def cross_edges(spec) -> List[List[str]]:
    """Edges between Nodes as ``[src node, output key, dst node, input key]``, in IR order."""
    return [[src, output_key(e.src, e.output), dst, input_key(e.dst, e.input)] for src, dst, e in crossing(spec)]


def system_tick_hz(spec) -> int:
    """Ticks per second of the run's logical clock: every source's and loop starter's period is whole ticks."""
    return tick_hz(c.rate_hz for c in spec.components if c.is_source or c.starts_loop)


def run_plan(spec) -> Dict[str, Any]:
    """The control plane shared by every Node of a run (see ``lk_runtime.ending``)."""
    nodes = [n.name for n in spec.nodes]
    fed = feeds(spec)
    clocked = {c.node for c in spec.components if c.is_source or c.starts_loop}
    clocked |= {node for node, _, kind, _ in fed if kind == "source"}
    edges = cross_edges(spec)
    return {
        "nodes": nodes,
        "leader": nodes[0] if nodes else None,
        "clocked": [n for n in nodes if n in clocked],
        "settles": settling(nodes, edges, clocked | {feed[0] for feed in fed}),
        "edges": edges,
        "feeds": fed,
    }


def settling(nodes: List[str], edges: List[List[str]], excluded: set) -> List[str]:
    """The Nodes whose idleness follows from their senders' (``lk_runtime.ending``, "Settling").

    A Node without clocks and foreign feeds, on no loop between Nodes, can only receive what its senders
    send: once every sender has said it is idle and every message it said it sent has arrived, nothing
    more can come. Such a Node says idle at that moment, without waiting for a quiet period.
    """
    after: Dict[str, set] = {n: set() for n in nodes}
    for src, _, dst, _ in edges:
        after[src].add(dst)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), list(after[start])
        while todo:
            n = todo.pop()
            if n == goal:
                return True
            if n not in seen:
                seen.add(n)
                todo.extend(after[n])
        return False

    return [n for n in nodes if n not in excluded and not reaches(n, n)]


def control_plane(spec, node: str) -> Dict[str, Any]:
    """Who hears this Node's status, whose statuses it hears, and who leads (``lk_runtime.ending``).

    A status goes to the leader, to the clocked Nodes that send to this one (a Node holds its sources
    while too many of its messages are not reported received: flow control; a Node without sources never
    holds, so its receivers' statuses would go unread) and to the settling Nodes it sends to (``settling``);
    the leader's decisions go to every Node: O(N) control traffic. One Node alone needs no control plane.
    """
    if len(spec.nodes) < 2:
        return {"status_to": [], "status_from": [], "leader": None}
    run = run_plan(spec)
    leader, clocked, settles = run["leader"], set(run["clocked"]), set(run["settles"])
    senders = {src for src, _, dst, _ in run["edges"] if dst == node and src != node}
    receivers = {dst for src, _, dst, _ in run["edges"] if src == node and dst != node}
    # to the clocked senders (flow control) and to the settling receivers (their idleness follows ours)
    status_to = {n for n in senders if n in clocked} | {n for n in receivers if n in settles}
    hears = (receivers if node in clocked else set()) | (senders if node in settles else set())
    return {
        "status_to": sorted(status_to | ({leader} - {node})),
        "status_from": [n for n in run["nodes"] if n != node and (n in hears or node == leader)],
        "leader": leader,
    }


def messages(spec, node: Optional[str] = None) -> List[str]:
    """The ROS message types (``pkg/msg/Name``) that ports annotated with a ROS message class carry.

    For one Node: its components' ports and the ports wired to them (a value it receives or sends may be
    a ROS message because the other end says so); for ``None``, every port of the system.
    """
    members = set(spec.node(node).components) if node is not None else {c.name for c in spec.components}
    annotations = [p.annotation for c in spec.components if c.name in members for p in (*c.inputs, *c.outputs)]
    for e in spec.edges:
        if e.src in members or e.dst in members:
            annotations += [spec.member(e.src).output(e.output).annotation,
                            spec.member(e.dst).input(e.input).annotation]
    return sorted({name for name in map(rosmsg.type_name, annotations) if name})


def node_plan(spec, node: Optional[str] = None) -> Dict[str, Any]:
    """The plan for one Node (``None``: every component in one host, as the native engine runs them).

    With ``node=None`` each component entry also says its own Node and machine, so that an error in one
    process still names where the component would run.
    """
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
    components = [spec.component(name) for name in members]
    entries = [component_entry(c) for c in components]
    if node is None:
        for entry, c in zip(entries, components):
            entry["node"] = c.node
            entry["machine"] = spec.node(c.node).machine or "local"
    return {
        "system": spec.name,
        "node": node or "local",
        "machine": machine,
        "components": entries,
        "routes": routes,
        "exports": [list(x) for x in sorted(exports)],
        "imports": imports,
        "messages": messages(spec, node),
        "tick_hz": system_tick_hz(spec),
        # modules its files import that no component of its machine uses: stood in for (lk_runtime.stand_ins)
        "stand_ins": machines.stand_ins(spec, node) if node is not None else {},
        "run": run_plan(spec) if node is not None else None,
        # dora restarts a failed Node that asks for it: then it must not stop the others (``ending``)
        "restart": spec.node(node).restart if node is not None else None,
    }
