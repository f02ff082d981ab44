"""Helpers for the CLI tests: a project folder to write systems into, and the CLI run in-process."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from lkbuild.cli import main

# The two components most test systems are made of.
PARTS = '''\
from lkbuild import Component, Node, System


class Source(Component):
    def forward(self):
        return 1


class Sink(Component):
    outputs = ()

    def forward(self, x):
        pass
'''


class Project:
    """A folder (the working directory during the test) and the `lkbuild` command run inside it."""

    def __init__(self, root: Path):
        self.root = root

    def write(self, name: str, text: str, parts: bool = True) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((PARTS + "\n\n" if parts else "") + textwrap.dedent(text))
        return path

    def run(self, *args: str, code: int = 0):
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == code, (
            f"lkbuild {' '.join(args)} exited {result.exit_code}, expected {code}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
        return result


@pytest.fixture
def project(tmp_path, monkeypatch) -> Project:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return Project(tmp_path)
