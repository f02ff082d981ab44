"""The ROS 2 engine without running ROS: validation, command lines, options, and the run-end rule."""
from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from geometry_msgs.msg import Pose

from lkbuild import Component, ComponentError, ConfigError, Node, System
from lkbuild.engines import get_engine
from lkbuild.engines.run import LaunchOptions
from lkbuild.graph.plan import node_plan
from lkbuild.runtime_stubs.lk_runtime import codec, ros2_node, ros2_wire, rosmsg, stamp
from lkbuild.runtime_stubs.lk_runtime.settings import Settings


class Source(Component):
    def forward(self) -> int:
        return 1


class Relay(Component):
    def forward(self, x):
        return x


def system(name="rig", machine_b=None):
    a, b = Node("a", machine="m1" if machine_b else None), Node("b", machine=machine_b)
    src, relay = Source("src", node=a), Relay("relay", node=b)
    relay(x=src.out)
    return System(components=[src, relay], name=name)


def test_ros2_is_a_registered_engine():
    assert get_engine("ros2").name == "ros2"


def test_a_ros_message_whose_package_is_not_installed_is_refused_with_how_to_install_it():
    class Camera(Component):
        outputs = {"image": "stereo_msgs.msg.DisparityImage"}

        def forward(self):
            return None

    cam, relay = Camera("cam", node=Node("a")), Relay("relay", node=Node("b"))
    relay(x=cam.outputs.image)
    ok, problems = get_engine("ros2").validate(System(components=[cam, relay], name="rig"))
    assert not ok
    assert problems == [
        "cam.image carries the ROS message stereo_msgs/msg/DisparityImage, but the ROS message package "
        "'stereo_msgs' is not installed here; install it with: pip install ros-jazzy-stereo-msgs (or, with a ROS 2 "
        "install, apt install ros-jazzy-stereo-msgs and source its setup file)."]


class Planner(Component):
    def forward(self) -> Pose:
        return Pose()


class Follower(Component):
    def forward(self, pose: Pose) -> float:
        return pose.position.x


def pose_system():
    planner, follower = Planner("planner", node=Node("a")), Follower("follower", node=Node("b"))
    follower(pose=planner.out)
    return System(components=[planner, follower], name="rig")


def test_ports_annotated_with_an_installed_ros_message_class_are_accepted():
    assert get_engine("ros2").validate(pose_system()) == (True, [])


def pose_process(sent):
    """The NodeProcess of node a (planner) with a stand-in publisher collecting what it publishes."""
    from lkbuild.generators.ros2 import interfaces

    spec = pose_system().spec()
    topics = interfaces.topics(spec)
    plan = node_plan(spec, "a")
    plan["ros2"] = interfaces.node_interfaces(spec, "a", topics)
    proc = ros2_node.NodeProcess(plan, Settings(iterations=3), {"geometry_msgs/msg/Pose": Pose})
    proc.publishers[("planner", "out")] = [(SimpleNamespace(publish=sent.append), topics[0], Pose)]
    return proc, topics[0]


def test_a_ros_typed_output_is_published_as_that_message_and_received_as_it():
    from rclpy.serialization import deserialize_message

    rosmsg.register(Pose)
    pose = Pose()
    pose.position.x = 2.5
    sent = []
    proc, topic = pose_process(sent)
    proc._send("planner", "out", stamp.pack(0, 1, codec.encode(pose)))  # a typed topic carries no stamp
    assert deserialize_message(sent[0], Pose) == pose  # what a plain rclpy subscriber of Pose reads
    got = []
    proc.host = SimpleNamespace(receive_unstamped=lambda *args: got.append(args), receive=None, drain=lambda: None)
    proc._receiver("follower", "pose", "follower.pose", "ros", topic["type"])(sent[0])
    (dst, port, payload), = got
    assert (dst, port, codec.decode(payload)) == ("follower", "pose", pose)


def test_a_ros_typed_output_given_another_value_fails_the_component():
    from lkbuild.runtime_stubs.lk_runtime.errors import ComponentFailure

    proc, _ = pose_process([])
    with pytest.raises(ComponentFailure, match="annotated geometry_msgs/msg/Pose"):
        proc._send("planner", "out", stamp.pack(0, 0, codec.encode({"x": 1.0})))


