"""The dora adapter: runs one Node's components (a ``Host``) inside a dora node process.

Messages from other Nodes (dora ``INPUT`` events) go to ``Host.receive``; outputs that leave the
Node go out through ``node.send_output`` as the codec's bytes (a flat ``uint8`` Arrow array, so a
numpy array received from shared memory is decoded without a copy).

Sources are timed here, not by dora timers: they fire in the same order as on the native engine,
``realtime=False`` fires them back to back, and with ``iterations`` the Node returns by itself.

How a run with ``iterations`` ends when there are several Nodes. A Node cannot simply return when
its sources are done: dora drops what it sent but a slow receiver has not taken yet, and Nodes in a
loop never see their inputs close. So they count. A Node with nothing left to do (sources done,
nothing queued) publishes how many messages it has sent and received on each edge. A Node in that
state can only become busy again by receiving a message, so once every Node's latest status says
idle and every edge's sent and received counts match, nothing is in flight and nothing can fire
again: each Node returns. Nodes without sources publish only after every Node with sources has
(they are idle between any two messages; publishing then would double the traffic).

Flow control. dora drops messages when a sender outpaces a receiver (even with large queues), so a
receiver also reports its progress every ``ACK_EVERY`` messages, and a Node holds its next source
firing while more than ``WINDOW`` of its messages on any edge are not yet reported received.

Lost messages. A Node that had said it was idle says it is busy before it handles a new message. So
when every Node says idle, the counts still disagree and nothing happens for ``LOSS_GRACE_S``, those
messages are not late but lost (dora can lose messages between machines): the Nodes report them on
an ``LK_LOST {json}`` line and end, rather than wait forever.

A component that raises ends the Node with exit code 1 after ``teardown()``; the failure is printed
to stderr as one ``LK_FAILURE {json}`` line that the engine turns into a ComponentError.
"""
from __future__ import annotations

import heapq
import json
import os
import sys
import time
import traceback
from collections import Counter
from typing import Any, Callable, Dict, Optional

from . import build, record, rosmsg
from .errors import CodecError, ComponentFailure
from .host import Host

RUN_ENV = "LK_DORA_RUN"
FAILURE_MARK = "LK_FAILURE "
SUMMARY_MARK = "LK_SUMMARY "
# An idle Node waits this long for more events before publishing its status, so that a busy loop
# does not send a status after every message.
STATUS_QUIET_S = 0.005
WINDOW = 200      # messages per edge a sender may have in flight (dora queues hold 1000 by default)
ACK_EVERY = 50    # a receiver reports progress after this many messages
CHECK_EVERY = 10  # back-to-back firings between two looks at dora's events and the window
LOSS_GRACE_S = 3.0
SHARED_MEMORY_MIN = 4096  # dora moves payloads this large through shared memory
LOST_MARK = "LK_LOST "


class Settings:
    """How this run goes, from the ``LK_DORA_RUN`` environment variable (JSON, set at launch)."""

    def __init__(self, iterations: Optional[int] = None, realtime: bool = True, record_dir: Optional[str] = None):
        self.iterations = iterations
        self.realtime = realtime
        self.record_dir = record_dir

    @classmethod
    def from_env(cls, environ) -> "Settings":
        text = environ.get(RUN_ENV)
        if not text:
            return cls()
        data = json.loads(text)
        iterations = data.get("iterations")
        if iterations is not None and (isinstance(iterations, bool) or not isinstance(iterations, int)):
            raise ValueError(f"{RUN_ENV}: iterations must be an integer. Received: {iterations!r}")
        return cls(iterations, bool(data.get("realtime", True)), data.get("record_dir") or None)


