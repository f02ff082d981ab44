"""The top-level build Makefile run by real make from a project whose path holds every odd character."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from lkbuild.cli import main
from lkbuild.errors import ConfigError
from lkbuild.generators import make

ODD = "it's a \"proj\" v2 #1 $HOME: `x` é"
ROBOT = '''\
from lkbuild import Component, Node, System


class Source(Component):
    def forward(self):
        return 1


class Sink(Component):
    outputs = ()

    def forward(self, x):
        pass


camera = Source("camera", node=Node("vision", machine="jetson"))
sink = Sink("sink", node=Node("compute", machine="nuc"))
system = System(components=[camera, sink], name="demo")
'''
# Stands in for lkbuild: records where it was started and with which arguments.
RECORDER = '''\
import json, os, sys
with open(os.environ["LK_RECORD"], "a") as f:
    f.write(json.dumps({"cwd": os.getcwd(), "argv": sys.argv[1:]}) + "\\n")
'''


def outside_make():
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}


@pytest.mark.parametrize("out", [".lk_build", f"build {ODD}"])
def test_every_target_runs_lkbuild_in_the_project_with_its_paths_intact(tmp_path, monkeypatch, out):
    project = tmp_path / ODD
    project.mkdir()
    system = f"app {ODD}/robot.py"
    (project / system).parent.mkdir()
    (project / system).write_text(ROBOT)
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "path", list(sys.path))
    result = CliRunner().invoke(main, ["compile", system, "--out", out], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    recorder = tmp_path / "recorder.py"
    recorder.write_text(RECORDER)
    record = tmp_path / "record.jsonl"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    makefile = str(project / out / "Makefile")
    subprocess.run(["make", "-s", "-f", makefile, "run", "bundle-jetson", "clean",
                    f"LKBUILD={sys.executable} {recorder}"], cwd=elsewhere, check=True,
                   env={**outside_make(), "LK_RECORD": str(record)}, capture_output=True, text=True)
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert calls == [
        {"cwd": str(project), "argv": ["launch", system, "--engine", "native", "--out", out]},
        {"cwd": str(project), "argv": ["bundle", system, "--machine", "jetson", "--engine", "dora", "--out", out,
                                       "--offline"]},
        {"cwd": str(project), "argv": ["clean", "--out", out]},
    ]


def test_a_path_with_a_line_break_is_refused(tmp_path):
    from lkbuild.loader import load_system

    (tmp_path / "robot.py").write_text(textwrap.dedent(ROBOT))
    saved = list(sys.path)
    try:
        spec = load_system(str(tmp_path / "robot.py")).spec()
    finally:
        sys.path[:] = saved
    with pytest.raises(ConfigError, match="make cannot hold a line break"):
        make.generate(spec, {"out": "a\nb"})
