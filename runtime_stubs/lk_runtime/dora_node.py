"""The dora adapter: runs one Node's components (a ``Host``) inside a dora node process.

Transport only. Messages from other Nodes (dora ``INPUT`` events) go to ``Host.receive``; outputs
that leave the Node go out through ``node.send_output`` as the codec's bytes (a flat ``uint8`` Arrow
array, so a numpy array received from shared memory is decoded without a copy). When sources fire is
the Host's clock (``next_due``/``fire_next``), waited for here in real time or not at all with
``--fast``; when the run is over, what to tell other Nodes and when to hold a source is the Node's
``ending.Ending``; what the process reports is ``report``. dora ids come from the generated wiring
(``lkbuild.generators.dora.dataflow.node_wiring``): data ids are the control plane's edge keys,
``_lk_status`` carries this Node's status to the leader and to the Nodes that send to it,
``_lk_control`` the leader's decisions to every Node. Edges with foreign dora nodes carry values in
their boundary format (``boundary``), not codec bytes.

Small frames go out in batches when they come fast (``stamp.batch``). A frame made less than
``BATCH_WAIT_S`` after the one before it waits, with the frames that follow it, until the Node is about to
wait for events, has handled the events already queued, publishes a status, or the first waiting frame is
``BATCH_WAIT_S`` old (or ``BATCH_MAX`` frames, ``SHARED_MEMORY_MIN`` bytes wait); each output's waiting
frames then travel in one dora message. Frames that come one at a time (a source at its rate, a Node whose
events do not queue up) leave alone, as soon as they are made. When events queue up (a Node that cannot
keep up, a source with ``--fast``), a batch costs one round trip to the daemon and one wake-up of each
receiver instead of one per frame. A frame can wait for the handling of one event that was already queued
(or one firing with ``--fast``), and only when the frame before it came less than ``BATCH_WAIT_S`` earlier.
Outputs read by a ROS bridge node (``wiring["unbatched"]``) are never batched.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable, Dict, Optional

from . import boundary, build, codec, driver, ending, logs, profile, record, report, stamp
from .errors import CodecError, ComponentFailure
from .host import Host, plan_tick_hz
from .settings import Settings

SHARED_MEMORY_MIN = 4096  # dora moves payloads this large through shared memory
BATCH_MAX = 32  # frames in one batch at most (a frame of a batch waits for the others it is sent with)
BATCH_WAIT_S = 0.0005  # frames this close together are batched; a frame waits at most about this long
BRIDGE_LINGER_S = 1.0  # a Node that sent to a ROS bridge node ends no sooner than this after the last frame


def payload_view(value):
    """The bytes of a received ``uint8`` Arrow array, without copying them out of shared memory.

    A small payload (dora copied it anyway) comes back as ``bytes``: the codec decodes those fastest.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return memoryview(value)
    if value.type.id != (_UINT8_ID if _UINT8_ID is not None else _uint8_id()):
        raise CodecError(f"expected an lkbuild message (uint8 bytes), received an Arrow array of {value.type}")
    data = value.buffers()[1]
    if data is None:
        return b""
    size = len(value)
    if size < SHARED_MEMORY_MIN:
        return data.to_pybytes()[value.offset:value.offset + size] if value.offset else data.to_pybytes()[:size]
    return memoryview(data)[value.offset:value.offset + size]


def _uint8_id() -> int:
    """pyarrow's type id of ``uint8``: imported at the first message (dora has imported pyarrow by then),
    so that a Node that receives nothing starts without loading pyarrow and numpy."""
    global _UINT8_ID
    if _UINT8_ID is None:
        try:
            import pyarrow as pa
        except ImportError:  # only unit tests without pyarrow; then no Arrow value ever arrives
            _UINT8_ID = -1
        else:
            _UINT8_ID = pa.uint8().id
    return _UINT8_ID


_UINT8_ID = None


def as_arrow(payload: bytes):
    """The payload as a ``uint8`` Arrow array over the same memory: dora sends it faster than ``bytes``."""
    import pyarrow as pa

    return pa.Array.from_buffers(pa.uint8(), len(payload), [None, pa.py_buffer(payload)])


def is_timeout(event) -> bool:
    return event is not None and event.get("type") == "ERROR" and "timed out" in str(event.get("error", ""))


