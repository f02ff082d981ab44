"""ROS message classes as codec values: which annotations name them, registration, and native runs."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import geometry_msgs.msg
import pytest
from geometry_msgs.msg import Pose

from lkbuild.graph.plan import node_plan
from lkbuild import Component, Node, System
from lkbuild.runtime_stubs.lk_runtime import codec, record, rosmsg


@pytest.mark.parametrize("annotation, expected", [
    ("geometry_msgs.msg.Pose", "geometry_msgs/msg/Pose"), ("sensor_msgs.msg._image.Image", "sensor_msgs/msg/Image"),
    ("Pose", None), ("os.system", None), ("geometry_msgs.msg.Pose; import os", None), ("", None), (None, None),
    ("Geometry_msgs.msg.Pose", None), ("geometry_msgs.srv.Pose", None),
])
def test_only_names_shaped_like_ros_message_classes_are_ros_message_types(annotation, expected):
    assert rosmsg.type_name(annotation) == expected


def test_a_short_annotation_is_qualified_by_looking_it_up_in_its_module():
    from geometry_msgs import msg
    from geometry_msgs.msg import Pose as RosPose

    namespace = {"Pose": RosPose, "msg": msg, "np": pytest}
    assert rosmsg.qualify("Pose", namespace) == "geometry_msgs.msg._pose.Pose"
    assert rosmsg.qualify("msg.Twist", namespace) == "geometry_msgs.msg._twist.Twist"
    assert rosmsg.qualify("np.raises", namespace) == "np.raises"  # not a ROS message: unchanged
    assert rosmsg.qualify("Missing", namespace) == "Missing"
    assert rosmsg.qualify("Dict[str, Pose]", namespace) == "Dict[str, Pose]"  # never evaluated


def test_the_runtime_imports_no_ros_until_a_ros_message_type_is_registered():
    code = ("import sys; from lkbuild.runtime_stubs.lk_runtime import codec, host, record, rosmsg; "
            "assert 'rclpy' not in sys.modules and 'geometry_msgs' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


class Planner(Component):
    def setup(self):
        self.n = 0

    def forward(self) -> Pose:  # "Pose" here (postponed annotations): looked up in this module
        self.n += 1
        pose = Pose()
        pose.position.x = float(self.n)
        return pose


class Follower(Component):
    outputs = {"x": float, "twist": "geometry_msgs.msg.Twist"}

    def forward(self, pose: Pose):
        twist = geometry_msgs.msg.Twist()
        twist.linear.x = pose.position.x / 2
        return {"x": pose.position.x, "twist": twist}


class Sink(Component):
    outputs = ()

    def setup(self):
        self.got = []

    def forward(self, twist):
        self.got.append(twist)


def test_the_node_plan_lists_the_ros_message_types_its_ports_carry():
    a, b = Node("a"), Node("b")
    planner, follower, sink = Planner("planner", node=a), Follower("follower", node=b), Sink("sink", node=b)
    sink(twist=follower(pose=planner.out).twist)
    spec = System(components=[planner, follower, sink], name="posebot").spec()
    assert node_plan(spec, "a")["messages"] == ["geometry_msgs/msg/Pose"]
    assert node_plan(spec, "b")["messages"] == ["geometry_msgs/msg/Pose", "geometry_msgs/msg/Twist"]


def test_a_system_with_ros_message_ports_runs_natively_through_the_codec(tmp_path):
    planner, follower, sink = Planner("planner", node=Node("a")), Follower("follower", node=Node("b")), Sink("sink")
    sink(twist=follower(pose=planner.out).twist)
    system = System(components=[planner, follower, sink], name="posebot")
    result = system.launch(engine="native", out=tmp_path / "build", iterations=3, realtime=False,
                           record_dir=tmp_path / "rec")
    assert result.fired == {"planner": 3, "follower": 3, "sink": 3}
    recorded = record.load(str(tmp_path / "rec"))
    pose = Pose()
    pose.position.x = 2.0
    assert recorded[("planner", "out")][1] == hashlib.sha256(codec.encode(pose)).hexdigest()
    assert "geometry_msgs.msg.Twist(linear=geometry_msgs.msg.Vector3(x=1.5" in \
        (tmp_path / "rec/follower.jsonl").read_text().splitlines()[-1]
