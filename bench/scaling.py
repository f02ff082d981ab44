"""How lkbuild on dora scales with the number of Nodes: chains and fan-outs of 2 to 32 Nodes, lkbuild's
generated dataflow against the same graph written by hand against dora's Python API.

    .venv/bin/python bench/scaling.py [--sizes 2 8 16 32] [--shapes chain fanout] [--messages 100] [--repeat 3]

Each Node holds one trivial component. A chain is source -> relay -> ... -> sink (N Nodes, N-1 hops);
a fan-out is one source Node sending to N-1 sink Nodes. The source sends ``--messages`` small messages
as fast as it can (``lkbuild launch -n M --fast``). Figures, per variant (median of ``--repeat`` runs,
alternating the two variants):

- wall: the whole command, as a user waits for it (``lkbuild launch`` includes reading and compiling the
  system, its inspection cache warm; the hand-written side is ``dora run`` of a ready-made YAML);
- first send -> last receive: from the source's first send to the moment the last sink holds its last
  message (every process reads the same monotonic clock);
- CPU: user + system seconds of every process of the run (the command and all its children);
- peak RSS: the largest sum of the resident memory of all the run's processes, sampled every 20 ms;
- control/data: lkbuild's control-plane deliveries (statuses and decisions, from each Node's summary)
  per data message delivered between Nodes. The hand-written side has none but the one "done" message per
  Node below.

Why the hand-written side is fair: it is what a competent dora user writes for a chain. Messages are 8
raw bytes (the cheapest small message dora's Python API has); a relay forwards the Arrow array it
received without converting it; queues are ``backpressure`` with room for every message (dora 1.1 drops
messages with its default queues). A node must not exit before its receiver has everything (dora 1.1
loses messages of a sender that exits), so when the sink has all messages it says ``done`` upstream
and each node exits once its downstream said so. And dora delivers the first message between two nodes
~90 ms late (later ones well under a millisecond), so before its first timed send the hand-written source
sends a ``hello`` down the graph and waits for the ``ready`` that comes back up: without that warm-up the
hand-written span would mostly measure dora's first delivery. These are a few messages per Node, outside
the timed span.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lkbuild.engines.dora import node_log_lines  # noqa: E402
from lkbuild.engines.report import Report  # noqa: E402
from lkbuild.engines.run import RunResult  # noqa: E402
from lkbuild.tools.dora import Dora  # noqa: E402

BIN = Path(sys.executable).parent
QUEUE = 1000

HAND_NODE = '''
import json, sys, time
from dora import Node

role, count, result = sys.argv[1], int(sys.argv[2]), sys.argv[3]
downstream = int(sys.argv[4])  # how many Nodes this one sends to: "ready" and "done" come from each
node = Node()


def wait_for(kind, expected):
    heard = 0
    while heard < expected:
        event = node.next()
        if event is None:
            raise SystemExit(f"the dataflow ended before every {kind}")
        if event["type"] == "INPUT" and event["id"].startswith(kind):
            heard += 1


# The warm-up: dora delivers the first message between two nodes ~90 ms late (later ones take well under
# a millisecond), so before the timed part a "hello" goes down the graph and a "ready" comes back up.
if role != "source":
    wait_for("hello", 1)
node.send_output("hello", b"")
wait_for("ready", downstream)
if role != "source":
    node.send_output("ready", b"")
seen = 0
if role == "source":
    with open(result, "w") as f:
        json.dump({"first_send_ns": time.monotonic_ns()}, f)
    for i in range(count):
        node.send_output("out", i.to_bytes(8, "little"))
else:
    for event in node:
        if event["type"] != "INPUT" or event["id"] != "x":
            continue
        seen += 1
        if role == "relay":
            node.send_output("out", event["value"])
        if seen == count:
            if role == "sink":
                with open(result, "w") as f:
                    json.dump({"last_receive_ns": time.monotonic_ns(), "count": seen}, f)
            break
wait_for("done", downstream)  # do not exit before the receivers have everything: dora 1.1 would drop the rest
node.send_output("done", b"")
'''

LK_SYSTEM = '''
import json, os, time
from lkbuild import Component, Node, System

SHAPE, SIZE, COUNT, OUT = {shape!r}, {size}, {count}, {out!r}


class Source(Component):
    def __init__(self, name, node):
        super().__init__(name, node=node, rate_hz=1000.0)

    def setup(self):
        self.i = 0

    def forward(self):
        if self.i == 0:
            with open(os.path.join(OUT, "source.json"), "w") as f:
                json.dump({{"first_send_ns": time.monotonic_ns()}}, f)
        self.i += 1
        return self.i


class Relay(Component):
    def forward(self, x):
        return x


class Sink(Component):
    outputs = ()
    input_queues = {{"x": {{"size": {queue}, "policy": "backpressure"}}}}

    def setup(self):
        self.seen = 0

    def forward(self, x):
        self.seen += 1
        if self.seen == COUNT:
            with open(os.path.join(OUT, self.name + ".json"), "w") as f:
                json.dump({{"last_receive_ns": time.monotonic_ns(), "count": self.seen}}, f)


def build():
    source = Source("n0", node=Node("n0"))
    parts = [source]
    if SHAPE == "chain":
        previous = source
        for i in range(1, SIZE - 1):
            relay = Relay(f"n{{i}}", node=Node(f"n{{i}}"))
            relay.input_queues = {{"x": {{"size": {queue}, "policy": "backpressure"}}}}
            relay(x=previous.out)
            parts.append(relay)
            previous = relay
        sink = Sink(f"n{{SIZE - 1}}", node=Node(f"n{{SIZE - 1}}"))
        sink(x=previous.out)
        parts.append(sink)
    else:
        for i in range(1, SIZE):
            sink = Sink(f"n{{i}}", node=Node(f"n{{i}}"))
            sink(x=source.out)
            parts.append(sink)
    return System(components=parts, name="scaling")


system = build()
'''


class PeakRss:
    """The largest sum of the resident memory of a process and all its descendants, sampled."""

    def __init__(self, pid: int, every: float = 0.02):
        self.pid, self.every, self.peak = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _family(self):
        parents = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        family, grew = {self.pid}, True
        while grew:
            grew = False
            for pid, parent in parents.items():
                if parent in family and pid not in family:
                    family.add(pid)
                    grew = True
        return family

    def _run(self):
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.is_set():
            total = 0
            for pid in self._family():
                try:
                    with open(f"/proc/{pid}/statm") as f:
                        total += int(f.read().split()[1]) * page
                except (OSError, IndexError, ValueError):
                    continue
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def timed(command, cwd: Path, env=None, timeout: float = 600.0) -> dict:
    """Run a command; its wall time, the CPU seconds of it and all its children, its peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    rss = PeakRss(process.pid)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the command and every process it started (dora, the nodes)
        output, _ = process.communicate()
        raise SystemExit(f"{command[0]} took longer than {timeout:.0f} s:\n{output[-3000:]}")
    finally:
        peak = rss.stop()
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed ({process.returncode}):\n{output[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "rss_mib": peak / 2 ** 20, "output": output}


def span(out: Path, sinks) -> float:
    """First send -> last receive, in ms, from the files the source and the sinks wrote."""
    first = json.loads((out / "source.json").read_text())["first_send_ns"]
    last = max(json.loads((out / f"{sink}.json").read_text())["last_receive_ns"] for sink in sinks)
    return (last - first) / 1e6


def sinks_of(shape: str, size: int):
    return [f"n{size - 1}"] if shape == "chain" else [f"n{i}" for i in range(1, size)]


def run_hand(work: Path, shape: str, size: int, count: int) -> dict:
    import yaml

    out = work / f"hand-{shape}-{size}"
    out.mkdir(exist_ok=True)
    script = work / "hand_node.py"
    script.write_text(HAND_NODE)
    nodes = []
    queue = {"queue_size": QUEUE, "queue_policy": "backpressure"}
    for i in range(size):
        if shape == "chain":
            role = "source" if i == 0 else ("sink" if i == size - 1 else "relay")
            inputs = {} if i == 0 else {"x": {"source": f"n{i - 1}/out", **queue}, "hello": f"n{i - 1}/hello"}
            receivers = [i + 1] if i < size - 1 else []
        else:
            role = "source" if i == 0 else "sink"
            inputs = {} if i == 0 else {"x": {"source": "n0/out", **queue}, "hello": "n0/hello"}
            receivers = list(range(1, size)) if i == 0 else []
        for j in receivers:
            inputs[f"ready{j}"] = f"n{j}/ready"
            inputs[f"done{j}"] = f"n{j}/done"
        downstream = len(receivers)
        result = out / ("source.json" if i == 0 else f"n{i}.json")
        nodes.append({"id": f"n{i}", "path": sys.executable,
                      "args": f"-u {script} {role} {count} {result} {downstream}",
                      "inputs": inputs, "outputs": ["out", "hello", "ready", "done"]})
    dataflow = out / "dataflow.yml"
    dataflow.write_text(yaml.safe_dump({"nodes": nodes}, sort_keys=False))
    env = Dora(home=work / "home").environment()
    figures = timed([str(BIN / "dora"), "run", str(dataflow)], cwd=out, env=env)
    figures["span_ms"] = span(out, sinks_of(shape, size))
    figures["control_per_data"] = 0.0
    return figures


def run_lkbuild(work: Path, shape: str, size: int, count: int) -> dict:
    out = work / f"lk-{shape}-{size}"
    out.mkdir(exist_ok=True)
    system_file = out / "scaling_system.py"
    system_file.write_text(LK_SYSTEM.format(shape=shape, size=size, count=count, out=str(out), queue=QUEUE))
    env = {**os.environ, "HOME": str(work / "home")}
    command = [str(BIN / "lkbuild"), "launch", str(system_file), "--engine", "dora", "-n", str(count), "--fast",
               "--out", str(out / ".lk_build")]
    figures = timed(command, cwd=out, env=env)
    figures["span_ms"] = span(out, sinks_of(shape, size))
    figures["control_per_data"] = control_per_data(figures["output"])
    return figures


def control_per_data(output: str) -> float:
    """Control deliveries per data message delivered between Nodes, from the Nodes' summaries."""
    log_dir = next((line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith("log:")), None)
    if log_dir is None:
        raise SystemExit(f"lkbuild printed no log directory:\n{output}")
    lines = node_log_lines(RunResult(engine="dora", log_dir=Path(log_dir)))
    summaries = Report.read(lines).summaries.values()
    control = sum(summary.get("control", 0) for summary in summaries)
    data = sum(sum(summary.get("received", {}).values()) for summary in summaries)
    return control / data if data else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 8, 16, 32])
    parser.add_argument("--shapes", nargs="+", choices=("chain", "fanout"), default=["chain", "fanout"])
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="lk-scaling-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        for shape in args.shapes:
            for size in args.sizes:
                runs = {"hand": [], "lk": []}
                run_lkbuild(work, shape, size, args.messages)  # warm the inspection cache: not timed
                for i in range(args.repeat):
                    order = [("hand", run_hand), ("lk", run_lkbuild)]
                    for name, runner in (order if i % 2 == 0 else order[::-1]):
                        runs[name].append(runner(work, shape, size, args.messages))
                rows.append((shape, size, runs))
                print_row(shape, size, runs, flush=True)
    print()
    print_table(rows)