class NodeRunner(driver.Transport):
    """Drives one Host from a dora node's events.

    Args:
        plan: the Node's plan (``lkbuild.graph.plan.node_plan``).
        wiring: the Node's dora ids (``lkbuild.generators.dora.dataflow.node_wiring``).
        instances: the Node's built components, by name.
    """

    def __init__(self, plan: Dict[str, Any], wiring: Dict[str, Any], instances: Dict[str, Any],
                 settings: Settings, record_to: Optional[Callable] = None):
        self.name = plan.get("node", "local")
        self.settings = settings
        self.host = Host(plan, instances, send=self.send, record=record_to, strict=True,
                         iterations=settings.iterations, logical_time=settings.logical_time,
                         send_parts=self.send_parts)
        self.outputs = {(c, o): oid for c, o, oid in wiring.get("outputs", ())}
        self.inputs = {iid: (c, p) for iid, c, p in wiring.get("inputs", ())}
        self.foreign_out: Dict[tuple, list] = {}  # (component, output) -> [(dora id, format, label)]
        for c, o, oid, fmt, label in wiring.get("boundary_outputs", ()):
            self.foreign_out.setdefault((c, o), []).append((oid, fmt, label))
        self.foreign_in = {iid: (c, p, fmt, label) for iid, c, p, fmt, label in wiring.get("boundary_inputs", ())}
        self.status_output = wiring.get("status_output")
        self.control_output = wiring.get("control_output")
        self.status_inputs = {iid: peer for iid, peer in wiring.get("status_inputs", ())}
        self.control_input = wiring.get("control_input")
        run = plan.get("run") or {"nodes": [self.name], "leader": self.name, "clocked": [self.name], "edges": []}
        self.ending = ending.Ending(self.name, run, ending=settings.iterations is not None,
                                    run_id=settings.run_id, warm_up=True)
        self.open = True
        self.stop_requested = False
        self.node = None
        self.unsent: Dict[str, list] = {}  # output id -> small frames not sent yet (see the module's doc)
        self.unbatched = set(wiring.get("unbatched", ()))
        self.bridged_at: Optional[float] = None  # when the last frame to a ROS bridge node was sent
        self.unsent_bytes: Dict[str, int] = {}
        self.unsent_since = 0.0  # when the first of them was made
        self.sent_at = 0.0       # when the last small frame was made
        self.control_received = 0  # statuses and decisions delivered here (the control plane's traffic)

    # -- dora <-> host ----------------------------------------------------------------------------------
    def send(self, component: str, output: str, payload: bytes) -> None:
        output_id = self.outputs.get((component, output))
        if output_id is not None:
            if len(payload) >= SHARED_MEMORY_MIN:
                self.send_large(output_id, payload)
            else:
                self.send_small(output_id, payload)
            self.ending.sent(output_id)
        if self.foreign_out:
            self.send_foreign(component, output, payload)

    def send_large(self, output_id: str, payload: bytes, metadata: Optional[Dict[str, Any]] = None) -> None:
        """A frame for shared memory: alone, as an Arrow array over its bytes, after what the output sent before."""
        if output_id in self.unsent:
            self.flush()
        if metadata is None:
            self.node.send_output(output_id, as_arrow(payload))
        else:
            self.node.send_output(output_id, as_arrow(payload), metadata)

    def send_parts(self, component: str, output: str, header: bytes, parts, size: int) -> None:
        """A large frame in pieces (``Host``): joined once, then copied by dora into its shared memory.

        (``send_output_raw``, which would take the pieces straight into shared memory, measured slower here:
        8 MiB latency 1.02 of the hand-written pair against 0.95, medians of 7 alternated runs.)
        """
        frame = b"".join((header, *parts))
        output_id = self.outputs.get((component, output))
        if output_id is not None:
            self.send_large(output_id, frame)
            self.ending.sent(output_id)
        if self.foreign_out:
            self.send_foreign(component, output, frame)

    def send_small(self, output_id: str, payload: bytes) -> None:
        """A small frame: it leaves now, or waits to leave in a batch with the next ones (the module's doc)."""
        if output_id in self.unbatched:
            # A ROS bridge node reads it: no end-of-run count covers that edge, and dora 1.1 drops what a
            # node that exits had not delivered, so nothing may still wait when this Node ends.
            self.node.send_output(output_id, payload)
            self.bridged_at = time.monotonic()
            return
        size = len(payload)
        now = time.monotonic()
        fast = now - self.sent_at < BATCH_WAIT_S  # the frame before came just now: more may follow
        self.sent_at = now
        if not self.unsent:
            self.unsent_since = now
        unsent = self.unsent.get(output_id)
        if unsent is None:
            self.unsent[output_id] = unsent = [payload]
            self.unsent_bytes[output_id] = size
        else:
            unsent.append(payload)
            self.unsent_bytes[output_id] += size + 4
        if not fast or len(unsent) >= BATCH_MAX or now - self.unsent_since >= BATCH_WAIT_S \
                or self.unsent_bytes[output_id] >= SHARED_MEMORY_MIN - 64:
            self.flush()

    def flush(self) -> None:
        """Send the frames that wait (see the module's doc): one alone as it is, several as a batch."""
        for output_id, frames in self.unsent.items():
            self.node.send_output(output_id, frames[0] if len(frames) == 1 else stamp.batch(frames))
        self.unsent.clear()
        self.unsent_bytes.clear()

    def send_foreign(self, component: str, output: str, payload: bytes) -> None:
        """The output to the foreign dora nodes it feeds, in each one's boundary format."""
        foreign = self.foreign_out.get((component, output))
        if foreign:
            flags, _, _, payload = stamp.unpack(payload)  # foreign nodes get the value alone
            if flags & stamp.WATERMARK_ONLY:
                return
            value = codec.decode(payload)  # a view of the payload: arrays are not copied
            for output_id, fmt, label in foreign:
                try:
                    array, metadata = boundary.to_arrow(value, fmt, label)
                except boundary.BoundaryError as exc:
                    slot = self.host.by_name[component]
                    raise ComponentFailure(component, slot.node, slot.machine, "forward",
                                           f"BoundaryError: {exc}\n") from None
                self.node.send_output(output_id, array, metadata)
                self.ending.sent(output_id)

    def receive_foreign(self, input_id: str, event, now: float) -> None:
        """A value from a foreign dora node, converted from its boundary format for the component."""
        component, port, fmt, label = self.foreign_in[input_id]
        self.publish(self.ending.received(input_id, now))
        try:
            value = boundary.from_arrow(event["value"], event.get("metadata") or {}, fmt, label)
        except boundary.BoundaryError as exc:
            slot = self.host.by_name[component]
            raise ComponentFailure(component, slot.node, slot.machine, "receive",
                                   f"BoundaryError: {exc}\n") from None
        self.host.deliver(component, port, value)
        self.host.drain()

    def handle(self, event) -> None:
        if event is None:
            self.open = False
            return
        kind = event["type"]
        if kind == "INPUT":
            input_id = event["id"]
            now = time.monotonic()
            target = self.inputs.get(input_id)
            if target is not None:  # the hot path: a message (or a batch of them) for a component
                for frame in stamp.frames(payload_view(event["value"])):
                    status = self.ending.received(input_id, now)
                    if status is not None:
                        self.publish(status)  # before handling: see ending
                    self.host.receive(target[0], target[1], frame)
                self.host.drain()
            elif input_id in self.foreign_in:
                self.receive_foreign(input_id, event, now)
            elif input_id in self.status_inputs or input_id == self.control_input:
                self.control_received += 1
                message = ending.parse(payload_view(event["value"]))
                if message is None:
                    sys.stderr.write(f"node '{self.name}': dropped a malformed control message on {input_id}\n")
                elif input_id == self.control_input:
                    self.ending.on_control(message, now)
                else:
                    self.ending.on_status(message, now)
        elif kind == "INPUT_CLOSED":
            input_id = event.get("id")
            if input_id in self.foreign_in or input_id in self.ending.feeds:
                self.ending.on_feed_closed(input_id)  # a foreign endpoint (or a ROS 2 bridge) has ended
            elif input_id in self.status_inputs:
                self.ending.on_closed(self.status_inputs[input_id])
            elif input_id == self.control_input:
                self.ending.on_closed(self.ending.leader)
        elif kind == "STOP":
            # "all inputs closed" can arrive before the last inputs: the stream's end (None) is what counts.
            if event.get("id") != "ALL_INPUTS_CLOSED":
                self.stop_requested = True
        elif kind == "ERROR" and not is_timeout(event):
            raise RuntimeError(f"dora reported an error to node '{self.name}': {event.get('error')}")

    # -- the Transport of driver.drive ------------------------------------------------------------------
    def wait(self, timeout: Optional[float]) -> None:
        # Everything that is already queued is handled too: the driver's end-of-run checks run once per
        # batch of events, not once per message.
        if self.unsent:
            self.flush()
        self.handle(self.node.next() if timeout is None else self.node.next(timeout=timeout))
        self.poll()

    def poll(self) -> None:
        while self.open and not self.node.is_empty():
            self.handle(self.node.next())
            if self.unsent and time.monotonic() - self.unsent_since >= BATCH_WAIT_S:
                self.flush()
        if self.unsent:
            self.flush()

    def publish(self, status: Optional[Dict[str, Any]]) -> None:
        if status is not None and self.status_output:
            if self.unsent:
                self.flush()  # the messages a status counts go before it
            self.node.send_output(self.status_output, ending.dumps(status))

    def broadcast(self, control: Optional[Dict[str, Any]]) -> None:
        if control is not None and self.control_output:
            if self.unsent:
                self.flush()
            self.node.send_output(self.control_output, ending.dumps(control))

    def run(self, node) -> None:
        """Fire sources when the Host's clock says, handle events, until the run is over."""
        self.node = node
        driver.drive(self.host, self.ending, self, self.settings.realtime)
        if self.unsent:
            try:
                self.flush()
            except Exception:
                if not self.stop_requested:
                    raise  # a Node asked to stop may find the dataflow gone: what waited goes with it
        if self.bridged_at is not None and not self.stop_requested:
            # No end-of-run count covers a ROS bridge's edge, dora 1.1 delivers a node's first messages late
            # and drops what a node that exits had not delivered: give the last frames time to arrive.
            time.sleep(max(0.0, BRIDGE_LINGER_S - (time.monotonic() - self.bridged_at)))

    def fail(self) -> None:
        """Tell the other Nodes that this one failed, so that they stop too (best effort)."""
        if self.node is None:
            return
        status, control = self.ending.failure()
        try:
            self.publish(status)
            self.broadcast(control)
        except Exception:  # the dataflow may already be gone
            pass


