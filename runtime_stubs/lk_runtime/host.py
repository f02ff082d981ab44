"""The host loop: runs one Node's components with the execution semantics every engine shares.

A source fires at its rate. Any other component fires when one of its inputs receives a message and
all its required inputs have a value; other inputs keep their latest value. Returning ``None`` sends
nothing. With ``iterations=N`` each source fires N times and each loop starter (a component that
defines ``initial_outputs()``) fires at most N times, then the graph drains and stops.

The Host owns time. Sources fire on a virtual clock: firing n of a source is due at ``n / rate_hz``
seconds from the start (a count divided by the rate, never a running sum of periods, so rates in exact
proportion fire in that proportion), ties going to the component listed first. Every engine drives the
same clock: the native engine in ``run``, a dora or ROS 2 adapter by asking ``next_due()`` when the next
firing is due, waiting for it (real time) or not (``--fast``), calling ``fire_next()``, and handing the
Host what arrives from other Nodes (``receive`` then ``drain``). So the sources of one Node fire in
exactly the same order on every engine.

Logical time (docs/design.md, "Logical time"). Every message carries the logical time of the source
firing (or loop step) that caused it, in integer ticks of the run's clock (``tick_hz``, shared by
every Node: a common multiple of the rates, so firing n of a source is exactly ``n * period`` ticks).
A component's outputs inherit the time of the message that made it fire; a loop starter's step n is at
``n * period`` (a logical delay, which is what lets a loop span Nodes). A component with several inputs
handles its messages in the order (time, input's position in ``forward()``) and handles one at time t
only once no earlier message can still arrive on its other inputs: each input's watermark (a local
upstream's own promise, or what the sending Node said last) must have passed t. Outputs leaving the
Node travel as ``stamp`` frames (time, watermark); when a watermark rises without a message, the Host
sends a frame with no value. So each component sees the same messages in the same order wherever the
components are placed, on every engine.
"""
from __future__ import annotations

import heapq
import time
from math import lcm
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import codec, stamp
from .record import Player
from .errors import ComponentFailure, format_traceback

NEVER = stamp.NEVER
SHARED = codec.SHARED
_LATEST = object()  # Host._fire: call forward() with the component's latest inputs
Send = Callable[[str, str, bytes], None]
# (component, output, stamp header, codec pieces, their size): a large frame, for the engine to copy once
SendParts = Callable[[str, str, bytes, List[Any], int], None]
PARTS_MIN = 1 << 16  # a message to another Node this large goes out in pieces (send_parts), if the engine can
# What a component may raise that fails the run in its name: any exception, and sys.exit() too — a
# component that would end its process has failed (Ctrl-C, KeyboardInterrupt, stays a stop request).
COMPONENT_EXIT = (Exception, SystemExit)
Record = Callable[[str, str, bytes, int], None]
RATE_DENOMINATOR = 10 ** 6  # a rate is taken as the nearest fraction with at most this denominator


def rate_parts(rate_hz: float) -> Tuple[int, int]:
    """The rate as ``(numerator, denominator)``: the nearest fraction whose denominator is at most
    ``RATE_DENOMINATOR``. A whole number of hertz needs no ``fractions`` import (~2 ms a Node process)."""
    if float(rate_hz).is_integer():
        return int(rate_hz), 1
    from fractions import Fraction

    rate = Fraction(rate_hz).limit_denominator(RATE_DENOMINATOR)
    return rate.numerator, rate.denominator


MAX_DIRECT_DEPTH = 50  # consecutive in-process components fired by nested calls (Host._mark_direct)
MAX_TICK_HZ = 10 ** 9  # at most nanosecond ticks: a time must fit the stamp's 64 bits for centuries


def tick_hz(rates) -> int:
    """The run's clock: the least common multiple of the rates' numerators (1 with no rate), so every
    firing falls on a whole tick; for rates whose multiple is larger than ``MAX_TICK_HZ`` (7.8737 and
    52.39 Hz, say), nanoseconds, each period rounded down to whole ones (the same on every engine)."""
    exact = lcm(1, *(rate_parts(r)[0] for r in rates if r > 0))
    return exact if exact <= MAX_TICK_HZ else MAX_TICK_HZ


