"""The dora dataflow of a system: dora ids, per-Node wiring and the descriptor (``dataflow.yaml``) as data.

Naming (every id is valid for dora, ``[A-Za-z0-9_.-]``):

* one dora node per lkbuild Node, with the Node's name as id;
* an output that leaves its Node is the dora output ``<component>.<output>``;
* an input fed from another Node is the dora input ``<component>.<input>`` with source
  ``<src node>/<src component>.<output>``;
* when there are several Nodes, the control plane (``lk_runtime.ending``): each Node's status output
  ``_lk_status`` feeds the leader and the Nodes that send to it (input ``_lk_status.<node>``), and the
  leader's ``_lk_control`` output feeds every other Node (input ``_lk_control``). A component name
  cannot start with ``_`` and a data id always has a dot, so these ids never collide.
"""
from __future__ import annotations

import shlex
from typing import Any, Dict, List, Optional, Tuple

from ...graph.plan import control_plane, crossing, input_key, output_key
from ...graph.spec import DEFAULT_QUEUE_SIZE

STATUS_OUTPUT = "_lk_status"
CONTROL_OUTPUT = "_lk_control"
# dora's own default traces every timeout with a Rust backtrace (~1 ms each): the host loop waits with
# timeouts between source firings, so backtraces are switched off for node processes.
NODE_ENV = {"RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"}
CONTROL_QUEUE = {"queue_size": 100, "queue_policy": "backpressure"}


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


def node_wiring(spec, node: str) -> Dict[str, Any]:
    """The dora ids of one Node's adapter: its data outputs and inputs, and its control plane."""
    edges = cross_edges(spec)
    outputs = sorted({(e.src, e.output, oid) for src, oid, _, _, e in edges if src == node})
    inputs = [[iid, e.dst, e.input] for _, _, dst, iid, e in edges if dst == node]
    plane = control_plane(spec, node)
    leader = plane["leader"]
    return {
        "outputs": [list(o) for o in outputs],
        "inputs": inputs,
        "status_output": STATUS_OUTPUT if plane["status_to"] else None,
        "status_inputs": [[status_input(p), p] for p in plane["status_from"]],
        "control_output": CONTROL_OUTPUT if leader == node else None,
        "control_input": CONTROL_OUTPUT if leader is not None and leader != node else None,
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
        outputs = sorted({oid for src, oid, _, _, _ in edges if src == n.name})
        outputs += [o for o in (wiring["status_output"], wiring["control_output"]) if o]
        if outputs:
            entry["outputs"] = outputs
        inputs: Dict[str, Any] = {}
        for src, oid, dst, iid, e in edges:
            if dst == n.name:
                port = spec.component(e.dst).input(e.input)
                inputs[iid] = {"source": f"{src}/{oid}", **dora_queue(port)}
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
