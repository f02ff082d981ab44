"""``launch --profile`` on every engine, with real dora, colcon + rclpy: the figures match what is known.

The system (``profiled_system``): a 10 Hz source, a component that sleeps 20 ms, a 1 MiB output, two
Nodes on two machines. Tolerances are wide (a loaded 2-core machine) but each check can fail.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import profiled_system
from dora_cluster import assert_nothing_left
from test_ros2_run import ros_env  # noqa: F401  (the fixture: private HOME and ROS graph)

pytestmark = pytest.mark.e2e

ITERATIONS = 15
TIMEOUT = 120
ENGINES = [("native", {}), ("dora", {}), ("dora", {"local_cluster": True}), ("ros2", {})]
IDS = ["native", "dora", "dora_local_cluster", "ros2"]


@pytest.fixture
def private(request, tmp_path, monkeypatch):
    """A private HOME (and, for ROS 2, ROS graph); nothing left running after the test."""
    if "ros2" in request.node.name:
        request.getfixturevalue("ros_env")
    else:
        (tmp_path / "home").mkdir()
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
    yield
    assert_nothing_left(str(tmp_path))


def profiled(engine, options, tmp_path):
    system = profiled_system.system(engine)
    result = system.launch(engine=engine, out=tmp_path / ".lk_build", iterations=ITERATIONS, profile=True,
                           timeout=TIMEOUT, **options)
    assert result.profile_path == tmp_path / ".lk_build" / "profile.json"
    assert json.loads(result.profile_path.read_text()) == json.loads(json.dumps(result.profile))
    return result.profile


@pytest.mark.parametrize("engine,options", ENGINES, ids=IDS)
def test_the_profile_shows_the_known_figures(engine, options, tmp_path, private):
    profile = profiled(engine, options, tmp_path)

    assert profile["engine"] == engine and profile["system"] == "profiled"
    components = profile["components"]
    assert list(components) == ["tick", "sleeper", "big", "sink"]
    assert {name: c["fired"] for name, c in components.items()} == dict.fromkeys(components, ITERATIONS)
    assert components["big"]["node"] == "b" and components["big"]["machine"] == "m2"

    sleeper = components["sleeper"]["forward_s"]
    assert sleeper["count"] == ITERATIONS
    assert 0.019 <= sleeper["p50"] <= 0.05 and 0.019 <= sleeper["mean"] <= 0.06 and sleeper["max"] >= 0.02
    assert components["tick"]["forward_s"]["p50"] < 0.005        # the source does next to nothing
    assert components["sleeper"]["cpu_s"] < 0.5 * ITERATIONS * 0.02  # sleeping is not CPU
    assert 0.0 <= components["big"]["cpu_share"] <= 1.0

    assert 7.0 <= components["tick"]["out_per_s"] <= 13.0
    assert 7.0 <= components["sleeper"]["in_per_s"] <= 13.0
    assert components["big"]["messages_out"] == ITERATIONS
    assert profiled_system.MIB <= components["big"]["bytes_per_message_out"] <= 1.01 * profiled_system.MIB
    assert components["tick"]["bytes_per_message_out"] < 64

    edges = {(e["src"], e["dst"]): e for e in profile["edges"]}
    assert set(edges) == {("tick.out", "sleeper.x"), ("sleeper.out", "big.x"), ("big.out", "sink.image")}
    crossing = edges[("sleeper.out", "big.x")]
    assert crossing["between_nodes"] and crossing["between_machines"]
    assert crossing["messages"] == crossing["delivered"] == ITERATIONS and crossing["dropped"] == 0
    image = edges[("big.out", "sink.image")]
    assert not image["between_nodes"] and image["bytes"] >= ITERATIONS * profiled_system.MIB
    assert 7.0 * profiled_system.MIB <= image["bytes_per_s"] <= 13.0 * profiled_system.MIB
    if engine == "native":  # one process: nothing is transported
        assert crossing["latency_s"] is None
    else:
        latency = crossing["latency_s"]
        assert latency["count"] == ITERATIONS and 0.0 <= latency["min"] <= latency["p50"] <= latency["max"] < 1.0
        assert crossing["deepest_queue"] is not None and 0 <= crossing["deepest_queue"] < ITERATIONS

    (path,) = profile["paths"]
    assert (path["source"], path["sink"]) == ("tick", "sink")
    assert path["latency_s"]["count"] == ITERATIONS
    assert 0.02 <= path["latency_s"]["min"] <= path["latency_s"]["p50"] <= path["latency_s"]["max"] < 2.0


@pytest.mark.parametrize("engine", ["native", "dora", "ros2"])
def test_ctrl_c_still_prints_and_writes_the_profile(engine, tmp_path, private):
    (tmp_path / "robot.py").write_text(f"import profiled_system\nsystem = profiled_system.system({engine!r})\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    process = subprocess.Popen([str(Path(sys.executable).parent / "lkbuild"), "launch", "robot.py", "--profile", "-q"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    profile_file = tmp_path / ".lk_build" / "profile.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)  # until the sink has seen frames: its log lines are only in the engines' logs
        if engine == "native" or any("sink saw frame 3" in p.read_text(errors="replace")
                                     for p in tmp_path.glob(".lk_build/**/*.log*") if p.is_file()):
            break
    time.sleep(2.0)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Profile of 'profiled'" in err and "tick -> sink" in err
    profile = json.loads(profile_file.read_text())
    assert list(profile["components"]) == ["tick", "sleeper", "big", "sink"]
    assert profile["components"]["tick"]["fired"] >= 10
