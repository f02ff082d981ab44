"""The examples on dora, through the real `lkbuild` command: the same recorded outputs as on native."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dora_cluster import assert_nothing_left
from example_runs import copy_example, lkbuild, private_env
from lkbuild.runtime_stubs.lk_runtime import record

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path):
    yield private_env(tmp_path)
    assert_nothing_left(str(tmp_path))


def launch(folder: Path, file: str, env, rec: str, *options) -> subprocess.CompletedProcess:
    return lkbuild(["launch", file, "--record", rec, *options], folder, env)


def same_as_native(folder: Path, file: str, env, *options, dora_options=()) -> subprocess.CompletedProcess:
    """Run on native and on dora with the same options; the recordings must be equal. Returns dora's run."""
    launch(folder, file, env, "rec_native", "-e", "native", *options)
    on_dora = launch(folder, file, env, "rec_dora", "-e", "dora", *options, *dora_options)
    native = record.load(str(folder / "rec_native"))
    assert native and record.load(str(folder / "rec_dora")) == native
    return on_dora


def test_pipeline_on_dora_matches_native(tmp_path, env):
    folder = copy_example("pipeline", tmp_path)
    done = same_as_native(folder, "pipeline.py", env, "-n", "20")
    assert "fired: generator=20, processor=20, analyzer=20" in done.stdout
    assert "log: " in done.stdout                        # where the node logs are


def test_robot_on_dora_matches_native(tmp_path, env):
    folder = copy_example("robot", tmp_path)
    done = same_as_native(folder, "robot.py", env, "-n", "30")
    assert "camera=30" in done.stdout


def test_robot_on_a_local_cluster_runs_jetson_and_nuc_in_two_daemons(tmp_path, env):
    folder = copy_example("robot", tmp_path)
    same_as_native(folder, "robot.py", env, "-n", "30", dora_options=["--local-cluster"])
    cluster = folder / ".lk_build" / "dora" / "cluster"
    logs = {p.name: p.relative_to(cluster).parts[0] for p in cluster.rglob("log_*.jsonl")}
    assert logs == {"log_jetson.jsonl": "jetson", "log_nuc.jsonl": "nuc"}


def test_gym_loop_on_dora_matches_native(tmp_path, env):
    folder = copy_example("gym_loop", tmp_path)
    same_as_native(folder, "gym_loop.py", env, "-n", "200")
