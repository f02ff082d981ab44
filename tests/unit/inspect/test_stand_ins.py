"""Systems whose components import packages this machine lacks still load, with a warning per package."""
import sys

import pytest

from lkbuild.errors import InspectError, UserError
from lkbuild.inspect.stand_ins import StandIn, StandInFinder, StandInModule, StandInWarning
from lkbuild.loader import load_system

COMPONENTS = '''
import numpy as np
import lk_absent_tensorrt as trt
from lk_absent_jetson.utils import cudaImage
from lkbuild import Component

LOGGER = trt.Logger(trt.Logger.WARNING)


@trt.jit
def fast(x):
    return x


class Engine(trt.IEngine):
    pass


class Camera(Component):
    def forward(self):
        return np.zeros(3)


class Detector(Component):
    outputs = ("boxes",)

    def setup(self):
        self.runtime = trt.Runtime(LOGGER)

    def forward(self, image: "cudaImage"):
        return fast(image)
'''
ROBOT = '''
from lkbuild import Node, System
from components import Camera, Detector

cam = Camera("camera", node=Node("laptop", machine="laptop"))
det = Detector("detector", node=Node("jetson", machine="192.168.1.10"))
det(image=cam.out)
system = System(components=[cam, det], name="robot")
'''


def test_missing_packages_are_stood_in_with_a_warning_naming_the_machines(sources):
    sources.write("components.py", COMPONENTS)
    sources.write("robot.py", ROBOT)
    with pytest.warns(StandInWarning) as caught:
        system = load_system("robot.py")
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2
    assert messages[0].startswith("module 'lk_absent_jetson' is not installed here")
    # the camera's module imports it too, but only the detector's class uses it: the laptop stands in for it
    assert "Needed on machine 'jetson' by component 'detector' (" in messages[0]
    assert "(imported at components.py:3:0)" in messages[0]
    assert "--strict-imports" in messages[1]
    spec = system.spec()
    detector = spec.component("detector")
    assert "lk_absent_tensorrt" in detector.requirements
    assert {(i.module, i.used) for i in detector.imports} >= {("lk_absent_tensorrt", True),
                                                               ("lk_absent_jetson", True)}
    # the stand-ins are gone once the system is read: running setup() here would fail, as it should
    assert not any(isinstance(m, StandInModule) for m in sys.modules.values())
    assert not any(isinstance(f, StandInFinder) for f in sys.meta_path)


def test_a_system_read_with_stand_ins_compiles_but_does_not_run_natively(sources, tmp_path):
    from lkbuild.errors import ConfigError

    sources.write("components.py", COMPONENTS)
    sources.write("robot.py", ROBOT.replace('machine="laptop"', 'machine="192.168.1.5"'))
    with pytest.warns(StandInWarning):
        system = load_system("robot.py")
    assert system.stand_ins == ("lk_absent_jetson", "lk_absent_tensorrt")
    assert system.compile(engine="native", out=tmp_path / "build").name == "system.json"
    with pytest.raises(ConfigError) as caught:
        system.launch(engine="native", iterations=1, out=tmp_path / "build")
    assert str(caught.value).startswith(
        "cannot run system 'robot' natively: modules lk_absent_jetson, lk_absent_tensorrt are not installed here")


def test_strict_imports_make_a_missing_package_an_error(sources):
    sources.write("components.py", COMPONENTS)
    sources.write("robot.py", ROBOT)
    with pytest.raises(InspectError) as caught:
        load_system("robot.py", strict_imports=True)
    assert "module 'lk_absent_tensorrt' is not installed here; it is imported by components.py:2:0" in str(caught.value)


def test_a_typo_in_the_system_file_is_still_an_error(sources):
    sources.write("components.py", COMPONENTS)
    sources.write("robot.py", "import nunpy\n" + ROBOT)
    with pytest.raises(UserError) as caught:
        load_system("robot.py")
    assert str(caught.value).startswith("robot.py:1: module 'nunpy' is not installed, and no component file imports it")


def test_a_module_imported_only_by_a_non_component_file_is_not_stood_in(sources):
    sources.write("helpers.py", "import lk_absent_plotting\n")
    sources.write("robot.py", "import helpers\nfrom lkbuild import System\nsystem = System(name='robot')\n")
    with pytest.raises(UserError, match="module 'lk_absent_plotting' is not installed"):
        load_system("robot.py")


def test_optional_imports_keep_their_fallback(sources):
    sources.write("robot.py", '''
from lkbuild import Component, System
try:
    import lk_absent_fast_json as json
except ImportError:
    import json

class Encoder(Component):
    def forward(self):
        return json.dumps(1)

system = System(components=[Encoder()], name="robot")
''')
    system = load_system("robot.py")
    assert sys.modules["robot"].json.__name__ == "json"
    assert system.spec().component("encoder").requirements == ()


def test_stand_ins_behave_like_anything():
    trt = StandIn("trt")
    assert repr(trt.Logger.WARNING) == "<stand-in for trt.Logger.WARNING>"
    assert repr(trt.Logger(1)) == "<stand-in for trt.Logger()>"

    class Sub(trt.Base):
        pass

    assert Sub.__mro__[1].__name__ == "Base"

    def f():
        pass

    assert trt.jit(f) is f and trt.jit(nopython=True)(f) is f
    assert list(trt.things) == [] and trt[0] is trt
