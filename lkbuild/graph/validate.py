"""One walk over the IR that finds every structural error at once."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from typing import List, Optional

from ..errors import Location, Problem
from .spec import QUEUE_POLICIES, SystemSpec

# Valid as a dora node id, a ROS 2 node name, a ROS 2 topic segment and a Python identifier.
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# A ROS 2 package name (REP 144), used for the system.
SYSTEM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
MACHINE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
# The numeric tower: an output of a lower rank may feed an input of a higher one (bool -> int -> float).
_NUMERIC = {"bool": 0, "int": 1, "float": 2, "complex": 3}


# ROS 2 node and topic names, dora ids and file names are at most 255 characters; a name becomes all of
# these, sometimes with a prefix or suffix (see _lengths).
MAX_NAME = 255
RESERVED = ("test",)  # colcon treats a package or module named 'test' as the test suite


def problems(spec: SystemSpec) -> List[Problem]:
    """Every structural problem of ``spec``, each a ``Problem`` (code, message, location)."""
    found: List[Problem] = []
    _names(spec, found)
    _lengths(spec, found)
    if not spec.components:
        found.append(Problem(f"System '{spec.name}' has no components; list them in "
                             "System(components=[...]).", "LK260", spec.created_at))
        return found
    # Edges name components: with two of one name, a finding about their edges would be a guess.
    twice = {name for name, n in Counter(c.name for c in spec.components).items() if n > 1}
    guessed = {(e.dst, e.input) for e in spec.edges if e.src in twice or e.dst in twice}
    if twice:
        spec = replace(spec, components=tuple(c for c in spec.components if c.name not in twice),
                       edges=tuple(e for e in spec.edges if e.src not in twice and e.dst not in twice))
    _foreign(spec, found)
    _qos_pairs(spec, found)
    _port_topics(spec, found)
    _edges(spec, found, guessed)
    _placement(spec, found)
    _reachability(spec, found)
    return found


def _at(spec: SystemSpec, component: str) -> Optional[Location]:
    try:
        return spec.member(component).created_at
    except KeyError:
        return None


def _node_at(spec: SystemSpec, node: str) -> Optional[Location]:
    try:
        return spec.node(node).created_at
    except KeyError:
        return None


def _names(spec: SystemSpec, found: List[Problem]) -> None:
    if not SYSTEM_NAME.match(spec.name) or spec.name in RESERVED:
        found.append(Problem(
            f"System name '{spec.name}' is not valid for every target: use lowercase letters, digits and "
            "'_', starting with a letter (it becomes a ROS 2 package name), and not 'test'.",
            "LK204" if spec.name in RESERVED else "LK201", spec.created_at))
    for name, count in Counter(c.name for c in spec.components).items():
        if count > 1:
            later = [c.created_at for c in spec.components if c.name == name][1:]
            found.append(Problem(f"{count} components are named '{name}'; give each a unique name (name=...).",
                                 "LK203", later[0]))
    for name, count in Counter(n.name for n in spec.nodes).items():
        if count > 1:
            found.append(Problem(f"{count} nodes are named '{name}'; node names must be unique.", "LK203",
                                 _node_at(spec, name)))
    for c in spec.components:
        if not NAME.match(c.name):
            found.append(Problem(
                f"component name '{c.name}' is not valid for every target (dora node ids, "
                "ROS 2 node and topic names): use letters, digits and '_', starting with a letter.",
                "LK201", c.created_at))
        for port in c.inputs + c.outputs:
            if not NAME.match(port.name):
                found.append(Problem(f"component '{c.name}': port name '{port.name}' is not valid; "
                                     "use letters, digits and '_', starting with a letter.", "LK201", c.created_at))
        for port in c.inputs:
            if port.queue_policy not in QUEUE_POLICIES:
                found.append(Problem(f"component '{c.name}' input '{port.name}': queue policy "
                                     f"'{port.queue_policy}' is not one of {', '.join(QUEUE_POLICIES)}.",
                                     "LK240", c.created_at))
            size = port.queue_size
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                found.append(Problem(f"component '{c.name}' input '{port.name}': queue size must be a whole "
                                     f"number of messages, at least 1. Received: size={size!r}",
                                     "LK240", c.created_at))
    for n in spec.nodes:
        if not NAME.match(n.name):
            found.append(Problem(f"node name '{n.name}' is not valid for every target: use letters, digits "
                                 "and '_', starting with a letter.", "LK201", n.created_at))
    for m in spec.machines:
        if not MACHINE_NAME.match(m.name):
            found.append(Problem(f"machine name '{m.name}' is not valid: use letters, digits, '_', '.' and "
                                 "'-', starting with a letter.", "LK201", _machine_at(spec, m.name)))


def _machine_at(spec: SystemSpec, machine: str) -> Optional[Location]:
    return next((n.created_at for n in spec.nodes if n.machine == machine), None)


def _lengths(spec: SystemSpec, found: List[Problem]) -> None:
    """Names must fit what they become on every target (longest form first)."""
    def check(text: str, length: int, what: str, becomes: str, where) -> None:
        if length > MAX_NAME:
            found.append(Problem(
                f"{what} is {len(text)} characters long: it becomes {becomes}, which may be at most "
                f"{MAX_NAME} characters. Use a shorter name.", "LK202", where))

    check(spec.name, len(spec.name) + len(".launch.py"), f"System name '{spec.name[:20]}...'",
          "the ROS 2 launch file <system>.launch.py", spec.created_at)
    for n in spec.nodes:
        check(n.name, len("node_.py") + len(n.name), f"node name '{n.name[:20]}...'",
              "the file node_<node>.py and a dora node id", n.created_at)
    for m in spec.machines:
        check(m.name, len("machines/.sh") + len(m.name), f"machine name '{m.name[:20]}...'",
              "the file <machine>.sh and a dora machine id", _machine_at(spec, m.name))
    for c in spec.components:
        longest = max((p.name for p in c.inputs + c.outputs), key=len, default="")
        port = f"/{longest}" if longest else ""
        subject = f"component '{c.name[:20]}...'" + (f" with port '{longest[:20]}...'" if len(longest) > 20 else "")
        check(c.name, len(f"/{spec.name}/{c.name}{port}"), subject,
              "the ROS 2 node and topic name /<system>/<component>/<port>", c.created_at)


def _edges(spec: SystemSpec, found: List[Problem], guessed=frozenset()) -> None:
    """Edges between real ports, inputs wired once, required inputs wired (``guessed``: wired from a
    component whose name is not unique, so not reported as unconnected)."""
    names = {**{f.name: f for f in spec.foreign}, **{c.name: c for c in spec.components}}
    wired = Counter()
    for e in spec.edges:
        src, dst = names.get(e.src), names.get(e.dst)
        where = _at(spec, e.dst) or _at(spec, e.src)
        if src is None:
            found.append(Problem(f"edge {e}: no component named '{e.src}' in the system.", "LK210", where))
        elif src.output(e.output) is None:
            declare = " Declare it in outputs={...}." if e.src not in _component_names(spec) else ""
            found.append(Problem(f"edge {e}: {_what(spec, e.src)} '{e.src}' has no output '{e.output}' "
                                 f"(outputs: {', '.join(p.name for p in src.outputs) or 'none'}).{declare}",
                                 "LK210", where))
        if dst is None:
            found.append(Problem(f"edge {e}: no component named '{e.dst}' in the system.", "LK210", where))
        elif dst.input(e.input) is None:
            found.append(Problem(f"edge {e}: {_what(spec, e.dst)} '{e.dst}' has no input '{e.input}' "
                                 f"(inputs: {', '.join(p.name for p in dst.inputs) or 'none'}).", "LK210", where))
        if (src is not None and dst is not None and e.src not in _component_names(spec)
                and e.dst not in _component_names(spec)):
            found.append(Problem(f"edge {e} joins two foreign endpoints; lkbuild wires foreign endpoints to "
                                 "its components only. Connect them in their own configuration, or put a "
                                 "component between them.", "LK276", where))
        if src is not None and dst is not None and src.output(e.output) and dst.input(e.input):
            wired[(e.dst, e.input)] += 1
            _types(spec, e, src.output(e.output).annotation, dst.input(e.input).annotation, found)
    for (dst, port), count in wired.items():
        if count > 1:
            sources = ", ".join(f"{e.src}.{e.output}" for e in spec.edges if (e.dst, e.input) == (dst, port))
            found.append(Problem(f"input '{dst}.{port}' is wired {count} times ({sources}); "
                                 "an input takes one source.", "LK212", _at(spec, dst)))
    for c in spec.components:
        for port in c.inputs:
            if port.required and (c.name, port.name) not in wired and (c.name, port.name) not in guessed:
                found.append(Problem(
                    f"required input '{c.name}.{port.name}' is not connected. Wire it "
                    f"({c.name}(... {port.name}=<component>.out) or system.connect(src, {c.name}.inputs.{port.name})) "
                    f"or give the parameter a default in forward().", "LK211", c.created_at))


def _component_names(spec: SystemSpec) -> set:
    return {c.name for c in spec.components}


FOREIGN_KINDS = {"dora": "DoraNode", "ros_topic": "RosTopic"}


def _what(spec: SystemSpec, name: str) -> str:
    member = spec.member(name)
    return FOREIGN_KINDS.get(getattr(member, "kind", ""), "component")


def _foreign(spec: SystemSpec, found: List[Problem]) -> None:
    """Names and formats of foreign endpoints (their arguments were checked when they were built)."""
    from ..foreign import ROS_FORMATS
    from ..runtime_stubs.lk_runtime.boundary import INPUT_FORMATS, OUTPUT_FORMATS

    taken = Counter([c.name for c in spec.components] + [f.name for f in spec.foreign])
    for f in spec.foreign:
        what = FOREIGN_KINDS.get(f.kind, f.kind)
        if not NAME.match(f.name):
            found.append(Problem(f"{what} name '{f.name}' is not valid (it becomes a dora node id): use letters, "
                                 "digits and '_', starting with a letter.", "LK201", f.created_at))
        if taken[f.name] > 1:
            found.append(Problem(f"{what} '{f.name}' has the name of another member of the system; names must be "
                                 "unique.", "LK203", f.created_at))
        for timer in f.timers:  # a timer becomes a dora input and an argument of the timers node
            if not NAME.match(timer):
                found.append(Problem(f"{what} '{f.name}': timer name '{timer}' is not valid; use letters, digits "
                                     "and '_', starting with a letter.", "LK201", f.created_at))
        ins, outs = (ROS_FORMATS, ROS_FORMATS) if f.kind == "ros_topic" else (INPUT_FORMATS, OUTPUT_FORMATS)
        if f.kind == "ros_topic":
            _ros_topic(f, found)
        for port, allowed in [(p, ins) for p in f.inputs] + [(p, outs) for p in f.outputs]:
            if not NAME.match(port.name):
                found.append(Problem(f"{what} '{f.name}': port name '{port.name}' is not valid; use letters, "
                                     "digits and '_', starting with a letter.", "LK201", f.created_at))
            if port.format not in allowed:
                found.append(Problem(f"{what} '{f.name}' port '{port.name}': unknown format {port.format!r}; use "
                                     f"one of {', '.join(allowed)}.", "LK275", f.created_at))


# A ROS 2 topic name: tokens of letters, digits and '_' (not starting with a digit, no '__'), separated by
# '/', optionally absolute ('/') or private ('~/'); no trailing '/'.
_TOPIC_TOKEN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def topic_name_problem(topic: str) -> Optional[str]:
    """Why ``topic`` is not a valid ROS 2 topic name, or None."""
    body = topic[1:] if topic.startswith("/") else topic[2:] if topic.startswith("~/") else topic
    if not body:
        return "it is empty"
    if len(topic) > MAX_NAME:
        return f"it is longer than {MAX_NAME} characters"
    for token in body.split("/"):
        if not token:
            return "it has an empty part ('//' or a trailing '/')"
        if not _TOPIC_TOKEN.match(token):
            return f"'{token}' is not letters, digits and '_' starting with a letter or '_'"
        if "__" in token:
            return f"'{token}' has '__'"
    return None


def _ros_topic(f, found: List[Problem]) -> None:
    import importlib

    why = topic_name_problem(f.topic or "")
    if why:
        found.append(Problem(f"RosTopic '{f.topic}': not a valid ROS 2 topic name: {why}. Write it as /robot/scan: "
                             "letters, digits, '_' and '/'.", "LK275", f.created_at))
    package, _, cls = (f.msg_type or "//").split("/")
    try:
        module = importlib.import_module(f"{package}.msg")
    except ImportError:
        return  # not installed where lkbuild runs: the ROS 2 engine refuses it (its packages must be there)
    except Exception:  # a ROS package that cannot load (no librcl here): not for the IR to judge
        return
    if not hasattr(module, cls):
        import difflib

        close = difflib.get_close_matches(cls, [n for n in dir(module) if n[:1].isupper()], n=3)
        found.append(Problem(f"RosTopic '{f.topic}': unknown message type {f.msg_type}: {package} has no message "
                             f"{cls}" + (f" (did you mean {', '.join(close[:3])}?)" if close else "") + ".",
                             "LK275", f.created_at))


def _never_connect(pub: dict, sub: dict) -> Optional[str]:
    """Why a subscription with QoS ``sub`` can never get messages from a publisher with QoS ``pub``."""
    if sub.get("reliability") == "reliable" and pub.get("reliability") == "best_effort":
        return "a reliable subscriber never gets messages from a best-effort publisher"
    if sub.get("durability") == "transient_local" and pub.get("durability") == "volatile":
        return "a transient-local subscriber never gets messages from a volatile publisher"
    return None


def _port_topics(spec: SystemSpec, found: List[Problem]) -> None:
    """``ros_topics`` of components: valid topic names, and an input's QoS that can connect to its source's."""
    for c in spec.components:
        for port in c.outputs:
            why = topic_name_problem(port.topic) if port.topic else None
            if why:
                found.append(Problem(f"component '{c.name}' output '{port.name}': ros_topics gives topic "
                                     f"'{port.topic}', not a valid ROS 2 topic name: {why}.", "LK275",
                                     c.class_at or c.created_at))
    names = {c.name: c for c in spec.components}
    for e in spec.edges:
        src, dst = names.get(e.src), names.get(e.dst)
        if src is None or dst is None or src.output(e.output) is None or dst.input(e.input) is None:
            continue
        pub = src.output(e.output).qos or {"reliability": "reliable", "durability": "volatile"}
        sub = dst.input(e.input).qos
        why = _never_connect(pub, sub) if sub else None
        if why:
            found.append(Problem(f"edge {e}: QoS {sub} of input '{e.dst}.{e.input}' can never connect to {pub} of "
                                 f"'{e.src}.{e.output}' on ROS 2: {why}. Make the two QoS agree (ros_topics).",
                                 "LK278", dst.class_at or dst.created_at))


def _qos_pairs(spec: SystemSpec, found: List[Problem]) -> None:
    """Two RosTopics on one topic, one published and one subscribed, whose QoS can never connect."""
    wired_in = {e.dst for e in spec.edges}
    wired_out = {e.src for e in spec.edges}
    topics = [f for f in spec.foreign if f.kind == "ros_topic"]
    for pub in (f for f in topics if f.name in wired_in):
        for sub in (f for f in topics if f.name in wired_out and f.topic == pub.topic and f is not pub):
            why = _never_connect(pub.qos, sub.qos)
            if why:
                found.append(Problem(f"RosTopic '{sub.topic}': the system subscribes with QoS {sub.qos} and publishes "
                                     f"with {pub.qos} (RosTopic '{pub.name}'): {why}. Make the two QoS agree.",
                                     "LK278", sub.created_at))


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
    found.append(Problem(f"type mismatch on edge {edge}: output is annotated {out_t}, input expects {in_t}.",
                         "LK213", _at(spec, edge.dst)))


def _placement(spec: SystemSpec, found: List[Problem]) -> None:
    engines = sorted({n.engine for n in spec.nodes if n.engine})
    if len(engines) > 1:
        detail = ", ".join(f"{n.name}={n.engine}" for n in spec.nodes if n.engine)
        first = next(n.engine for n in spec.nodes if n.engine)
        odd = next(n for n in spec.nodes if n.engine and n.engine != first)
        found.append(Problem(f"nodes use different engines ({detail}); all nodes of a system must use one engine.",
                             "LK230", odd.created_at))
    placed = [n for n in spec.nodes if n.machine]
    unplaced = [n for n in spec.nodes if not n.machine]
    if placed and unplaced:
        for n in unplaced:
            who = f"components {', '.join(n.components)}" if n.implicit else f"node '{n.name}'"
            where = n.created_at or (_at(spec, n.components[0]) if n.components else None)
            found.append(Problem(
                f"{who} run on no machine while other nodes are placed on "
                f"{', '.join(sorted({p.machine for p in placed}))}. "
                + ("Give them a Node with a machine." if n.implicit else "Give it machine=... ."), "LK232", where))
    if placed:
        for f in spec.foreign:
            if not f.machine:
                found.append(Problem(
                    f"{FOREIGN_KINDS.get(f.kind, f.kind)} '{f.name}' runs on no machine while the nodes are placed on "
                    f"{', '.join(sorted({p.machine for p in placed}))}. Give it node=<a Node with a machine>.",
                    "LK232", f.created_at))
    known = {m.name for m in spec.machines}
    for n in placed:
        if n.machine not in known:
            found.append(Problem(f"node '{n.name}' names machine '{n.machine}', which the system does not define.",
                                 "LK232", n.created_at))
    for c in spec.components:
        if c.node not in {n.name for n in spec.nodes}:
            found.append(Problem(f"component '{c.name}' is on node '{c.node}', which the system does not define.",
                                 "LK232", c.created_at))


def _reachability(spec: SystemSpec, found: List[str]) -> None:
    """Which components can ever fire; a component in a loop that can never start is an error."""
    by_name = {**{f.name: f for f in spec.foreign}, **{c.name: c for c in spec.components}}
    # Only edges between real ports count: a broken edge is already reported and must not make a loop.
    valid = [e for e in spec.edges if e.src in by_name and e.dst in by_name
             and by_name[e.src].output(e.output) is not None and by_name[e.dst].input(e.input) is not None]
    into = {c.name: {} for c in (*spec.components, *spec.foreign)}
    for e in valid:
        into[e.dst][e.input] = e.src
    # A foreign endpoint sends on its own terms: what it feeds is taken as fed.
    has_value = {c.name for c in spec.components if c.is_source or c.starts_loop} | {f.name for f in spec.foreign}
    can_fire = {c.name for c in spec.components if c.is_source} | {f.name for f in spec.foreign}
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
            found.append(Problem(
                f"component '{c.name}' is in a loop that can never start: every component "
                "of the loop waits for another. Let one of them send first by defining initial_outputs(), "
                "or make one loop input optional (give it a default in forward()).", "LK220", c.created_at))
        else:
            dead = [f"required input '{c.name}.{p}' is fed by '{feeds[p]}', which never fires"
                    for p in required if feeds[p] not in has_value]
            if dead:
                why = "; ".join(dead) + "."
            elif not feeds:
                why = "none of its inputs is connected. Wire one, or remove the component."
            else:
                why = f"every component feeding it never fires ({', '.join(sorted(set(feeds.values())))})."
            found.append(Problem(f"component '{c.name}' can never fire: {why}", "LK221", c.created_at))


def _in_cycles(spec: SystemSpec, edges) -> set:
    succ = {c.name: set() for c in (*spec.components, *spec.foreign)}
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


# Which foreign endpoints each engine serves (``lkbuild.foreign``); any other is refused before a start.
SERVES = {"native": (), "dora": ("dora", "ros_topic"), "ros2": ("ros_topic",)}


def foreign_on_engine(spec: SystemSpec, engine: str) -> List[Problem]:
    """A foreign endpoint that ``engine`` cannot serve, named with the engine that runs it."""
    found = []
    for f in spec.foreign:
        if f.kind in SERVES.get(engine, ()):
            continue
        runs = [name for name, kinds in sorted(SERVES.items(), key=lambda kv: kv[0] != "ros2") if f.kind in kinds]
        what = FOREIGN_KINDS.get(f.kind, f.kind)
        found.append(Problem(
            f"{what} '{f.name}' cannot run on the {engine} engine: a {what} runs on the "
            f"{' or '.join(runs) or 'no'} engine. Launch with --engine {runs[0] if runs else '...'}, or remove it "
            f"from the system for {engine} runs.", "LK277", f.created_at))
    return found
