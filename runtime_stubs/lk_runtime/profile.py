"""Profiling a run (``lkbuild launch --profile``): what one Node's process measures, on every engine.

Nothing here runs unless profiling is on: ``Profiler.install`` replaces, once before the run, each
component's ``forward`` with a timed one and the Host's ``record`` hook with one that counts messages
and bytes per output. A plain Host does no profiling work at all.

What a process measures (``Profiler.result``, written as one ``LK_PROFILE`` line by ``report``):

* per component: firings, ``forward()`` wall time (every call), ``forward()`` CPU time (measured on
  one call in ``CPU_EVERY``, scaled up), its first and last firing;
* per output: messages and bytes (the codec's encoding, what would cross a process);
* per input fed from another Node: messages received, transport latency (sent → handed to the Host),
  and the deepest its queue in the engine got (see ``_Arrivals``);
* per path from a source to a sink: end-to-end latency, from the source's firing to the end of the
  sink's ``forward()`` that it caused.

Which source firings a message came from travels with it: inside a process the Host delivers, in one
``drain``, everything a firing (or a message received) causes, so the profiler keeps the origins of
what is being handled now; a message that leaves the Node carries them, with the moment it was sent,
in a stamp (``stamp`` / ``read``): in front of a small dora message's bytes (``framed``) or in a large one's
dora metadata, a ROS 2 ``UInt8MultiArray`` layout label. Times in a
stamp are wall-clock nanoseconds (``time.time_ns``): comparable between processes of one machine,
between machines only as far as their clocks agree.
"""
from __future__ import annotations

import time
from collections import deque
from typing import Any, Dict, List, Optional, Tuple

STAMP = "lk_stamp"     # the dora metadata key (and what a ROS 2 layout label starts with)
CPU_EVERY = 64         # forward()'s CPU time is measured on one call in this many (thread_time is a
                       # system call here: ~15 us)
MAX_SAMPLES = 20_000   # samples kept per figure; beyond, a uniform reservoir of them
MAX_STAMP = 4096       # characters: a longer stamp is not ours
FOLD_EVERY = 4096      # forward() durations are appended to a list, folded into the figures this often


# -- the stamp a message carries between Nodes ------------------------------------------------------------
def stamp(origins: Dict[str, int]) -> str:
    """``"<sent ns>;<source>=<fired ns>;..."``: when this message is sent, and the source firings it came from."""
    text = f"{STAMP}:{time.time_ns()}"
    for name, fired in origins.items():
        text += f";{name}={fired}"
    return text


def read(text) -> Optional[Tuple[int, Dict[str, int]]]:
    """``(sent ns, origins)`` from a stamp; None for anything else (it crossed a process: checked, not trusted)."""
    if not isinstance(text, str) or len(text) > MAX_STAMP or not text.startswith(STAMP + ":"):
        return None
    head, *rest = text[len(STAMP) + 1:].split(";")
    try:
        sent = int(head)
        origins = {}
        for part in rest:
            name, _, value = part.partition("=")
            if not name.isidentifier():
                return None
            origins[name] = int(value)
    except ValueError:
        return None
    return sent, origins


FRAMED = b"LKS"  # a message whose stamp travels in front of its codec bytes: FRAMED, u16 length, stamp, bytes


def framed(text: str, payload: bytes) -> bytes:
    """The stamp in front of a (small) message's bytes, for an engine whose side channel costs more than a copy."""
    raw = text.encode("ascii")
    return b"".join((FRAMED, len(raw).to_bytes(2, "little"), raw, payload))


def unframed(view: memoryview):
    """``(stamp text, the message's bytes)`` of a ``framed`` message; ``(None, view)`` for any other."""
    if len(view) < 5 or view[:3] != FRAMED:
        return None, view
    n = int.from_bytes(view[3:5], "little")
    if 5 + n > len(view):
        return None, view
    return bytes(view[5:5 + n]).decode("ascii", "replace"), view[5 + n:]


