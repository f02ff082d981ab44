"""The examples on ROS 2 (real colcon + rclpy) record exactly what they record natively, via the real CLI."""
from __future__ import annotations

from pathlib import Path

import pytest

from example_runs import copy_example, lkbuild, private_env
from lkbuild.runtime_stubs.lk_runtime import record
from lkbuild.tools.ros2 import DomainLease

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path):
    with DomainLease() as lease:
        yield {**private_env(tmp_path), **lease.environment(tmp_path / "ros_log")}


def launch(folder: Path, file: str, engine: str, rec: str, env, iterations: int):
    return lkbuild(["launch", file, "-e", engine, "--record", rec, "-n", iterations, "--fast"], folder, env,
                   timeout=300)


@pytest.mark.parametrize("example, iterations, processes", [
    ("pipeline", 20, ["local"]),
    ("robot", 20, ["jetson", "nuc"]),
    ("gym_loop", 15, ["local"]),
])
def test_example_on_ros2_records_what_native_records(example, iterations, processes, tmp_path, env):
    folder = copy_example(example, tmp_path)
    launch(folder, f"{example}.py", "native", "rec_native", env, iterations)
    done = launch(folder, f"{example}.py", "ros2", "rec_ros2", env, iterations)
    native = record.load(str(folder / "rec_native"))
    assert native, "the native run recorded nothing"
    assert record.load(str(folder / "rec_ros2")) == native
    logs = folder / ".lk_build/ros2/log/run"
    assert sorted(p.stem for p in logs.glob("*.log")) == processes  # one process per Node
    assert "Ran system" in done.stdout
