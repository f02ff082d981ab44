"""The placement report: what a profiled run says about where components should run.

From a profile (``engines.profile``) and the system's Nodes and Machines: per machine, the CPU its
components need (in cores: CPU seconds of their ``forward()`` per second of the run); per pair of
machines, the bytes per second that cross between them (each edge counts its own copy); the heaviest
components and the heaviest edges between machines. ``what_if`` moves components to other Nodes first,
so another placement is weighed without running it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Tuple

from ..errors import ConfigError

HEAVIEST = 5


@dataclass
class Placement:
    nodes: Dict[str, str]                                   # component -> node
    machines: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # machine -> cores, components
    boundaries: Dict[Tuple[str, str], float] = field(default_factory=dict)  # (from, to) -> bytes/s
    heaviest_components: List[Tuple[str, float, str]] = field(default_factory=list)  # name, cores, machine
    heaviest_edges: List[Tuple[str, float, str, str]] = field(default_factory=list)  # edge, B/s, from, to

    def lines(self) -> List[str]:
        from .profile import size

        out = ["CPU per machine (cores: forward() CPU seconds per second of the run):"]
        for machine, data in self.machines.items():
            out.append(f"  {machine:<16} {data['cores']:6.3f}  ({', '.join(data['components'])})")
        out.append("bytes per second across machine boundaries:")
        if not self.boundaries:
            out.append("  none: every edge stays on its machine")
        for (a, b), rate in sorted(self.boundaries.items()):
            out.append(f"  {a} -> {b}: {size(rate)}/s")
        out.append("heaviest components:")
        out += [f"  {name:<16} {cores:6.3f} cores on {machine}" for name, cores, machine in self.heaviest_components]
        if self.heaviest_edges:
            out.append("heaviest edges between machines:")
            out += [f"  {edge}: {size(rate)}/s ({a} -> {b})" for edge, rate, a, b in self.heaviest_edges]
        return out


def parse_moves(moves: Iterable[str], spec) -> Dict[str, str]:
    """``["component=node", ...]`` checked against the system; ConfigError saying what is wrong."""
    components = {c.name for c in spec.components}
    nodes = [n.name for n in spec.nodes]
    out = {}
    for move in moves:
        component, sep, node = move.partition("=")
        component, node = component.strip(), node.strip()
        if not sep or not component or not node:
            raise ConfigError(f"--what-if takes component=node. Received: {move!r}")
        if component not in components:
            raise ConfigError(f"--what-if {move}: system '{spec.name}' has no component '{component}' "
                              f"(it has {', '.join(sorted(components))}).")
        if node not in nodes:
            raise ConfigError(f"--what-if {move}: system '{spec.name}' has no Node '{node}' "
                              f"(it has {', '.join(nodes)}).")
        out[component] = node
    return out


def report(spec, profile: Mapping[str, Any], moves: Mapping[str, str] = ()) -> Placement:
    """The placement report for the system's placement, with ``moves`` (component -> node) applied."""
    moves = dict(moves)
    node_of = {c.name: moves.get(c.name, c.node) for c in spec.components}
    machine_of_node = {n.name: n.machine or "local" for n in spec.nodes}
    machine = {c: machine_of_node.get(n, "local") for c, n in node_of.items()}
    figures = profile.get("components") or {}
    missing = [c.name for c in spec.components if c.name not in figures]
    if missing:
        raise ConfigError(f"the profile has no figures for {', '.join(missing)}: it was made for another "
                          f"system (or an older version of it). Profile this one with `lkbuild launch --profile`.")
    result = Placement(node_of)
    for m in dict.fromkeys(machine_of_node[n.name] for n in spec.nodes):
        result.machines[m] = {"cores": 0.0, "components": []}
    for c in spec.components:
        entry = result.machines.setdefault(machine[c.name], {"cores": 0.0, "components": []})
        entry["cores"] += float(figures[c.name].get("cores") or 0.0)
        entry["components"].append(c.name)
    crossing = []
    for e in profile.get("edges") or []:
        src, dst = str(e["src"]).split(".", 1)[0], str(e["dst"]).split(".", 1)[0]
        if src not in machine or dst not in machine or machine[src] == machine[dst]:
            continue
        pair = (machine[src], machine[dst])
        rate = float(e.get("bytes_per_s") or 0.0)
        result.boundaries[pair] = result.boundaries.get(pair, 0.0) + rate
        crossing.append((f"{e['src']} -> {e['dst']}", rate, *pair))
    ranked = sorted(spec.components, key=lambda c: -float(figures[c.name].get("cores") or 0.0))
    result.heaviest_components = [(c.name, float(figures[c.name].get("cores") or 0.0), machine[c.name])
                                  for c in ranked[:HEAVIEST]]
    result.heaviest_edges = sorted(crossing, key=lambda x: -x[1])[:HEAVIEST]
    return result
