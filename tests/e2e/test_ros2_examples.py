"""The examples on ROS 2 (real colcon + rclpy) record exactly what they record natively, via the real CLI."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lkbuild.runtime_stubs.lk_runtime import record
from lkbuild.tools.ros2 import DomainLease

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LKBUILD = Path(sys.executable).with_name("lkbuild")


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with DomainLease() as lease:
        yield {**os.environ, "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1",
               **lease.environment(tmp_path / "ros_log")}


def launch(folder: Path, file: str, engine: str, rec: str, env, iterations: int):
    done = subprocess.run([str(LKBUILD), "launch", file, "-e", engine, "--record", rec, "-n", str(iterations),
                           "--fast"], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{engine} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done


@pytest.mark.parametrize("example, iterations, processes", [
    ("pipeline", 20, ["local"]),
    ("robot", 20, ["jetson", "nuc"]),
    ("gym_loop", 15, ["local"]),
])
def test_example_on_ros2_records_what_native_records(example, iterations, processes, tmp_path, env):
    folder = tmp_path / example
    shutil.copytree(EXAMPLES / example, folder, ignore=shutil.ignore_patterns(".lk_build", "__pycache__", "rec*"))
    launch(folder, f"{example}.py", "native", "rec_native", env, iterations)
    done = launch(folder, f"{example}.py", "ros2", "rec_ros2", env, iterations)
    native = record.load(str(folder / "rec_native"))
    assert native, "the native run recorded nothing"
    assert record.load(str(folder / "rec_ros2")) == native
    logs = folder / ".lk_build/ros2/log/run"
    assert sorted(p.stem for p in logs.glob("*.log")) == processes  # one process per Node
    assert "Ran system" in done.stdout
