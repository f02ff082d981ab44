"""Foreign dora nodes in a bundle: their packages (a venv of their own in the image when they conflict
with the components'), wheels for ``--offline``, and ``path`` binaries copied with their architecture checked.

In the image, packages that lkbuild's own environment satisfies join the components' venv ``/opt/venv``;
the others get ``/opt/foreign``, pinned to exactly what the build machine's foreign venv holds
(``lkbuild.engines.foreign_env``), so the robot runs the versions that were tested here.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..errors import ConfigError
from ..output import safe_join

FOREIGN_VENV = "/opt/foreign"
APP_FOREIGN = "app/foreign"
NOT_PINNED = {"pip", "setuptools", "wheel"}  # the venv's own tools: the image's venv brings its own
# ELF e_machine -> the Docker platform a binary runs on
ELF_MACHINES = {62: "linux/amd64", 183: "linux/arm64", 40: "linux/arm/v7"}


def foreign_nodes(spec, machine: str):
    return [f for f in spec.foreign if f.kind == "dora" and f.machine == machine]


def split_packages(spec, machine: str) -> Tuple[List[str], List[str]]:
    """(packages for the components' venv, packages for ``/opt/foreign``) of the machine's foreign nodes."""
    from ..engines.foreign_env import satisfied_here

    nodes = foreign_nodes(spec, machine)
    here = sorted({f.package for f in nodes if f.package and satisfied_here(f.package)})
    away = sorted({f.package for f in nodes if f.package and not satisfied_here(f.package)})
    return here, away


def venv_requirements(spec, out_dir: Path, away: List[str]) -> List[str]:
    """``name==version`` of everything the build machine's foreign venv holds (made if it is not yet).

    That venv holds the foreign packages of the whole system (``engines.foreign_env``): the machine's
    venv gets them all, at the versions tested together here.
    """
    from ..engines.foreign_env import MARKER, prepare

    if not away:
        return []
    made = prepare(spec, out_dir)
    freeze = json.loads((made / MARKER).read_text())["freeze"]
    return [f"{name}=={version}" for name, version in sorted(freeze.items()) if name not in NOT_PINNED]


def elf_platform(data: bytes) -> Optional[str]:
    """The Docker platform of an ELF executable; None for anything else (a script runs anywhere)."""
    if data[:4] != b"\x7fELF" or len(data) < 20:
        return None
    endian = "<" if data[5] == 1 else ">"
    (machine,) = struct.unpack_from(endian + "H", data, 18)
    return ELF_MACHINES.get(machine, f"ELF machine {machine}")


def binary_source(spec, f) -> Optional[Path]:
    """The file a foreign node's ``path`` names on this computer, when it is one to copy."""
    if f.kind != "dora" or f.package or "/" not in f.path:
        return None
    source = Path(f.path) if f.path.startswith("/") else Path(spec.root) / f.path
    return source if source.is_file() else None


def bundle_path(f, source: Path) -> str:
    return str(safe_join(Path(APP_FOREIGN) / f.name, source.name))


def binaries(spec, machine: str, platform: str) -> Dict[str, Tuple[str, Path]]:
    """``{foreign node: (bundle path, file on this computer)}`` of the ``path`` files to copy.

    A ``path`` that is a file of the project (or an absolute file) is copied into the bundle; one that is
    not a file here is taken as a command on the robot's PATH, as dora would.

    Raises:
        ConfigError: a binary built for another architecture than the machine's.
    """
    out = {}
    for f in foreign_nodes(spec, machine):
        source = binary_source(spec, f)
        if source is None:
            continue
        with open(source, "rb") as handle:
            head = handle.read(64)
        built_for = elf_platform(head)
        if built_for is not None and built_for != platform:
            raise ConfigError(f"DoraNode '{f.name}': {source} is built for {built_for}, but machine '{machine}' is "
                              f"{platform}. Build it for {platform} (e.g. cargo build --target ...) and point path= "
                              "at that binary.", f.created_at)
        out[f.name] = (bundle_path(f, source), source)
    return out


def image_paths(spec) -> Dict[str, str]:
    """The ``path`` of every foreign dora node inside an image: the same in every machine's bundle, so that
    the one dataflow the coordinator is given is valid in each container."""
    from ..engines.foreign_env import satisfied_here, script_path

    paths = {}
    for f in spec.foreign:
        if f.kind != "dora":
            continue
        if f.package:
            venv = "/opt/venv" if satisfied_here(f.package) else FOREIGN_VENV
            paths[f.name] = script_path(Path(venv) / "bin", f.path)
        elif binary_source(spec, f) is not None:
            paths[f.name] = "/" + bundle_path(f, binary_source(spec, f))
    return paths


def machine_programs(spec, machine: str, paths: Dict[str, str]) -> List[str]:
    """What dora starts for the machine's foreign nodes (the self-test checks they are there)."""
    return sorted(paths[f.name] for f in foreign_nodes(spec, machine) if f.name in paths)
