"""Project paths with spaces, quotes, `#`, `:`, `$` and non-ASCII run the right program on real dora and ROS 2.

And a build directory never runs a program left by another compile (a stale dataflow, another system's files).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dora_cluster import assert_nothing_left
from example_runs import LKBUILD, copy_example, lkbuild, private_env
from lkbuild.runtime_stubs.lk_runtime import record
from lkbuild.tools.ros2 import DomainLease

pytestmark = pytest.mark.e2e

# `proj v2` beside `proj/__main__.py`: an unquoted path once made `python -u .../proj v2/...` run `proj`.
IMPOSTOR = 'open(__file__ + ".ran", "w").write("the wrong program ran")\n'
ODD = ["proj v2", "it's \"q\" #1 $HOME: é"]


def odd_project(tmp_path: Path, name: str, example: str = "pipeline") -> Path:
    """The example copied into ``tmp_path/name``, with the impostor beside it."""
    impostor = tmp_path / name.split(" ")[0]
    impostor.mkdir(exist_ok=True)
    (impostor / "__main__.py").write_text(IMPOSTOR)
    folder = tmp_path / name
    shutil.copytree(copy_example(example, tmp_path / "copies"), folder)
    return folder


def impostor_ran(tmp_path: Path) -> bool:
    return any(tmp_path.rglob("__main__.py.ran"))


@pytest.mark.parametrize("name", ODD)
def test_dora_runs_the_project_in_an_odd_path_and_records_what_native_records(tmp_path, name):
    folder = odd_project(tmp_path, name)
    env = private_env(tmp_path)
    try:
        lkbuild(["launch", "pipeline.py", "-e", "native", "-n", "5", "--fast", "--record", tmp_path / "rec_native"],
                folder, env)
        done = lkbuild(["launch", "pipeline.py", "-e", "dora", "-n", "5", "--fast", "--record", tmp_path / "rec_dora"],
                       folder, env)
    finally:
        assert_nothing_left(str(tmp_path))
    assert not impostor_ran(tmp_path)
    assert "fired: generator=5" in done.stdout
    native = record.load(str(tmp_path / "rec_native"))
    assert native and record.load(str(tmp_path / "rec_dora")) == native


@pytest.fixture
def ros_env(tmp_path):
    with DomainLease() as lease:
        yield {**private_env(tmp_path), **lease.environment(tmp_path / "ros_log")}


@pytest.mark.parametrize("name", ["proj v2", "it's \"q\" #1 `x` é"])
def test_ros2_builds_and_runs_the_project_in_an_odd_path(tmp_path, name, ros_env):
    """Every odd character but ':' and '$' (see the next test)."""
    folder = odd_project(tmp_path, name)
    lkbuild(["launch", "pipeline.py", "-e", "native", "-n", "3", "--fast", "--record", tmp_path / "rec_native"],
            folder, ros_env)
    done = lkbuild(["launch", "pipeline.py", "-e", "ros2", "-n", "3", "--fast", "--record", tmp_path / "rec_ros2"],
                   folder, ros_env, timeout=300)
    assert not impostor_ran(tmp_path)
    assert "generator=3" in done.stdout
    native = record.load(str(tmp_path / "rec_native"))
    assert native and record.load(str(tmp_path / "rec_ros2")) == native


def test_a_launch_never_runs_the_dataflow_another_compile_left(tmp_path):
    """robot.py places Nodes on machines (dataflow.local.yaml); pipeline.py, compiled after it, has none."""
    folder = copy_example("pipeline", tmp_path)
    shutil.copy(copy_example("robot", tmp_path / "copies") / "robot.py", folder / "robot.py")
    env = private_env(tmp_path)
    lkbuild(["compile", "robot.py", "-e", "dora"], folder, env)
    assert (folder / ".lk_build" / "dora" / "dataflow.local.yaml").is_file()
    try:
        done = lkbuild(["launch", "pipeline.py", "-e", "dora", "-n", "3", "--fast"], folder, env)
    finally:
        assert_nothing_left(str(tmp_path))
    assert "Ran system 'pipeline' on dora." in done.stdout and "fired: generator=3" in done.stdout
    dora = folder / ".lk_build" / "dora"
    assert not (dora / "dataflow.local.yaml").exists()
    assert sorted(p.name for p in (dora / "nodes").iterdir()) == ["local.py"]


@pytest.mark.parametrize("name, why", [
    ("proj: v2", "ROS 2 finds packages through PYTHONPATH and AMENT_PREFIX_PATH, lists separated by ':'"),
    ("proj $HOME", "setuptools, which colcon builds the package with, expands '$NAME' in install paths"),
])
def test_ros2_refuses_a_workspace_path_it_cannot_build_in_before_writing_anything(tmp_path, ros_env, name, why):
    folder = odd_project(tmp_path, name)
    done = subprocess.run([str(LKBUILD), "launch", "pipeline.py", "-e", "ros2", "-n", "3"], cwd=folder, env=ros_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert why in done.stderr and "Move the project, or give --out a path without" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (folder / ".lk_build" / "ros2").exists()