FIGURES = (("wall", "wall s", 1.0), ("span_ms", "send->recv ms", 1.0), ("cpu", "CPU s", 1.0),
           ("rss_mib", "peak RSS MiB", 1.0))


def median(runs, key):
    return statistics.median(run[key] for run in runs)


def print_row(shape, size, runs, flush=False):
    parts = [f"{shape} {size}:"]
    for key, label, _ in FIGURES:
        hand, lk = median(runs["hand"], key), median(runs["lk"], key)
        parts.append(f"{label} {hand:.2f}/{lk:.2f} ({lk / hand:.2f}x)")
    parts.append(f"control/data {median(runs['lk'], 'control_per_data'):.2f}")
    print("  ".join(parts), flush=flush)


def print_table(rows):
    header = "| shape | Nodes | " + " | ".join(f"{label} hand / lkbuild (ratio)" for _, label, _ in FIGURES)
    print(header + " | control/data |")
    print("|" + "---|" * (len(FIGURES) + 3))
    for shape, size, runs in rows:
        cells = []
        for key, _, _ in FIGURES:
            hand, lk = median(runs["hand"], key), median(runs["lk"], key)
            cells.append(f"{hand:.2f} / {lk:.2f} ({lk / hand:.2f})")
        print(f"| {shape} | {size} | " + " | ".join(cells) + f" | {median(runs['lk'], 'control_per_data'):.2f} |")


if __name__ == "__main__":
    main()
