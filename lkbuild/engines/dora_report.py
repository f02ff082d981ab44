"""What the dora engine tells a user when a run goes wrong: read from dora's logs, said with names.

dora's own words that matter here (dora 1.1): ``<node>: daemon node is ready`` (``<node> on daemon
`<machine>`: ...`` under ``dora start``) once a node joined the dataflow, which lkbuild's nodes do after
``setup()``; and ``Node `<node>` failed: <why>`` when a node process ended badly.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, List, Optional

from ..errors import ComponentError, ComponentStalledError, ToolError
from ..tools.supervise import Outcome

if TYPE_CHECKING:  # pragma: no cover
    from .dora import _Run as Run

_READY = re.compile(r"\b([A-Za-z0-9_.-]+)(?: on daemon `[^`]*`)?: daemon node is ready")
_NODE_FAILED = re.compile(r"Node `([A-Za-z0-9_.-]+)` failed: (.+)")


def failed_nodes(lines: List[str]) -> Dict[str, str]:
    """Nodes dora reported failed, with dora's reason (``exited because of signal SIGKILL``)."""
    return {m.group(1): m.group(2).strip() for line in lines for m in [_NODE_FAILED.search(line)] if m}


def not_ready(spec, lines: List[str]) -> List[str]:
    """Nodes dora never reported ready: they were still in ``setup()`` (a node joins the dataflow after it)."""
    ready = {m.group(1) for line in lines for m in [_READY.search(line)] if m}
    return [node.name for node in spec.nodes if node.name not in ready]


def starting(run: "Run") -> Optional[str]:
    """While some nodes have not joined the dataflow yet: which (they are in ``setup()``)."""
    if run.all_ready:
        return None
    log_file = run.result.log_file
    lines = log_file.read_text(errors="replace").splitlines() if log_file and log_file.exists() else []
    waiting = not_ready(run.spec, lines)
    run.all_ready = not waiting
    return f"node{'s' if len(waiting) > 1 else ''} {', '.join(waiting)} to set up and join the dataflow" \
        if waiting else None


def components_on(spec, node: str) -> List[str]:
    return [c.name for c in spec.components if spec.node_of(c.name).name == node]


def still_in_setup(run: "Run", nodes: List[str], where: str) -> ComponentStalledError:
    components = {n: components_on(run.spec, n) for n in nodes}
    machine = run.spec.node(nodes[0]).machine or "local"
    return ComponentStalledError(
        components[nodes[0]], nodes[0], machine, "setup", run.duration,
        "".join(f"\nnode '{n}' (components {', '.join(components[n])}) never joined the dataflow." for n in nodes)
        + where)


def machine_lost(outcome: Outcome, cluster, run: "Run") -> ToolError:
    process = cluster.helpers()[outcome.lost]
    nodes = [n.name for n in run.spec.nodes if f"machine '{n.machine}'" == outcome.lost]
    on = f" Its nodes ({', '.join(nodes)}) stopped with it;" if nodes else ""
    return ToolError(f"{outcome.lost} was lost {outcome.elapsed:.0f} s into the run: its dora process "
                     f"(pid {process.pid}) ended with code {process.poll()}.{on} every other process of the run "
                     f"was stopped. Log: {process.log_path}\n{process.log_tail()}")


def timed_out(timeout, result) -> ToolError:
    where = f" Logs: {result.log_file}" if result is not None and result.log_file else ""
    return ToolError(f"the dora run did not end within {timeout} s and was stopped.{where}")


def ended_without_report(node, where: str) -> ComponentError:
    """A Node's process that ended with code 0 but no summary: one of its components ended it.

    The runtime reports every way a run can end, a component's ``sys.exit()`` included; only a process
    that vanished at once (``os._exit()``, a crash in native code) says nothing.
    """
    names = ", ".join(node.components)
    return ComponentError(names, node.name, node.machine or "local", "forward",
                          f"the process of node '{node.name}' ended without a report (component"
                          f"{'s' if len(node.components) > 1 else ''} {names}): os._exit(), or a crash in "
                          f"native code, ended it before lkbuild's runtime could say how the run went.{where}")
