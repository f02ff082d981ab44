"""Every lint rule, from inline snippets: the finding, its code and its file:line:col."""
import pytest

from lkbuild.inspect import lint_system_file

HEADER = "from lkbuild import Component, Node, System\n"


def lint(sources, text, name="robot.py", **others):
    for other, body in others.items():
        sources.write(f"{other}.py", body)
    return lint_system_file(sources.write(name, HEADER + text.lstrip("\n")))[0]


def codes(findings):
    return [(f.code, f.line, f.col) for f in findings]


def test_clean_code_has_no_findings(sources):
    found = lint(sources, '''
from dataclasses import dataclass
import math

class Camera(Component):
    @dataclass
    class Config:
        size: int = 4
    def forward(self):
        return self.config.size

class Detector(Component):
    outputs = ("detections", "debug")
    def forward(self, image, odom=None):
        if image is None:
            return None
        return {"detections": image, "debug": "ok"}

cam = Camera("camera", node=Node("vision"), config=Camera.Config(size=2), rate_hz=math.pi)
det = Detector("detector", config={"a": [1, 2.5, None, b"x", (1, "two")]})
det(image=cam.out)
system = System(components=[cam, det], name="robot")
''')
    assert found == []


def test_syntax_error_is_LK000(sources):
    found = lint(sources, "class Broken(Component:\n    pass\n")
    assert codes(found) == [("LK000", 2, 22)]
    assert str(found[0]) == "robot.py:2:22: LK000 syntax error: invalid syntax"


def test_component_created_inside_another_is_LK001_at_the_construction(sources):
    found = lint(sources, '''
class Camera(Component):
    def forward(self):
        return 1

class Robot(Component):
    def __init__(self):
        super().__init__("robot")
        self.camera = Camera("camera")
    def forward(self, x):
        return x
''')
    assert codes(found) == [("LK001", 9, 22)]
    assert "Camera is created inside component Robot" in found[0].message
    assert "use a System" in found[0].message
    assert found[0].severity == "error"


def test_nested_construction_of_a_component_from_another_file(sources):
    found = lint(sources, '''
from parts import Camera

class Robot(Component):
    def forward(self, x):
        return Camera()
''', parts=HEADER + "class Camera(Component):\n    def forward(self):\n        return 1\n")
    assert codes(found) == [("LK001", 6, 15)]


def test_missing_forward_is_LK002_at_the_class_name(sources):
    found = lint(sources, '''
class Camera(Component):
    def setup(self):
        pass
''')
    assert codes(found) == [("LK002", 2, 6)]
    assert "has no forward()" in found[0].message


def test_forward_from_a_base_class_or_an_abstract_base_is_fine(sources):
    found = lint(sources, '''
class Base(Component):
    outputs = ("a", "b")

class Impl(Base):
    def forward(self, x):
        return {"a": 1, "b": 2}

class Child(Impl):
    pass
''')
    assert found == []


def test_forward_with_star_args_is_LK003(sources):
    found = lint(sources, '''
class Mixer(Component):
    def forward(self, first, *rest, **named):
        return first
''')
    assert codes(found) == [("LK003", 3, 30), ("LK003", 3, 38)]
    assert "*rest" in found[0].message and "**named" in found[1].message


def test_returned_key_not_in_outputs_is_LK004_and_a_never_returned_output_LK101(sources):
    found = lint(sources, '''
class Detector(Component):
    outputs = ("detections", "debug")
    def forward(self, image):
        if image is None:
            return None
        return {"detections": 1, "debgu": 2}
''')
    assert codes(found) == [("LK101", 3, 29), ("LK004", 7, 33)]
    assert "returns key 'debgu'" in found[1].message
    assert found[0].severity == "warning"


def test_tuple_of_the_wrong_length_is_LK004(sources):
    found = lint(sources, '''
class Split(Component):
    outputs = ["left", "right"]
    def forward(self, x):
        return x, x, x
''')
    assert codes(found) == [("LK004", 5, 8)]


def test_outputs_are_not_checked_when_forward_returns_something_else(sources):
    found = lint(sources, '''
class Split(Component):
    outputs = ("left", "right")
    def forward(self, x):
        result = {"left": x}
        return result
''')
    assert found == []


@pytest.mark.parametrize("value, why", [
    ("lambda x: x", "a lambda"),
    ("{1, 2}", "a set"),
    ("open('/dev/video0')", "an open file"),
    ("np.zeros(3)", "the result of numpy.zeros()"),
    ("[1, threading.Lock()]", "the result of threading.Lock()"),
    ("Helper()", "an instance of Helper"),
    ("{1: 'a'}", "a dict with a key that is not a string"),
])
def test_unrecordable_constructor_argument_is_LK005_where_the_component_is_built(sources, value, why):
    found = lint(sources, f'''
import threading
import numpy as np

class Helper:
    pass

class Planner(Component):
    def __init__(self, thing=None):
        super().__init__("planner")
    def forward(self, x):
        return x

planner = Planner(
    thing={value})
''')
    assert codes(found) == [("LK005", 15, 10)]
    assert f"constructor argument 'thing' cannot be recorded: it is {why}" in found[0].message