def plan_tick_hz(plan: Dict[str, Any]) -> int:
    """The plan's clock (``lkbuild.graph.plan``); a plan made by hand gets one from its own rates."""
    return int(plan.get("tick_hz") or tick_hz(e["rate_hz"] for e in plan["components"]))


def period_ticks(rate_hz: float, ticks_per_s: int) -> int:
    numerator, denominator = rate_parts(rate_hz)
    return ticks_per_s * denominator // numerator


class Slot:
    """One component's runtime state."""

    __slots__ = ("name", "obj", "forward", "inputs", "required", "outputs", "rate_hz", "is_source",
                 "starts_loop", "latest", "fired", "routes", "exported", "set_up", "node", "machine",
                 "index", "period", "next_tick", "pending", "feeds", "position", "schedule", "played",
                 "direct", "port", "positional", "local", "only")

    def __init__(self, entry: Dict[str, Any], obj: Any, node: str = "local", machine: str = "local"):
        self.name = entry["name"]
        # Errors name where the component was placed; an entry may say so itself when one host runs the
        # components of several Nodes (the native engine).
        self.node = entry.get("node") or node
        self.machine = entry.get("machine") or machine
        self.obj = obj
        self.forward = obj.forward
        self.inputs = tuple(name for name, _ in entry["inputs"])
        self.required = frozenset(name for name, required in entry["inputs"] if required)
        self.outputs = tuple(entry["outputs"])
        self.rate_hz = float(entry["rate_hz"])
        self.is_source = not self.inputs
        self.starts_loop = bool(entry.get("starts_loop"))
        self.latest: Dict[str, Any] = {}
        self.fired = 0
        self.routes: Dict[str, List] = {name: [] for name in self.outputs}
        self.exported = set()
        self.set_up = False
        self.index = 0
        self.period = 1
        self.next_tick = 0  # sources, loop starters, players: the time of their next output
        self.pending: List = []  # (time, input position, seq, port, value), a heap
        self.position = {name: i for i, name in enumerate(self.inputs)}
        self.feeds: List = [None] * len(self.inputs)  # per input: the local Slot or remote key feeding it
        # a replayed component: [(time, output, payload), ...] as recorded
        self.schedule = obj.schedule if isinstance(obj, Player) else None
        self.played = 0
        if self.schedule is not None:
            self.is_source = True
        self.direct = False  # fired as soon as a message arrives, without the queue (Host._mark_direct)
        self.port = self.inputs[0] if len(self.inputs) == 1 else None
        self.positional = self.port is not None and takes_first(obj.forward, self.port)
        self.local = None  # the one output's routes, when only this Host's components receive it (Host.start)
        self.only = None  # ... and its one receiver, when that one is fired directly


def takes_first(method, name: str) -> bool:
    """Whether the bound ``method`` takes ``name`` as its first positional parameter (after ``self``)."""
    code = getattr(getattr(method, "__func__", None), "__code__", None)
    return code is not None and code.co_argcount >= 2 and code.co_varnames[1] == name


