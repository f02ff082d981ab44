"""The dora dataflow of a system: dora ids, per-Node wiring and the descriptor (``dataflow.yaml``) as data.

Naming (every id is valid for dora, ``[A-Za-z0-9_.-]``):

* one dora node per lkbuild Node, with the Node's name as id;
* an output that leaves its Node is the dora output ``<component>.<output>``;
* an input fed from another Node is the dora input ``<component>.<input>`` with source
  ``<src node>/<src component>.<output>``;
* when there are several Nodes, the control plane (``lk_runtime.ending``): each Node's status output
  ``_lk_status`` feeds the leader, the clocked Nodes that send to it and the settling Nodes it sends to
  (``graph.plan.control_plane``; input ``_lk_status.<node>``), and the
  leader's ``_lk_control`` output feeds every other Node (input ``_lk_control``). A component name
  cannot start with ``_`` and a data id always has a dot, so these ids never collide;
* a foreign dora node (``DoraNode``) is a dora node with its own id, path, args, env and outputs; an
  output of a component that feeds it is the dora output ``<component>.<output>.<format>`` carrying the
  value in that boundary format (``lk_runtime.boundary``), and what it sends reaches a component as the
  input ``<component>.<input>``; its timers come from a node ``_lk_timers.<foreign node>``
  (``lk_runtime.ticker``), so that they count as sources for ``iterations``;
* a ``RosTopic`` is a bridge node ``_lk_ros.<topic member>`` (``lk_runtime.ros_bridge``): its output
  ``out`` feeds components as any Node's output does (codec bytes), and component outputs reach its
  input ``msg`` as the output ``<component>.<output>``.
"""
from __future__ import annotations

import shlex
from typing import Any, Dict, List, Optional, Tuple

from ...graph.plan import boundary, control_plane, crossing, input_key, output_key
from ...graph.spec import DEFAULT_QUEUE_SIZE

STATUS_OUTPUT = "_lk_status"
CONTROL_OUTPUT = "_lk_control"
# dora's own default traces every timeout with a Rust backtrace (~1 ms each): the host loop waits with
# timeouts between source firings, so backtraces are switched off for node processes.
NODE_ENV = {"RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"}
CONTROL_QUEUE = {"queue_size": 100, "queue_policy": "backpressure"}
TIMERS_PREFIX = "_lk_timers."
BRIDGE_PREFIX = "_lk_ros."  # the bridge node of a RosTopic (lk_runtime.ros_bridge)
TIMERS_SCRIPT = "nodes/_lk_timers.py"


def dora_queue(port) -> Dict[str, Any]:
    """``queue_size`` and ``queue_policy`` of a dora input from the port's settings.

    dora 1.1's ``drop_oldest`` loses messages well below ``queue_size`` when a sender is briefly faster
    than its receiver (measured: ~1% at 1000 msg/s with queue_size 1000), while ``backpressure``
    lost none. A port left at the IR's defaults means "lose nothing", so it becomes ``backpressure``;
    a port whose queue was configured keeps exactly what was asked for.
    """
    policy = port.queue_policy
    if policy == "drop_oldest" and port.queue_size == DEFAULT_QUEUE_SIZE:
        policy = "backpressure"
    return {"queue_size": port.queue_size, "queue_policy": policy}


def status_input(peer: str) -> str:
    return f"{STATUS_OUTPUT}.{peer}"


def cross_edges(spec) -> List[Tuple[str, str, str, str, Any]]:
    """Edges between Nodes as (src node, output id, dst node, input id, edge), in IR order."""
    return [(src, output_key(e.src, e.output), dst, input_key(e.dst, e.input), e) for src, dst, e in crossing(spec)]


def dora_boundary(spec):
    """The edges with foreign dora nodes (``DoraNode``), whose values cross in a boundary format."""
    dora = {f.name for f in spec.foreign if f.kind == "dora"}
    return [e for e in boundary(spec) if e.src in dora or e.dst in dora]


def bridged(spec):
    """The edges with ``RosTopic``s: they cross as codec bytes, through the topic's bridge node."""
    ros = {f.name for f in spec.foreign if f.kind == "ros_topic"}
    return [e for e in boundary(spec) if e.src in ros or e.dst in ros]


def boundary_output(component: str, output: str, fmt: str) -> str:
    """The dora output that carries a component's output to foreign nodes, in one boundary format."""
    return f"{component}.{output}.{fmt}"


def boundary_wiring(spec, node: str) -> Dict[str, List[List[str]]]:
    """One Node's edges with foreign nodes: outputs ``[component, output, dora id, format, label]`` and
    inputs ``[dora id, component, input, format, label]`` (the label names the edge in errors)."""
    members = set(spec.node(node).components)
    outputs, inputs = {}, []
    for e in dora_boundary(spec):
        if e.src in members:
            fmt = spec.member(e.dst).input(e.input).format
            oid = boundary_output(e.src, e.output, fmt)
            outputs.setdefault(oid, [e.src, e.output, oid, fmt, f"{e.src}.{e.output} -> {e.dst}.{e.input}"])
        elif e.dst in members:
            fmt = spec.member(e.src).output(e.output).format
            inputs.append([input_key(e.dst, e.input), e.dst, e.input, fmt, f"{e.src}.{e.output} -> {e.dst}.{e.input}"])
    return {"boundary_outputs": [outputs[k] for k in sorted(outputs)], "boundary_inputs": inputs}


