"""``write_bundle``: what one machine's bundle holds, its manifest, and that bundling is reproducible."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lkbuild.bundle import BundleOptions, verify, write_bundle
from lkbuild.errors import ConfigError
from lkbuild.tools.pip import Pip

REAL_DOWNLOAD = Pip.download  # before the autouse fixture fakes it


def tree(root: Path):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def embedded_plans(bundle: Path):
    text = (bundle / "app" / "selftest.py").read_text()
    literal = re.search(r"^PLANS = json\.loads\((.*)\)$", text, re.M).group(1)
    return json.loads(eval(literal))  # a repr'd str literal written by the generator, in our own test


def test_machine_gets_its_nodes_and_none_of_the_others(spec, tmp_path):
    bundle = write_bundle(spec, BundleOptions(machine="jetson", out=tmp_path / "out"))
    files = tree(bundle.path)
    assert "app/nodes/jetson.py" in files
    assert not any("nuc" in path for path in files)
    # The modules jetson's components import come along; the nuc's and the system file do not.
    assert {"app/src/vision.py", "app/src/helpers.py"} <= set(files)
    assert "app/src/planning.py" not in files and "app/src/robot.py" not in files
    plans = embedded_plans(bundle.path)
    assert [p["node"] for p in plans] == ["jetson"]
    assert [c["name"] for c in plans[0]["components"]] == ["camera", "detector"]
    assert {c["import_root"] for c in plans[0]["components"]} == {"/app/src"}
    manifest = json.loads(files["manifest.json"])
    assert (manifest["machine"], manifest["nodes"], manifest["components"]) == ("jetson", ["jetson"],
                                                                               ["camera", "detector"])


def test_dataflow_runs_inside_the_image(spec, tmp_path):
    bundle = write_bundle(spec, BundleOptions(machine="nuc", out=tmp_path / "out"))
    flow = (bundle.path / "app" / "dataflow.yaml").read_text()
    assert "path: /opt/venv/bin/python" in flow
    assert "-u /app/nodes/nuc.py" in flow and "-u /app/nodes/jetson.py" in flow
    assert sys.executable not in flow and str(tmp_path) not in flow


def pinned_lines(path: Path):
    """``name==version`` of each requirement; every one must carry a sha256 (pip --require-hashes)."""
    text = path.read_text().replace("\\\n", "")
    lines = [line.split() for line in text.lower().splitlines() if line and not line.startswith("#")]
    assert lines and all(len(parts) == 2 and re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", parts[1])
                         for parts in lines), text
    return [parts[0] for parts in lines]


def test_requirements_are_pinned_by_hash_and_the_manifest_records_them(spec, tmp_path):
    import hashlib

    bundle = write_bundle(spec, BundleOptions(machine="nuc", out=tmp_path / "out", offline=True))
    manifest = json.loads((bundle.path / "manifest.json").read_text())
    text = (bundle.path / "requirements.txt").read_text()
    assert bundle.wheels and set(manifest["pins"]) == set(pinned_lines(bundle.path / "requirements.txt"))
    for wheel in bundle.wheels:
        digest = hashlib.sha256((bundle.path / "wheels" / wheel).read_bytes()).hexdigest()
        assert f"--hash=sha256:{digest}" in text
        assert {"sha256": digest, "file": wheel} in manifest["pins"].values()


def test_requirements_follow_each_machines_real_imports(spec, tmp_path):
    from importlib.metadata import version

    jetson = write_bundle(spec, BundleOptions(machine="jetson", out=tmp_path / "out"))
    nuc = write_bundle(spec, BundleOptions(machine="nuc", out=tmp_path / "out"))
    jetson_reqs = pinned_lines(jetson.path / "requirements.txt")
    nuc_reqs = pinned_lines(nuc.path / "requirements.txt")
    assert f"numpy=={version('numpy')}" in jetson_reqs
    assert f"pyyaml=={version('pyyaml')}" in nuc_reqs
    assert not any(line.lower().startswith("pyyaml") for line in jetson_reqs)
    for reqs in (jetson_reqs, nuc_reqs):
        assert f"dora-rs=={version('dora-rs')}" in reqs
        assert not any(line.startswith("lkbuild") for line in reqs)


def test_manifest_lists_every_file_with_its_sha256(spec, tmp_path):
    import hashlib

    bundle = write_bundle(spec, BundleOptions(machine="jetson", out=tmp_path / "out"))
    manifest = json.loads((bundle.path / "manifest.json").read_text())
    files = tree(bundle.path)
    assert set(manifest["files"]) == set(files) - {"manifest.json"}
    for path, digest in manifest["files"].items():
        assert hashlib.sha256(files[path]).hexdigest() == digest, path
    assert manifest["ir_sha256"] == spec.digest()
    assert manifest["lkbuild_version"] and manifest["engine_versions"]["dora-rs"] != "unknown"
    assert verify(bundle.path) == []


def test_verify_finds_a_changed_missing_or_extra_file(spec, tmp_path):
    bundle = write_bundle(spec, BundleOptions(machine="jetson", out=tmp_path / "out"))
    (bundle.path / "app" / "src" / "helpers.py").write_text("def shift(n):\n    return n\n")
    (bundle.path / "requirements.txt").unlink()
    (bundle.path / "app" / "extra.py").write_text("")
    expected = ["app/src/helpers.py: changed (sha256 differs from the manifest)", "requirements.txt: missing",
                "app/extra.py: not in the manifest"]
    assert verify(bundle.path) == expected
    # The bundle's own verify.py (what `make verify` runs on the robot, without lkbuild) agrees.
    done = subprocess.run([sys.executable, "-I", "verify.py"], cwd=bundle.path, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.splitlines()[:3] == sorted(expected[:2]) + [expected[2]]


def test_bundling_twice_gives_identical_bundles(spec, tmp_path):
    first = write_bundle(spec, BundleOptions(machine="jetson", out=tmp_path / "a"))
    again = tree(first.path)
    second = write_bundle(spec, BundleOptions(machine="jetson", out=tmp_path / "b"))
    assert tree(second.path) == again
    write_bundle(spec, BundleOptions(machine="jetson", out=tmp_path / "a"))
    assert tree(first.path) == again
    assert sorted(os.listdir(tmp_path / "a" / "bundles")) == ["jetson"]  # no staging leftovers


def test_unknown_machine_lists_the_machines(spec, tmp_path):
    with pytest.raises(ConfigError, match=r"no machine named 'tx2'\. Its machines: jetson, nuc\."):
        write_bundle(spec, BundleOptions(machine="tx2", out=tmp_path / "out"))
    assert not (tmp_path / "out" / "bundles" / "tx2").exists()


def test_requirement_without_a_wheel_names_it_and_keeps_the_old_bundle(spec, tmp_path, monkeypatch):
    out = tmp_path / "out"
    old = write_bundle(spec, BundleOptions(machine="nuc", out=out))
    before = tree(old.path)
    monkeypatch.setattr(Pip, "download", REAL_DOWNLOAD)  # the real pip says which wheel is missing
    planner = spec.component("planner")
    broken = dataclasses.replace(spec, components=tuple(
        dataclasses.replace(c, requirements=c.requirements + ("lkbuild-no-such-dist==1.0",))
        if c is planner else c for c in spec.components))
    with pytest.raises(ConfigError) as caught:
        write_bundle(broken, BundleOptions(machine="nuc", out=out, offline=True, platform="linux/arm64"))
    assert "lkbuild-no-such-dist==1.0" in str(caught.value)
    assert "linux/arm64, CPython 3.11" in str(caught.value)
    assert tree(old.path) == before
    assert sorted(os.listdir(out / "bundles")) == ["nuc"]


def test_import_lkbuild_in_the_bundle_needs_no_build_tools(spec, tmp_path):
    """The selftest imports the bundled lkbuild API and builds the components with jinja2 & co. blocked."""
    bundle = write_bundle(spec, BundleOptions(machine="jetson", out=tmp_path / "out"))
    blocker = (
        "import sys\n"
        "BLOCKED = {'jinja2', 'click', 'yaml', 'libcst', 'docker'}\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ImportError('blocked in a bundle: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import runpy\n"
        "try:\n"
        "    runpy.run_path('app/selftest.py', run_name='__main__')\n"
        "finally:\n"
        "    import lkbuild\n"
        "    print('lkbuild from', lkbuild.__file__)\n"
    )
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run([sys.executable, "-I", "-c", blocker], cwd=bundle.path, capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "selftest ok: machine jetson: 2 components built (jetson/camera, jetson/detector)" in done.stdout
    assert f"lkbuild from {bundle.path / 'app' / 'src' / 'lkbuild' / '__init__.py'}" in done.stdout
