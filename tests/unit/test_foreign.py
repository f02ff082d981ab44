"""DoraNode: wiring, the IR, validation, and what the dora generator makes of it (no dora run here)."""
from __future__ import annotations

import pytest
import yaml

from lkbuild import Component, DoraNode, GraphError, Node, System
from lkbuild.engines.dora import DoraEngine
from lkbuild.foreign import timer_hz
from lkbuild.generators import dora as dora_generator
from lkbuild.graph import SystemSpec
from lkbuild.generators.dora.dataflow import node_wiring
from lkbuild.graph.plan import feeds, run_plan


class Double(Component):
    def forward(self, x):
        return 2 * x


class Sink(Component):
    outputs = ()

    def forward(self, x):
        pass


def echo_system():
    sender = DoraNode("sender", path="pyarrow-sender", package="pyarrow-sender==0.5.0", env={"DATA": "[1]"},
                      outputs={"data": "array"})
    cam = DoraNode("cam", path="bin/cam", args="--fps 30 'a b'", inputs={"tick": "dora/timer/millis/50"},
                   outputs={"image": "image"}, build="cargo build -p cam")
    echo = DoraNode("echo", path="dora-echo", inputs=["x"], outputs={"x": "raw"})
    double = Double("double", node=Node("work"))
    sink = Sink("sink", node=Node("tail"))
    look = Sink("look", node=double.node)
    echo(x=double(x=sender.outputs.data))
    sink(x=echo.outputs.x)
    look(x=cam.outputs.image)
    return System(components=[sender, cam, echo, double, sink, look], name="echoes")


def test_a_dora_node_is_wired_like_a_component_and_recorded_in_the_ir():
    spec = echo_system().spec()
    assert spec.validate() == []
    assert [c.name for c in spec.components] == ["double", "sink", "look"]
    cam = spec.member("cam")
    assert (cam.kind, cam.path, cam.args, cam.build) == ("dora", "bin/cam", ("--fps", "30", "a b"),
                                                         "cargo build -p cam")
    assert cam.timers == {"tick": 20.0} and cam.inputs == ()
    assert [(p.name, p.format) for p in spec.member("echo").inputs] == [("x", "auto")]
    assert [(p.name, p.format) for p in spec.member("echo").outputs] == [("x", "raw")]
    assert [str(e) for e in spec.edges] == ["double.out -> echo.x", "sender.data -> double.x", "echo.x -> sink.x",
                                            "cam.image -> look.x"]
    assert SystemSpec.from_json(spec.to_json()) == spec


def test_foreign_sources_clock_the_nodes_they_feed_and_relays_do_not():
    spec = echo_system().spec()
    assert sorted(feeds(spec)) == [["tail", "sink.x", "relay", "echo"], ["work", "double.x", "source", "sender"],
                                   ["work", "look.x", "source", "cam"]]
    assert run_plan(spec)["clocked"] == ["work"]


def test_the_dataflow_lists_each_dora_node_with_its_own_path_args_env_build_and_timer_node(tmp_path):
    spec = echo_system().spec()
    files = dora_generator.generate(spec, {"root": "/r", "python": "/py",
                                           "foreign_paths": {"sender": "/venv/bin/pyarrow-sender"}})
    nodes = {n["id"]: n for n in yaml.safe_load(files["dataflow.yaml"])["nodes"]}
    assert nodes["sender"] == {"id": "sender", "path": "/venv/bin/pyarrow-sender", "outputs": ["data"],
                               "env": {"DATA": "[1]"}}
    assert nodes["cam"]["args"] == "--fps 30 'a b'" and nodes["cam"]["build"] == "cargo build -p cam"
    assert nodes["cam"]["inputs"]["tick"]["source"] == "_lk_timers.cam/tick"
    assert nodes["_lk_timers.cam"]["args"] == "-u /r/nodes/_lk_timers.py tick=20.0"
    assert nodes["echo"]["inputs"]["x"]["source"] == "work/double.out.auto"
    assert "double.out.auto" in nodes["work"]["outputs"]
    assert nodes["work"]["inputs"]["double.x"]["source"] == "sender/data"
    assert nodes["tail"]["inputs"]["sink.x"]["source"] == "echo/x"
    assert "nodes/_lk_timers.py" in files


