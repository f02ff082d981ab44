"""What logical time costs: a join across two Nodes, run with logical time and without it, on dora.

    .venv/bin/python bench/logical_time.py [--messages 3000] [--frames 150] [--repeat 3]

The system: a fast source on Node ``a``, a source ten times slower and a join on Node ``b``, a sink
behind the join on ``b``. Without logical time (``launch(logical_time=False)``) the join takes messages
as they come; with it (the default) it takes them in logical-time order and waits for the fast input's
watermark. Both are run on dora on one machine (``dora run``) and with one daemon per Node
(``--local-cluster``), alternating. Throughput: ``--fast``, join outputs per second at the sink from its
first to its last message. Latency: in real time (fast source at 100 Hz), from the fast source's
``forward`` to the sink, median and 90th percentile of the fast source's messages. A last table: the
cost of the 24-byte header itself (``stamp.pack`` + ``stamp.unpack`` per message), which both variants
pay. Ratios are what matter: absolute numbers depend on the machine.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lkbuild import Component, Node, System  # noqa: E402

QUEUE = {"size": 4000, "policy": "backpressure"}


class Stamped(Component):
    """A source: [n, the wall clock (monotonic) at forward]."""

    def __init__(self, name, rate_hz, node=None):
        super().__init__(name, node=node, rate_hz=rate_hz)

    def setup(self):
        self.n = 0

    def forward(self):
        self.n += 1
        return [self.n, time.monotonic()]


class Join(Component):
    input_queues = {"fast": QUEUE, "slow": QUEUE}

    def __init__(self, node=None):
        super().__init__("join", node=node)

    def forward(self, fast, slow):
        return [fast[0], slow[0], fast[1]]


class Sink(Component):
    outputs = ()

    def __init__(self, node=None, result=""):
        super().__init__("sink", node=node)
        self.result = result

    def setup(self):
        self.arrivals, self.latencies, self.last = [], [], None

    def forward(self, pair):
        now = time.monotonic()
        self.arrivals.append(now)
        if pair[0] != self.last:  # a new fast message (not a new slow one paired with the same)
            self.latencies.append((now - pair[2]) * 1e3)
            self.last = pair[0]

    def teardown(self):
        with open(self.result, "w") as f:
            json.dump({"arrivals": self.arrivals, "latencies_ms": self.latencies}, f)


def system(rate_hz: float, result: str) -> System:
    a, b = Node("a", machine="m1"), Node("b", machine="m2")
    fast, slow = Stamped("fast", rate_hz, node=a), Stamped("slow", rate_hz / 10, node=b)
    join, sink = Join(node=b), Sink(node=b, result=result)
    sink(pair=join(fast=fast.out, slow=slow.out))
    return System(components=[fast, slow, join, sink], name="logical_bench")


def run(work: Path, mode: str, cluster: bool, logical: bool, count: int) -> dict:
    import logical_time as components  # this file as a module: its classes must be importable by name

    result = work / f"{mode}_{cluster}_{logical}.json"
    fast = mode == "throughput"
    components.system(100.0, str(result)).launch(
        engine="dora", out=work / f".lk_build_{cluster}", iterations=count, realtime=not fast,
        local_cluster=cluster, logical_time=logical, timeout=300)
    return json.loads(result.read_text())


def figure(data: dict, mode: str):
    if mode == "throughput":
        arrivals = data["arrivals"]
        return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    latencies = sorted(data["latencies_ms"][5:])  # skip the first messages: start-up
    return statistics.median(latencies), latencies[int(0.9 * len(latencies))]


def measure(work: Path, mode: str, cluster: bool, count: int, repeat: int):
    """Medians over ``repeat`` runs of each variant, alternating the order so load hits both alike."""
    runs = {True: [], False: []}
    for i in range(repeat):
        for logical in ((True, False) if i % 2 == 0 else (False, True)):
            runs[logical].append(figure(run(work, mode, cluster, logical, count), mode))
    if mode == "throughput":
        return statistics.median(runs[False]), statistics.median(runs[True])
    return tuple(tuple(statistics.median(r[k] for r in runs[logical]) for k in (0, 1)) for logical in (False, True))


def header_cost() -> float:
    """ns per message for the stamp: pack on the sender, unpack on the receiver."""
    from lkbuild.runtime_stubs.lk_runtime import stamp

    payload = bytes(16)
    n = 200_000
    seconds = min(timeit.repeat(lambda: stamp.unpack(stamp.pack(5, 6, payload)), number=n, repeat=5))
    return seconds / n * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000, help="fast firings per throughput run")
    parser.add_argument("--frames", type=int, default=150, help="fast firings per latency run (100 Hz)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    rows = []
    with tempfile.TemporaryDirectory(prefix="lk-bench-logical-") as tmp:
        work = Path(tmp)
        for cluster in (False, True):
            where = "two daemons" if cluster else "one machine"
            off, on = measure(work, "throughput", cluster, args.messages, args.repeat)
            rows.append((f"throughput, {where} (msg/s)", off, on, on / off))
            (off50, off90), (on50, on90) = measure(work, "latency", cluster, args.frames, args.repeat)
            rows.append((f"latency median, {where} (ms)", off50, on50, on50 / off50))
            rows.append((f"latency p90, {where} (ms)", off90, on90, on90 / off90))
    print(f"{'figure':<36}{'without':>10}{'with':>10}{'ratio':>8}")
    for label, off, on, ratio in rows:
        print(f"{label:<36}{off:>10.1f}{on:>10.1f}{ratio:>8.2f}")
    print(f"\nthe header (pack + unpack): {header_cost():.0f} ns per message")


if __name__ == "__main__":
    main()
