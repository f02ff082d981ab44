"""A Jetson's offline wheel set with the preset's defaults: every requirement as an aarch64 (or pure Python)
wheel, pinned by hash; no image built. A Python without wheels for the pins gets an error saying what to pass."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lkbuild.bundle import verify
from lkbuild.cli import main

pytestmark = pytest.mark.e2e

SYSTEM = '''
import numpy as np
from lkbuild import Component, Machine, Node, System


class Camera(Component):
    def forward(self):
        return np.zeros((4, 4), dtype=np.uint8)


class Detector(Component):
    def forward(self, image):
        return float(np.mean(image))


jetson = Node("jetson", machine=Machine.preset("jetson"{extra}), engine="dora")
camera, detector = Camera(node=jetson), Detector(node=jetson)
detector(image=camera.out)
system = System(components=[camera, detector], name="orin")
'''


def bundle(tmp_path, monkeypatch, extra=""):
    (tmp_path / "orin.py").write_text(SYSTEM.replace("{extra}", extra))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "orin", raising=False)
    return CliRunner().invoke(main, ["bundle", "orin.py", "--machine", "jetson", "--offline", "--platform",
                                     "linux/arm64", "--out", str(tmp_path / "out")])


def test_jetson_preset_bundles_offline_for_arm64_with_its_defaults(tmp_path, monkeypatch):
    result = bundle(tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "Bundle for machine 'jetson' (linux/arm64, CPython 3.12, dora)" in result.stdout
    path = tmp_path / "out" / "bundles" / "jetson"
    wheels = sorted(p.name for p in (path / "wheels").iterdir())
    names = {w.split("-")[0].lower() for w in wheels}
    assert {"dora_rs", "dora_rs_cli", "numpy", "pyarrow"} <= names
    for wheel in wheels:
        platform = wheel[:-len(".whl")].split("-")[-1]
        assert "aarch64" in platform or platform == "any", wheel
    manifest = json.loads((path / "manifest.json").read_text())
    assert (manifest["platform"], manifest["python"], manifest["offline"]) == ("linux/arm64", "3.12", True)
    assert manifest["base_image"] == "python:3.12-slim-bookworm"
    assert sorted(pin["file"] for pin in manifest["pins"].values()) == wheels
    assert all(f"wheels/{w}" in manifest["files"] for w in wheels)
    assert (path / "requirements.txt").read_text().count("--hash=sha256:") == len(wheels)
    assert verify(path) == []


def test_a_python_without_wheels_for_the_pins_says_which_to_pass(tmp_path, monkeypatch):
    result = bundle(tmp_path, monkeypatch, extra=', python="3.10"')
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "No wheel of dora-rs==1.1.0 exists for linux/arm64, CPython 3.10" in result.stderr
    assert "pass --python 3.11" in result.stderr
    assert not (tmp_path / "out" / "bundles" / "jetson").exists()