def payload_view(value) -> memoryview:
    """The bytes of a received ``uint8`` Arrow array, without copying them out of shared memory."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return memoryview(value)
    if str(value.type) != "uint8":
        raise CodecError(f"expected an lkbuild message (uint8 bytes), received an Arrow array of {value.type}")
    data = value.buffers()[1]
    if data is None:
        return memoryview(b"")
    return memoryview(data)[value.offset:value.offset + len(value)]


def as_arrow(payload: bytes):
    """The payload as a ``uint8`` Arrow array over the same memory: dora sends it faster than ``bytes``."""
    import pyarrow as pa

    return pa.Array.from_buffers(pa.uint8(), len(payload), [None, pa.py_buffer(payload)])


def is_timeout(event) -> bool:
    return event is not None and event.get("type") == "ERROR" and "timed out" in str(event.get("error", ""))


class NodeRunner:
    """Drives one Host from a dora node's events.

    Args:
        plan: the Node's plan (``lkbuild.engines.plan.node_plan``).
        wiring: dora ids and the end-of-run protocol (``lkbuild.generators.dora.dataflow.node_wiring``).
        instances: the Node's built components, by name.
    """

    def __init__(self, plan: Dict[str, Any], wiring: Dict[str, Any], instances: Dict[str, Any],
                 settings: Settings, record_to: Optional[Callable] = None):
        self.name = plan.get("node", "local")
        self.settings = settings
        self.host = Host(plan, instances, send=self.send, record=record_to, strict=True,
                         iterations=settings.iterations)
        self.outputs = {(c, o): oid for c, o, oid in wiring.get("outputs", ())}
        self.inputs = {iid: (c, p) for iid, c, p in wiring.get("inputs", ())}
        self.counting = bool(wiring.get("counting"))
        self.status_output = wiring.get("status_output", "_lk_status")
        self.peers = {iid: peer for iid, peer in wiring.get("peers", ())}
        self.timed_peers = set(wiring.get("timed_peers", ()))
        self.edges = [tuple(e) for e in wiring.get("edges", ())]
        self.sent: Counter = Counter()
        self.received: Counter = Counter()
        self.peer_status: Dict[str, Dict[str, Any]] = {}
        self.published: Optional[tuple] = None
        self.unreported = 0
        self.unchecked = 0
        self.last_event = time.monotonic()
        self.windowed = True
        self.exports = {oid: [(dst, iid) for src, o, dst, iid in self.edges if src == self.name and o == oid]
                        for oid in self.outputs.values()}
        # Open even without inputs: a stop request (Ctrl-C, --stop-after) arrives as an event too.
        self.stream_open = True
        self.stop_requested = False
        self.peer_finished = False
        self.node = None
        self.timers = []

    # -- dora -> host ---------------------------------------------------------------------------------
    def send(self, component: str, output: str, payload: bytes) -> None:
        output_id = self.outputs[(component, output)]
        self.node.send_output(output_id, as_arrow(payload) if len(payload) >= SHARED_MEMORY_MIN else payload)
        self.sent[output_id] += 1

    def handle(self, event) -> None:
        if event is None:
            self.stream_open = False
            return
        if is_timeout(event):
            return
        self.last_event = time.monotonic()
        kind = event["type"]
        if kind == "INPUT":
            input_id = event["id"]
            target = self.inputs.get(input_id)
            if target is not None:
                if self.counting and self.published is not None and self.published[0]:
                    self.publish(idle=False)  # peers must not take a busy Node for idle
                self.received[input_id] += 1
                self.host.receive(target[0], target[1], payload_view(event["value"]))
                self.host.drain()
                self.unreported += 1
                if self.counting and self.unreported >= ACK_EVERY:
                    self.publish(idle=False)
            elif input_id in self.peers:
                self.peer_status[self.peers[input_id]] = _status_from(payload_view(event["value"]))
        elif kind == "INPUT_CLOSED":
            # A peer only returns once the run is over (or it failed): so is this one.
            if event.get("id") in self.peers:
                self.peer_finished = True
        elif kind == "STOP":
            # "all inputs closed" can arrive before the last inputs: the stream's end (None) is what counts.
            if event.get("id") != "ALL_INPUTS_CLOSED":
                self.stop_requested = True
        elif kind == "ERROR":
            raise RuntimeError(f"dora reported an error to node '{self.name}': {event.get('error')}")

    # -- the end-of-run protocol and flow control --------------------------------------------------------
    def idle(self) -> bool:
        return not self.timers and not self.host.queue

    def status(self, idle: bool = True) -> tuple:
        return idle, tuple(sorted(self.sent.items())), tuple(sorted(self.received.items()))

    def publish(self, idle: bool = True) -> None:
        """Send this Node's counts to its peers: as an idle status, or as progress while busy."""
        current = self.status(idle)
        if current == self.published:
            return
        body = {"idle": idle, "sent": dict(self.sent), "received": dict(self.received)}
        self.node.send_output(self.status_output, json.dumps(body, sort_keys=True).encode())
        self.published = current
        self.unreported = 0

    def window_open(self) -> bool:
        """No edge out of this Node has more than ``WINDOW`` messages not yet reported received."""
        for output_id, targets in self.exports.items():
            for dst, input_id in targets:
                got = self.peer_status.get(dst, {}).get("received", {}).get(input_id, 0)
                if self.sent[output_id] - got >= WINDOW:
                    return False
        return True

    def missing(self) -> Dict[str, int]:
        """Per edge, messages sent but not received, by every Node's latest word."""
        statuses = dict(self.peer_status)
        statuses[self.name] = {"sent": self.sent, "received": self.received}
        out = {}
        for src, oid, dst, iid in self.edges:
            if src in statuses and dst in statuses:
                gap = statuses[src]["sent"].get(oid, 0) - statuses[dst]["received"].get(iid, 0)
                if gap > 0:
                    out[f"{src}/{oid} -> {dst}/{iid}"] = gap
        return out

    def all_idle(self) -> bool:
        """This Node idle and said so; every peer's latest status idle."""
        return (self.idle() and self.published == self.status(True)
                and set(self.peers.values()) <= set(self.peer_status)
                and all(status["idle"] for status in self.peer_status.values()))

    def may_publish(self) -> bool:
        """A Node with sources publishes when idle; one without, once every Node with sources has."""
        return bool(self.host.sources()) or self.timed_peers.issubset(self.peer_status)

    def run_is_over(self) -> bool:
        """Every Node idle and every edge's counts equal: nothing is in flight, nothing can fire again."""
        if self.peer_finished:
            return True
        if not self.idle() or set(self.peers.values()) - set(self.peer_status):
            return False
        if not all(status["idle"] for status in self.peer_status.values()):
            return False
        statuses = dict(self.peer_status)
        statuses[self.name] = {"sent": self.sent, "received": self.received}
        return all(statuses[src]["sent"].get(oid, 0) == statuses[dst]["received"].get(iid, 0)
                   for src, oid, dst, iid in self.edges)

    # -- the event loop ---------------------------------------------------------------------------------
    def run(self, node) -> None:
        """Start the loops, fire sources on time, handle events until the run is over."""
        self.node = node
        host = self.host
        host.start_loops()
        host.drain()
        start = time.monotonic()
        self.timers = [(0.0, i, s.name, 1.0 / s.rate_hz) for i, s in enumerate(host.sources())]
        heapq.heapify(self.timers)
        realtime = self.settings.realtime
        while not self.stop_requested:
            wait = None
            if self.timers:
                wait = self.timers[0][0] - (time.monotonic() - start) if realtime else 0.0
                if wait <= 0:
                    if self.unchecked >= CHECK_EVERY or realtime:
                        if self.counting and self.windowed and not self.window_open():
                            if time.monotonic() - self.last_event >= LOSS_GRACE_S:
                                self.windowed = False  # no word for long: lost; reported at the end
                            self.handle(node.next(timeout=0.05))  # wait for receivers to catch up
                            continue
                        self.unchecked = 0
                        if not realtime:
                            self.poll()
                    self.fire_next()
                    self.unchecked += 1
                    continue
            if self.counting:
                if self.run_is_over():
                    self.publish()
                    return
                if self.idle() and self.status(True) != self.published and self.may_publish():
                    event = node.next(timeout=STATUS_QUIET_S)
                    if is_timeout(event):
                        self.publish()
                    else:
                        self.handle(event)
                    continue
                if self.all_idle() and self.stream_open:
                    quiet = time.monotonic() - self.last_event
                    if quiet >= LOSS_GRACE_S:
                        report_loss(self.name, self.missing())
                        return
                    self.handle(node.next(timeout=LOSS_GRACE_S - quiet))
                    continue
            if not self.timers and not self.counting and not self.inputs:
                return  # sources done and nothing can arrive from other Nodes
            if not self.stream_open:
                if not self.timers or self.counting:
                    return
                time.sleep(wait)
                continue
            self.handle(node.next() if wait is None else node.next(timeout=wait))

    def fire_next(self) -> None:
        at, i, name, period = heapq.heappop(self.timers)
        if self.host.fire_source(name):
            heapq.heappush(self.timers, (at + period, i, name, period))

    def poll(self) -> None:
        """Handle the events already waiting, without blocking (between back-to-back source firings)."""
        while self.stream_open and not self.node.is_empty():
            self.handle(self.node.next())

    def summary(self) -> Dict[str, Any]:
        return {"node": self.name, "messages": self.host.messages,
                "fired": {s.name: s.fired for s in self.host.slots}}