class ProfiledRunner(NodeRunner):
    """``--profile`` (chosen once, at start): outputs leave with a stamp (``lk_runtime.profile``), inputs' are read.

    A small message carries it in front of its bytes (``profile.framed``), a large one in its dora metadata:
    reading dora metadata costs ~10 us a message, a copy of a few KB far less, a copy of 1 MiB far more.
    """

    send_parts = None  # every frame through ``send``, which stamps it

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.profiler = profile.Profiler(self.host).install()

    def send(self, component: str, output: str, payload: bytes) -> None:
        output_id = self.outputs.get((component, output))
        if output_id is not None:
            if len(payload) < SHARED_MEMORY_MIN:
                self.send_small(output_id, profile.framed(self.profiler.outgoing(), payload))
            else:
                self.send_large(output_id, payload, {profile.STAMP: self.profiler.outgoing()})
            self.ending.sent(output_id)
        self.send_foreign(component, output, payload)

    def handle(self, event) -> None:
        target = self.inputs.get(event["id"]) if event is not None and event["type"] == "INPUT" else None
        if target is None:
            super().handle(event)
            return
        # NodeRunner.handle's hot path, with each message's stamp read first (a batch holds framed messages)
        input_id = event["id"]
        view = payload_view(event["value"])
        first = profile.unframed(view)
        for stamp_text, payload in [first] if first[0] is not None else map(profile.unframed, stamp.frames(view)):
            if stamp_text is None:
                stamp_text = (event.get("metadata") or {}).get(profile.STAMP)
            self.profiler.received(input_id, stamp_text)
            status = self.ending.received(input_id, time.monotonic())
            if status is not None:
                self.publish(status)  # before handling: see ending
            self.host.receive(target[0], target[1], payload)
        self.host.drain()


