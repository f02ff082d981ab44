"""Each machine needs only what its own components use: the Camera/Logger example (examples/camera_logger).

A Camera on a Jetson uses the Jetson-only SDK ``jetvision``; a Logger on a NUC does not; one file imports the
SDK at its top. The SDK is not installed here (the build reads the file with a stand-in for it), as on the NUC.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from lkbuild.bundle import BundleOptions, write_bundle
from lkbuild.cli import main
from lkbuild.graph import machines
from lkbuild.graph.plan import node_plan

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "camera_logger"
FILE = EXAMPLE / "camera_logger.py"


@pytest.fixture
def spec(monkeypatch):
    from lkbuild.loader import load_system

    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "camera_logger", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "jetvision is not installed here; read with a stand-in"
        yield load_system(str(FILE)).spec()
    sys.modules.pop("camera_logger", None)


def test_the_logger_needs_numpy_and_not_the_jetson_sdk(spec):
    camera, logger = spec.component("camera"), spec.component("logger")
    assert camera.requirements == ("jetvision",)
    assert [r.split("==")[0] for r in logger.requirements] == ["numpy"]
    assert {i.module: i.used for i in logger.imports} == {"jetvision": False, "numpy": True}
    assert list(machines.requirements(spec, "nuc")) == list(logger.requirements)
    assert list(machines.requirements(spec, "jetson")) == ["jetvision"]


def test_a_machine_stands_in_for_what_only_other_machines_use(spec):
    assert node_plan(spec, "nuc")["stand_ins"] == {"jetvision": ["component 'camera' on machine 'jetson'"]}
    assert node_plan(spec, "jetson")["stand_ins"] == {}  # numpy: every machine has it (the codec's)
    assert node_plan(spec)["stand_ins"] == {}  # native: one process where the system was read


def test_inspect_shows_per_component_needs_and_per_machine_union(monkeypatch):
    monkeypatch.chdir(EXAMPLE)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "camera_logger", raising=False)
    out = CliRunner().invoke(main, ["inspect", "camera_logger.py", "--format", "text"],
                             catch_exceptions=False).stdout
    logger = out[out.index("component 'logger'"):out.index("machine 'jetson'")]
    assert "needs    numpy==" in logger and "needs    jetvision" not in logger
    assert "imports  jetvision (its module imports it, the class does not use it: camera_logger.py:17:0)" in logger
    camera = out[out.index("component 'camera'"):out.index("component 'logger'")]
    assert "needs    jetvision (jetvision, used by the class, camera_logger.py:17:0)" in camera
    tail = out[out.index("machine 'jetson'"):].splitlines()
    assert tail[:2] == ["machine 'jetson' needs: jetvision", "  jetvision: component 'camera'"]
    assert tail[2].startswith("machine 'nuc' needs: numpy==") and "jetvision" not in tail[2]
    assert tail[4].startswith("  stand-ins: jetvision ")


def test_the_nuc_bundle_installs_no_sdk_and_self_tests_without_it(spec, tmp_path):
    bundle = write_bundle(spec, BundleOptions(machine="nuc", out=tmp_path / "out"))
    text = (bundle.path / "requirements.txt").read_text()
    assert "jetvision" not in text and "numpy==" in text
    assert "jetvision" not in json.dumps(json.loads((bundle.path / "manifest.json").read_text())["pins"])
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run([sys.executable, "-I", "app/selftest.py"], cwd=bundle.path, capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "selftest ok: machine nuc: 1 component built (nuc/logger); runtime ok" in done.stdout


def test_ros_typed_ports_bring_their_message_packages_to_the_machines_that_use_them(tmp_path, monkeypatch):
    from lkbuild.loader import load_system

    (tmp_path / "ros_robot.py").write_text(
        "from geometry_msgs.msg import Twist\n"
        "from lkbuild import Component, Machine, Node, System\n\n"
        "class Driver(Component):\n"
        "    def forward(self) -> Twist:\n"
        "        return Twist()\n\n"
        "class Motor(Component):\n"
        "    def forward(self, cmd):\n"
        "        return None\n\n"
        "class Clock(Component):\n"
        "    def forward(self):\n"
        "        return 1\n\n"
        "a = Node('a', machine=Machine('brain'))\n"
        "b = Node('b', machine=Machine('wheels'))\n"
        "c = Node('c', machine=Machine('other'))\n"
        "driver, motor, clock = Driver(node=a), Motor(node=b), Clock(node=c)\n"
        "motor(cmd=driver.out)\n"
        "system = System(components=[driver, motor, clock], name='ros_robot')\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec = load_system(str(tmp_path / "ros_robot.py")).spec()
    sys.modules.pop("ros_robot", None)
    wanted = machines.message_requirement("geometry_msgs")
    assert wanted.startswith("ros-jazzy-geometry-msgs==")  # installed here: pinned
    assert wanted in machines.requirements(spec, "brain")  # publishes Twist
    assert wanted in machines.requirements(spec, "wheels")  # subscribes to it
    assert wanted not in machines.requirements(spec, "other")
    bundle = write_bundle(spec, BundleOptions(machine="wheels", out=tmp_path / "out"))
    names = {line.split("==")[0] for line in bundle.requirements}
    assert {"ros-jazzy-geometry-msgs", "ros-jazzy-rclpy", "dora-rs"} <= names  # dora: rclpy serializes them
