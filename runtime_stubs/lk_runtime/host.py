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
"""
from __future__ import annotations

import heapq
import time
import traceback
from collections import deque
from typing import Any, Callable, Dict, List, Optional

from . import codec
from .errors import ComponentFailure

Send = Callable[[str, str, bytes], None]
# What a component may raise that fails the run in its name: any exception, and sys.exit() too — a
# component that would end its process has failed (Ctrl-C, KeyboardInterrupt, stays a stop request).
COMPONENT_EXIT = (Exception, SystemExit)
Record = Callable[[str, str, bytes], None]


class Slot:
    """One component's runtime state."""

    __slots__ = ("name", "obj", "forward", "inputs", "required", "outputs", "rate_hz", "is_source",
                 "starts_loop", "latest", "fired", "routes", "exported", "set_up", "node", "machine")

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


class Host:
    """Runs a set of components and moves messages between them.

    Args:
        plan: the node plan (see ``lkbuild.graph.plan``): components, local routes, exports.
        instances: the built component objects, by name.
        send: called with (component, output, payload) for outputs that leave this host.
        record: called with (component, output, payload) for every message sent.
        strict: pass every in-process message through the codec, as a remote hop would.
        iterations: how many times each source (and loop starter) fires; None: unbounded.
    """

    def __init__(self, plan: Dict[str, Any], instances: Dict[str, Any], *, send: Optional[Send] = None,
                 record: Optional[Record] = None, strict: bool = True, iterations: Optional[int] = None):
        self.node = plan.get("node", "local")
        self.machine = plan.get("machine") or "local"
        self.slots = [Slot(entry, instances[entry["name"]], self.node, self.machine)
                      for entry in plan["components"]]
        self.by_name = {s.name: s for s in self.slots}
        for src, output, dst, port in plan.get("routes", ()):
            self.by_name[src].routes[output].append((self.by_name[dst], port))
        for src, output in plan.get("exports", ()):
            self.by_name[src].exported.add(output)
        self.send = send
        self.record = record
        self.strict = strict
        self.iterations = iterations
        self.queue: deque = deque()
        self.messages = 0
        self.clocked = any(s.is_source or s.starts_loop for s in self.slots)
        self._clock: List = []

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
        if self.iterations == 0:
            return
        for slot in self.slots:
            if slot.starts_loop:
                self._emit_result(slot, self._call(slot, "initial_outputs", slot.obj.initial_outputs))

    # -- events ---------------------------------------------------------------------------------------------
    def exhausted(self, slot: Slot) -> bool:
        return self.iterations is not None and (slot.is_source or slot.starts_loop) and slot.fired >= self.iterations

    # -- the clock -------------------------------------------------------------------------------------------
    def start(self, deadline: Optional[float] = None) -> None:
        """Send the loop starters' initial outputs, deliver them, and start the source clock at t=0."""
        self.start_loops()
        self.drain(deadline)
        self._clock = [(0.0, i, 0, slot) for i, slot in enumerate(self.slots)
                       if slot.is_source and not self.exhausted(slot)]
        heapq.heapify(self._clock)

    def next_due(self) -> Optional[float]:
        """When the next source firing is due, in seconds from the start; None when no source will fire again."""
        return self._clock[0][0] if self._clock else None

    def fire_next(self, deadline: Optional[float] = None) -> None:
        """Fire the source that is due next, then deliver everything that firing caused."""
        _, i, n, slot = heapq.heappop(self._clock)
        self._fire(slot)
        self.drain(deadline)
        if not self.exhausted(slot):
            heapq.heappush(self._clock, ((n + 1) / slot.rate_hz, i, n + 1, slot))

    def receive(self, dst: str, port: str, payload) -> None:
        """A message from another Node: decode it and queue it for ``dst.port`` (call ``drain`` next)."""
        self.queue.append((self.by_name[dst], port, codec.decode(payload)))

    def deliver(self, dst: str, port: str, value) -> None:
        """A value from a foreign endpoint, already in the component's form: queue it (call ``drain`` next)."""
        self.queue.append((self.by_name[dst], port, value))

    def drain(self, deadline: Optional[float] = None) -> None:
        """Deliver queued messages, firing components, until nothing is left (or the deadline passes)."""
        queue = self.queue
        while queue:
            if deadline is not None and time.monotonic() >= deadline:
                queue.clear()
                return
            slot, port, value = queue.popleft()
            latest = slot.latest
            latest[port] = value
            if slot.required.issubset(latest) and not (slot.starts_loop and self.exhausted(slot)):
                self._fire(slot)

    def done(self) -> bool:
        """Nothing left to do on this host: every source and loop starter is exhausted, nothing queued."""
        if self.queue or self._clock:
            return False
        return self.iterations is not None and all(self.exhausted(s) for s in self.slots
                                                   if s.is_source or s.starts_loop)

    # -- firing ---------------------------------------------------------------------------------------------
    def _call(self, slot: Slot, phase: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except COMPONENT_EXIT:
            raise ComponentFailure(slot.name, slot.node, slot.machine, phase, traceback.format_exc()) from None

    def _fire(self, slot: Slot) -> None:
        slot.fired += 1
        # The hot path: _call's work inlined, and a single output sent without _emit_result's checks.
        try:
            result = slot.forward(**slot.latest)
        except COMPONENT_EXIT:
            raise ComponentFailure(slot.name, slot.node, slot.machine, "forward", traceback.format_exc()) from None
        if result is not None and slot.outputs:
            if len(slot.outputs) == 1:
                self._emit(slot, slot.outputs[0], result)
            else:
                self._emit_result(slot, result)

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
        self.messages += 1
        routes = slot.routes[output]
        exported = output in slot.exported
        if self.strict and not exported and self.record is None:
            # Only in-process receivers: each gets what it would get from another process (codec.carry),
            # without making the bytes.
            try:
                if not routes:
                    codec.carry(value)  # nobody listens, yet the value must be one that could travel
                if type(value) in codec.SHARED:  # immutable: every receiver may have the value itself
                    self.queue.extend([(dst, port, value) for dst, port in routes])
                else:
                    for dst, port in routes:
                        self.queue.append((dst, port, codec.carry(value)))
            except codec.CodecError as exc:
                raise ComponentFailure(slot.name, slot.node, slot.machine, "forward",
                                       f"CodecError: output '{output}': {exc}\n") from None
            return
        if self.strict or exported or self.record is not None:
            try:
                payload = codec.encode(value)
            except codec.CodecError as exc:
                raise ComponentFailure(slot.name, slot.node, slot.machine, "forward",
                                       f"CodecError: output '{output}': {exc}\n") from None
            if self.record is not None:
                self.record(slot.name, output, payload)
            if exported and self.send is not None:
                self.send(slot.name, output, payload)
            if self.strict:
                for dst, port in routes:
                    self.queue.append((dst, port, codec.decode(payload)))
                return
        for dst, port in routes:
            self.queue.append((dst, port, value))

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