# -- figures ----------------------------------------------------------------------------------------------
class Samples:
    """Durations in seconds: count, mean and max of all; percentiles from up to ``MAX_SAMPLES`` of them."""

    __slots__ = ("count", "total", "max", "kept", "_rng")

    def __init__(self):
        self.count = 0
        self.total = 0.0
        self.max = 0.0
        self.kept: List[float] = []
        self._rng = None

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if value > self.max:
            self.max = value
        if len(self.kept) < MAX_SAMPLES:
            self.kept.append(value)
        else:
            if self._rng is None:
                import random  # only once a path has more samples than it keeps

                self._rng = random.Random(0).random
            at = int(self._rng() * self.count)  # a uniform reservoir (randrange costs ~2 us a call)
            if at < MAX_SAMPLES:
                self.kept[at] = value

    def extend(self, values: List[float]) -> None:
        """Add many at once (what the timed calls collected)."""
        if not values:
            return
        room = MAX_SAMPLES - len(self.kept)
        if len(values) <= room:
            self.count += len(values)
            self.total += sum(values)
            self.max = max(self.max, max(values))
            self.kept.extend(values)
            return
        for value in values:
            self.add(value)

    def summary(self) -> Optional[Dict[str, float]]:
        if not self.count:
            return None
        kept = sorted(self.kept)
        return {"count": self.count, "mean": self.total / self.count, "min": kept[0],
                "p50": percentile(kept, 0.5), "p95": percentile(kept, 0.95), "max": self.max}


def percentile(ordered: List[float], q: float) -> float:
    """The q-quantile of sorted values (nearest rank)."""
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


class _Arrivals:
    """Messages of one input from another Node: count, transport latency, and the deepest queue.

    The queue depth comes from the stamps alone: when message k was handed to the Host at r_k, every
    later message sent before r_k was waiting behind it (in the engine's queue or on the wire). With
    messages arriving in the order they were sent, that is ``m - k`` for the last such m, found with a
    window of the deliveries still open (amortized O(1) a message).
    """

    __slots__ = ("messages", "latency", "deepest", "_open")

    def __init__(self):
        self.messages = 0
        self.latency = Samples()
        self.deepest = 0
        self._open: deque = deque()  # (received ns, index) of deliveries whose queue may still grow

    def add(self, sent: Optional[int], received: int) -> None:
        index = self.messages
        self.messages += 1
        if sent is None:
            return
        self.latency.add(max(0, received - sent) / 1e9)
        window = self._open
        while window and window[0][0] <= sent:
            _, k = window.popleft()
            self.deepest = max(self.deepest, index - 1 - k)
        window.append((received, index))

    def result(self) -> Dict[str, Any]:
        deepest = self.deepest
        if self._open:
            deepest = max(deepest, self.messages - 1 - self._open[0][1])
        return {"messages": self.messages, "latency_s": self.latency.summary(), "deepest_queue": deepest}


class _Component:
    __slots__ = ("forward", "times", "cpu", "cpu_calls", "first", "last")

    def __init__(self):
        self.forward = Samples()
        self.times: List[float] = []  # durations not yet folded into ``forward``
        self.cpu = 0.0
        self.cpu_calls = 0
        self.first: Optional[float] = None  # perf_counter at the end of the first call, and of the last
        self.last: Optional[float] = None

    def fold(self) -> None:
        self.forward.extend(self.times)
        self.times.clear()


