"""Foreign dora nodes in bundles: where they are in the image, and binaries checked against the machine."""
from __future__ import annotations

import struct

import pytest

from lkbuild import Component, DoraNode, Node, System
from lkbuild.bundle import foreign
from lkbuild.errors import ConfigError


class Keep(Component):
    outputs = ()

    def forward(self, x):
        pass


def elf(machine: int) -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + struct.pack("<H", machine) + b"\x00" * 40


def system_with_binary(tmp_path, machine_code: int):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "lidar").write_bytes(elf(machine_code))
    node = Node("robot", machine="robot")
    lidar = DoraNode("lidar", path=str(tmp_path / "bin" / "lidar"), outputs={"scan": "array"}, node=node)
    keep = Keep("keep", node=node)
    keep(x=lidar.outputs.scan)
    return System(components=[lidar, keep], name="rig").spec()


def test_a_binary_is_copied_into_the_bundle_when_its_architecture_is_the_machines(tmp_path):
    spec = system_with_binary(tmp_path, 62)  # x86-64
    copied = foreign.binaries(spec, "robot", "linux/amd64")
    assert copied == {"lidar": ("app/foreign/lidar/lidar", tmp_path / "bin" / "lidar")}
    assert foreign.image_paths(spec) == {"lidar": "/app/foreign/lidar/lidar"}


def test_a_binary_built_for_another_architecture_is_refused_naming_both(tmp_path):
    spec = system_with_binary(tmp_path, 183)  # aarch64
    with pytest.raises(ConfigError) as err:
        foreign.binaries(spec, "robot", "linux/amd64")
    assert "is built for linux/arm64, but machine 'robot' is linux/amd64" in str(err.value)
    assert foreign.elf_platform(b"#!/bin/sh\n") is None  # a script runs anywhere
