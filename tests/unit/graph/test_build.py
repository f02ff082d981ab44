"""The IR has one builder (lkbuild/graph/build.py), and each command builds it once and passes it on."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lkbuild import Component, System
from lkbuild.cli import main
from lkbuild.engines.dora import DoraEngine
from lkbuild.engines.ros2 import Ros2Engine
from lkbuild.graph import SystemSpec, build

ROBOT = '''\
from lkbuild import Component, System


class Source(Component):
    def forward(self):
        return 1


class Sink(Component):
    outputs = ()

    def forward(self, x):
        pass


system = System(components=[Source(), Sink()], name="demo")
'''


class Tick(Component):
    def forward(self):
        return 1


class Drop(Component):
    outputs = ()

    def forward(self, x):
        pass


@pytest.fixture
def builds(monkeypatch):
    """How many times the IR is built."""
    calls = []
    real = build.system_spec

    def counting(system):
        calls.append(system.name)
        return real(system)

    monkeypatch.setattr(build, "system_spec", counting)
    return calls


@pytest.mark.parametrize("command", [["compile"], ["launch", "-n", "2", "--fast"], ["check"]])
def test_a_command_builds_the_ir_once(command, builds, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("robot.py").write_text(ROBOT)
    result = CliRunner().invoke(main, [command[0], "robot.py", *command[1:]], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert builds == ["demo"]


def test_system_launch_builds_the_ir_once(builds, tmp_path):
    system = System(components=[Tick("tick"), Drop("drop")], name="demo")
    result = system.launch(engine="native", iterations=3, realtime=False, out=tmp_path / "build")
    assert result.fired == {"tick": 3, "drop": 3}
    assert builds == ["demo"]


def test_engines_run_the_ir_they_are_given_instead_of_reading_it_back(tmp_path):
    spec = System(components=[Tick("tick"), Drop("drop")], name="demo").spec()
    assert isinstance(spec, SystemSpec)
    assert DoraEngine(out_dir=tmp_path).launch_spec(spec) is spec
    assert Ros2Engine(out_dir=tmp_path).launch_spec(spec) is spec
