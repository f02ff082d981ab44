"""One runtime contract (docs/design.md): every engine fires the sources of a Node in the same order.

Sources of different rates on one Node, joined by one component and logged on a second Node, record
byte-identical outputs on native, dora and ROS 2 (real dora, real colcon + rclpy), in real time and
with ``--fast``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from example_runs import lkbuild, private_env
from lkbuild.runtime_stubs.lk_runtime import record
from lkbuild.tools.ros2 import DomainLease

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
# (system, iterations): the slowest source bounds a real-time run to (iterations - 1) / its rate seconds.
PAIRS = [("rates_20_5", 8), ("rates_30_7", 8), ("rates_10_1", 3)]


@pytest.fixture
def project(tmp_path):
    shutil.copy(HERE / "mixed_rates.py", tmp_path / "mixed_rates.py")
    with DomainLease() as lease:
        yield tmp_path, {**private_env(tmp_path), **lease.environment(tmp_path / "ros_log")}


def joined(folder: Path, system: str, engine: str, iterations: int, fast: bool, env):
    rec = f"rec_{engine}_{'fast' if fast else 'rt'}"
    args = ["launch", f"mixed_rates.py:{system}", "-e", engine, "-n", iterations, "--record", rec,
            "--out", f".lk_build_{engine}"]
    lkbuild(args + (["--fast"] if fast else []), folder, env, timeout=300)
    recording = record.load(str(folder / rec))
    lines = [line for line in (folder / rec / "join.jsonl").read_text().splitlines()]
    return recording, lines


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "realtime"])
@pytest.mark.parametrize("system, iterations", PAIRS)
def test_mixed_rates_record_the_same_on_native_dora_and_ros2(project, system, iterations, fast):
    folder, env = project
    native, native_lines = joined(folder, system, "native", iterations, fast, env)
    # every firing of either source after both have a value makes one pair; the log gets each one
    assert len(native[("join", "out")]) == 2 * iterations - 1
    assert native[("log", "line")] == native[("join", "out")]
    for engine in ("dora", "ros2"):
        recording, lines = joined(folder, system, engine, iterations, fast, env)
        assert lines == native_lines, f"{engine} joined the sources in another order than native"
        assert recording == native
