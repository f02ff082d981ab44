"""What each component needs: third-party imports mapped to distributions, and local modules to copy."""

from lkbuild.errors import Location
from lkbuild.inspect import Project, describe, distribution, is_requirement

HEADER = "from lkbuild import Component\n"


def needs(sources, qualname="Detector", file="robot.py"):
    found = describe(Project([sources.root]), (sources.root / file).resolve(), qualname, sources.root)
    return {i.module: (i.requirement, i.used) for i in found.imports}, found.local_modules


def test_imports_the_class_uses_and_those_its_module_needs(sources):
    sources.write("robot.py", HEADER + '''
import json
import numpy as np
import cv2
import lkbuild.node
from PIL import Image

def blur(x):
    import scipy.ndimage
    return scipy.ndimage.gaussian_filter(x, 1)

def unused():
    import torch

class Detector(Component):
    def forward(self, image):
        return blur(np.asarray(image))

class Other(Component):
    def forward(self):
        return cv2.imread("x.png")
''')
    found, local = needs(sources)
    assert found == {
        "numpy": (f"numpy=={distribution('numpy').version}", True),  # installed: pinned
        "scipy": ("scipy", True),  # used through blur(), imported inside it
        "cv2": ("opencv-python", False),  # only Other uses it, but importing robot.py needs it
        "PIL": ("pillow", False),
    }
    assert local == ["robot.py"]


def test_stdlib_lkbuild_and_optional_imports_are_not_requirements(sources):
    sources.write("robot.py", HEADER + '''
import os, sys, collections.abc
from typing import TYPE_CHECKING
import lkbuild
if TYPE_CHECKING:
    import torch
try:
    import ujson as json
except ImportError:
    import json

class Detector(Component):
    def forward(self, x):
        return json.dumps(os.getcwd())
''')
    assert needs(sources) == ({}, ["robot.py"])


def test_local_modules_are_followed_transitively_and_listed_for_the_bundle(sources):
    sources.write("vision/__init__.py", "import zmq\n")
    sources.write("vision/filters.py", "import yaml\nfrom .kernels import KERNEL\n\ndef smooth(x):\n    import sklearn\n    return x\n")
    sources.write("vision/kernels.py", "import numpy\nKERNEL = numpy.ones(3)\n")
    sources.write("unrelated.py", "import torch\n")
    sources.write("robot.py", HEADER + '''
from vision.filters import smooth

class Detector(Component):
    def forward(self, image):
        return smooth(image)
''')
    found, local = needs(sources)
    assert local == ["robot.py", "vision/__init__.py", "vision/filters.py", "vision/kernels.py"]
    assert found == {"yaml": (distribution("yaml").requirement, False), "sklearn": ("scikit-learn", True),
                     "numpy": (distribution("numpy").requirement, False), "zmq": ("pyzmq", False)}


def test_relative_imports_inside_a_package(sources):
    sources.write("app/__init__.py", "")
    sources.write("app/helpers.py", "import serial\n")
    sources.write("app/parts.py", HEADER + "from . import helpers\n\nclass Detector(Component):\n"
                                           "    def forward(self, x):\n        return helpers.serial\n")
    found = describe(Project([sources.root]), (sources.root / "app/parts.py").resolve(), "Detector", sources.root)
    assert found.local_modules == ["app/__init__.py", "app/helpers.py", "app/parts.py"]
    assert [i.requirement for i in found.imports] == ["pyserial"]


def test_positions_and_config_come_from_the_source(sources):
    sources.write("robot.py", HEADER + '''
from dataclasses import dataclass

class Base(Component):
    @dataclass
    class Config:
        gain: float = 2.0

    def forward(self, x):
        return x

@dataclass
class Detector(Base):
    pass
''')
    found = describe(Project([sources.root]), (sources.root / "robot.py").resolve(), "Detector", sources.root)
    assert (found.line, found.col) == (14, 6)
    assert found.forward == (str((sources.root / "robot.py").resolve()), 10, 8)
    assert [(f.name, f.annotation, f.default) for f in found.config] == [("gain", "float", "2.0")]


def test_distribution_names():
    assert distribution("numpy.linalg").requirement == f"numpy=={distribution('numpy').version}"
    assert distribution("yaml").name == "PyYAML"  # installed: the metadata's own name
    assert distribution("cv2").requirement == "opencv-python"  # not installed here: the table
    assert distribution("skimage.io").requirement == "scikit-image"
    assert distribution("some_robot_sdk").requirement == "some_robot_sdk"
    assert not is_requirement("os.path") and not is_requirement("lkbuild.node")
    assert is_requirement("numpy")


def test_one_import_name_from_several_distributions_prefers_the_one_named_like_it(monkeypatch):
    from lkbuild.inspect import distributions

    monkeypatch.setattr(distributions, "_installed",
                        lambda: {"rclpy": (("ros-rclpy", "7.1.6"), ("rclpy", "7.1.5"))})
    distributions.distribution.cache_clear()
    try:
        assert distribution("rclpy") == distributions.Distribution("rclpy", "7.1.5")
    finally:
        distributions.distribution.cache_clear()


def test_the_ir_carries_the_source_facts_and_round_trips(sources):
    from lkbuild.graph import SystemSpec
    from lkbuild.loader import load_system

    sources.write("robot.py", HEADER + '''
from dataclasses import dataclass
import numpy as np
from lkbuild import System

class Scaler(Component):
    @dataclass
    class Config:
        gain: float = 2.0

    def forward(self):
        return np.ones(2) * self.config.gain

system = System(components=[Scaler()], name="robot")
''')
    spec = load_system("robot.py").spec()
    scaler = spec.component("scaler")
    file = str((sources.root / "robot.py").resolve())
    assert (scaler.class_at, scaler.forward_at, scaler.line) == (Location(file, 7, 6), Location(file, 12, 8), 7)
    assert [(f.name, f.annotation, f.default) for f in scaler.config_fields] == [("gain", "float", "2.0")]
    assert scaler.requirements == (distribution("numpy").requirement,)
    assert scaler.imports[0].where == Location(file, 4, 0)
    assert scaler.local_modules == ("robot.py",)
    assert SystemSpec.from_json(spec.to_json()) == spec


def test_a_component_from_an_installed_package_needs_that_package_and_copies_nothing(sources):
    import sys

    from lkbuild.loader import load_system

    sources.write("venv/lib/site-packages/lk_fancy_parts/__init__.py", HEADER + '''
import numpy

class Lidar(Component):
    def forward(self):
        return 1
''')
    sys.path.insert(0, str(sources.root / "venv/lib/site-packages"))
    sources.write("robot.py", "from lkbuild import System\nfrom lk_fancy_parts import Lidar\n"
                              "system = System(components=[Lidar()], name='robot')\n")
    lidar = load_system("robot.py").spec().component("lidar")
    assert lidar.requirements == ("lk_fancy_parts",)
    assert lidar.local_modules == ()
    assert str(lidar.class_at).endswith("lk_fancy_parts/__init__.py:5:6")


def test_a_module_level_variable_carries_its_imports_to_the_classes_that_use_it(sources):
    sources.write("robot.py", HEADER + '''
import lk_absent_sdk as sdk
import lk_absent_other

LOG = sdk.Logger(level=sdk.WARNING)
LIMIT: int = 3

class Detector(Component):
    def forward(self, x):
        LOG.info(x)
        return min(x, LIMIT)

class Camera(Component):
    def forward(self):
        return lk_absent_other.grab()
''')
    found, _ = needs(sources)
    assert found == {"lk_absent_sdk": ("lk_absent_sdk", True), "lk_absent_other": ("lk_absent_other", False)}
