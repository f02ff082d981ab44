"""The ROS 2 generator: the ament_python package a ROS developer gets, from the IR alone."""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass

import geometry_msgs.msg
import pytest
import yaml
from geometry_msgs.msg import Pose

from lkbuild import Component, Node, System
from lkbuild.generators import ros2
from lkbuild.generators.ros2 import interfaces


class Camera(Component):
    @dataclass
    class Config:
        width: int = 64
        gain: float = 1.5
        name: str = "front"
        enabled: bool = True
        roi: list = None
        weights: tuple = ()

    def __init__(self, node=None, config=None):
        super().__init__("camera", node=node, config=config)

    def forward(self):
        return None


class Detector(Component):
    outputs = {"count": int, "label": str, "score": float, "seen": bool, "blobs": None}
    input_queues = {"image": {"size": 3}}

    def forward(self, image):
        return None


class Sink(Component):
    outputs = ()
    input_queues = {"count": {"size": 7, "policy": "backpressure"}}

    def forward(self, count: int, label: str = "", blobs=None):
        return None


def robot(machines=True):
    vision = Node("vision", machine="jetson" if machines else None)
    compute = Node("compute", machine="nuc" if machines else None)
    camera = Camera(node=vision, config=Camera.Config(width=32, roi=[1, 2.5]))
    detector = Detector("detector", node=vision)
    sink = Sink("sink", node=compute)
    out = detector(image=camera.out)
    sink(count=out.count, label=out.label, blobs=out.blobs)
    return System(components=[camera, detector, sink], name="robot").spec()


@pytest.fixture(scope="module")
def files():
    return ros2.generate(robot())


def test_the_package_layout_is_a_colcon_ament_python_package(files):
    for path in ("package.xml", "setup.py", "setup.cfg", "resource/robot", "README.md",
                 "robot_lkbuild/__init__.py", "robot_lkbuild/node_vision.py", "robot_lkbuild/node_compute.py",
                 "config/params.yaml", "launch/robot.launch.py", "launch/jetson.launch.py", "launch/nuc.launch.py",
                 "test/test_package.py"):
        assert f"src/robot/{path}" in files, path
    assert all(path.startswith("src/robot/") for path in files)


def test_generation_is_deterministic():
    assert ros2.generate(robot()) == ros2.generate(robot())


def test_package_xml_is_format_3_with_real_dependencies(files):
    from catkin_pkg.package import parse_package_string

    package = parse_package_string(files["src/robot/package.xml"].decode())
    package.validate()
    assert package.name == "robot" and package.package_format == 3
    assert {"rclpy", "std_msgs", "launch", "launch_ros", "python3-numpy"} <= {d.name for d in package.exec_depends}
    assert [d.name for d in package.test_depends] == ["python3-pytest"]
    assert package.get_build_type() == "ament_python"


def test_setup_installs_one_executable_per_node_under_lib(files):
    setup_cfg = files["src/robot/setup.cfg"].decode()
    assert "install_scripts=$base/lib/robot" in setup_cfg and "script_dir=$base/lib/robot" in setup_cfg
    setup_py = files["src/robot/setup.py"].decode()
    assert "tests_require" not in setup_py
    assert "'vision = robot_lkbuild.node_vision:main'" in setup_py
    assert "'compute = robot_lkbuild.node_compute:main'" in setup_py
    ast.parse(setup_py)


def plan_of(files, node):
    """The plan a node executable embeds (the string literal passed to json.loads)."""
    tree = ast.parse(files[f"src/robot/robot_lkbuild/node_{node}.py"].decode())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "loads")
    return json.loads(call.args[0].value)


def test_each_executable_embeds_its_nodes_plan(files):
    plan = plan_of(files, "vision")
    assert [c["name"] for c in plan["components"]] == ["camera", "detector"]
    assert plan["node"] == "vision" and plan["machine"] == "jetson"
    assert plan["routes"] == [["camera", "out", "detector", "image"]]
    assert plan_of(files, "compute")["ros2"]["nodes"] == ["vision", "compute"]


