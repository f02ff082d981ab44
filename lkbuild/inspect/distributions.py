"""Import names -> the distributions pip installs them from, pinned to the installed version.

``importlib.metadata.packages_distributions()`` answers for what is installed here; a maintained table
covers the well-known mismatches for what is not (a Jetson's packages are rarely on the laptop that
builds for it); otherwise the import name is the best guess.

Asking ``packages_distributions()`` reads the metadata of every installed distribution (~0.1 s in a
ROS-sized venv), so its answer is kept beside the inspection cache (``.lk_build/cache/distributions.json``),
keyed on what an install changes: each ``sys.path`` directory's entries that are ``*.dist-info`` or
``*.egg-info`` and their modification times.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

# Import name -> distribution, where they differ. Keep sorted; add what users report.
KNOWN_DISTRIBUTIONS: Dict[str, str] = {
    "Crypto": "pycryptodome",
    "OpenGL": "PyOpenGL",
    "PIL": "pillow",
    "RPi": "RPi.GPIO",
    "attr": "attrs",
    "bs4": "beautifulsoup4",
    "cv2": "opencv-python",
    "dateutil": "python-dateutil",
    "dora": "dora-rs",
    "dotenv": "python-dotenv",
    "fitz": "PyMuPDF",
    "gi": "PyGObject",
    "git": "GitPython",
    "google": "protobuf",
    "jwt": "PyJWT",
    "magic": "python-magic",
    "mpl_toolkits": "matplotlib",
    "pkg_resources": "setuptools",
    "serial": "pyserial",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "usb": "pyusb",
    "yaml": "pyyaml",
    "zmq": "pyzmq",
}
# Never requirements: the standard library, and lkbuild itself (bundles copy lk_runtime).
NOT_REQUIREMENTS = frozenset({"__future__", "lkbuild", "lk_runtime"})


@dataclass(frozen=True)
class Distribution:
    name: str
    version: Optional[str]  # None when it is not installed on this machine

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}" if self.version else self.name


def is_stdlib(module: str) -> bool:
    top = module.split(".")[0]
    return top in sys.stdlib_module_names or top in sys.builtin_module_names


def is_requirement(module: str) -> bool:
    """Whether a module that is not part of the project must be installed (not stdlib, not lkbuild)."""
    top = module.split(".")[0]
    return bool(top) and not is_stdlib(top) and top not in NOT_REQUIREMENTS


CACHE_FILE = "distributions.json"
_METADATA_DIRS = (".dist-info", ".egg-info")
scans = 0  # how often the installed distributions were really read (for tests and benchmarks)


def installed_fingerprint(path: Optional[List[str]] = None) -> str:
    """What an install, upgrade or removal changes: the metadata directories on ``sys.path`` and their mtimes."""
    digest = hashlib.sha256()
    for entry in path if path is not None else sys.path:
        try:
            with os.scandir(entry or ".") as found:
                names = sorted((e.name, e.stat().st_mtime_ns) for e in found if e.name.endswith(_METADATA_DIRS))
        except OSError:
            continue  # a zip file or a missing folder: nothing installed there changes under us
        digest.update(json.dumps([entry, names]).encode())
    return digest.hexdigest()


def _scan() -> Dict[str, List[Tuple[str, Optional[str]]]]:
    """Import name -> [(distribution, version)] for everything installed here."""
    import importlib.metadata  # ~17 ms: only when the cache of this scan is missing or stale

    global scans
    scans += 1
    versions: Dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and name not in versions:
            versions[name] = dist.version
    return {top: [(d, versions.get(d)) for d in sorted(set(names))]
            for top, names in importlib.metadata.packages_distributions().items()}


def _cache_path() -> Optional[Path]:
    from .cache import cache

    directory = cache().directory  # .lk_build/cache/inspect: this table sits beside it
    return directory.parent / CACHE_FILE if directory is not None else None


@lru_cache(maxsize=None)
def _installed() -> Dict[str, Tuple[Tuple[str, Optional[str]], ...]]:
    path = _cache_path()
    key = installed_fingerprint()
    if path is not None:
        try:
            data = json.loads(path.read_text())
            if data.get("key") == key:
                return {top: tuple((d, v) for d, v in found) for top, found in data["modules"].items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            pass  # missing, stale or damaged: read what is installed again
    found = _scan()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{CACHE_FILE}.")
            with os.fdopen(fd, "w") as f:
                json.dump({"key": key, "modules": found}, f, separators=(",", ":"), sort_keys=True)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs time
    return {top: tuple(map(tuple, pairs)) for top, pairs in found.items()}


def forget() -> None:
    """Drop what this process learned about installed distributions (the next question reads them again)."""
    _installed.cache_clear()
    distribution.cache_clear()


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@lru_cache(maxsize=None)
def distribution(module: str) -> Distribution:
    """The distribution that provides the top-level package of ``module``.

    Example:
        >>> distribution("numpy.linalg").name
        'numpy'
    """
    top = module.split(".")[0]
    candidates = dict(_installed().get(top, ()))
    if candidates:
        # Several distributions can ship one import name (rclpy: 'rclpy' and 'ros-rclpy'): prefer the one
        # named like the import, then the table's, then a stable first.
        wanted = {_normalize(top), _normalize(KNOWN_DISTRIBUTIONS.get(top, top))}
        name = sorted(candidates, key=lambda d: (_normalize(d) not in wanted, _normalize(d)))[0]
        return Distribution(name, candidates[name])
    return Distribution(KNOWN_DISTRIBUTIONS.get(top, top), None)
