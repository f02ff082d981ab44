"""One walk over the IR that finds every structural error at once."""
from __future__ import annotations

import re
from collections import Counter
from typing import List

from ..errors import Location
from .spec import QUEUE_POLICIES, SystemSpec

# Valid as a dora node id, a ROS 2 node name, a ROS 2 topic segment and a Python identifier.
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# A ROS 2 package name (REP 144), used for the system.
SYSTEM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MACHINE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
# The numeric tower: an output of a lower rank may feed an input of a higher one (bool -> int -> float).
_NUMERIC = {"bool": 0, "int": 1, "float": 2, "complex": 3}


def problems(spec: SystemSpec) -> List[str]:
    found: List[str] = []
    _names(spec, found)
    _edges(spec, found)
    _placement(spec, found)
    _reachability(spec, found)
    return found


def _at(spec: SystemSpec, component: str) -> str:
    try:
        where = spec.component(component).created_at
    except KeyError:
        return ""
    if not where:
        return ""
    file, _, line = where.rpartition(":")
    return f"{Location(file, int(line) if line.isdigit() else 0)}: "


def _names(spec: SystemSpec, found: List[str]) -> None:
    if not SYSTEM_NAME.match(spec.name) or spec.name == "test":
        found.append(
            f"System name '{spec.name}' is not valid for every target: use lowercase letters, digits and "
            "'_', starting with a letter (it becomes a ROS 2 package name), and not 'test'."
        )
    for name, count in Counter(c.name for c in spec.components).items():
        if count > 1:
            found.append(f"{count} components are named '{name}'; give each a unique name (name=...).")
    for name, count in Counter(n.name for n in spec.nodes).items():
        if count > 1:
            found.append(f"{count} nodes are named '{name}'; node names must be unique.")
    for c in spec.components:
        if not NAME.match(c.name):
            found.append(
                f"{_at(spec, c.name)}component name '{c.name}' is not valid for every target (dora node ids, "
                "ROS 2 node and topic names): use letters, digits and '_', starting with a letter."
            )
        for port in c.inputs + c.outputs:
            if not NAME.match(port.name):
                found.append(f"{_at(spec, c.name)}component '{c.name}': port name '{port.name}' is not valid; "
                             "use letters, digits and '_', starting with a letter.")
        for port in c.inputs:
            if port.queue_policy not in QUEUE_POLICIES:
                found.append(f"component '{c.name}' input '{port.name}': queue policy '{port.queue_policy}' "
                             f"is not one of {', '.join(QUEUE_POLICIES)}.")
            if port.queue_size < 1:
                found.append(f"component '{c.name}' input '{port.name}': queue size must be at least 1.")
    for n in spec.nodes:
        if not NAME.match(n.name):
            found.append(f"node name '{n.name}' is not valid for every target: use letters, digits and '_', "
                         "starting with a letter.")
    for m in spec.machines:
        if not MACHINE_NAME.match(m.name):
            found.append(f"machine name '{m.name}' is not valid: use letters, digits, '_', '.' and '-', "
                         "starting with a letter.")


def _edges(spec: SystemSpec, found: List[str]) -> None:
    names = {c.name: c for c in spec.components}
    wired = Counter()
    for e in spec.edges:
        src, dst = names.get(e.src), names.get(e.dst)
        if src is None:
            found.append(f"edge {e}: no component named '{e.src}' in the system.")
        elif src.output(e.output) is None:
            found.append(f"edge {e}: component '{e.src}' has no output '{e.output}' "
                         f"(outputs: {', '.join(p.name for p in src.outputs) or 'none'}).")
        if dst is None:
            found.append(f"edge {e}: no component named '{e.dst}' in the system.")
        elif dst.input(e.input) is None:
            found.append(f"edge {e}: component '{e.dst}' has no input '{e.input}' "
                         f"(inputs: {', '.join(p.name for p in dst.inputs) or 'none'}).")
        if src is not None and dst is not None and src.output(e.output) and dst.input(e.input):
            wired[(e.dst, e.input)] += 1
            _types(spec, e, src.output(e.output).annotation, dst.input(e.input).annotation, found)
    for (dst, port), count in wired.items():
        if count > 1:
            sources = ", ".join(f"{e.src}.{e.output}" for e in spec.edges if (e.dst, e.input) == (dst, port))
            found.append(f"{_at(spec, dst)}input '{dst}.{port}' is wired {count} times ({sources}); "
                         "an input takes one source.")
    for c in spec.components:
        for port in c.inputs:
            if port.required and (c.name, port.name) not in wired:
                found.append(
                    f"{_at(spec, c.name)}required input '{c.name}.{port.name}' is not connected. Wire it "
                    f"({c.name}(... {port.name}=<component>.out) or system.connect(src, {c.name}.inputs.{port.name})) "
                    f"or give the parameter a default in forward()."
                )


