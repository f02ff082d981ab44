"""Bad input, swept: every row is refused with exit 2, no traceback, the user's ``file:line``, and the
previous build directory left byte for byte as it was.

Each row first compiles a good system into ``.lk_build`` (as a user would have), then runs the bad
command with the same build directory and compares the trees (the inspector's cache aside: reading a
file is not building it).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lkbuild.cli import main

from bad_input_cases import CASES, GOOD, Case  # beside this file

MARK = "# <-"


def tree(root: Path) -> dict:
    """Every file under ``root`` (but the inspector's cache) and its bytes."""
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] != "cache"}


def write_case(project, case: Case) -> str:
    """Write the row's files; return the location its message must name."""
    project.write("good.py", GOOD)
    text = project.write("robot.py", case.body, parts=case.parts).read_text()
    for name, content in case.files.items():
        project.write(name, content, parts=False)
    marked = [i for i, line in enumerate(text.splitlines(), 1) if MARK in line]
    if case.where:
        return case.where
    return f"robot.py:{marked[0]}" if marked else ""


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_cleanly(case, project):
    tmp_path = project.root
    where = write_case(project, case)
    pyproject = tmp_path / "pyproject.toml"
    held = pyproject.read_text() if pyproject.exists() else None
    if held is not None:
        pyproject.unlink()  # the good build is made without the row's settings
    good = run("compile", "good.py")
    assert good.exit_code == 0, good.output
    if held is not None:
        pyproject.write_text(held)
    before = tree(tmp_path / ".lk_build")

    result = run(*case.args)
    output = result.stdout + result.stderr
    assert result.exit_code == 2, f"exit {result.exit_code}:\n{output}"
    assert "Traceback" not in output
    assert "internal error" not in output
    assert where in output, f"expected {where!r} in:\n{output}"
    assert case.says in output, f"expected {case.says!r} in:\n{output}"
    assert tree(tmp_path / ".lk_build") == before


def test_the_sweep_covers_at_least_a_hundred_inputs():
    assert len({c.id for c in CASES}) == len(CASES) >= 100


@pytest.mark.parametrize("args", [("-C", "/nonexistent", "check"), ("compile", "robot.py", "-o", "robot.py")])
def test_the_installed_command_refuses_with_exit_2(args, project):
    tmp_path = project.root
    project.write("robot.py", GOOD)
    script = Path(sys.executable).with_name("lkbuild")
    done = subprocess.run([str(script), *args], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert re.search(r"^Error: .+", done.stderr, re.M) and "Traceback" not in done.stderr
