"""The deploy files a bundle carries (generators/docker) and the top-level build Makefile (generators/make)."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from lkbuild.bundle import BundleOptions, write_bundle
from lkbuild.generators import make
from lkbuild.tools.docker import Hadolint


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_dockerfile_passes_hadolint(spec, tmp_path, monkeypatch, offline):
    # No download: the Dockerfile does not depend on which wheels there are.
    bundle = write_bundle(spec, BundleOptions(machine="jetson", out=tmp_path / "out", offline=offline))
    findings = Hadolint().findings(bundle.path / "Dockerfile")
    assert [f for f in findings if f["level"] == "error"] == []
    assert [f for f in findings if f["level"] == "warning"] == []


def test_dockerfile_installs_offline_into_a_venv_as_a_non_root_user(spec, tmp_path, monkeypatch):
    bundle = write_bundle(spec, BundleOptions(machine="jetson", out=tmp_path / "out", offline=True,
                                              base_image="debian:bookworm-slim"))
    text = (bundle.path / "Dockerfile").read_text()
    assert text.count("FROM debian:bookworm-slim") == 2
    assert "--require-hashes --only-binary=:all: --no-index --find-links /tmp/bundle/wheels" in text
    assert "COPY --from=builder /opt/venv /opt/venv" in text
    assert "USER 10001:10001" in text and 'ENTRYPOINT ["/app/run.sh"]' in text
    assert "--network none" in (bundle.path / "Makefile").read_text()


def test_run_sh_is_valid_sh_and_refuses_unknown_commands(spec, tmp_path):
    bundle = write_bundle(spec, BundleOptions(machine="jetson", out=tmp_path / "out", coordinator_addr="10.0.0.5:7000"))
    run_sh = bundle.path / "run.sh"
    assert run_sh.stat().st_mode & 0o111
    subprocess.run(["sh", "-n", str(run_sh)], check=True)
    text = run_sh.read_text()
    assert "DORA_COORDINATOR_ADDR=${DORA_COORDINATOR_ADDR:-10.0.0.5}" in text
    assert "DORA_COORDINATOR_PORT=${DORA_COORDINATOR_PORT:-7000}" in text
    assert "exec dora daemon --machine-id jetson" in text
    done = subprocess.run(["sh", str(run_sh), "fly"], capture_output=True, text=True)
    assert done.returncode == 2 and "usage:" in done.stderr


def test_bundle_makefile_targets(spec, tmp_path):
    bundle = write_bundle(spec, BundleOptions(machine="nuc", out=tmp_path / "out"))
    done = subprocess.run([shutil.which("make"), "-n", "-C", str(bundle.path), "image", "save", "load", "up",
                           "selftest", "verify"], capture_output=True, text=True, check=True, env=outside_make())
    lines = done.stdout.splitlines()
    image = bundle.image
    assert f"docker build -t {image} ." in lines
    assert f"docker save -o image.tar {image}" in lines
    assert "docker load -i image.tar" in lines
    assert any(line.startswith("docker run --rm --init --network host") and line.endswith(f"{image} up")
               for line in lines)
    assert f"docker run --rm --init --network none {image} selftest" in lines
    assert "python3 verify.py" in lines


def outside_make():
    """The environment without an enclosing make's variables (`make test` runs these tests)."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}


def test_top_level_makefile_has_targets_per_machine(spec, tmp_path):
    files = make.generate(spec, {"out": ".lk_build", "system": "robot.py"})
    assert list(files) == ["Makefile"]
    (tmp_path / ".lk_build").mkdir()
    (tmp_path / ".lk_build" / "Makefile").write_bytes(files["Makefile"])
    targets = ["bundle-jetson", "image-nuc", "save-jetson", "run", "clean"]
    done = subprocess.run(["make", "-n", "-f", ".lk_build/Makefile", *targets], cwd=tmp_path,
                          capture_output=True, text=True, check=True, env=outside_make())
    lines = done.stdout.splitlines()
    base = f"cd {tmp_path} && lkbuild"
    assert lines == [
        f"{base} bundle robot.py --machine jetson --engine dora --out .lk_build --offline",
        f"{base} bundle robot.py --machine nuc --engine dora --out .lk_build --offline --image",
        f"{base} bundle robot.py --machine jetson --engine dora --out .lk_build --offline --image --save",
        f"{base} launch robot.py --engine dora --out .lk_build",
        f"{base} clean --out .lk_build",
    ]


def test_top_level_makefile_finds_the_system_file_when_not_told(spec, project):
    text = make.generate(spec, {"out": ".lk_build"})["Makefile"].decode()
    assert f"SYSTEM ?= {project / 'robot.py'}\n" in text


def test_generators_are_deterministic(spec):
    assert make.generate(spec, {"out": "build"}) == make.generate(spec, {"out": "build"})
