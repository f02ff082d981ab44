"""Import names -> the distributions pip installs them from, pinned to the installed version.

``importlib.metadata.packages_distributions()`` answers for what is installed here; a maintained table
covers the well-known mismatches for what is not (a Jetson's packages are rarely on the laptop that
builds for it); otherwise the import name is the best guess.
"""
from __future__ import annotations

import importlib.metadata
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Optional

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


@lru_cache(maxsize=None)
def _installed() -> Dict[str, tuple]:
    return {k: tuple(v) for k, v in importlib.metadata.packages_distributions().items()}


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
    candidates = _installed().get(top)
    if candidates:
        # Several distributions can ship one import name (rclpy: 'rclpy' and 'ros-rclpy'): prefer the one
        # named like the import, then the table's, then a stable first.
        wanted = {_normalize(top), _normalize(KNOWN_DISTRIBUTIONS.get(top, top))}
        ordered = sorted(set(candidates), key=lambda d: (_normalize(d) not in wanted, _normalize(d)))
        name = ordered[0]
        try:
            return Distribution(name, importlib.metadata.version(name))
        except importlib.metadata.PackageNotFoundError:
            return Distribution(name, None)
    return Distribution(KNOWN_DISTRIBUTIONS.get(top, top), None)
