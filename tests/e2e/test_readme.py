"""The README's example runs as written, and `lkbuild check` reads it."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from example_runs import lkbuild, private_env

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_robot_runs_as_written(tmp_path):
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    (tmp_path / "robot.py").write_text(block)
    env = private_env(tmp_path)
    done = subprocess.run([sys.executable, "robot.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "fired={'camera': 100, 'detector': 100}" in done.stdout
    checked = lkbuild(["check", "robot.py"], tmp_path, env)
    assert checked.stdout.splitlines()[-1] == "ok: system 'robot': 2 components, 1 edge, 1 node (jetson)"
