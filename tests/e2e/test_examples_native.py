"""The examples, run natively through the real `lkbuild` command, as a user would run them."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from example_runs import copy_example, lkbuild, private_env, run
from lkbuild.runtime_stubs.lk_runtime import record

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path):
    return private_env(tmp_path)


def launch(folder: Path, file: str, env, rec: str, *options) -> subprocess.CompletedProcess:
    return lkbuild(["launch", file, "-e", "native", "--record", rec, *options], folder, env, timeout=120)


def values(rec: Path, component: str, output: str):
    """The recorded previews of one output, parsed back into Python values."""
    lines = [json.loads(line) for line in (rec / f"{component}.jsonl").read_text().splitlines()]
    return [ast.literal_eval(e["value"]) for e in lines if e["output"] == output]


def counts(rec: Path):
    return {key: len(hashes) for key, hashes in record.load(str(rec)).items()}


# -- pipeline ---------------------------------------------------------------------------------------------
def test_pipeline_finds_the_generated_frequency_and_repeats_exactly(tmp_path, env):
    folder = copy_example("pipeline", tmp_path)
    first = launch(folder, "pipeline.py", env, "rec1", "-n", "20", "--fast")
    launch(folder, "pipeline.py", env, "rec2", "-n", "20", "--fast")

    assert "fired: generator=20, processor=20, analyzer=20" in first.stdout
    assert "analyzer: 20 windows, dominant frequency: 2 periods per window" in first.stdout
    assert counts(folder / "rec1") == {("generator", "out"): 20, ("processor", "out"): 20,
                                       ("analyzer", "out"): 20}
    reports = values(folder / "rec1", "analyzer", "out")
    assert [r["window"] for r in reports] == list(range(1, 21))
    assert {r["frequency"] for r in reports} == {2}                 # Config.frequency of the generator
    assert all(0.8 < r["amplitude"] < 1.2 for r in reports)         # the sine's amplitude is 1
    assert record.load(str(folder / "rec1")) == record.load(str(folder / "rec2"))


def test_pipeline_runs_from_its_own_main_block(tmp_path, env):
    folder = copy_example("pipeline", tmp_path)
    done = run([sys.executable, "pipeline.py"], folder, env)
    assert done.stdout.splitlines() == [
        "analyzer: 20 windows, dominant frequency: 2 periods per window",
        "ran 60 messages: generator=20, processor=20, analyzer=20",
    ]
    assert (folder / ".lk_build" / "system.json").is_file()


# -- robot ------------------------------------------------------------------------------------------------
def test_robot_steers_toward_the_blob_and_stops_when_close(tmp_path, env):
    folder = copy_example("robot", tmp_path)
    first = launch(folder, "robot.py", env, "rec1", "-n", "80", "--fast")
    launch(folder, "robot.py", env, "rec2", "-n", "80", "--fast")

    assert "fired: camera=80, detector=80, planner=80, controller=80" in first.stdout
    assert counts(folder / "rec1") == {
        ("camera", "out"): 80, ("detector", "detections"): 80, ("detector", "debug"): 80,
        ("planner", "out"): 80, ("controller", "cmd_vel"): 80,
    }
    detections = values(folder / "rec1", "detector", "detections")
    goals = values(folder / "rec1", "planner", "out")
    commands = values(folder / "rec1", "controller", "cmd_vel")
    # The blob sweeps across the whole image, both ways.
    assert min(d["x"] for d in detections) < -0.7 and max(d["x"] for d in detections) > 0.7
    for detection, command in zip(detections, commands):
        if abs(detection["x"]) > 0.05:
            # Blob right of centre (x > 0) -> turn right (negative angular velocity, as in ROS), and back.
            assert (command["angular"] < 0) == (detection["x"] > 0), (detection, command)
    for goal, command in zip(goals, commands):
        assert (command["linear"] == 0.0) == (goal["range"] <= 0.6), (goal, command)
    assert any(c["linear"] == 0.0 for c in commands) and any(c["linear"] > 0.3 for c in commands)
    assert record.load(str(folder / "rec1")) == record.load(str(folder / "rec2"))


def test_robot_places_vision_on_the_jetson_and_planning_on_the_nuc(tmp_path, env):
    folder = copy_example("robot", tmp_path)
    spec = json.loads(lkbuild(["inspect", "robot.py"], folder, env).stdout)
    assert spec["engine"] == "dora"
    assert {n["name"]: (n["machine"], n["engine"], n["components"]) for n in spec["nodes"]} == {
        "jetson": ("jetson", "dora", ["camera", "detector"]),
        "nuc": ("nuc", "dora", ["planner", "controller"]),
    }
    assert {m["name"]: m["host"] for m in spec["machines"]} == {"jetson": "192.168.1.10", "nuc": "192.168.1.20"}


# -- gym_loop ---------------------------------------------------------------------------------------------
def episode(stdout: str):
    """(steps, why it ended, largest pole angle in degrees) from the environment's summary line."""
    line = next(line for line in stdout.splitlines() if line.startswith(("cartpole: ", "local/cartpole | ")))
    line = line.removeprefix("local/cartpole | ")  # shown as live logs by `lkbuild launch`
    steps, rest = line[len("cartpole: "):].split(" steps (", 1)
    verdict, rest = rest.split("), largest pole angle ", 1)
    return int(steps), verdict, float(rest.split()[0])


def test_gym_loop_balances_the_pole_for_the_requested_steps(tmp_path, env):
    folder = copy_example("gym_loop", tmp_path)
    first = launch(folder, "gym_loop.py", env, "rec1", "-n", "150")
    launch(folder, "gym_loop.py", env, "rec2", "-n", "150")

    steps, verdict, angle = episode(first.stdout)
    assert (steps, verdict) == (150, "stopped")
    assert angle < 12.0
    # The first observation comes from initial_outputs(), then one per step; one action per observation.
    assert counts(folder / "rec1") == {("cartpole", "observation"): 151, ("agent", "out"): 151}
    assert record.load(str(folder / "rec1")) == record.load(str(folder / "rec2"))


def test_gym_loop_without_a_bound_runs_one_whole_episode(tmp_path, env):
    folder = copy_example("gym_loop", tmp_path)
    done = launch(folder, "gym_loop.py", env, "rec")
    assert episode(done.stdout)[:2] == (500, "max_steps reached")
    assert counts(folder / "rec") == {("cartpole", "observation"): 501, ("agent", "out"): 501}


def test_gym_loop_ends_the_episode_when_the_pole_falls(tmp_path, env):
    folder = copy_example("gym_loop", tmp_path)
    (folder / "lazy.py").write_text(
        "from lkbuild import System\n"
        "from gym_loop import Agent, CartPole\n"
        "environment = CartPole('cartpole')\n"
        "agent = Agent(config=Agent.Config(0.0, 0.0, 0.0, 0.0))   # never pushes\n"
        "system = System(components=[environment, agent], name='lazy')\n"
        "system.connect(environment.outputs.observation, agent.inputs.observation)\n"
        "system.connect(agent.out, environment.inputs.action)\n"
    )
    done = launch(folder, "lazy.py:system", env, "rec", "-n", "400")
    steps, verdict, angle = episode(done.stdout)
    assert verdict == "the pole fell" and steps < 400 and angle > 12.0
    # The observation that shows the fall is sent; the next action is answered with nothing.
    assert counts(folder / "rec")[("cartpole", "observation")] == steps + 1