def test_a_malformed_ros_message_from_a_foreign_publisher_is_dropped():
    rosmsg.register(Pose)
    errors = []
    proc, topic = pose_process([])
    proc.host = SimpleNamespace(receive_unstamped=lambda dst, port, payload: codec.decode(payload), receive=None,
                                drain=lambda: None)
    proc._log = lambda: SimpleNamespace(error=errors.append)
    proc._receiver("follower", "pose", "follower.pose", "ros", topic["type"])(b"\x00\x01\x00\x00\x01")
    assert "dropped a message for follower.pose" in errors[0]


def test_a_machine_named_like_the_system_is_refused():
    ok, problems = get_engine("ros2").validate(system(name="m2", machine_b="m2"))
    assert not ok and "launch/m2.launch.py" in problems[0]


def test_commands_are_the_installed_executables_with_the_launch_files_arguments(tmp_path):
    engine = get_engine("ros2", out_dir=tmp_path)
    options = LaunchOptions(iterations=5, record_dir=tmp_path / "rec", realtime=False, run_id="r7")
    commands = engine.commands(system().spec(), options)
    install = tmp_path.absolute() / "ros2/install/rig"
    assert commands["a"] == [
        str(install / "lib/rig/a"), "--iterations", "5", "--record", str((tmp_path / "rec").resolve()),
        "--realtime", "false", "--run-id", "r7", "--profile", "false", "--logical-time", "true", "--ros-args",
        "-r", "__ns:=/rig",
        "--params-file", str(tmp_path.absolute() / "ros2/src/rig/config/params.yaml")]  # the latest compiled configs
    assert list(commands) == ["a", "b"]


def test_unset_options_are_empty_launch_arguments():
    assert get_engine("ros2").launch_arguments() == {"iterations": "", "record_dir": "", "realtime": "true",
                                                     "run_id": "", "profile": "false", "logical_time": "true"}


@pytest.mark.parametrize("options, message", [
    ({"coordinator_addr": "10.0.0.1"}, "does not take coordinator_addr"),
    ({"iterations": -1}, "iterations must be 0 or more"),
    ({"duration": float("nan")}, "duration must be a positive number"),
])
def test_bad_launch_options_are_config_errors(tmp_path, options, message):
    engine = get_engine("ros2", out_dir=tmp_path)
    with pytest.raises(ConfigError, match=message):
        engine.launch(system(), None, **options)


# -- the runtime adapter's pure parts --------------------------------------------------------------------
def test_executable_options_parse_like_the_launch_file_passes_them():
    options = Settings.from_args(["--iterations", "", "--record", "", "--realtime", "true", "--run-id", ""])
    assert (options.iterations, options.record_dir, options.realtime, options.run_id) == (None, None, True, "")
    options = Settings.from_args(["--iterations", "7", "--record", "/tmp/r", "--realtime", "false",
                                  "--run-id", "abc"])
    assert (options.iterations, options.record_dir, options.realtime, options.run_id) == (7, "/tmp/r", False, "abc")
    assert Settings.from_args(["--profile", "true"]).profile and not Settings.from_args([]).profile
    for bad in (["--iterations", "many"], ["--iterations", "-2"], ["--realtime", "maybe"], ["--profile", "often"]):
        with pytest.raises(SystemExit):
            Settings.from_args(bad)


def test_parameter_overrides_replace_the_recorded_config():
    construction = {"args": [], "kwargs": {"config": {"$config": {"width": 64, "gain": 1.0}}}}
    patched, found = ros2_wire.patch_config(construction, {"width": 32})
    assert found and patched["kwargs"]["config"] == {"$config": {"width": 32, "gain": 1.0}}
    assert construction["kwargs"]["config"]["$config"]["width"] == 64  # the plan itself is untouched
    assert ros2_wire.patch_config({"args": [1], "kwargs": {}}, {"width": 3}) == ({"args": [1], "kwargs": {}}, False)


@pytest.mark.parametrize("data", [b"", b"abcde", bytes(range(256)) * 40])
def test_codec_bytes_are_serialized_exactly_as_rclpy_serializes_uint8_multiarray(data):
    import array

    from rclpy.serialization import deserialize_message, serialize_message
    from std_msgs.msg import MultiArrayDimension, UInt8MultiArray

    msg = UInt8MultiArray()
    msg.data = array.array("B", data)
    assert ros2_wire.uint8_multiarray_cdr(data) == serialize_message(msg)
    assert bytes(deserialize_message(ros2_wire.uint8_multiarray_cdr(data), UInt8MultiArray).data) == data
    # a foreign publisher may fill in the layout: the data is still found, without a copy
    msg.layout.dim = [MultiArrayDimension(label="rows", size=2, stride=4), MultiArrayDimension(label="c", size=1)]
    msg.layout.data_offset = 3
    view = ros2_wire.uint8_multiarray_data(serialize_message(msg))
    assert isinstance(view, memoryview) and bytes(view) == data