def boundary_counters(spec) -> List[List[str]]:
    """``[edge label, node, "sent" | "received", count key]`` of every edge with a foreign node: where the
    lkbuild side counts it (``ending.Ending`` counts by dora id, reported in each Node's summary)."""
    node_of = {c.name: c.node for c in spec.components}
    out = []
    ros = {e for e in bridged(spec)}
    for e in boundary(spec):
        if e.src in node_of and e in ros:
            out.append([str(e), node_of[e.src], "sent", output_key(e.src, e.output)])
        elif e.src in node_of:
            key = boundary_output(e.src, e.output, spec.member(e.dst).input(e.input).format)
            out.append([str(e), node_of[e.src], "sent", key])
        elif e.dst in node_of:
            out.append([str(e), node_of[e.dst], "received", input_key(e.dst, e.input)])
    return out


def _bridged_from(spec, node: str):
    members = set(spec.node(node).components)
    return [e for e in bridged(spec) if e.src in members]


def _bridged_into(spec, node: str):
    members = set(spec.node(node).components)
    return [e for e in bridged(spec) if e.dst in members]


def node_wiring(spec, node: str) -> Dict[str, Any]:
    """The dora ids of one Node's adapter: its data outputs and inputs, foreign edges, its control plane."""
    edges = cross_edges(spec)
    outputs = sorted({(e.src, e.output, oid) for src, oid, _, _, e in edges if src == node}
                     | {(e.src, e.output, output_key(e.src, e.output)) for e in _bridged_from(spec, node)})
    inputs = [[iid, e.dst, e.input] for _, _, dst, iid, e in edges if dst == node]
    inputs += [[input_key(e.dst, e.input), e.dst, e.input] for e in _bridged_into(spec, node)]
    plane = control_plane(spec, node)
    leader = plane["leader"]
    return {
        "outputs": [list(o) for o in outputs],
        "inputs": inputs,
        "status_output": STATUS_OUTPUT if plane["status_to"] else None,
        "status_inputs": [[status_input(p), p] for p in plane["status_from"]],
        "control_output": CONTROL_OUTPUT if leader == node else None,
        "control_input": CONTROL_OUTPUT if leader is not None and leader != node else None,
        # outputs read by a ROS bridge node: no end-of-run count waits for them, so they are never batched
        "unbatched": sorted({output_key(e.src, e.output) for e in _bridged_from(spec, node)}),
        **boundary_wiring(spec, node),
    }