def _status_from(raw) -> Dict[str, Any]:
    """A peer's status message; it crossed a process boundary, so it is checked, never trusted."""
    data = json.loads(bytes(raw))
    ok = isinstance(data, dict) and isinstance(data.get("idle"), bool) and all(
        isinstance(data.get(key), dict) and all(isinstance(v, int) for v in data[key].values())
        for key in ("sent", "received"))
    if not ok:
        raise CodecError("malformed status message from a peer node")
    return data


def report_loss(node: str, missing: Dict[str, int]) -> None:
    """Say which messages dora lost, for a human and as one ``LK_LOST`` line for the engine."""
    total = sum(missing.values())
    sys.stderr.write(f"node '{node}': dora lost {total} message(s); the run ends without them: {missing}\n")
    sys.stderr.write(LOST_MARK + json.dumps({"node": node, "missing": missing}, sort_keys=True) + "\n")
    sys.stderr.flush()


def report_failure(plan, exc: BaseException) -> None:
    """Print the failure for a human and as one ``LK_FAILURE`` line for the engine."""
    if isinstance(exc, ComponentFailure):
        info = {"component": exc.component, "node": exc.node, "machine": exc.machine, "phase": exc.phase,
                "traceback": exc.traceback_text}
        text = str(exc)
    else:
        info = {"component": None, "node": plan.get("node"), "machine": plan.get("machine"), "phase": "runtime",
                "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}
        text = f"node '{info['node']}' (machine '{info['machine']}') failed:\n{info['traceback']}"
    sys.stderr.write(text.rstrip() + "\n")
    sys.stderr.write(FAILURE_MARK + json.dumps(info, sort_keys=True) + "\n")
    sys.stderr.flush()


def build_instances(plan) -> Dict[str, Any]:
    instances = {}
    for entry in plan["components"]:
        try:
            instances[entry["name"]] = build.build_component(entry)
        except Exception:
            raise ComponentFailure(entry["name"], plan.get("node", "local"), plan.get("machine") or "local",
                                   "__init__", traceback.format_exc()) from None
    rosmsg.register_components(instances.values())  # ports annotated with a ROS message class
    return instances


def _dora_node():
    from dora import Node

    return Node()


def main(plan: Dict[str, Any], wiring: Dict[str, Any], node_factory: Callable = _dora_node,
         environ=None) -> int:
    """Run one Node until its run is over. Returns the process exit code (0, or 1 on failure)."""
    recorder = runner = None
    try:
        settings = Settings.from_env(os.environ if environ is None else environ)
        recorder = record.Recorder(settings.record_dir) if settings.record_dir else None
        runner = NodeRunner(plan, wiring, build_instances(plan), settings, recorder)
        # setup() before joining the dataflow: no peer sends to this Node before it is ready.
        try:
            runner.host.setup()
            runner.run(node_factory())
        except BaseException:
            try:
                runner.host.teardown()
            except ComponentFailure:
                pass  # the first failure is the one to report
            raise
        runner.host.teardown()
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        report_failure(plan, exc)
        return 1
    finally:
        if recorder is not None:
            recorder.close()
    sys.stdout.write(SUMMARY_MARK + json.dumps(runner.summary()) + "\n")
    sys.stdout.flush()
    return 0