# -- the profiler of one process --------------------------------------------------------------------------
class Profiler:
    """Measures one Host's run; ``install`` before ``host.run_with`` / ``host.run``, ``result`` after."""

    def __init__(self, host):
        self.host = host
        self.origins: Dict[str, int] = {}  # source -> fired ns, of what the Host is handling now
        self.components = {slot.name: _Component() for slot in host.slots}
        self.outputs: Dict[Tuple[str, str], List[int]] = {}
        self.arrivals: Dict[str, _Arrivals] = {}
        self.paths: Dict[Tuple[str, str], List[int]] = {}  # latencies (ns) not yet folded into path_figures
        self.path_figures: Dict[Tuple[str, str], Samples] = {}
        self.sources = {}  # import key -> the output that feeds it (for the JSON)
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()

    def install(self) -> "Profiler":
        host = self.host
        for slot in host.slots:
            slot.forward = self._timed(slot)
        record = host.record

        def counted(component: str, output: str, payload, tick: int = 0) -> None:
            counts = self.outputs.get((component, output))
            if counts is None:
                counts = self.outputs[(component, output)] = [0, 0]
            counts[0] += 1
            counts[1] += len(payload)
            if record is not None:
                record(component, output, payload, tick)

        host.record = counted
        return self

    def _timed(self, slot):
        """``slot.forward``, timed: wall time of every call into a list (folded into ``Samples`` later)."""
        forward, figures, name = slot.forward, self.components[slot.name], slot.name
        times = figures.times
        clock, cpu_clock, now_ns = time.perf_counter, time.thread_time, time.time_ns
        sink = not slot.exported and not any(slot.routes.values())
        paths, profiler = self.paths, self

        def timed(**inputs):
            start = clock()
            if len(times) % CPU_EVERY:
                result = forward(**inputs)
            else:
                cpu = cpu_clock()
                result = forward(**inputs)
                figures.cpu += cpu_clock() - cpu
                figures.cpu_calls += 1
            end = clock()
            times.append(end - start)
            figures.last = end
            if figures.first is None:
                figures.first = end
            if len(times) >= FOLD_EVERY:
                figures.fold()
            return result

        def source(**inputs):
            profiler.origins = {name: now_ns()}
            return timed(**inputs)

        def ending(**inputs):
            result = timed(**inputs)
            if profiler.origins:
                done = now_ns()
                for src, fired in profiler.origins.items():
                    latencies = paths.get((src, name))
                    if latencies is None:
                        latencies = paths[(src, name)] = []
                    latencies.append(done - fired)
                    if len(latencies) >= FOLD_EVERY:
                        profiler.fold_path(src, name)
            return result

        return source if slot.is_source else ending if sink else timed

    def fold_path(self, src: str, sink: str) -> None:
        figures = self.path_figures.setdefault((src, sink), Samples())
        latencies = self.paths[(src, sink)]
        figures.extend([max(0, ns) / 1e9 for ns in latencies])
        latencies.clear()

    # -- what the adapters call (profiled adapters only) -------------------------------------------------
    def outgoing(self) -> str:
        """The stamp of a message leaving the Node now."""
        return stamp(self.origins)

    def received(self, key: str, text) -> None:
        """A message for input ``key`` arrived with this stamp (None: it carries none); call before ``host.receive``."""
        now = time.time_ns()
        arrivals = self.arrivals.get(key)
        if arrivals is None:
            arrivals = self.arrivals[key] = _Arrivals()
        found = read(text)
        if found is None:
            arrivals.add(None, now)
            self.origins = {}
            return
        sent, origins = found
        arrivals.add(sent, now)
        self.origins = origins

    # -- the result ---------------------------------------------------------------------------------------
    def result(self) -> Dict[str, Any]:
        host = self.host
        for src, sink in list(self.paths):
            self.fold_path(src, sink)
        wall = time.perf_counter() - self.started
        cpu = time.process_time() - self.cpu_started
        components = {}
        for slot in host.slots:
            figures = self.components[slot.name]
            figures.fold()
            calls = figures.forward.count
            cpu_s = figures.cpu * calls / figures.cpu_calls if figures.cpu_calls else 0.0
            active = (figures.last - figures.first) if figures.first is not None else 0.0
            components[slot.name] = {"fired": slot.fired, "forward_s": figures.forward.summary(),
                                     "cpu_s": cpu_s, "active_s": active}
        return {
            "node": host.node,
            "machine": host.machine,
            "wall_s": wall,
            "cpu_s": cpu,
            "components": components,
            "outputs": {f"{c}.{o}": {"messages": n, "bytes": b} for (c, o), (n, b) in sorted(self.outputs.items())},
            "inputs": {key: a.result() for key, a in sorted(self.arrivals.items())},
            "paths": {f"{src} -> {sink}": s.summary() for (src, sink), s in sorted(self.path_figures.items())},
        }
