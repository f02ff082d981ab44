"""The report channel: how a Node's process tells lkbuild how its run went, on every engine.

A process writes at most one line of each kind, a marker then JSON, where the engine collects its
output (dora's node logs, a ROS 2 process's log file): ``LK_SUMMARY`` on stdout when it ends normally
(firings, messages, per-edge counts), ``LK_FAILURE`` on stderr when it fails (component, node, machine,
phase, traceback), ``LK_LOST`` on stderr when the leader ends a run without messages that were lost,
``LK_PROFILE`` on stdout before the summary when the run was profiled (``profile.Profiler.result``). One
module in lkbuild (``lkbuild.engines.report``) reads them back. A process's exit code says the same:
"""
from __future__ import annotations

import json
import sys
from typing import Any, Dict, Optional

from .errors import ComponentFailure, format_traceback

FAILURE = "LK_FAILURE "
SUMMARY = "LK_SUMMARY "
LOST = "LK_LOST "
PROFILE = "LK_PROFILE "

EXIT_OK = 0
EXIT_RUNTIME = 1       # the runtime itself failed (a bug, a broken plan, a dora error)
EXIT_COMPONENT = 3     # a component raised or tried to end the process (lkbuild's ComponentError)
EXIT_INTERRUPTED = 130


def write(stream, mark: str, data: Dict[str, Any]) -> None:
    stream.write(mark + json.dumps(data, sort_keys=True) + "\n")
    stream.flush()


def failure(plan: Dict[str, Any], exc: BaseException, stream=None) -> int:
    """Print a failure for a human and as one ``LK_FAILURE`` line; returns the exit code for it."""
    stream = stream or sys.stderr
    if isinstance(exc, ComponentFailure):
        info = {"component": exc.component, "node": exc.node, "machine": exc.machine, "phase": exc.phase,
                "traceback": exc.traceback_text}
        text, code = str(exc), EXIT_COMPONENT
    else:
        info = {"component": None, "node": plan.get("node"), "machine": plan.get("machine"), "phase": "runtime",
                "traceback": format_traceback(exc)}
        text = f"node '{info['node']}' (machine '{info['machine']}') failed:\n{info['traceback']}"
        code = EXIT_RUNTIME
    stream.write(text.rstrip() + "\n")
    write(stream, FAILURE, info)
    return code


def summary(node: str, host, counts: Optional[Dict[str, Dict[str, int]]] = None, stream=None,
            **extra: Any) -> None:
    """The ``LK_SUMMARY`` line of a Node that ended normally: firings, messages, per-edge counts."""
    data = {"node": node, "messages": host.messages if host else 0,
            "fired": {s.name: s.fired for s in host.slots} if host else {},
            "sent": dict((counts or {}).get("sent", {})), "received": dict((counts or {}).get("received", {})),
            **extra}
    write(stream or sys.stdout, SUMMARY, data)


def profile(profiler, stream=None) -> None:
    """The ``LK_PROFILE`` line of a profiled Node (None: not profiled, nothing written)."""
    if profiler is not None:
        write(stream or sys.stdout, PROFILE, profiler.result())


def lost(node: str, missing: Dict[str, int], stream=None) -> None:
    """Say which messages were lost, for a human and as one ``LK_LOST`` line."""
    stream = stream or sys.stderr
    total = sum(missing.values())
    stream.write(f"node '{node}': {total} message(s) were lost in transit; the run ends without them: {missing}\n")
    write(stream, LOST, {"node": node, "missing": missing})
