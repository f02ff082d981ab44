"""`lkbuild check`, `inspect` and `compile` with the inspector: what a user sees on the terminal."""
import json

from click.testing import CliRunner

from lkbuild.cli import main

GOOD = '''
from lkbuild import Component, System

class Camera(Component):
    def forward(self):
        return 1

class Printer(Component):
    outputs = ()
    def __init__(self):
        super().__init__("printer")
        self.log = open("/dev/null", "w")
    def forward(self, x):
        return None

cam = Camera()
printer = Printer()
printer(x=cam.out)
system = System(components=[cam, printer], name="robot")
'''
# Importing this file fails (the nested construction raises); the lint still says where and why.
NESTED = '''
from lkbuild import Component, System

class Camera(Component):
    def forward(self):
        return 1

class Robot(Component):
    def __init__(self):
        super().__init__("robot")
        self.camera = Camera()
    def forward(self, x=None):
        return x

robot = Robot()
system = System(components=[robot], name="robot")
'''
VISION = '''
import lk_absent_vision_sdk as sdk
from lkbuild import Component

class Detector(Component):
    def setup(self):
        self.model = sdk.load("model.engine")
    def forward(self, image):
        return self.model(image)
'''
SENSORS = '''
from lkbuild import Component

class Camera(Component):
    def forward(self):
        return 1
'''
ROBOT = '''
from lkbuild import Node, System
from sensors import Camera
from vision import Detector

cam = Camera(node=Node("nuc", machine="nuc"))
det = Detector(node=Node("jetson", machine="jetson"))
det(image=cam.out)
system = System(components=[cam, det], name="robot")
'''


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_check_prints_warnings_and_passes_unless_strict(sources):
    sources.write("robot.py", GOOD)
    result = run("check", "robot.py")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "robot.py:11:19: LK102 Printer.__init__ calls open(); __init__ also runs on the build machine when lkbuild "
        "reads the system; move it to setup(), which runs only on the target.",
        "ok: system 'robot': 2 components, 1 edge, 1 node (local)",
    ]
    assert "0 errors, 1 warning found." in result.stderr
    assert run("check", "robot.py", "--strict").exit_code == 2


def test_check_reports_lint_findings_even_when_importing_fails(sources):
    sources.write("robot.py", NESTED)
    result = run("check", "robot.py")
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "robot.py:10:22: LK001 Camera is created inside component Robot. Don't nest components — use a System: "
        "create both at module level and wire them (inner(...) with port handles, or system.connect).",
    ]
    assert "1 error, 0 warnings found." in result.stderr


def test_check_json_lists_findings_and_problems(sources):
    sources.write("robot.py", NESTED)
    result = run("check", "robot.py", "--format", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 2
    assert report["ok"] is False
    assert [(f["code"], f["severity"], f["file"], f["line"], f["col"]) for f in report["findings"]] == [
        ("LK001", "error", "robot.py", 10, 22)]
    assert report["findings"][0]["message"].startswith("Camera is created inside component Robot.")
    assert report["problems"] == []


def test_check_does_not_repeat_a_bad_name_the_lint_located(sources):
    sources.write("robot.py", GOOD.replace('name="robot"', 'name="Robot"'))
    result = run("check", "robot.py")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[1].startswith("robot.py:18:48: LK006 system name 'Robot' is not a valid ROS 2 package name")
    assert len(lines) == 2


def test_compile_with_a_package_missing_here_warns_and_succeeds(sources):
    sources.write("vision.py", VISION)
    sources.write("sensors.py", SENSORS)
    sources.write("robot.py", ROBOT)
    result = run("compile", "robot.py", "-e", "native")
    assert result.exit_code == 0, result.output
    assert ("Warning: module 'lk_absent_vision_sdk' is not installed here; lkbuild read the system with a stand-in "
            "for it. Needed on machine 'jetson' by component 'detector' (imported at vision.py:1:0).") in result.stderr
    spec = json.loads((sources.root / ".lk_build" / "system.json").read_text())
    detector = next(c for c in spec["components"] if c["name"] == "detector")
    assert detector["requirements"] == ["lk_absent_vision_sdk"]
    assert detector["local_modules"] == ["vision.py"]
    assert detector["imports"][0]["used"] is True
    camera = next(c for c in spec["components"] if c["name"] == "camera")
    assert camera["requirements"] == [] and camera["local_modules"] == ["sensors.py"]
    assert list((sources.root / ".lk_build" / "cache" / "inspect").glob("*.json"))


def test_strict_imports_fail_compile_and_check(sources):
    sources.write("vision.py", VISION)
    sources.write("sensors.py", SENSORS)
    sources.write("robot.py", ROBOT)
    result = run("compile", "robot.py", "-e", "native", "--strict-imports")
    assert result.exit_code == 2
    assert "module 'lk_absent_vision_sdk' is not installed here; it is imported by vision.py:1:0." in result.stderr
    checked = run("check", "robot.py", "--strict-imports")
    assert checked.exit_code == 2
    assert "module 'lk_absent_vision_sdk' is not installed here" in checked.stdout


def test_inspect_text_says_why_each_machine_needs_each_package(sources):
    sources.write("vision.py", VISION)
    sources.write("sensors.py", SENSORS)
    sources.write("robot.py", ROBOT)
    result = run("inspect", "robot.py", "--format", "text")
    assert result.exit_code == 0
    out = result.stdout
    assert "component 'detector': vision:Detector on node 'jetson'\n  class    vision.py:4:6\n  forward  vision.py:7:8\n" in out
    assert "  needs    lk_absent_vision_sdk (lk_absent_vision_sdk, used by the class, vision.py:1:0)\n" in out
    assert ("machine 'jetson' needs: lk_absent_vision_sdk\n  lk_absent_vision_sdk: component 'detector'\n"
            "machine 'nuc' needs: nothing else\n") in out


def test_inspect_json_is_the_ir_with_source_facts(sources):
    sources.write("robot.py", GOOD)
    spec = json.loads(run("inspect", "robot.py").stdout)
    printer = spec["components"][1]
    assert printer["class_at"]["file"].endswith("robot.py") and printer["class_at"]["line"] == 7
    assert (printer["class_at"]["col"], printer["forward_at"]["line"], printer["forward_at"]["col"]) == (6, 12, 8)
    assert printer["local_modules"] == ["robot.py"]


def test_check_reports_a_star_args_forward_once_where_it_is_defined(sources):
    sources.write("robot.py", '''
from lkbuild import Component, System

class Mixer(Component):
    def forward(self, *inputs):
        return sum(inputs)

system = System(components=[Mixer()], name="robot")
''')
    result = run("check", "robot.py")
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "robot.py:4:23: LK003 Mixer.forward() takes *inputs: ports cannot be known. Name every input as a parameter."]