class Host:
    """Runs a set of components and moves messages between them.

    Args:
        plan: the node plan (see ``lkbuild.graph.plan``): components, local routes, exports.
        instances: the built component objects, by name.
        send: called with (component, output, payload) for outputs that leave this host.
        record: called with (component, output, payload) for every message sent.
        strict: pass every in-process message through the codec, as a remote hop would.
        iterations: how many times each source (and loop starter) fires; None: unbounded.
        logical_time: False: a component handles messages as they come, waiting for no watermark
            (only to measure what logical time costs: ``bench/logical_time.py``).
    """

    def __init__(self, plan: Dict[str, Any], instances: Dict[str, Any], *, send: Optional[Send] = None,
                 record: Optional[Record] = None, strict: bool = True, iterations: Optional[int] = None,
                 logical_time: bool = True, send_parts: Optional[SendParts] = None):
        self.node = plan.get("node", "local")
        self.machine = plan.get("machine") or "local"
        self.slots = [Slot(entry, instances[entry["name"]], self.node, self.machine)
                      for entry in plan["components"]]
        self.by_name = {s.name: s for s in self.slots}
        self.tick_hz = plan_tick_hz(plan)
        for i, slot in enumerate(self.slots):
            slot.index = i
            slot.period = period_ticks(slot.rate_hz, self.tick_hz) if slot.rate_hz > 0 else 1
        for src, output, dst, port in plan.get("routes", ()):
            target = self.by_name[dst]
            self.by_name[src].routes[output].append((target, port))
            target.feeds[target.position[port]] = self.by_name[src]
        self.remote: Dict[Tuple[str, str], int] = {}  # (component, input) fed from another Node: its watermark
        for _, _, dst, port in plan.get("imports", ()):
            target = self.by_name.get(dst)
            if target is not None and port in target.position:
                target.feeds[target.position[port]] = (dst, port)
                self.remote[(dst, port)] = 0
        for src, output in plan.get("exports", ()):
            self.by_name[src].exported.add(output)
        # per exported output: the watermark last sent with it (a receiver starts at 0)
        self.sent_watermark = {(s.name, o): 0 for s in self.slots for o in s.exported}
        self.send = send
        self.send_parts = send_parts
        self.record = record
        self.strict = strict
        self.iterations = iterations
        self.logical_time = logical_time
        self.queued = 0
        self.messages = 0
        self.now = 0  # the logical time (ticks) of what is firing
        self._seq = 0
        self.clocked = any(s.is_source or s.starts_loop for s in self.slots)
        self._clock: List = []
        self._mark_direct()

    def _mark_direct(self) -> None:
        """Which components take their messages directly: the fast path for in-process chains.

        A component with one input fires on every message, in the order its one sender sends them: the
        queue, the logical-time order and the watermarks change nothing for it. So it fires at once, without
        queueing: called by its sender (``_fire``) when that runs on this Host, or as the message arrives
        (``receive``) from another Node. Nested calls are bounded: past ``MAX_DIRECT_DEPTH`` consecutive
        direct components, the next one is queued again.
        """
        depth: Dict[int, int] = {}  # slot index -> how many direct components end at it (0: not direct)

        def single(slot: Slot):
            """The feed of a component with one input, that fires on every message; else None."""
            plain = slot.port is not None and not slot.starts_loop and slot.schedule is None
            return slot.feeds[0] if plain else None

        def feed_of(slot: Slot) -> Optional[Slot]:
            feed = single(slot)
            return feed if feed.__class__ is Slot else None

        for slot in self.slots:
            path, on_path, at = [], set(), slot  # up the chain of single feeds, to a slot whose depth is known
            while at.index not in depth and at.index not in on_path:
                path.append(at)
                on_path.add(at.index)
                at = feed_of(at)
                if at is None:
                    break
            below = depth.get(at.index, -1) if at is not None and at.index not in on_path else -1
            for up in reversed(path):  # a loop of single feeds with no starter: nothing fires it, below = -1
                if feed_of(up) is None:  # a chain starts here; one fed from another Node fires as it arrives
                    below = 1 if single(up).__class__ is tuple else 0
                else:
                    below = below + 1 if below + 1 <= MAX_DIRECT_DEPTH else 0
                depth[up.index] = below
        for slot in self.slots:
            slot.direct = depth[slot.index] > 0

    # -- lifecycle -------------------------------------------------------------------------------------------
    def setup(self) -> None:
        """``setup()`` every component in order; on failure, tear down those already set up."""
        for slot in self.slots:
            self._call(slot, "setup", slot.obj.setup)
            slot.set_up = True

    def teardown(self) -> None:
        """``teardown()`` every component set up, in reverse order; raises the first failure after all ran."""
        first = None
        for slot in reversed(self.slots):
            if not slot.set_up:
                continue
            slot.set_up = False
            try:
                self._call(slot, "teardown", slot.obj.teardown)
            except ComponentFailure as exc:
                first = first or exc
        if first is not None:
            raise first

    def start_loops(self) -> None:
        """Send the initial outputs of every loop starter (none with ``iterations=0``: nothing runs)."""
        for slot in self.slots:
            if slot.starts_loop:
                slot.next_tick = slot.period if not self.exhausted(slot) else NEVER
        if self.iterations == 0:
            return
        for slot in self.slots:
            if slot.starts_loop:
                self.now = 0  # step 0
                self._emit_result(slot, self._call(slot, "initial_outputs", slot.obj.initial_outputs))

    # -- events ---------------------------------------------------------------------------------------------
    def exhausted(self, slot: Slot) -> bool:
        if slot.schedule is not None:
            return slot.played >= len(slot.schedule)
        return self.iterations is not None and (slot.is_source or slot.starts_loop) and slot.fired >= self.iterations

    # -- the clock -------------------------------------------------------------------------------------------
    def start(self, deadline: Optional[float] = None) -> None:
        """Send the loop starters' initial outputs, deliver them, and start the source clock at t=0."""
        for slot in self.slots:  # known once hooks are installed (profile.Profiler wraps record and forward)
            only = slot.outputs[0] if len(slot.outputs) == 1 else None
            local = only is not None and self.strict and self.record is None and only not in slot.exported
            slot.local = slot.routes[only] if local and slot.routes[only] else None
            receivers = slot.local or ()
            slot.only = receivers[0][0] if len(receivers) == 1 and receivers[0][0].direct else None
            slot.positional = slot.positional and getattr(slot.forward, "__self__", None) is slot.obj
        self.start_loops()
        self._clock = []
        for slot in self.slots:
            if slot.is_source:
                slot.next_tick = self._first_tick(slot)
                if slot.next_tick != NEVER:
                    self._clock.append((slot.next_tick, slot.index, slot))
        heapq.heapify(self._clock)
        self.drain(deadline)

    def _first_tick(self, slot: Slot) -> int:
        if self.exhausted(slot):
            return NEVER
        return slot.schedule[0][0] if slot.schedule is not None else 0

    def next_due(self) -> Optional[float]:
        """When the next source firing is due, in seconds from the start; None when no source will fire again."""
        return self._clock[0][0] / self.tick_hz if self._clock else None

    def fire_next(self, deadline: Optional[float] = None) -> None:
        """Fire the source that is due next, then deliver everything that firing caused."""
        at, _, slot = heapq.heappop(self._clock)
        self.now = at
        if slot.schedule is not None:
            self._play(slot, at)
        else:
            # The watermark its outputs carry is its next firing: known before this one runs.
            slot.next_tick = NEVER if self.iterations is not None and slot.fired + 1 >= self.iterations \
                else at + slot.period
            self._fire(slot)
        if slot.next_tick != NEVER:
            heapq.heappush(self._clock, (slot.next_tick, slot.index, slot))
        if self.queued or self.send is not None:
            self.drain(deadline)

    def _play(self, slot: Slot, at: int) -> None:
        """A replayed component: send every output it recorded at time ``at``, as recorded."""
        schedule = slot.schedule
        due = []
        while slot.played < len(schedule) and schedule[slot.played][0] == at:
            due.append(schedule[slot.played])
            slot.played += 1
        slot.next_tick = schedule[slot.played][0] if slot.played < len(schedule) else NEVER
        slot.fired += 1
        for _, output, payload in due:
            self._send_payload(slot, output, payload)

    def receive(self, dst: str, port: str, frame) -> None:
        """A frame from another Node (``stamp``): its value for ``dst.port``, queued or (a direct component)
        handled at once; call ``drain`` next."""
        flags, at, watermark, payload = stamp.unpack(frame)
        key = (dst, port)
        if watermark > self.remote.get(key, 0):
            self.remote[key] = watermark
        if not flags & stamp.WATERMARK_ONLY:
            slot = self.by_name[dst]
            if slot.direct:
                self.now = at
                self._fire(slot, codec.decode(payload))
            else:
                self._queue(slot, port, at, codec.decode(payload))

    def receive_unstamped(self, dst: str, port: str, payload) -> None:
        """A value from a transport that carries no stamp (a typed ROS topic): at the input's watermark
        (a foreign topic's, which has none: at this Host's current time, as ``deliver``)."""
        self._queue(self.by_name[dst], port, self.remote.get((dst, port), self.now), codec.decode(payload))

    def _queue(self, slot: Slot, port: str, at: int, value) -> None:
        self._seq += 1
        self.queued += 1
        heapq.heappush(slot.pending, (at, slot.position[port], self._seq, port, value))

    def deliver(self, dst: str, port: str, value) -> None:
        """A value from a foreign endpoint, already in the component's form (call ``drain`` next).

        Foreign endpoints carry no logical time: the value is at this Host's current time, and no input
        waits for a foreign one (its feed is None): foreign inputs are taken in arrival order.
        """
        self._queue(self.by_name[dst], port, self.now, value)

    def drain(self, deadline: Optional[float] = None) -> None:
        """Deliver queued messages in logical-time order, firing components, until none can be delivered.

        A message waits while one of its component's other inputs may still bring an earlier one.
        """
        progressed = True
        while progressed and self.queued:
            progressed = False
            for slot in self.slots:
                pending = slot.pending
                while pending:
                    if deadline is not None and time.monotonic() >= deadline:
                        self._drop_pending()
                        return
                    at, position = pending[0][0], pending[0][1]
                    if len(slot.feeds) > 1 and self.logical_time and not self._may_handle(slot, at, position):
                        break
                    _, _, _, port, value = heapq.heappop(pending)
                    self.queued -= 1
                    progressed = True
                    slot.latest[port] = value
                    if slot.required.issubset(slot.latest) and not (slot.starts_loop and self.exhausted(slot)):
                        if slot.starts_loop:
                            at = max(at, slot.next_tick)
                            slot.next_tick = NEVER if self.iterations is not None and \
                                slot.fired + 1 >= self.iterations else slot.next_tick + slot.period
                        self.now = at
                        self._fire(slot)
        if self.sent_watermark:
            self._flush_watermarks()

    def _drop_pending(self) -> None:
        for slot in self.slots:
            slot.pending.clear()
        self.queued = 0

    def _may_handle(self, slot: Slot, at: int, position: int) -> bool:
        """Whether no input of ``slot`` can still bring a message before (``at``, ``position``)."""
        for j, feed in enumerate(slot.feeds):
            if j == position or feed is None:
                continue
            promise = self._promise_in(feed, None)
            if promise < at or (j < position and promise == at):
                return False
        return True

    def _promise_in(self, feed, visiting) -> int:
        if feed.__class__ is tuple:
            return self.remote[feed]
        return self._promise_out(feed, visiting)

    def _promise_out(self, slot: Slot, visiting: Optional[set] = None) -> int:
        """A time no later output of ``slot`` can be earlier than (its watermark)."""
        if slot.is_source or slot.starts_loop:
            return slot.next_tick
        if visiting is None:
            visiting = set()
        elif slot.index in visiting:
            return NEVER  # a loop with no loop starter in it brings nothing of its own
        visiting.add(slot.index)
        promise = slot.pending[0][0] if slot.pending else NEVER
        for feed in slot.feeds:
            if feed is not None:
                promise = min(promise, self._promise_in(feed, visiting))
        return promise

    def _flush_watermarks(self) -> None:
        """Tell other Nodes of every exported output's watermark that rose without a message."""
        if self.send is None or not self.logical_time:
            return
        for key, last in self.sent_watermark.items():
            if last == NEVER:
                continue
            watermark = self._promise_out(self.by_name[key[0]])
            if watermark > last:
                self.sent_watermark[key] = watermark
                self.send(key[0], key[1], stamp.watermark_frame(watermark))

    def done(self) -> bool:
        """Nothing left to do on this host: every source and loop starter is exhausted, nothing queued."""
        if self.queued or self._clock:
            return False
        return self.iterations is not None and all(self.exhausted(s) for s in self.slots
                                                   if s.is_source or s.starts_loop)

    # -- firing ---------------------------------------------------------------------------------------------
    def _call(self, slot: Slot, phase: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except COMPONENT_EXIT:
            raise ComponentFailure(slot.name, slot.node, slot.machine, phase, format_traceback()) from None

    def _fire(self, slot: Slot, value: Any = _LATEST) -> None:
        """Fire ``slot`` on its latest inputs, or (a direct component: ``_mark_direct``) on ``value``."""
        slot.fired += 1
        # The hot path: _call's work inlined, and a single output sent without _emit_result's checks.
        try:
            if value is _LATEST:
                result = slot.forward(**slot.latest) if slot.latest else slot.forward()
            else:
                result = slot.forward(value) if slot.positional else slot.forward(**{slot.port: value})
        except COMPONENT_EXIT:
            raise ComponentFailure(slot.name, slot.node, slot.machine, "forward", format_traceback()) from None
        if result is None:
            return
        only = slot.only
        if only is not None:  # the chain's hot path: one receiver, on this Host, fired directly
            self.messages += 1
            if type(result) not in SHARED:
                try:
                    result = codec.carry(result)
                except codec.CodecError as exc:
                    raise ComponentFailure(slot.name, slot.node, slot.machine, "forward",
                                           f"CodecError: output '{slot.outputs[0]}': {exc}\n") from None
            self._fire(only, result)  # at the same logical time
            return
        local = slot.local
        if local is None:
            if len(slot.outputs) == 1:
                self._emit(slot, slot.outputs[0], result)
            elif slot.outputs:
                self._emit_result(slot, result)
            return
        # One output, only in-process receivers, nothing recorded. Each receiver gets what it would get
        # from another process (codec.carry) without the bytes; immutable values are shared.
        self.messages += 1
        shared = type(result) in SHARED
        try:
            for dst, port in local:
                value = result if shared else codec.carry(result)
                if dst.direct:
                    self._fire(dst, value)  # at the same logical time
                else:
                    self._queue(dst, port, self.now, value)
        except codec.CodecError as exc:
            raise ComponentFailure(slot.name, slot.node, slot.machine, "forward",
                                   f"CodecError: output '{slot.outputs[0]}': {exc}\n") from None

    def _emit_result(self, slot: Slot, result) -> None:
        if result is None:
            return
        outputs = slot.outputs
        if len(outputs) == 1:
            self._emit(slot, outputs[0], result)
        elif isinstance(result, dict):
            # Check every key before sending anything: a bad result must not leave half its outputs sent.
            for key in result:
                if key not in slot.routes:
                    self._bad_result(slot, f"returned output {key!r}, which is not declared "
                                           f"(outputs = {outputs!r})")
            for key, value in result.items():
                if value is not None:
                    self._emit(slot, key, value)
        elif isinstance(result, tuple):
            if len(result) != len(outputs):
                self._bad_result(slot, f"returned a tuple of {len(result)} values for {len(outputs)} outputs "
                                       f"{outputs!r}")
            for key, value in zip(outputs, result):
                if value is not None:
                    self._emit(slot, key, value)
        elif outputs:
            self._bad_result(slot, f"has {len(outputs)} outputs {outputs!r} and returned a "
                                   f"{type(result).__name__}; return a dict or a tuple in declared order")

    def _bad_result(self, slot: Slot, what: str):
        raise ComponentFailure(slot.name, slot.node, slot.machine, "forward",
                               f"ValueError: component '{slot.name}' {what}\n")

    def _emit(self, slot: Slot, output: str, value) -> None:
        routes = slot.routes[output]
        exported = output in slot.exported
        if self.strict and not exported and self.record is None:
            # Only in-process receivers: each gets what it would get from another process (codec.carry),
            # without making the bytes.
            self.messages += 1
            at = self.now
            try:
                if not routes:
                    codec.carry(value)  # nobody listens, yet the value must be one that could travel
                shared = type(value) in codec.SHARED  # immutable: every receiver may have the value itself
                for dst, port in routes:
                    if dst.direct:
                        self._fire(dst, value if shared else codec.carry(value))  # at the same time
                    else:
                        self._queue(dst, port, at, value if shared else codec.carry(value))
            except codec.CodecError as exc:
                raise ComponentFailure(slot.name, slot.node, slot.machine, "forward",
                                       f"CodecError: output '{output}': {exc}\n") from None
            return
        if self.strict or exported or self.record is not None:
            # Only another Node receives it: a large one goes in pieces, copied once, into the engine's buffer.
            pieces = exported and not routes and self.record is None and self.send_parts is not None
            try:
                if pieces:
                    parts, size = codec.encode_parts(value)
                    payload = None if size >= PARTS_MIN else b"".join(parts)
                else:
                    payload = codec.encode(value)
            except codec.CodecError as exc:
                raise ComponentFailure(slot.name, slot.node, slot.machine, "forward",
                                       f"CodecError: output '{output}': {exc}\n") from None
            if payload is None:
                self.messages += 1
                header = stamp.header(self.now, self._watermark(slot, output, self.now))
                self.send_parts(slot.name, output, header, parts, size)
                return
            self._send_payload(slot, output, payload, value)
            return
        self.messages += 1
        for dst, port in routes:
            self._queue(dst, port, self.now, value)

    def _send_payload(self, slot: Slot, output: str, payload, value=None) -> None:
        self.messages += 1
        at = self.now
        if self.record is not None:
            self.record(slot.name, output, payload, at)
        if output in slot.exported and self.send is not None:
            self.send(slot.name, output, stamp.pack(at, self._watermark(slot, output, at), payload))
        for dst, port in slot.routes[output]:
            self._queue(dst, port, at, codec.decode(payload) if self.strict or value is None else value)

    def _watermark(self, slot: Slot, output: str, at: int) -> int:
        """The watermark a message sent now on ``output`` carries (and the last one sent on it)."""
        watermark = max(self._promise_out(slot), at) if self.logical_time else at
        self.sent_watermark[(slot.name, output)] = watermark
        return watermark

    # -- the in-process scheduler (native engine) -----------------------------------------------------------
    def run_with(self, body: Callable[[], None]) -> None:
        """``setup()``, then ``body()``, then ``teardown()`` on every exit path; the first failure is raised."""
        try:
            self.setup()
            body()
        except BaseException:
            try:
                self.teardown()
            except ComponentFailure:
                pass  # the first error is the one to report
            raise
        self.teardown()

    def run(self, duration: Optional[float] = None, realtime: bool = True,
            should_stop: Optional[Callable[[], bool]] = None) -> None:
        """Set up, fire sources at their rates until done (or ``duration`` s), drain, tear down."""
        deadline = time.monotonic() + duration if duration is not None else None
        self.run_with(lambda: self._run(duration, deadline, realtime, should_stop))

    def _run(self, duration, deadline, realtime, should_stop) -> None:
        self.start(deadline)
        if not realtime and duration is None and should_stop is None:
            while self._clock:  # --fast with nothing to watch: fire back to back
                self.fire_next()
            return
        start = time.monotonic()  # t=0 of the clock: the first firing, once every component is set up
        while True:
            at = self.next_due()
            if at is None or (duration is not None and at >= duration):
                break
            if realtime:
                delay = start + at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if deadline is not None and time.monotonic() >= deadline:
                break
            if should_stop is not None and should_stop():
                break
            self.fire_next(deadline)
