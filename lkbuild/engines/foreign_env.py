"""Where each foreign dora node runs from: the components' environment, or a venv of its own.

A ``DoraNode`` with ``package=`` runs its console script ``path`` from

* the environment lkbuild runs in, when the package is installed there at the asked version with every
  one of its requirements satisfied (nothing is installed into that environment, ever); else
* a virtual environment of the system's foreign packages, ``.lk_build/foreign/<key>/``, holding them
  and the dora-rs version of the components (the daemon's), made once and kept until ``lkbuild clean``
  (``key`` hashes what it holds: the same packages share one venv, another set gets another).

Many node-hub packages pin ``numpy<2``: they get their own venv, and the pins that differ from the
components' environment are logged. When the package cannot be installed next to this dora-rs at all,
the build stops with the conflicting pins pip names — never a silent downgrade.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Optional

from ..errors import ConfigError, ToolFailedError

log = logging.getLogger("lkbuild.foreign")
FOREIGN_DIR = "foreign"
MARKER = ".lk_installed.json"
CONFLICT = (
    "the packages of the foreign dora nodes ({packages}) cannot be installed together with dora-rs=={dora} "
    "(the components' dora-rs, which every node of a dataflow shares). pip says:\n{why}\nPick versions "
    "whose requirements agree, or change the conflicting pin."
)
# pyarrow 26 refuses to import with numpy 1.x (a check at import time, not in its metadata); 25 works.
# A venv whose packages pin numpy<2 gets this pyarrow.
NUMPY1_PYARROW = "pyarrow<26"
_CONFLICT_LINES = re.compile(r"^\s*(The user requested|.+ depends on) .+$", re.M)


def dora_version() -> str:
    try:
        return metadata.version("dora-rs")
    except metadata.PackageNotFoundError:
        raise ConfigError("a DoraNode with package= needs dora-rs installed where lkbuild runs: "
                          "pip install 'lkbuild[dora]'.") from None


def requirements(packages: List[str]) -> List[str]:
    """What the foreign venv holds: the packages and the components' dora-rs."""
    return [f"dora-rs=={dora_version()}", *sorted(set(packages))]


def venv_packages(spec) -> List[str]:
    """The foreign packages of a system that do not run from lkbuild's own environment."""
    return sorted({f.package for f in spec.foreign if f.kind == "dora" and f.package
                   and not satisfied_here(f.package)})


def venv_dir(out_dir: Path, packages: List[str]) -> Path:
    """The venv of these packages, named by what it holds."""
    key = json.dumps({"requirements": requirements(packages), "python": list(sys.version_info[:2])})
    return Path(out_dir).resolve() / FOREIGN_DIR / hashlib.sha256(key.encode()).hexdigest()[:12]


def satisfied_here(package: str) -> bool:
    """The package is installed in this environment, at the asked version, its requirements all met."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        wanted = Requirement(package)
        dist = metadata.distribution(wanted.name)
    except (InvalidRequirement, metadata.PackageNotFoundError):
        return False
    if not wanted.specifier.contains(dist.version, prereleases=True):
        return False
    for line in dist.requires or ():
        need = Requirement(line)
        if need.marker is not None and not need.marker.evaluate({"extra": ""}):
            continue
        try:
            have = metadata.version(need.name)
        except metadata.PackageNotFoundError:
            return False
        if not need.specifier.contains(have, prereleases=True):
            return False
    return True


def script_path(bin_dir: Path, path: str) -> str:
    return str(Path(bin_dir) / path) if "/" not in path else path


def foreign_paths(spec, out_dir: Path, root: Optional[str] = None) -> Dict[str, str]:
    """The ``path`` every foreign dora node runs with (what the dataflow lists); no I/O but look-ups."""
    paths: Dict[str, str] = {}
    away = venv_packages(spec)
    for f in spec.foreign:
        if f.kind != "dora":
            continue
        if f.package:
            bin_dir = venv_dir(out_dir, away) / "bin" if f.package in away else Path(sys.executable).parent
            paths[f.name] = script_path(bin_dir, f.path)
        elif not f.path.startswith("/") and "/" in f.path and (Path(root or spec.root) / f.path).exists():
            paths[f.name] = str((Path(root or spec.root) / f.path).resolve())  # a file of the project
    return paths


def prepare(spec, out_dir: Path) -> Optional[Path]:
    """Make the venv of the foreign packages that do not run here (if any, and not made yet); returns it."""
    from ..tools.pip import Venv

    away = venv_packages(spec)
    if not away:
        return None
    target = venv_dir(out_dir, away)
    wanted = requirements(away)
    marker = target / MARKER
    if not (marker.exists() and json.loads(marker.read_text()).get("requirements") == wanted):
        log.info("installing %s into a venv of their own: %s", ", ".join(away), target)
        try:
            Venv(target).create_and_install(wanted)
        except ToolFailedError as exc:
            if "ResolutionImpossible" not in exc.output_tail and "conflict" not in exc.output_tail.lower():
                raise
            why = "\n".join(m.group(0).strip() for m in _CONFLICT_LINES.finditer(exc.output_tail))
            first = next(f for f in spec.foreign if f.package in away)
            raise ConfigError(CONFLICT.format(packages=", ".join(away), dora=dora_version(),
                                              why=why or exc.output_tail), first.created_at) from None
        venv = Venv(target)
        if venv.imports_fail("pyarrow", "dora") and "NumPy" in venv.imports_fail("pyarrow"):
            venv.create_and_install([*wanted, NUMPY1_PYARROW])
        broken = venv.imports_fail("pyarrow", "dora")
        if broken:
            raise ConfigError(f"the venv of the foreign dora nodes ({target}) cannot import pyarrow and dora:\n"
                              f"{broken}\nPin versions of the packages that work together.")
        freeze = venv.freeze()
        marker.write_text(json.dumps({"requirements": wanted, "freeze": freeze}, indent=1, sort_keys=True) + "\n")
        differing = differences(freeze)
        if differing:
            log.info("%s run from their own venv: their requirements differ from the components' environment: %s",
                     ", ".join(away), ", ".join(differing))
    for f in spec.foreign:
        if f.package in away and "/" not in f.path and not (target / "bin" / f.path).exists():
            scripts = sorted(p.name for p in (target / "bin").iterdir() if p.is_file() and not p.name.startswith(
                ("python", "pip", "activate", "Activate")))
            raise ConfigError(f"DoraNode '{f.name}': package {f.package!r} installs no program named '{f.path}'. "
                              f"Programs in its venv: {', '.join(scripts) or 'none'}. Set path= to one of them.",
                              f.created_at)
    return target


def differences(freeze: Dict[str, str]) -> List[str]:
    """``name venv-version (components: version)`` for every distribution both hold at different versions."""
    out = []
    for name, version in sorted(freeze.items()):
        try:
            mine = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if mine != version:
            out.append(f"{name} {version} (components: {mine})")
    return out
