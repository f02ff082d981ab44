"""Projects written from inline snippets into a temporary folder; modules imported from it are forgotten."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest


class Sources:
    """Writes source files under ``root``: ``sources.write("robot.py", '''...''')``."""

    def __init__(self, root: Path):
        self.root = root

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path


@pytest.fixture
def sources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield Sources(tmp_path)
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", "") or "").startswith(str(tmp_path)):
            del sys.modules[name]
