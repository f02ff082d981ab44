"""What the native engine costs per message, and how often it copies a large array.

1. The native engine (every message encoded and decoded by the codec, as a remote hop would be) against
   calling the same ``forward`` functions in a plain loop, for trivial components (a counter, +1, a sink:
   the worst case, pure overhead) and for a small vision chain (a 160x120 frame, threshold + centroid,
   a sink: what a robot component does). Reported as time per message and as a ratio; the absolute
   figures depend on the machine.
2. A 1 MB numpy array passed along a chain of components: bytes allocated per hop (tracemalloc counts
   numpy's buffers too), in units of the array's size, and whether what a component receives is a view
   into the message buffer (zero-copy decode) or a copy.

Plain script: ``python bench/native_overhead.py`` prints two tables.
"""
from __future__ import annotations

import gc
import statistics
import time
import tracemalloc

import numpy as np

from lkbuild import Component, System
from lkbuild.graph.plan import node_plan
from lkbuild.runtime_stubs.lk_runtime.build import build_node
from lkbuild.runtime_stubs.lk_runtime.host import Host

ITERATIONS = 20_000
REPEATS = 9
ARRAY_BYTES = 1 << 20
HOPS = 3


class Counter(Component):
    def setup(self):
        self.n = 0

    def forward(self):
        self.n += 1
        return self.n


class Increment(Component):
    def forward(self, x):
        return x + 1


class Drop(Component):
    outputs = ()

    def forward(self, x):
        pass


class Frame(Component):
    """Source: a 160x120 grayscale frame with one bright square that moves."""

    def setup(self):
        self.n = 0

    def forward(self):
        self.n += 1
        image = np.zeros((120, 160), dtype=np.uint8)
        x = self.n % 150
        image[50:60, x:x + 10] = 255
        return image


class Centroid(Component):
    """Threshold + centroid, as the robot example's detector does."""

    def forward(self, image):
        ys, xs = np.nonzero(image > 128)
        return {"x": float(xs.mean()), "y": float(ys.mean()), "area": int(xs.size)}


class Frames(Component):
    """Source: the same 1 MB array every time (made once, so the source itself allocates nothing)."""

    def setup(self):
        self.frame = np.arange(ARRAY_BYTES, dtype=np.uint8)

    def forward(self):
        return self.frame


class Relay(Component):
    """Passes the array on untouched; remembers whether it arrived as a view of the message buffer."""

    def setup(self):
        self.views = 0
        self.received = 0

    def forward(self, frame):
        self.received += 1
        # A zero-copy decode gives a read-only array whose memory belongs to the message's bytes.
        if frame.base is not None and not frame.flags.owndata and not frame.flags.writeable:
            self.views += 1
        return frame


def host_for(system: System, iterations: int) -> Host:
    """The native engine's host loop for ``system``: components rebuilt from their recorded construction."""
    plan = node_plan(system.spec())
    return Host(plan, build_node(plan), strict=True, iterations=iterations)


def timed(prepare) -> float:
    """CPU seconds of one run of what ``prepare()`` returns; building it is not timed, for either side."""
    run = prepare()
    gc.collect()
    start = time.process_time()
    run()
    return time.process_time() - start


def alternated(*prepares, repeats=REPEATS):
    """The median time of each side over ``repeats`` rounds, the sides taking turns to go first."""
    times = [[] for _ in prepares]
    for i in range(repeats):
        order = list(enumerate(prepares)) if i % 2 == 0 else list(reversed(list(enumerate(prepares))))
        for index, prepare in order:
            times[index].append(timed(prepare))
    return [statistics.median(t) for t in times]


def overhead(name, make, iterations):
    """Rows (label, us/iteration, us/message, ratio) for a chain of components built by ``make(prefix)``."""
    system = System(components=make(""), name=name)

    def direct():
        chain = make("d_")
        first, rest = chain[0], chain[1:]

        def run():
            for c in chain:
                c.setup()
            for _ in range(iterations):
                value = first.forward()
                for c in rest:
                    value = c.forward(value)
        return run

    messages = {}

    def native():
        host = host_for(system, iterations)

        def run():
            host.run(realtime=False)  # setup, the run, teardown
            messages["n"] = host.messages
        return run

    t_direct, t_native = alternated(direct, native)
    n = messages["n"]
    return [
        ("direct calls", t_direct / iterations * 1e6, t_direct / n * 1e6, 1.0),
        ("native engine", t_native / iterations * 1e6, t_native / n * 1e6, t_native / t_direct),
    ], n


def trivial(prefix):
    return [Counter(prefix + "counter"), Increment(prefix + "increment"), Drop(prefix + "drop")]


def vision(prefix):
    return [Frame(prefix + "frame"), Centroid(prefix + "centroid"), Drop(prefix + "drop")]


def array_copies():
    frames = Frames("frames")
    chain = [frames] + [Relay(f"relay{i}") for i in range(HOPS)]
    sink = Drop("drop")
    system = System(components=chain + [sink], name="arrays")
    host = host_for(system, iterations=1)
    host.setup()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    host.start()
    host.fire_next()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hops = HOPS + 1                                 # frames -> relay0 -> ... -> drop
    relays = [host.by_name[c.name].obj for c in chain[1:]]
    host.teardown()
    allocated = peak - before
    return {
        "hops": hops,
        "allocated_mb": allocated / ARRAY_BYTES,
        "copies_per_hop": allocated / ARRAY_BYTES / hops,
        "views": sum(r.views for r in relays),
        "received": sum(r.received for r in relays),
    }


def main() -> None:
    chains = [("trivial", "counter -> +1 -> sink", trivial, ITERATIONS),
              ("vision", "160x120 frame -> threshold + centroid -> sink", vision, ITERATIONS // 10)]
    for name, label, make, iterations in chains:
        rows, messages = overhead(name, make, iterations)
        print(f"{label}: {iterations} iterations, {messages} messages, medians of {REPEATS} alternated runs")
        print(f"{'':16}{'us/iteration':>14}{'us/message':>12}{'ratio':>8}")
        for row, per_iteration, per_message, ratio in rows:
            print(f"{row:16}{per_iteration:14.2f}{per_message:12.2f}{ratio:8.1f}")
        print()
    copies = array_copies()
    print(f"A 1 MB uint8 array through {copies['hops']} hops (source -> {HOPS} relays -> sink)")
    print(f"{'peak allocated during the run':34}{copies['allocated_mb']:8.2f} MB")
    print(f"{'copies per hop':34}{copies['copies_per_hop']:8.2f}")
    print(f"{'received as views of the message':34}{copies['views']:5d} of {copies['received']}")
    if copies["copies_per_hop"] > 1.05:
        raise SystemExit("FAIL: the native engine copies a large array more than once per hop")


if __name__ == "__main__":
    main()
