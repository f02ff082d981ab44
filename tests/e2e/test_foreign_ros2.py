"""RosTopic on the ROS 2 and dora engines: an lkbuild System and a plain rclpy robot (another process)
exchange real messages on existing topics — a best-effort camera, laser scans, velocity commands on /cmd_vel."""
from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import ros_topic_systems
from dora_cluster import assert_nothing_left
from test_ros2_run import ros_env  # noqa: F401  (the fixture: private HOME and ROS graph)
from lkbuild.runtime_stubs.lk_runtime import codec, record
from lkbuild.tools.ros2 import remove_stale_shm, shm_files

pytestmark = pytest.mark.e2e
ITERATIONS = 5


@pytest.fixture
def robot_env(tmp_path, ros_env):
    """test_ros2_run's private ROS graph, and no dora process of the test left behind."""
    yield ros_env
    assert_nothing_left(str(tmp_path))


def digest(value) -> str:
    return hashlib.sha256(codec.encode(value)).hexdigest()


@pytest.mark.parametrize("engine", ["ros2", "dora"])
def test_a_system_subscribes_and_publishes_existing_topics_with_their_real_types(tmp_path, robot_env, engine):
    """On ROS 2 the components' own processes use the topics; on dora each RosTopic is a bridge node."""
    system = ros_topic_systems.robot_system()
    before = shm_files()
    expected = {"twists": ITERATIONS, "seen": ITERATIONS if engine == "ros2" else 0}
    robot = subprocess.Popen([sys.executable, "-c", ros_topic_systems.ROBOT, str(Path(__file__).parent),
                              json.dumps(expected)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert robot.stdout.readline().strip() == "ready"
        result = system.launch(engine=engine, out=tmp_path / "build", iterations=ITERATIONS,
                               record_dir=tmp_path / "rec", timeout=120)
        try:  # its stdin closes: the robot ends once it has everything (the last messages may be on their way)
            out, _ = robot.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            robot.send_signal(signal.SIGINT)  # it did not get everything: say what it got
            out, _ = robot.communicate(timeout=30)
    finally:
        if robot.poll() is None:
            robot.send_signal(signal.SIGINT)
            robot.communicate(timeout=30)
        remove_stale_shm(before)
    robot_said = json.loads(out.strip().splitlines()[-1])
    recorded = record.load(str(tmp_path / "rec"))

    # each RosTopic subscription is a source: exactly `iterations` messages, then the run ended by itself
    assert result.fired == {"look": ITERATIONS, "planner": ITERATIONS, "tally": ITERATIONS}
    # the best-effort Image topic arrives as (H, W, C) uint8 arrays, every pixel as the robot made it
    frames = recorded[("look", "out")]
    assert len(frames) == ITERATIONS
    ks = []
    for h in frames:
        k = next(k for k in range(robot_said["published"]) if digest(ros_topic_systems.robot_frame(k)) == h)
        ks.append(k)
    assert ks == sorted(ks) and len(set(ks)) == ITERATIONS
    # the planner read real LaserScans and the robot got its Twists on /cmd_vel, in order, exactly
    twists = robot_said["twists"]
    assert len(twists) == ITERATIONS, robot_said
    first = int(twists[0][0])
    assert twists == [[float(first + i), 0.25] for i in range(ITERATIONS)]
    # ros_topics renames a generated topic on ROS 2 (a plain rclpy node reads it there); dora has no topics
    assert robot_said["seen"] == (ITERATIONS if engine == "ros2" else 0)