def test_dora_validate_accepts_the_generated_dataflow(tmp_path):
    ok, found = DoraEngine(out_dir=tmp_path / "out").validate(echo_system())
    assert ok, found


def test_timer_sources_read_as_rates():
    assert timer_hz("dora/timer/millis/50") == 20.0
    assert timer_hz("dora/timer/hz/2.5") == 2.5
    assert timer_hz("dora/timer/secs/2") == 0.5
    assert timer_hz("dora/timer/weeks/1") is None


def test_an_undeclared_port_or_format_is_refused_where_it_is_written():
    echo = DoraNode("echo", path="dora-echo", inputs=["x"], outputs={"x": "array"})
    with pytest.raises(GraphError, match="has no output named 'y'"):
        echo.outputs.y
    with pytest.raises(GraphError, match="has no input named 'y'. Its inputs: x. Declare it in inputs"):
        echo(y=Double("d").out)
    with pytest.raises(GraphError, match="output 'x' has unknown format 'jpeg'; use one of raw, array"):
        DoraNode("echo", path="dora-echo", outputs={"x": "jpeg"})
    with pytest.raises(GraphError, match="input 'tick' = 'dora/timer/week/1' is not a dora timer"):
        DoraNode("cam", path="cam", inputs={"tick": "dora/timer/week/1"})


def test_engines_that_cannot_run_a_dora_node_say_which_engine_does():
    from lkbuild.engines.native import NativeEngine

    ok, found = NativeEngine().validate(echo_system())
    assert not ok
    assert found[0].message.startswith("DoraNode 'sender' cannot run on the native engine: a DoraNode runs on the "
                                       "dora engine. Launch with --engine dora")
    assert found[0].code == "LK277" and found[0].location.file.endswith("test_foreign.py")


def test_a_placed_system_needs_a_machine_for_every_dora_node():
    echo = DoraNode("echo", path="dora-echo", inputs=["x"], outputs={"x": "array"})
    double = Double("double", node=Node("a", machine="m1"))
    echo(x=double.out)
    sink = Sink("sink", node=double.node)
    sink(x=echo.outputs.x)
    found = System(components=[double, echo, sink], name="placed").validate()[1]
    assert any("DoraNode 'echo' runs on no machine while the nodes are placed on m1" in p.message for p in found)


# -- RosTopic -------------------------------------------------------------------------------------------------
from geometry_msgs.msg import Pose, Twist  # noqa: E402
from sensor_msgs.msg import LaserScan  # noqa: E402

from lkbuild import RosTopic  # noqa: E402
from lkbuild.generators.ros2 import interfaces  # noqa: E402


class Steer(Component):
    def forward(self, scan: LaserScan) -> Twist:
        pass


class WantsPose(Component):
    outputs = ()

    def forward(self, pose: Pose):
        pass


def steer_system(scan_qos="sensor_data"):
    scan = RosTopic("/scan", "sensor_msgs/msg/LaserScan", qos=scan_qos)
    cmd_vel = RosTopic("/cmd_vel", "geometry_msgs/msg/Twist", qos={"preset": "default", "depth": 3})
    steer = Steer("steer", node=Node("drive"))
    cmd_vel(msg=steer(scan=scan.out))
    return System(components=[scan, cmd_vel, steer], name="rover")


def test_a_ros_topic_is_in_the_ir_with_its_type_and_resolved_qos():
    spec = steer_system().spec()
    assert spec.validate() == []
    scan = spec.member("scan")
    assert (scan.kind, scan.topic, scan.msg_type) == ("ros_topic", "/scan", "sensor_msgs/msg/LaserScan")
    assert scan.qos == {"reliability": "best_effort", "durability": "volatile", "history": "keep_last", "depth": 5}
    assert spec.member("cmd_vel").qos["depth"] == 3 and spec.member("cmd_vel").qos["reliability"] == "reliable"
    assert SystemSpec.from_json(spec.to_json()) == spec