def test_topics_carry_std_msgs_for_scalars_and_codec_bytes_otherwise(files):
    topics = {t["full_name"]: t for t in plan_of(files, "compute")["ros2"]["topics"]}
    assert sorted(topics) == ["/robot/detector/blobs", "/robot/detector/count", "/robot/detector/label"]
    assert topics["/robot/detector/count"]["type"] == "std_msgs/msg/Int64"
    assert topics["/robot/detector/label"]["type"] == "std_msgs/msg/String"
    assert topics["/robot/detector/blobs"]["type"] == "std_msgs/msg/UInt8MultiArray"
    assert topics["/robot/detector/count"]["subscribers"] == [
        {"dst": "sink", "input": "count", "node": "compute", "key": "sink.count", "depth": 7, "keep_all": True}]
    assert topics["/robot/detector/label"]["depth"] == 1000 and not topics["/robot/detector/label"]["keep_all"]


@pytest.mark.parametrize("annotation, expected", [
    ("str", "std_msgs/msg/String"), ("builtins.int", "std_msgs/msg/Int64"), ("float", "std_msgs/msg/Float64"),
    ("bool", "std_msgs/msg/Bool"), ("sensor_msgs.msg._image.Image", "sensor_msgs/msg/Image"),
    ("geometry_msgs.msg.Twist", "geometry_msgs/msg/Twist"), ("numpy.ndarray", "std_msgs/msg/UInt8MultiArray"),
    (None, "std_msgs/msg/UInt8MultiArray"), ("dict", "std_msgs/msg/UInt8MultiArray"),
])
def test_message_types_follow_the_output_annotation(annotation, expected):
    assert interfaces.message_kind(annotation)["type"] == expected


def test_configs_become_ros_parameters_of_each_components_node(files):
    params = yaml.safe_load(files["src/robot/config/params.yaml"])
    assert params == {"/robot/camera": {"ros__parameters": {
        "width": 32, "gain": 1.5, "name": "front", "enabled": True, "roi": [1.0, 2.5]}}}


def launch_nodes(text):
    tree = ast.parse(text)
    return [{kw.arg: kw.value for kw in call.keywords} for call in ast.walk(tree)
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Node"]


def test_launch_files_start_every_node_and_each_machines_nodes(files):
    system = launch_nodes(files["src/robot/launch/robot.launch.py"].decode())
    assert [ast.literal_eval(n["executable"]) for n in system] == ["vision", "compute"]
    assert {ast.literal_eval(n["namespace"]) for n in system} == {"robot"}
    assert [ast.literal_eval(n["executable"]) for n in launch_nodes(
        files["src/robot/launch/jetson.launch.py"].decode())] == ["vision"]
    assert [ast.literal_eval(n["executable"]) for n in launch_nodes(
        files["src/robot/launch/nuc.launch.py"].decode())] == ["compute"]


def test_unplaced_nodes_get_only_the_system_launch_file():
    files = ros2.generate(robot(machines=False))
    assert sorted(p for p in files if "/launch/" in p) == ["src/robot/launch/robot.launch.py"]


def test_the_package_carries_no_copy_of_the_runtime_and_imports_it_by_lkbuilds_name(files):
    """One runtime module, one message registry: the one lkbuild's API (``lkbuild.message``) registers in."""
    assert not any(path.endswith("codec.py") for path in files)
    body = files["src/robot/robot_lkbuild/node_vision.py"].decode()
    assert "from lkbuild.runtime_stubs.lk_runtime import ros2_node\n" in body


class Labelled(Component):
    def __init__(self, name, node=None, label=""):
        super().__init__(name, node=node)
        self.label = label

    def forward(self):
        return self.label


def test_user_data_cannot_escape_the_embedded_plan():
    label = "it's '''); import os  # \\ \" \n ünï"
    src, sink = Labelled("src", node=Node("a"), label=label), Sink("sink", node=Node("b"))
    sink(count=src.out)
    files = ros2.generate(System(components=[src, sink], name="tricky").spec())
    tree = ast.parse(files["src/tricky/tricky_lkbuild/node_a.py"].decode())
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import) and n.names[0].name == "os"]
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "loads")
    assert json.loads(call.args[0].value)["components"][0]["construction"]["kwargs"]["label"] == label


