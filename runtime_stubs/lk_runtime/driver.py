"""The event loop every engine adapter runs: the Host's clock, the Node's ``Ending``, and a transport.

An adapter is a ``Transport``: it waits for what its engine delivers (dora events, rclpy callbacks) and
hands it to the Host and the ``Ending``, and it sends what they say. ``drive`` does the rest, the same
way on every engine: it fires each source when the Host's clock says it is due — waiting for that moment
in real time, not at all with ``--fast`` — holds firings while the flow-control window is closed, asks
the ``Ending`` what to tell other Nodes, and returns when the run is over.
"""
from __future__ import annotations

import sys
import time
from typing import Any, Callable, Dict, Optional

from . import report
from .ending import Decision, Ending

CHECK_EVERY = 10   # back-to-back firings (--fast) between two looks at the engine's events and the window
HOLD_WAIT_S = 0.05  # while the window is closed, wait this long for receivers to catch up
WAIT_LOG_S = 10.0  # a Node waiting for the end of the run says for whom, this often


class Transport:
    """What an engine adapter provides to ``drive``."""

    open = True             # more events can still arrive
    stop_requested = False  # the engine asked this Node to stop (Ctrl-C, --duration, dora stop)

    def wait(self, timeout: Optional[float]) -> None:
        """Handle what arrives within ``timeout`` seconds (None: until something arrives)."""
        raise NotImplementedError

    def poll(self) -> None:
        """Handle what has already arrived, without blocking."""
        raise NotImplementedError

    def publish(self, status: Optional[Dict[str, Any]]) -> None:
        """Send this Node's status to the Nodes that hear it (``graph.plan.control_plane``)."""
        raise NotImplementedError

    def broadcast(self, control: Optional[Dict[str, Any]]) -> None:
        """(The leader) send a decision to every other Node."""
        raise NotImplementedError


def drive(host, control: Ending, transport: Transport, realtime: bool,
          clock: Callable[[], float] = time.monotonic, log=None) -> Decision:
    """Run the Node until the run is over (or a stop is requested); returns the last decision."""
    log = log or sys.stderr
    host.start()
    start = last_log = clock()
    alone = len(control.nodes) < 2
    fired = 0
    decision = Decision()
    while not transport.stop_requested:
        now = clock()
        if control.warming:  # before the first firing: every Node receives a message (ending: Warm-up)
            decision = control.warm_up(now)
            transport.publish(decision.status)
            transport.broadcast(decision.control)
            if control.warming:
                transport.wait(decision.wait)
            continue
        due = host.next_due()
        wait = None
        if due is not None:
            wait = start + due - now if realtime else 0.0
            if wait <= 0:
                if realtime or fired >= CHECK_EVERY:
                    fired = 0
                    transport.poll()
                    if control.hold(now):
                        transport.wait(HOLD_WAIT_S)
                        continue
                host.fire_next()
                control.event(now)
                fired += 1
                continue
        decision = control.step(host.done(), now)
        transport.publish(decision.status)
        transport.broadcast(decision.control)
        if decision.done:
            if decision.lost and control.is_leader:
                report.lost(control.node, decision.lost, log)
            return decision
        if decision.status is not None or decision.control is not None:
            continue  # something changed: ask again before waiting
        if decision.wait is not None:
            wait = decision.wait if wait is None else min(wait, decision.wait)
        if not transport.open:
            if due is None or not alone:
                return decision  # nothing more can happen here
            time.sleep(max(wait, 0.0))
            continue
        if control.ending and host.done() and now - last_log >= WAIT_LOG_S:
            last_log = now
            log.write(f"node '{control.node}': waiting for the end of the run; not idle yet: "
                      f"{', '.join(control.waiting_for(True)) or 'none'}\n")
            log.flush()
        transport.wait(None if wait is None else max(wait, 0.0))
    return decision
