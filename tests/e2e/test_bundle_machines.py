"""The Camera/Logger example's NUC bundle as a real image: no Jetson SDK in it, and wheels pinned by hash.

One image is built (offline, ``--network none``); its install layer is the same as the robot example's NUC
image, so in one session the daemon reuses it. The tampered copy of the bundle fails at that layer.
"""
from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import pytest

from docker_daemon import base_image, docker_daemon  # noqa: F401  (fixtures)
from lkbuild.bundle import BundleOptions, build_image, write_bundle
from lkbuild.errors import ToolFailedError

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "camera_logger" / "camera_logger.py"


@pytest.fixture(scope="module")
def nuc_bundle(docker_daemon, base_image, tmp_path_factory):  # noqa: F811
    """The NUC's offline bundle, its image built with no network."""
    from lkbuild.loader import load_system

    saved = list(sys.path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # jetvision is not installed here either: read with a stand-in
            spec = load_system(str(EXAMPLE)).spec()
    finally:
        sys.path[:] = saved
        sys.modules.pop("camera_logger", None)
    bundle = write_bundle(spec, BundleOptions(machine="nuc", offline=True, platform="linux/amd64", python="3.11",
                                              base_image=base_image, out=tmp_path_factory.mktemp("bundles")))
    build_image(bundle, docker_daemon)
    return bundle


def test_the_nuc_image_has_no_sdk_and_passes_its_selftest_offline(nuc_bundle, docker_daemon):  # noqa: F811
    requirements = (nuc_bundle.path / "requirements.txt").read_text()
    assert "jetvision" not in requirements
    assert requirements.count("--hash=sha256:") == len(nuc_bundle.wheels) > 0
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('jetvision') is not None)"
    container = docker_daemon.client.containers.run(nuc_bundle.image, ["-c", probe], entrypoint=["python3"],
                                                    network_mode="none", detach=True)
    try:
        assert container.wait(timeout=60)["StatusCode"] == 0, container.logs().decode()  # not installed
    finally:
        container.remove(force=True)
    output = docker_daemon.run(nuc_bundle.image, ["selftest"], network_mode="none")
    assert "selftest ok: machine nuc: 1 component built (nuc/logger); runtime ok" in output


def test_a_tampered_wheel_fails_the_image_build_naming_the_file(nuc_bundle, docker_daemon, tmp_path):  # noqa: F811
    copy = shutil.copytree(nuc_bundle.path, tmp_path / "nuc")
    wheel = sorted((copy / "wheels").glob("numpy-*.whl"))[0]
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: same size, same name
    wheel.write_bytes(bytes(data))
    tampered = type(nuc_bundle)(**{**vars(nuc_bundle), "path": copy, "image": "lkbuild-test/tampered:1"})
    with pytest.raises(ToolFailedError) as caught:
        build_image(tampered, docker_daemon)
    message = str(caught.value)
    assert f"wheels/{wheel.name}: the sha256 of this wheel differs from requirements.txt" in message
    assert "make verify" in message
    assert not docker_daemon.image_exists("lkbuild-test/tampered:1")
