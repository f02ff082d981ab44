"""The installed-distribution lookup is cached beside the inspection cache, and an install is seen."""
from __future__ import annotations

import importlib
import sys

import pytest

from lkbuild.inspect import cache, distribution, distributions


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A private site directory on sys.path, and the cache under tmp_path/.lk_build/cache."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.setattr(sys, "path", [str(folder), *sys.path])
    previous = cache.cache().directory
    cache.use_directory(tmp_path / ".lk_build" / "cache" / "inspect")
    distributions.forget()
    importlib.invalidate_caches()
    yield folder
    cache.use_directory(previous)
    distributions.forget()


def install(site, name: str, version: str, top: str) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{top}\n")
    (info / "RECORD").write_text("")
    importlib.invalidate_caches()


def launch() -> None:
    """What a new `lkbuild` process starts with: nothing remembered in memory."""
    distributions.forget()


def test_a_warm_launch_does_not_rescan_and_a_new_install_is_seen(site, tmp_path):
    before = distributions.scans
    assert distribution("numpy").version == importlib.metadata.version("numpy")
    assert distributions.scans == before + 1
    assert (tmp_path / ".lk_build" / "cache" / "distributions.json").is_file()

    launch()
    assert distribution("numpy").version == importlib.metadata.version("numpy")
    assert distribution("lk_fresh_sdk").version is None  # not installed yet
    assert distributions.scans == before + 1  # warm: read from the cache, nothing rescanned

    install(site, "lk-fresh-sdk", "1.2.3", "lk_fresh_sdk")
    launch()
    assert distribution("lk_fresh_sdk") == distributions.Distribution("lk-fresh-sdk", "1.2.3")
    assert distributions.scans == before + 2


def test_without_a_cache_directory_nothing_is_written(site, tmp_path):
    cache.use_directory(None)
    distributions.forget()
    assert distribution("numpy").version
    assert not (tmp_path / ".lk_build").exists()
