"""What ``lkbuild launch --profile`` costs: a chain of trivial components at full speed, with and without it.

    .venv/bin/python bench/profile_overhead.py [--engines native dora ros2] [--repeat 5]

The chain (``profile_chain.py``): a counter, two +1 components, a sink, fired as fast as possible
(``--fast``); on dora and ROS 2 the middle edge crosses two Nodes. The sink times its first to its last
message, so startup and the end of the run are not counted. The runs alternate between profiled and
not; each figure is the median of ``--repeat`` runs; the ratio (profiled / plain time per message) is
what matters. Trivial components are the worst case: a real component's own work dilutes the cost.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

import profile_chain  # noqa: E402

MESSAGES = {"native": 20_000, "dora": 5_000, "ros2": 3_000}


def once(engine: str, profiled: bool, work: Path, iterations: int) -> float:
    """Seconds per message at the sink."""
    out = work / "timing.json"
    system = profile_chain.chain(engine, str(out))
    system.launch(engine=engine, out=work / f".lk_build_{engine}", iterations=iterations, realtime=False,
                  profile=profiled, timeout=300)
    timing = json.loads(out.read_text())
    assert timing["count"] == iterations, timing
    return timing["seconds"] / (iterations - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", nargs="+", default=["native", "dora", "ros2"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="lk-profile-bench-") as tmp:
        for engine in args.engines:
            times = {False: [], True: []}
            once(engine, False, Path(tmp), 200)  # build once (colcon) before timing
            for _ in range(args.repeat):
                for profiled in (False, True):
                    times[profiled].append(once(engine, profiled, Path(tmp), MESSAGES[engine]))
            plain, profiled = statistics.median(times[False]), statistics.median(times[True])
            rows.append((engine, MESSAGES[engine], plain * 1e6, profiled * 1e6, profiled / plain))
    print(f"chain count -> add1 -> add2 -> timed, --fast, median of {args.repeat} alternated runs")
    print(f"{'engine':8} {'messages':>8} {'plain us/msg':>13} {'profiled us/msg':>16} {'ratio':>6}")
    for engine, n, plain, profiled, ratio in rows:
        print(f"{engine:8} {n:>8} {plain:>13.2f} {profiled:>16.2f} {ratio:>6.3f}")


if __name__ == "__main__":
    main()
