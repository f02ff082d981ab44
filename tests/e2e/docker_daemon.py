"""A private Docker daemon for the bundle e2e tests, and a Debian + Python base image made without a registry.

The daemon is started by the tests and stopped by its pid (nothing is installed here: .ci/run installs
docker.io, mmdebstrap and zstd). The base image is built once with mmdebstrap from apt's own mirror and
cached as a zstd tarball, so later runs load it in seconds.

Use in a test module: ``from docker_daemon import base_image, docker_daemon  # noqa: F401``.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from lkbuild.tools.docker import Docker, Dockerd, Mmdebstrap, Zstd, apt_mirror

BASE_IMAGE = "lkbuild-test/bookworm-python:1"
BASE_PACKAGES = ("python3", "python3-pip", "python3-venv")
BASE_CHANGES = ('CMD ["/bin/bash"]', "ENV LANG=C.UTF-8")


def cache_dir() -> Path:
    """Where the base image tarball is kept between runs (LKBUILD_TEST_CACHE overrides)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lkbuild-tests"
    path = Path(os.environ.get("LKBUILD_TEST_CACHE", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_base_image(docker: Docker, scratch: Path) -> str:
    """Load the cached base image, or build it with mmdebstrap and cache it."""
    if docker.image_exists(BASE_IMAGE):
        return BASE_IMAGE
    cached = cache_dir() / "bookworm-python-1.tar.zst"
    tar = scratch / "base.tar"
    if cached.is_file():
        Zstd().decompress(cached, tar)
        docker.load(tar)
    else:
        rootfs = Mmdebstrap().rootfs("bookworm", apt_mirror(), scratch / "rootfs.tar", BASE_PACKAGES)
        docker.import_rootfs(rootfs, BASE_IMAGE, BASE_CHANGES)
        rootfs.unlink()
        docker.save(BASE_IMAGE, tar)
        fd, partial = tempfile.mkstemp(dir=cached.parent, prefix=".base.")
        os.close(fd)
        Zstd().compress(tar, Path(partial))
        os.replace(partial, cached)
    tar.unlink()
    return BASE_IMAGE


@pytest.fixture(scope="session")
def docker_daemon():
    """A Docker client on a private daemon (host and none networks only), stopped after the session."""
    # A short path: the daemon's unix socket must fit in 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="lkd-", dir="/tmp"))
    daemon = Dockerd().start_private(root)
    docker = Docker(base_url=daemon.url)
    try:
        docker.verify()
        yield docker
    finally:
        docker.close()
        daemon.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def base_image(docker_daemon, tmp_path_factory):
    """The tag of a Debian bookworm image with python3 and venv, loaded into the private daemon."""
    return ensure_base_image(docker_daemon, tmp_path_factory.mktemp("base-image"))