def test_unrecordable_value_through_a_module_variable(sources):
    found = lint(sources, '''
import torch

class Detector(Component):
    def __init__(self, model=None):
        super().__init__("detector")
    def forward(self, x):
        return x

model = torch.load("weights.pt")
detector = Detector(model=model)
''')
    assert codes(found) == [("LK005", 11, 26)]
    assert "torch.load() (through 'model')" in found[0].message


def test_recordable_values_from_math_and_configs_are_fine(sources):
    found = lint(sources, '''
import math
from dataclasses import dataclass

class Arm(Component):
    @dataclass
    class Config:
        reach: float = 1.0
    def forward(self, x):
        return x

arm = Arm(config=Arm.Config(reach=math.sqrt(2)), rate_hz=-1.5, node=Node("arm"))
''')
    assert found == []


def test_heavy_init_is_a_LK102_warning(sources):
    found = lint(sources, '''
import cv2
import socket

class Camera(Component):
    def __init__(self):
        super().__init__("camera")
        self.capture = cv2.VideoCapture(0)
        self.log = open("log.txt", "w")
        self.sock = socket.socket()
        self.size = len("abc")
    def setup(self):
        self.capture = cv2.VideoCapture(0)
    def forward(self):
        return 1
''')
    assert codes(found) == [("LK102", 8, 23), ("LK102", 9, 19), ("LK102", 10, 20)]
    assert all(f.severity == "warning" for f in found)
    assert "cv2.VideoCapture() from the third-party package 'cv2'" in found[0].message
    assert "move it to setup()" in found[0].message


@pytest.mark.parametrize("snippet, name, position", [
    ('cam = Camera("front-cam")\n', "component name 'front-cam'", (6, 13)),
    ('cam = Camera(name="front cam")\n', "component name 'front cam'", (6, 18)),
    ('n = Node("jetson-1")\n', "node name 'jetson-1'", (6, 9)),
    ('s = System([], name="Robot")\n', "system name 'Robot'", (6, 20)),
    ('s = System([], "test")\n', "system name 'test'", (6, 15)),
])
def test_names_invalid_for_a_target_are_LK006(sources, snippet, name, position):
    found = lint(sources, '''
class Camera(Component):
    def forward(self):
        return 1

''' + snippet)
    assert codes(found) == [("LK006", *position)]
    assert name in found[0].message


def test_a_positional_argument_is_not_a_name_when_init_is_overridden(sources):
    found = lint(sources, '''
class Speaker(Component):
    outputs = ()
    def __init__(self, sound, name="speaker"):
        super().__init__(name)
        self.sound = sound
    def forward(self, x):
        return None

beep = Speaker("beep.wav")
horn = Speaker("horn.wav", name="horn-1")
''')
    assert codes(found) == [("LK006", 11, 32)]


def test_port_and_component_names_inside_the_class(sources):
    found = lint(sources, '''
class Camera(Component):
    outputs = ("image", "depth-map")
    def __init__(self):
        super().__init__("cam.front")
    def forward(self, _trigger=None):
        return {"image": 1, "depth-map": 2}
''')
    assert codes(found) == [("LK006", 3, 24), ("LK006", 5, 25), ("LK006", 6, 22)]
    assert "output name 'depth-map' is not valid for ROS 2 topic names" in found[0].message
    assert "component name 'cam.front' is not valid for ROS 2 node and topic names" in found[1].message
    assert "input name '_trigger'" in found[2].message


def test_findings_print_as_file_line_col_code_message(sources):
    found = lint(sources, "class Camera(Component):\n    pass\n")
    assert str(found[0]).startswith("robot.py:2:6: LK002 component class Camera has no forward()")
    assert found[0].to_dict() == {
        "code": "LK002", "severity": "error", "file": "robot.py", "line": 2, "col": 6,
        "message": found[0].message,
    }


def test_components_in_local_packages_are_linted_too(sources):
    sources.write("robot_parts/__init__.py", "from .camera import Camera\n")
    sources.write("robot_parts/camera.py", HEADER + "class Camera(Component):\n    def forward(self, *xs):\n        return 1\n")
    found = lint(sources, "from robot_parts import Camera\ncam = Camera(lambda: 1)\n")
    assert codes(found) == [("LK005", 3, 13), ("LK003", 3, 23)]
    assert found[1].file.endswith("robot_parts/camera.py")