def test_the_ros2_generator_subscribes_and_publishes_the_topics_by_their_own_names():
    topics = {t["name"]: t for t in interfaces.topics(steer_system().spec())}
    assert topics["/scan"]["src"] is None and topics["/scan"]["subscribers"][0]["key"] == "steer.scan"
    assert topics["/scan"]["type"] == "sensor_msgs/msg/LaserScan" and topics["/scan"]["qos"]["depth"] == 5
    assert topics["/cmd_vel"]["src"] == "steer" and topics["/cmd_vel"]["kind"] == "ros"
    assert topics["/cmd_vel"]["foreign"] == "cmd_vel"


@pytest.mark.parametrize("topic, why", [
    ("/scan//x", "an empty part"), ("/9lives", "'9lives' is not letters"), ("/a-b", "'a-b' is not letters"),
    ("/scan/", "an empty part"), ("/my__topic", "has '__'"),
])
def test_an_invalid_topic_name_is_a_problem_where_it_is_written(topic, why):
    t = RosTopic(topic, "sensor_msgs/msg/LaserScan", name="t")
    sink = WantsPose("sink")
    sink(pose=t.out)
    problems = System(components=[t, sink], name="rover").validate()[1]
    assert any(p.code == "LK275" and "not a valid ROS 2 topic name: " in p.message and why in p.message and
               p.location.file.endswith("test_foreign.py") for p in problems), problems


def test_an_unknown_type_a_mismatched_annotation_and_qos_that_never_connect_are_problems():
    bad = RosTopic("/scan", "sensor_msgs/msg/LazerScan", name="bad")
    with_pose = WantsPose("posed")
    with_pose(pose=bad.out)
    messages = [p.message for p in System(components=[bad, with_pose], name="rover").validate()[1]]
    assert any("unknown message type sensor_msgs/msg/LazerScan: sensor_msgs has no message LazerScan (did you mean "
               "LaserScan" in m for m in messages), messages
    twist = RosTopic("/cmd_vel", "geometry_msgs/msg/Twist")
    posed = WantsPose("posed")
    posed(pose=twist.out)
    messages = [p.message for p in System(components=[twist, posed], name="rover").validate()[1]]
    assert messages == ["type mismatch on edge cmd_vel.out -> posed.pose: output is annotated Twist, input expects Pose."]
    out = RosTopic("/x", "geometry_msgs/msg/Pose", qos="sensor_data", name="pub")
    back = RosTopic("/x", "geometry_msgs/msg/Pose", qos="default", name="sub")
    steer = WantsPose("p")
    maker = Steer("maker")
    scan = RosTopic("/scan", "sensor_msgs/msg/LaserScan")
    out(msg=maker(scan=scan.out))
    steer(pose=back.out)
    problems = System(components=[scan, out, back, steer, maker], name="rover").validate()[1]
    assert any(p.code == "LK278" and "a reliable subscriber never gets messages from a best-effort publisher"
               in p.message for p in problems), problems


def test_bad_qos_and_types_are_refused_when_the_topic_is_made():
    with pytest.raises(GraphError, match="unknown QoS preset 'fast'"):
        RosTopic("/scan", "sensor_msgs/msg/LaserScan", qos="fast")
    with pytest.raises(GraphError, match="QoS reliability 'sometimes' is not one of reliable, best_effort"):
        RosTopic("/scan", "sensor_msgs/msg/LaserScan", qos={"reliability": "sometimes"})
    with pytest.raises(GraphError, match="the message type must read pkg/msg/Name"):
        RosTopic("/scan", "LaserScan")
    with pytest.raises(GraphError, match="format 'image' needs type 'sensor_msgs/msg/Image'"):
        RosTopic("/scan", "sensor_msgs/msg/LaserScan", format="image")


def test_the_native_engine_refuses_a_ros_topic_naming_the_engines_that_serve_it():
    from lkbuild.engines.native import NativeEngine

    ok, found = NativeEngine().validate(steer_system())
    assert not ok and found[0].message.startswith(
        "RosTopic 'scan' cannot run on the native engine: a RosTopic runs on the ros2 or dora engine. "
        "Launch with --engine ros2")