def _dora_node():
    from dora import Node

    return Node()


def main(plan: Dict[str, Any], wiring: Dict[str, Any], node_factory: Callable = _dora_node,
         environ=None) -> int:
    """Run one Node until its run is over. Returns the process exit code (``report.EXIT_*``)."""
    recorder = runner = None
    try:
        settings = Settings.from_env(os.environ if environ is None else environ)
        recorder = record.recorder(settings.record_dir, plan.get("node", "local"), plan_tick_hz(plan),
                                   settings.realtime)
        instances = build.build_node(plan)
        logs.capture(plan, instances)  # what components print, prefixed node/component
        runner = (ProfiledRunner if settings.profile else NodeRunner)(plan, wiring, instances, settings, recorder)
        runner.host.run_with(lambda: runner.run(node_factory()))
    except KeyboardInterrupt:
        report.profile(getattr(runner, "profiler", None))
        return report.EXIT_INTERRUPTED
    except Exception as exc:
        if runner is not None and plan.get("restart") in (None, "never"):
            runner.fail()  # a Node dora will restart keeps the run going
        return report.failure(plan, exc)
    finally:
        if recorder is not None:
            recorder.close()
    report.profile(getattr(runner, "profiler", None))
    report.summary(runner.name, runner.host, runner.ending.counts(), control=runner.control_received)
    return report.EXIT_OK