def test_a_frame_in_pieces_is_serialized_as_the_same_frame_joined():
    import numpy as np

    from lkbuild.runtime_stubs.lk_runtime import codec, stamp

    frame = np.arange(1 << 16, dtype=np.uint16).reshape(256, 256)
    parts, size = codec.encode_parts({"t": 3, "image": frame})
    header = stamp.header(5, 7)
    joined = stamp.pack(5, 7, codec.encode({"t": 3, "image": frame}))
    assert size == len(joined) - stamp.SIZE
    assert ros2_wire.uint8_multiarray_cdr(header, *parts) == ros2_wire.uint8_multiarray_cdr(joined)


def test_a_truncated_message_is_a_codec_error_not_a_crash():
    from lkbuild.runtime_stubs.lk_runtime.errors import CodecError

    with pytest.raises(CodecError):
        ros2_wire.uint8_multiarray_data(ros2_wire.uint8_multiarray_cdr(b"abcdef")[:-3])


# -- with a ROS 2 install: `ros2 launch` (a stand-in `ros2` on PATH records how it was called) -------------
FAKE_ROS2 = """#!/bin/sh
printf '%s\\n' "$@" > "{calls}"
{output}
"""


def fake_ros2(tmp_path, monkeypatch, output=""):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "ros2"
    script.write_text(FAKE_ROS2.format(calls=tmp_path / "calls", output=output))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    engine = get_engine("ros2", out_dir=tmp_path / "build")
    (engine.workspace / "install").mkdir(parents=True)
    (engine.workspace / "install/setup.sh").write_text("")
    monkeypatch.setattr(engine, "build", lambda spec, env=None: False)
    return engine


def test_where_ros2_exists_the_system_launch_file_is_run_with_ros2_launch(tmp_path, monkeypatch):
    engine = fake_ros2(tmp_path, monkeypatch)
    result = engine.launch(system(), None, iterations=3, timeout=30)
    run_id = next(a for a in result.commands["launch"] if a.startswith("run_id:=")).split(":=")[1]
    assert (tmp_path / "calls").read_text().splitlines() == [
        "launch", "rig", "rig.launch.py", "iterations:=3", "record_dir:=", "realtime:=true", f"run_id:={run_id}",
        "profile:=false", "logical_time:=true", f"params_file:={engine.workspace / 'src/rig/config/params.yaml'}"]
    assert list(result.commands) == ["launch"]


def test_a_component_failure_reported_under_ros2_launch_fails_the_launch(tmp_path, monkeypatch):
    failure = ('{"component": "relay", "node": "b", "machine": "local", "phase": "forward", '
               '"traceback": "ValueError: bad\\\\n"}')
    engine = fake_ros2(tmp_path, monkeypatch, output=f"echo '[b-2] LK_FAILURE {failure}'")
    with pytest.raises(ComponentError) as caught:
        engine.launch(system(), None, iterations=3, timeout=30)  # ros2 launch itself exits 0
    assert caught.value.component == "relay" and "ValueError: bad" in caught.value.traceback_text


def test_only_unused_fast_dds_files_created_during_the_run_are_removed():
    import fcntl

    from lkbuild.tools import ros2 as ros2_tools

    before = ros2_tools.shm_files()
    stale = ros2_tools.SHM / f"fastrtps_lkbuildtest{os.getpid()}a"
    alive = ros2_tools.SHM / f"fastrtps_lkbuildtest{os.getpid()}b"
    stale.write_bytes(b"x")
    alive.write_bytes(b"x")
    lock = open(f"{alive}_el", "w")  # a living participant holds its segment's lock
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        removed = ros2_tools.remove_stale_shm(before)
        assert stale.name in removed and not stale.exists()
        assert alive.exists() and alive.name not in removed
    finally:
        lock.close()
        for path in (alive, ros2_tools.SHM / f"{alive.name}_el", stale):
            path.unlink(missing_ok=True)
