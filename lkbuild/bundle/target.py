"""The machine a bundle is for: its architecture, Python, base image and wheel platform tags."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

from ..errors import ConfigError
from ..node import PIP_PLATFORMS

# --platform spellings (Docker's and uname's) -> the architecture lkbuild's presets use.
ARCHES = {
    "linux/amd64": "x86_64", "linux/x86_64": "x86_64", "amd64": "x86_64", "x86_64": "x86_64",
    "linux/arm64": "aarch64", "linux/aarch64": "aarch64", "linux/arm64/v8": "aarch64", "arm64": "aarch64",
    "aarch64": "aarch64",
}
DOCKER_PLATFORMS = {"x86_64": "linux/amd64", "aarch64": "linux/arm64"}
_PYTHON = re.compile(r"^3\.[0-9]{1,2}$")
# A Docker image reference: no whitespace or newline can reach the Dockerfile's FROM line.
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$")
_MACHINE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")

UNKNOWN_MACHINE = "System '{system}' has no machine named '{machine}'. {known}"
NO_MACHINES = (
    "System '{system}' places no Node on a machine, so there is nothing to bundle. Give the Nodes a "
    "machine, e.g. Node('vision', machine='jetson'), then run `lkbuild bundle --machine jetson`."
)


@dataclass(frozen=True)
class Target:
    """Where a bundle runs. ``pip_platforms`` are the wheel tags ``pip download --platform`` accepts."""

    machine: str
    arch: str
    python: str
    base_image: str
    docker_platform: str
    pip_platforms: Tuple[str, ...]

    def describe(self) -> str:
        return f"{self.docker_platform}, CPython {self.python}"


def default_base_image(python: str) -> str:
    """A base image with a working ``python3 -m venv`` for this Python version."""
    return f"python:{python}-slim-bookworm"


def resolve_target(spec, machine: str, platform: Optional[str] = None, python: Optional[str] = None,
                   base_image: Optional[str] = None) -> Target:
    """M's Target from its Machine (or preset); ``platform``/``python``/``base_image`` override it.

    Raises:
        ConfigError: unknown machine (lists the known ones), or an override that cannot be used.
    """
    names = sorted(m.name for m in spec.machines)
    if machine not in names:
        if not names:
            raise ConfigError(NO_MACHINES.format(system=spec.name))
        raise ConfigError(UNKNOWN_MACHINE.format(system=spec.name, machine=machine,
                                                 known=f"Its machines: {', '.join(names)}."))
    if not _MACHINE.match(machine):
        raise ConfigError(f"Machine name '{machine}' cannot name a bundle directory or an image; use letters, "
                          "digits, '_', '.' and '-' only.")
    m = spec.machine(machine)
    arch = m.arch
    if platform is not None:
        arch = ARCHES.get(platform.lower())
        if arch is None:
            raise ConfigError(f"Unknown platform '{platform}'. Use one of: linux/amd64, linux/arm64.")
    if arch not in PIP_PLATFORMS:
        raise ConfigError(f"Machine '{machine}' has architecture '{arch}', which bundles do not support. "
                          "Supported: x86_64, aarch64.")
    python = python or m.python
    if not _PYTHON.match(python):
        raise ConfigError(f"Python version must look like 3.11. Received: python={python!r}")
    image = base_image or m.base_image or default_base_image(python)
    if not _IMAGE.match(image):
        raise ConfigError(f"'{image}' is not a Docker image reference (e.g. debian:bookworm-slim).")
    return Target(machine=machine, arch=arch, python=python, base_image=image,
                  docker_platform=DOCKER_PLATFORMS[arch], pip_platforms=tuple(PIP_PLATFORMS[arch]))