def test_on_dora_a_ros_topic_is_a_bridge_node_wired_with_codec_ids():
    files = dora_generator.generate(steer_system().spec(), {"root": "/r", "python": "/py"})
    nodes = {n["id"]: n for n in yaml.safe_load(files["dataflow.yaml"])["nodes"]}
    assert nodes["_lk_ros.scan"]["outputs"] == ["out"] and "inputs" not in nodes["_lk_ros.scan"]
    assert nodes["_lk_ros.cmd_vel"]["inputs"]["msg"]["source"] == "drive/steer.out"
    assert nodes["drive"]["inputs"]["steer.scan"]["source"] == "_lk_ros.scan/out"
    assert "steer.out" in nodes["drive"]["outputs"]
    # the bridge is no lkbuild Node (no end-of-run count): what it reads leaves at once, never batched
    assert node_wiring(steer_system().spec(), "drive")["unbatched"] == ["steer.out"]
    bridge = files["nodes/_lk_ros.scan.py"].decode()
    assert '"topic": "/scan"' in bridge and '"subscribe": true' in bridge and '"publish": false' in bridge


def test_images_convert_to_and_from_sensor_msgs_image():
    import numpy as np
    from sensor_msgs.msg import Image

    from lkbuild.runtime_stubs.lk_runtime import images

    frame = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    msg = images.to_ros(frame, Image, encoding="rgb8")
    assert (msg.height, msg.width, msg.encoding, msg.step) == (2, 3, "rgb8", 9)
    back = images.from_ros(msg)
    assert back.shape == (2, 3, 3) and np.array_equal(back, frame)
    mono = images.from_ros(Image(height=1, width=2, encoding="mono8", step=2, data=[5, 6]))
    assert mono.shape == (1, 2, 1) and mono.reshape(-1).tolist() == [5, 6]


class Camera(Component):
    ros_topics = {"out": {"topic": "/camera/raw", "qos": "sensor_data"}}

    def forward(self):
        return 1


class Strict(Component):
    outputs = ()
    ros_topics = {"x": {"qos": {"reliability": "reliable"}}}

    def forward(self, x):
        pass


class Loose(Component):
    outputs = ()

    def forward(self, x):
        pass


def test_ros_topics_names_a_generated_topic_and_its_qos_and_check_finds_pairs_that_never_connect():
    b = Node("b")
    cam, strict, loose = Camera("cam", node=Node("a")), Strict("strict", node=b), Loose("loose", node=b)
    strict(x=cam.out)
    loose(x=cam.out)
    spec = System(components=[cam, strict, loose], name="rig").spec()
    (topic,) = interfaces.topics(spec)
    assert (topic["name"], topic["full_name"], topic["qos"]["reliability"]) == ("/camera/raw", "/camera/raw", "best_effort")
    assert {s["dst"]: s["qos"]["reliability"] for s in topic["subscribers"]} == {"loose": "best_effort",
                                                                                  "strict": "reliable"}
    (problem,) = spec.validate()
    assert problem.code == "LK278" and "a reliable subscriber never gets messages from a best-effort publisher" \
        in problem.message and problem.location.file.endswith("test_foreign.py")


def test_ros_topics_that_name_no_port_are_refused():
    class Odd(Component):
        ros_topics = {"nope": {"qos": "default"}}

        def forward(self):
            return 1

    with pytest.raises(GraphError, match="Odd.ros_topics names port 'nope', which it does not have"):
        System(components=[Odd("odd")], name="rig").spec()


def test_a_timer_name_that_cannot_be_a_dora_input_is_refused():
    cam = DoraNode("cam", path="cam", timers={"tick now": 10}, outputs=["image"])
    keep = Sink("keep")
    keep(x=cam.outputs.image)
    problems = System(components=[cam, keep], name="rig").validate()[1]
    assert [p.message for p in problems] == ["DoraNode 'cam': timer name 'tick now' is not valid; use letters, digits "
                                             "and '_', starting with a letter."]