# -- ports annotated with a ROS message class ---------------------------------------------------------------
class Planner(Component):
    def forward(self) -> Pose:  # a string here (postponed annotations): lkbuild looks the name up
        return Pose()


class Follower(Component):
    def forward(self, pose: Pose, twist: geometry_msgs.msg.Twist = None) -> float:
        return 0.0


def pose_robot():
    brain = Node("brain")
    planner, follower = Planner("planner", node=brain), Follower("follower", node=Node("body"))
    log = Sink("log", node=brain)
    follower(pose=planner.out)
    log(count=follower.out)
    return System(components=[planner, follower, log], name="posebot").spec()


def test_a_ros_typed_port_is_a_topic_of_that_message_type_and_a_package_dependency():
    from catkin_pkg.package import parse_package_string

    spec = pose_robot()
    assert spec.component("planner").output("out").annotation == "geometry_msgs.msg._pose.Pose"
    topic, = [t for t in interfaces.topics(spec) if t["src"] == "planner"]
    assert (topic["kind"], topic["type"]) == ("ros", "geometry_msgs/msg/Pose")
    files = ros2.generate(spec)
    package = parse_package_string(files["src/posebot/package.xml"].decode())
    assert "geometry_msgs" in {d.name for d in package.exec_depends}


def test_each_entrypoint_imports_the_ros_message_classes_its_ports_carry_as_source():
    files = ros2.generate(pose_robot())
    body = files["src/posebot/posebot_lkbuild/node_body.py"].decode()
    tree = ast.parse(body)
    imports = {(n.module, a.name, a.asname) for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert ("geometry_msgs.msg", "Pose", "geometry_msgs__Pose") in imports
    assert ("geometry_msgs.msg", "Twist", "geometry_msgs__Twist") in imports
    assert "MESSAGES = {\n    'geometry_msgs/msg/Pose': geometry_msgs__Pose,\n" \
           "    'geometry_msgs/msg/Twist': geometry_msgs__Twist,\n}" in body
    assert "return ros2_node.main(PLAN, argv, MESSAGES)" in body
    # the brain's planner sends a Pose: it needs the class too; a Node without ROS ports imports none
    assert "from geometry_msgs.msg import Pose as geometry_msgs__Pose" in \
        files["src/posebot/posebot_lkbuild/node_brain.py"].decode()
    plain = ros2.generate(robot())["src/robot/robot_lkbuild/node_vision.py"].decode()
    assert "MESSAGES = {\n}" in plain and "_msgs" not in plain.split("PLAN =")[0]


@pytest.mark.parametrize("name", ["geometry_msgs/msg/Pose as os; import os", "os/msg/system()", "a/srv/B",
                                  "geometry_msgs/msg/pose"])
def test_only_ros_message_names_become_import_statements(name):
    with pytest.raises(ValueError):
        interfaces.message_imports([name])


# -- what a colcon build depends on ---------------------------------------------------------------------------
class Tuned(Component):
    @dataclass
    class Config:
        gain: float = 1.0
        names: tuple = ()
        extra: dict = None

    def forward(self):
        return self.config.gain


def tuned_spec(**config):
    tuned, sink = Tuned("tuned", node=Node("a"), config=Tuned.Config(**config)), Sink("sink", node=Node("b"))
    sink(count=tuned.out)
    return System(components=[tuned, sink], name="tuned").spec()


def test_a_new_parameter_value_needs_no_build_but_a_new_parameter_or_a_compiled_value_does():
    base = ros2.code_digest(tuned_spec(gain=1.0))
    assert ros2.code_digest(tuned_spec(gain=2.5)) == base  # travels in the params file
    assert ros2.generate(tuned_spec(gain=2.5)) != ros2.generate(tuned_spec(gain=1.0))
    assert ros2.code_digest(tuned_spec(gain=1.0, names=["x"])) != base  # a new parameter
    assert ros2.code_digest(tuned_spec(gain=1.0, extra={"k": 1})) != base  # not a parameter: compiled in
