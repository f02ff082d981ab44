"""A Node's process stands in for modules no component of its machine uses; using one for real names who did.

Each case runs in a fresh interpreter: a machine's stand-ins are installed for the life of its process.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

ROBOT = '''
import jetvision
from jetvision import cuda

LOG = jetvision.Logger(level=jetvision.WARNING)   # module-level code runs with the stand-in


class Base(jetvision.Filter):                     # so does subclassing
    pass


from lkbuild import Component


class Camera(Component):
    def forward(self):
        return jetvision.capture()


class Logger(Component):
    def __init__(self, loud=False):
        super().__init__("logger")
        self.loud = loud
        if loud:
            LOG.info("starting")                  # the plan (written by hand here) says nuc does not use it

    def forward(self, frame):
        LOG.info(frame)
        return frame
'''
RUN = '''
import json, sys
sys.path.insert(0, {root!r})
from lkbuild.runtime_stubs.lk_runtime import build
from lkbuild.runtime_stubs.lk_runtime.errors import ComponentFailure
plan = json.loads({plan!r})
try:
    logger = build.build_node(plan)["logger"]
except ComponentFailure as exc:
    print("INIT", exc.traceback_text.strip().splitlines()[-1])
    raise SystemExit(0)
print("BUILT", type(sys.modules["jetvision"]).__name__)
try:
    logger.forward(1)
except ModuleNotFoundError as exc:
    print("FORWARD", type(exc).__name__, exc.name, exc)
'''


def plan(root, loud=False):
    return {
        "system": "robot", "node": "nuc", "machine": "nuc", "routes": [], "exports": [], "imports": [],
        "messages": [], "run": None, "restart": None,
        "stand_ins": {"jetvision": ["component 'camera' on machine 'jetson'"]},
        "components": [{"name": "logger", "module": "robot", "qualname": "Logger", "file": str(root / "robot.py"),
                        "import_root": str(root), "inputs": [["frame", True]], "outputs": ["out"],
                        "rate_hz": 10.0, "starts_loop": False,
                        "construction": {"args": [], "kwargs": {"loud": loud}}}],
    }


def run(tmp_path, loud=False) -> str:
    (tmp_path / "robot.py").write_text(textwrap.dedent(ROBOT))
    code = RUN.format(root=str(tmp_path), plan=json.dumps(plan(tmp_path, loud)))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_module_imports_and_using_the_sdk_names_module_machine_and_component(tmp_path):
    out = run(tmp_path)
    assert out.splitlines()[0] == "BUILT StandInModule"
    assert out.splitlines()[1].startswith(
        "FORWARD NotOnThisMachine jetvision module 'jetvision' is not installed on machine 'nuc'; component "
        "'logger' (node 'nuc') used it (jetvision.Logger().info).")
    assert "(it is used by component 'camera' on machine 'jetson')" in out
    assert "If 'logger' needs it, use it from the component's class" in out


def test_a_use_while_the_component_is_built_is_its_construction_failure(tmp_path):
    out = run(tmp_path, loud=True)
    assert out.startswith("INIT lkbuild.runtime_stubs.lk_runtime.stand_ins.NotOnThisMachine: module 'jetvision' is "
                          "not installed on machine 'nuc'; component 'logger' (node 'nuc') used it "
                          "(jetvision.Logger().info)."), out


def test_an_installed_module_is_never_stood_in_for(tmp_path):
    (tmp_path / "jetvision").mkdir()
    (tmp_path / "jetvision" / "__init__.py").write_text(
        "WARNING = 1\nclass Logger:\n    def __init__(self, level):\n        pass\n    def info(self, x):\n"
        "        print('REAL', x)\nclass Filter:\n    pass\n")
    (tmp_path / "jetvision" / "cuda.py").write_text("")
    out = run(tmp_path)
    assert out.splitlines() == ["BUILT module", "REAL 1"]
