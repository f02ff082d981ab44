"""The timers of foreign dora nodes, as an lkbuild process: they count as sources for ``iterations``.

A ``DoraNode`` with ``timers={"tick": 30}`` gets its ``tick`` input from this process instead of a dora
timer: it ticks at the rate in real time (a foreign node is a real-time device, ``--fast`` or not), and
with ``iterations=N`` sends exactly N ticks per timer, then returns. Its outputs then close, so the
foreign node sees its timer input close and ends as it would at the end of a dora timer-driven run.
A tick's value is its count (a one-element ``uint64`` Arrow array), starting at 0.
"""
from __future__ import annotations

import heapq
import os
import sys
import time
from typing import Callable, Dict, List, Optional

from .settings import Settings


def parse(argv: List[str]) -> Dict[str, float]:
    """``["tick=30.0", ...]`` -> {"tick": 30.0}; anything else is an error (the generator wrote these)."""
    timers: Dict[str, float] = {}
    for arg in argv:
        name, _, rate = arg.partition("=")
        hz = float(rate)
        if not name or not hz > 0:
            raise ValueError(f"a timer is name=<Hz>, with a positive rate. Received: {arg!r}")
        timers[name] = hz
    return timers


def schedule(timers: Dict[str, float], iterations: Optional[int]):
    """(seconds from the start, timer, count) of every tick, in order; endless without ``iterations``."""
    heap = [(0.0, i, name, 0) for i, name in enumerate(sorted(timers))]
    heapq.heapify(heap)
    while heap:
        at, i, name, n = heapq.heappop(heap)
        if iterations is not None and n >= iterations:
            continue
        yield at, name, n
        heapq.heappush(heap, ((n + 1) / timers[name], i, name, n + 1))


def run(node, timers: Dict[str, float], iterations: Optional[int], clock: Callable[[], float] = time.monotonic) -> int:
    """Send the ticks; returns how many were sent. A dora STOP (or the end of the stream) ends it early."""
    import pyarrow as pa

    start = clock()
    sent = 0
    for at, name, n in schedule(timers, iterations):
        while True:
            left = start + at - clock()
            if left <= 0:
                break
            event = node.next(timeout=left)
            if event is None or event.get("type") == "STOP":
                return sent
        node.send_output(name, pa.array([n], type=pa.uint64()))
        sent += 1
    return sent


def main(argv: List[str], environ=None) -> int:
    from dora import Node

    timers = parse(argv)
    settings = Settings.from_env(os.environ if environ is None else environ)
    sent = run(Node(), timers, settings.iterations)
    sys.stdout.write(f"lkbuild timers {', '.join(f'{k}={v:g} Hz' for k, v in sorted(timers.items()))}: "
                     f"{sent} tick(s) sent\n")
    return 0