def _simple_type(annotation):
    """The bare class name of a plain annotation; None for what is not compared (Any, generics, unions).

    Only the last dotted part counts: the same class reads ``np.ndarray`` in a string annotation and
    ``numpy.ndarray`` when evaluated, and that must not look like a mismatch.
    """
    if not annotation or not re.match(r"^[A-Za-z_][\w.]*$", annotation):
        return None
    text = annotation.rsplit(".", 1)[-1]
    if text in ("Any", "object"):
        return None
    return text


def _types(spec, edge, out_annotation, in_annotation, found) -> None:
    out_t, in_t = _simple_type(out_annotation), _simple_type(in_annotation)
    if out_t is None or in_t is None or out_t == in_t:
        return
    if out_t in _NUMERIC and in_t in _NUMERIC and _NUMERIC[out_t] <= _NUMERIC[in_t]:
        return
    found.append(f"{_at(spec, edge.dst)}type mismatch on edge {edge}: output is annotated {out_t}, "
                 f"input expects {in_t}.")


def _placement(spec: SystemSpec, found: List[str]) -> None:
    engines = sorted({n.engine for n in spec.nodes if n.engine})
    if len(engines) > 1:
        detail = ", ".join(f"{n.name}={n.engine}" for n in spec.nodes if n.engine)
        found.append(f"nodes use different engines ({detail}); all nodes of a system must use one engine.")
    placed = [n for n in spec.nodes if n.machine]
    unplaced = [n for n in spec.nodes if not n.machine]
    if placed and unplaced:
        for n in unplaced:
            who = f"components {', '.join(n.components)}" if n.implicit else f"node '{n.name}'"
            found.append(
                f"{who} run on no machine while other nodes are placed on "
                f"{', '.join(sorted({p.machine for p in placed}))}. "
                + ("Give them a Node with a machine." if n.implicit else "Give it machine=... .")
            )
    known = {m.name for m in spec.machines}
    for n in placed:
        if n.machine not in known:
            found.append(f"node '{n.name}' names machine '{n.machine}', which the system does not define.")
    for c in spec.components:
        if c.node not in {n.name for n in spec.nodes}:
            found.append(f"component '{c.name}' is on node '{c.node}', which the system does not define.")


def _reachability(spec: SystemSpec, found: List[str]) -> None:
    """Which components can ever fire; a component in a loop that can never start is an error."""
    by_name = {c.name: c for c in spec.components}
    # Only edges between real ports count: a broken edge is already reported and must not make a loop.
    valid = [e for e in spec.edges if e.src in by_name and e.dst in by_name
             and by_name[e.src].output(e.output) is not None and by_name[e.dst].input(e.input) is not None]
    into = {c.name: {} for c in spec.components}
    for e in valid:
        into[e.dst][e.input] = e.src
    has_value = {c.name for c in spec.components if c.is_source or c.starts_loop}
    can_fire = {c.name for c in spec.components if c.is_source}
    changed = True
    while changed:
        changed = False
        for c in spec.components:
            if c.name in can_fire or c.is_source:
                continue
            required = [p.name for p in c.inputs if p.required]
            feeds = into[c.name]
            ready = all(feeds.get(p) in has_value for p in required)
            triggered = any(src in has_value for src in feeds.values())
            if ready and triggered:
                can_fire.add(c.name)
                has_value.add(c.name)
                changed = True
    stuck = [c for c in spec.components if c.name not in can_fire and not c.is_source]
    if not stuck:
        return
    cyclic = _in_cycles(spec, valid)
    for c in stuck:
        required = [p.name for p in c.inputs if p.required]
        feeds = into[c.name]
        if any(p not in feeds for p in required):
            continue  # already reported as unconnected
        if c.name in cyclic:
            found.append(
                f"{_at(spec, c.name)}component '{c.name}' is in a loop that can never start: every component "
                "of the loop waits for another. Let one of them send first by defining initial_outputs(), "
                "or make one loop input optional (give it a default in forward())."
            )
        else:
            dead = [f"required input '{c.name}.{p}' is fed by '{feeds[p]}', which never fires"
                    for p in required if feeds[p] not in has_value]
            if dead:
                why = "; ".join(dead) + "."
            elif not feeds:
                why = "none of its inputs is connected. Wire one, or remove the component."
            else:
                why = f"every component feeding it never fires ({', '.join(sorted(set(feeds.values())))})."
            found.append(f"{_at(spec, c.name)}component '{c.name}' can never fire: {why}")


def _in_cycles(spec: SystemSpec, edges) -> set:
    succ = {c.name: set() for c in spec.components}
    for e in edges:
        succ[e.src].add(e.dst)

    def reaches(start, goal):
        seen, todo = set(), [start]
        while todo:
            cur = todo.pop()
            for nxt in succ[cur]:
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    return {name for name in succ if reaches(name, name)}
