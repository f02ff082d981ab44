"""A Jetson's offline wheel set: every requirement as an aarch64 (or pure Python) wheel, no image built."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from lkbuild.bundle import BundleOptions, verify, write_bundle

pytestmark = pytest.mark.e2e

ROBOT = Path(__file__).resolve().parents[2] / "examples" / "robot" / "robot.py"


def test_jetson_bundle_with_arm64_wheels(tmp_path):
    from lkbuild.loader import load_system

    saved = list(sys.path)
    try:
        spec = load_system(str(ROBOT)).spec()
    finally:
        sys.path[:] = saved
    bundle = write_bundle(spec, BundleOptions(machine="jetson", offline=True, platform="linux/arm64",
                                              out=tmp_path))
    wheels = sorted(p.name for p in (bundle.path / "wheels").iterdir())
    assert wheels == bundle.wheels
    names = {w.split("-")[0].lower() for w in wheels}
    assert {"dora_rs", "dora_rs_cli", "numpy", "pyarrow"} <= names
    for wheel in wheels:
        platform = wheel[:-len(".whl")].split("-")[-1]
        assert "aarch64" in platform or platform == "any", wheel
    manifest = json.loads((bundle.path / "manifest.json").read_text())
    assert manifest["platform"] == "linux/arm64" and manifest["offline"] is True
    assert all(f"wheels/{w}" in manifest["files"] for w in wheels)
    assert verify(bundle.path) == []
