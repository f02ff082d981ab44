"""The dora dataflow of a system: dora ids, per-Node wiring and the descriptor (``dataflow.yaml``) as data.

Naming (every id is valid for dora, ``[A-Za-z0-9_.-]``):

* one dora node per lkbuild Node, with the Node's name as id;
* an output that leaves its Node is the dora output ``<component>.<output>``;
* an input fed from another Node is the dora input ``<component>.<input>`` with source
  ``<src node>/<src component>.<output>``;
* when there are several Nodes, each also publishes its run status (``_lk_status``) to every other
  (see ``lk_runtime.dora_node``): a component name cannot start with ``_`` and a data id always has a
  dot, so these ids never collide.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ...graph.spec import DEFAULT_QUEUE_SIZE

STATUS_OUTPUT = "_lk_status"
# dora's own default traces every timeout with a Rust backtrace (~1 ms each): the host loop waits with
# timeouts between source firings, so backtraces are switched off for node processes.
NODE_ENV = {"RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"}


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


def output_id(component: str, output: str) -> str:
    return f"{component}.{output}"


def input_id(component: str, port: str) -> str:
    return f"{component}.{port}"


def status_input(peer: str) -> str:
    return f"{STATUS_OUTPUT}.{peer}"


def cross_edges(spec) -> List[Tuple[str, str, str, str, Any]]:
    """Edges between Nodes as (src node, output id, dst node, input id, edge), in IR order."""
    node_of = {c.name: c.node for c in spec.components}
    found = []
    for e in spec.edges:
        src, dst = node_of[e.src], node_of[e.dst]
        if src != dst:
            found.append((src, output_id(e.src, e.output), dst, input_id(e.dst, e.input), e))
    return found


def counting(spec) -> bool:
    """Whether Nodes end the run by counting messages (``lk_runtime.dora_node``): whenever there are several.

    dora drops the messages a Node sent but a slow receiver has not taken yet when the sender exits,
    and Nodes in a loop never see their inputs close: so a Node may only return once every message
    it sent has been received, which takes the counts of both ends.
    """
    return len(spec.nodes) > 1


def node_wiring(spec, node: str) -> Dict[str, Any]:
    """What the dora adapter of one Node needs besides its plan: its dora ids and the end-of-run protocol."""
    edges = cross_edges(spec)
    counts = counting(spec)
    outputs = sorted({(e.src, e.output, oid) for src, oid, _, _, e in edges if src == node})
    inputs = [[iid, e.dst, e.input] for _, _, dst, iid, e in edges if dst == node]
    peers = [n.name for n in spec.nodes if n.name != node] if counts else []
    timed = {c.node for c in spec.components if c.is_source}
    return {
        "outputs": [list(o) for o in outputs],
        "inputs": inputs,
        "counting": counts,
        "status_output": STATUS_OUTPUT,
        "peers": [[status_input(p), p] for p in peers],
        "timed_peers": [p for p in peers if p in timed],
        "edges": [[src, oid, dst, iid] for src, oid, dst, iid, _ in edges] if counts else [],
    }


def descriptor(spec, python: str, root: str, env: Optional[Dict[str, str]] = None,
               placed: bool = True) -> Dict[str, Any]:
    """The dataflow descriptor as a dict, ready for ``yaml.safe_dump``.

    Args:
        python: absolute path of the interpreter every node runs with (never a PATH lookup).
        root: absolute directory holding ``nodes/`` on the machines that run the dataflow.
        placed: write ``deploy: {machine: ...}`` (``dora run`` refuses it: False for one machine).
    """
    edges = cross_edges(spec)
    counts = counting(spec)
    nodes = []
    for n in spec.nodes:
        entry: Dict[str, Any] = {
            "id": n.name,
            "path": python,
            "args": f"-u {root}/nodes/{n.name}.py",
        }
        outputs = sorted({oid for src, oid, _, _, _ in edges if src == n.name})
        if counts:
            outputs.append(STATUS_OUTPUT)
        if outputs:
            entry["outputs"] = outputs
        inputs: Dict[str, Any] = {}
        for src, oid, dst, iid, e in edges:
            if dst == n.name:
                port = spec.component(e.dst).input(e.input)
                inputs[iid] = {"source": f"{src}/{oid}", **dora_queue(port)}
        if counts:
            for peer in spec.nodes:
                if peer.name != n.name:
                    inputs[status_input(peer.name)] = {"source": f"{peer.name}/{STATUS_OUTPUT}",
                                                       "queue_size": 100, "queue_policy": "backpressure"}
        if inputs:
            entry["inputs"] = inputs
        entry["env"] = dict(sorted({**NODE_ENV, **(env or {})}.items()))
        entry.update(restart_fields(n))
        if n.machine and placed:
            entry["deploy"] = {"machine": n.machine}
        nodes.append(entry)
    return {"nodes": nodes}


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
    return sorted({n.machine for n in spec.nodes if n.machine})
