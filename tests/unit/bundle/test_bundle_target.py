"""Which platform, Python and base image a bundle is for, and the options that override them."""
from __future__ import annotations

import pytest

from lkbuild.bundle import resolve_target
from lkbuild.bundle.bundler import coordinator, image_tag
from lkbuild.bundle.requirements import pinned
from lkbuild.errors import ConfigError


def test_machine_defaults_and_overrides(spec):
    target = resolve_target(spec, "jetson")
    assert (target.arch, target.python, target.base_image) == ("x86_64", "3.11", "python:3.11-slim-bookworm")
    arm = resolve_target(spec, "jetson", platform="linux/arm64", python="3.10", base_image="my/l4t:r36")
    assert (arm.arch, arm.python, arm.base_image, arm.docker_platform) == ("aarch64", "3.10", "my/l4t:r36",
                                                                          "linux/arm64")
    assert "manylinux_2_28_aarch64" in arm.pip_platforms


@pytest.mark.parametrize("kwargs, message", [
    ({"platform": "windows/amd64"}, "Unknown platform 'windows/amd64'"),
    ({"python": "3"}, "Python version must look like 3.11"),
    ({"base_image": "debian\nRUN rm -rf /"}, "is not a Docker image reference"),
])
def test_bad_overrides_are_refused(spec, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        resolve_target(spec, "nuc", **kwargs)


def test_requirements_are_merged_pinned_and_sorted():
    from importlib.metadata import version

    assert pinned(["PyYAML", "numpy==1.0", "numpy==1.0", "lkbuild", "pyyaml"], "here") == \
        ["numpy==1.0", f"PyYAML=={version('pyyaml')}"]
    with pytest.raises(ConfigError, match="different versions of numpy"):
        pinned(["numpy==1.0", "numpy==2.0"], "here")
    with pytest.raises(ConfigError, match="is not a requirement"):
        pinned(["numpy\n--index-url http://evil"], "here")


def test_coordinator_address_and_image_tag():
    assert coordinator(None) == {"addr": "127.0.0.1", "port": 6013}
    assert coordinator("10.0.0.2:7000") == {"addr": "10.0.0.2", "port": 7000}
    with pytest.raises(ConfigError):
        coordinator("10.0.0.2:port")
    assert image_tag("My Robot", "jetson", "ab" * 32) == "lkbuild/my-robot-jetson:abababababab"


def test_engines_bundles_do_not_support_are_refused(spec, tmp_path):
    from lkbuild.bundle import BundleOptions, write_bundle

    with pytest.raises(ConfigError, match=r"Bundles support the engines: dora, ros2\. Received: engine='native'"):
        write_bundle(spec, BundleOptions(machine="nuc", engine="native", out=tmp_path / "out"))
    assert not (tmp_path / "bundles" / "nuc").exists()
