"""A two-machine project on disk (jetson: camera + detector, nuc: planner) for the bundle tests."""
from __future__ import annotations

import sys
import textwrap

import pytest

VISION = '''
from dataclasses import dataclass

import numpy as np

from lkbuild import Component
from helpers import shift


class Camera(Component):
    @dataclass
    class Config:
        size: int = 4

    def __init__(self, node=None, config=None):
        super().__init__("camera", node=node, config=config, rate_hz=50)
        self.n = 0

    def forward(self):
        self.n += 1
        return np.full((self.config.size, self.config.size), shift(self.n), dtype=np.uint8)


class Detector(Component):
    outputs = ("detections",)

    def __init__(self, node=None, threshold=3):
        super().__init__("detector", node=node)
        self.threshold = threshold

    def forward(self, image):
        return {"detections": int((image >= self.threshold).sum())}
'''

HELPERS = '''
def shift(n):
    return n + 1
'''

PLANNING = '''
import yaml

from lkbuild import Component


class Planner(Component):
    outputs = ()

    def __init__(self, node=None, gain=2.0):
        super().__init__("planner", node=node)
        self.gain = gain

    def forward(self, detections):
        yaml.safe_dump({"seen": detections * self.gain})
'''

ROBOT = '''
from lkbuild import Node, System
from planning import Planner
from vision import Camera, Detector

vision = Node("jetson", machine="jetson", engine="dora")
compute = Node("nuc", machine="nuc", engine="dora")

camera = Camera(node=vision, config=Camera.Config(size=3))
detector = Detector(node=vision, threshold=4)
planner = Planner(node=compute, gain=0.5)
detections = detector(image=camera.out)
planner(detections=detections)

system = System(components=[camera, detector, planner], name="robot")
'''


@pytest.fixture
def project(tmp_path):
    """The project directory; ``robot.py`` holds the system."""
    root = tmp_path / "project"
    root.mkdir()
    for name, text in (("vision.py", VISION), ("helpers.py", HELPERS), ("planning.py", PLANNING),
                       ("robot.py", ROBOT)):
        (root / name).write_text(textwrap.dedent(text).lstrip())
    return root


MODULES = ("vision", "helpers", "planning", "robot")


@pytest.fixture
def spec(project, monkeypatch):
    """The project's IR, loaded as `lkbuild` would (modules imported fresh for every test)."""
    from lkbuild.loader import load_system

    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield load_system(str(project / "robot.py")).spec()
    for name in MODULES:
        sys.modules.pop(name, None)


def fake_wheels(requirements, dest):
    """A wheel file per pinned requirement, as `pip download` would leave them (no dependencies, no network)."""
    import re
    from pathlib import Path

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    found = []
    for line in requirements:
        name, _, version = line.partition("==")
        name = re.sub(r"[-_.]+", "_", name.split("[")[0]).lower()
        wheel = dest / f"{name}-{version or '0'}-py3-none-any.whl"
        wheel.write_bytes(f"wheel of {line}\n".encode())
        found.append(wheel)
    return sorted(found)


@pytest.fixture(autouse=True)
def offline_pip(monkeypatch):
    """Unit tests resolve no wheels over the network: pip download leaves one fake wheel per requirement.

    The real pip runs in tests/e2e (wheels for real platforms, real images) and where a test puts it back.
    """
    monkeypatch.setattr("lkbuild.tools.pip.Pip.download",
                        lambda self, requirements, dest, *args, **kwargs: fake_wheels(requirements, dest))