def descriptor(spec, python: str, root: str, env: Optional[Dict[str, str]] = None,
               placed: bool = True, paths: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """The dataflow descriptor as a dict, ready for ``yaml.safe_dump``.

    Args:
        python: absolute path of the interpreter every node runs with (never a PATH lookup).
        root: absolute directory holding ``nodes/`` on the machines that run the dataflow.
        placed: write ``deploy: {machine: ...}`` (``dora run`` refuses it: False for one machine).
        paths: the ``path`` of each foreign node where it is not its own (a console script in a venv).
    """
    edges = cross_edges(spec)
    nodes = []
    for n in spec.nodes:
        entry: Dict[str, Any] = {
            "id": n.name,
            "path": python,
            # dora splits `args` into words as a POSIX shell would (no expansion): quoted, a path with
            # spaces, quotes, `#` or `$` stays one argument (checked with dora 1.1 by the e2e tests).
            "args": f"-u {shlex.quote(f'{root}/nodes/{n.name}.py')}",
        }
        wiring = node_wiring(spec, n.name)
        outputs = sorted({oid for src, oid, _, _, _ in edges if src == n.name}
                         | {output_key(e.src, e.output) for e in _bridged_from(spec, n.name)})
        outputs += [oid for _, _, oid, _, _ in wiring["boundary_outputs"]]
        outputs += [o for o in (wiring["status_output"], wiring["control_output"]) if o]
        if outputs:
            entry["outputs"] = outputs
        inputs: Dict[str, Any] = {}
        for src, oid, dst, iid, e in edges:
            if dst == n.name:
                port = spec.component(e.dst).input(e.input)
                inputs[iid] = {"source": f"{src}/{oid}", **dora_queue(port)}
        for e in boundary(spec):
            if e.dst in n.components:
                src = f"{BRIDGE_PREFIX}{e.src}" if e in bridged(spec) else e.src
                inputs[input_key(e.dst, e.input)] = {"source": f"{src}/{e.output}",
                                                     **dora_queue(spec.component(e.dst).input(e.input))}
        for iid, peer in wiring["status_inputs"]:
            inputs[iid] = {"source": f"{peer}/{STATUS_OUTPUT}", **CONTROL_QUEUE}
        if wiring["control_input"]:
            leader = control_plane(spec, n.name)["leader"]
            inputs[wiring["control_input"]] = {"source": f"{leader}/{CONTROL_OUTPUT}", **CONTROL_QUEUE}
        if inputs:
            entry["inputs"] = inputs
        entry["env"] = dict(sorted({**NODE_ENV, **(env or {})}.items()))
        entry.update(restart_fields(n))
        if n.machine and placed:
            entry["deploy"] = {"machine": n.machine}
        nodes.append(entry)
    for f in spec.foreign:
        if f.kind == "dora":
            nodes += foreign_entries(spec, f, python, root, placed, (paths or {}).get(f.name))
        elif f.kind == "ros_topic":
            nodes.append(bridge_entry(spec, f, python, root, placed))
    return {"nodes": nodes}


def bridge_script(f) -> str:
    return f"nodes/{BRIDGE_PREFIX}{f.name}.py"


def bridge_config(spec, f) -> Dict[str, Any]:
    """What the bridge of a RosTopic needs (``lk_runtime.ros_bridge``)."""
    edges = bridged(spec)
    return {"topic": f.topic, "type": f.msg_type, "qos": dict(f.qos), "format": f.inputs[0].format,
            "ros_node": f"lk_bridge_{f.name}", "subscribe": any(e.src == f.name for e in edges),
            "publish": any(e.dst == f.name for e in edges)}


def bridge_entry(spec, f, python: str, root: str, placed: bool) -> Dict[str, Any]:
    node_of = {c.name: c.node for c in spec.components}
    config = bridge_config(spec, f)
    entry: Dict[str, Any] = {"id": BRIDGE_PREFIX + f.name, "path": python,
                             "args": f"-u {shlex.quote(f'{root}/{bridge_script(f)}')}"}
    if config["subscribe"]:
        entry["outputs"] = ["out"]
    inputs = {}
    for e in bridged(spec):
        if e.dst == f.name:
            inputs["msg"] = {"source": f"{node_of[e.src]}/{output_key(e.src, e.output)}",
                             "queue_size": DEFAULT_QUEUE_SIZE, "queue_policy": "backpressure"}
    if inputs:
        entry["inputs"] = inputs
    entry["env"] = dict(sorted(NODE_ENV.items()))
    if f.machine and placed:
        entry["deploy"] = {"machine": f.machine}
    return entry


def foreign_entries(spec, f, python: str, root: str, placed: bool, path: Optional[str]) -> List[Dict[str, Any]]:
    """The dora node of a ``DoraNode`` (and of its timers), as the dataflow lists it."""
    node_of = {c.name: c.node for c in spec.components}
    entry: Dict[str, Any] = {"id": f.name, "path": path or f.path}
    if f.args:
        entry["args"] = " ".join(shlex.quote(a) for a in f.args)
    if f.build:
        entry["build"] = f.build
    if f.outputs:
        entry["outputs"] = [p.name for p in f.outputs]
    inputs: Dict[str, Any] = {}
    for e in dora_boundary(spec):
        if e.dst == f.name and e.src in node_of:
            port = f.input(e.input)
            inputs[e.input] = {"source": f"{node_of[e.src]}/{boundary_output(e.src, e.output, port.format)}",
                               **dora_queue(port)}
    timers = TIMERS_PREFIX + f.name
    for name in f.timers:
        inputs[name] = {"source": f"{timers}/{name}", "queue_size": DEFAULT_QUEUE_SIZE,
                        "queue_policy": "backpressure"}
    if inputs:
        entry["inputs"] = inputs
    if f.env:
        entry["env"] = dict(sorted(f.env.items()))
    deploy = {"deploy": {"machine": f.machine}} if f.machine and placed else {}
    entry.update(deploy)
    if not f.timers:
        return [entry]
    ticker = {
        "id": timers,
        "path": python,
        "args": f"-u {shlex.quote(f'{root}/{TIMERS_SCRIPT}')} "
                + " ".join(f"{name}={hz!r}" for name, hz in sorted(f.timers.items())),
        "outputs": sorted(f.timers),
        "env": dict(sorted(NODE_ENV.items())),
        **deploy,
    }
    return [ticker, entry]


def restart_fields(node) -> Dict[str, Any]:
    """dora's restart fields for a Node that asked to be restarted (none otherwise)."""
    fields: Dict[str, Any] = {}
    if getattr(node, "restart", None):
        fields["restart_policy"] = node.restart
    if getattr(node, "max_restarts", None) is not None:
        fields["max_restarts"] = int(node.max_restarts)
    if getattr(node, "restart_delay", None) is not None:
        fields["restart_delay"] = float(node.restart_delay)
    return fields


def machines_of(spec) -> List[str]:
    """The machines the dataflow is placed on (one dora daemon each), sorted."""
    return sorted({n.machine for n in spec.nodes if n.machine} | {f.machine for f in spec.foreign if f.machine})
