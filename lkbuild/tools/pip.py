"""pip, run by the build environment's own Python: downloads the wheels a bundle installs offline."""
from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import List, Sequence

from ..errors import ConfigError, ToolFailedError
from . import Tool, tail
from .progress import Progress

NO_WHEEL = (
    "No wheel of {names} exists for {target}, and it does not build into a pure-Python wheel. A bundle "
    "pins every requirement (and each of its dependencies) by the sha256 of its wheel for the machine's "
    "platform and Python version. Pick a version that ships one, bundle --offline with a vendor's wheel "
    "where pip finds it (PIP_FIND_LINKS=<folder>), or drop the import from the components on this "
    "machine.{hint}"
)
PYTHON_HINT = (" They have wheels for CPython {python} on this platform: pass --python {python} (the base image "
               "then defaults to python:{python}-slim-bookworm), or Machine(..., python=\"{python}\").")
# Tried, in this order, when a requirement has no wheel for the machine's Python.
OTHER_PYTHONS = ("3.11", "3.12", "3.13", "3.14")
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the earliest time a zip file can hold
# Rounds of "build the pure-Python wheels pip could not find, then resolve again".
MAX_ROUNDS = 5
_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")


class Pip(Tool):
    """``python -m pip`` of the running interpreter (the venv lkbuild is installed in)."""

    name = "pip"
    how_to_install = "Install pip into the Python that runs lkbuild: `python -m ensurepip`."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.built: List[str] = []  # file names of the wheels build_pure_wheel made (no index has them)

    def executable(self) -> str:
        return sys.executable

    def run(self, args, **kwargs):
        return super().run(["-m", "pip", "--disable-pip-version-check", *args], **kwargs)

    def download(self, requirements: Sequence[str], dest: Path, platforms: Sequence[str], python: str,
                 target: str) -> List[Path]:
        """Download wheels (requirements and their dependencies) for another platform into ``dest``.

        Args:
            requirements: pinned requirement lines, e.g. ``numpy==2.4.6``.
            platforms: pip platform tags, e.g. ``manylinux_2_28_aarch64``; any of them may match.
            python: ``X.Y`` of the target interpreter (CPython).
            target: how to name the platform in errors, e.g. ``linux/arm64, Python 3.10``.

        Raises:
            ConfigError: a requirement has no binary wheel for the target (names it).
        """
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        if not requirements:
            return []
        args = self._download_args(platforms, python, dest)
        tried = set()
        for _ in range(MAX_ROUNDS):
            # Wheels built in earlier rounds sit in dest: --find-links lets the resolver use them.
            with Progress(f"downloading wheels for {target}") as progress:
                done = self.run([*args, "--find-links", str(dest), *requirements], check=False,
                                on_line=progress.pip_line if progress.enabled else None)
            if done.returncode == 0:
                break
            output = done.stdout + "\n" + done.stderr
            missing = sorted(set(_NO_MATCH.findall(output)) - tried)
            if not missing:
                if tried & set(_NO_MATCH.findall(output)):
                    raise self._no_wheel(sorted(tried), target, platforms, python)
                raise ToolFailedError([self.executable(), "-m", "pip", *args], done.returncode, tail(output))
            tried.update(missing)
            unbuildable = [name for name in missing if not self.build_pure_wheel(name, dest)]
            if unbuildable:
                raise self._no_wheel(unbuildable, target, platforms, python)
        else:
            raise self._no_wheel(sorted(tried), target, platforms, python)
        return sorted(p for p in dest.iterdir() if p.suffix == ".whl")

    @staticmethod
    def _download_args(platforms: Sequence[str], python: str, dest: Path) -> List[str]:
        abi = "cp" + python.replace(".", "")
        args = ["download", "--only-binary=:all:", "--implementation", "cp", "--python-version", python,
                "--abi", abi, "--abi", "abi3", "--abi", "none", "--dest", str(dest)]
        for platform in platforms:
            args += ["--platform", platform]
        return args

    def _no_wheel(self, names: Sequence[str], target: str, platforms: Sequence[str], python: str) -> ConfigError:
        """The "no wheel" error; when another CPython has wheels of all of ``names``, it says to pass it."""
        hint = ""
        for other in (p for p in OTHER_PYTHONS if p != python):
            with tempfile.TemporaryDirectory() as scratch:
                done = self.run([*self._download_args(platforms, other, Path(scratch)), "--no-deps", *names],
                                check=False)
            if done.returncode == 0:
                hint = PYTHON_HINT.format(python=other)
                break
        return ConfigError(NO_WHEEL.format(names=", ".join(names), target=target, hint=hint))

    def build_pure_wheel(self, requirement: str, dest: Path) -> bool:
        """Build ``requirement`` from its source distribution; keep it only if it is pure Python.

        Some dependencies (e.g. ROS 2's ``empy``) publish only an sdist. A ``py3-none-any`` wheel built
        here installs on any platform, so the bundle stays offline; a compiled one would not.
        """
        with tempfile.TemporaryDirectory(dir=dest) as scratch:
            # A fixed SOURCE_DATE_EPOCH keeps the zip's timestamps, so bundling twice gives the same bytes.
            done = self.run(["wheel", "--no-deps", "--wheel-dir", scratch, requirement], check=False,
                            env={"SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH})
            built = sorted(Path(scratch).glob("*.whl"))
            if done.returncode != 0 or len(built) != 1 or not built[0].name.endswith("-none-any.whl"):
                return False
            shutil.move(str(built[0]), dest / built[0].name)
            self.built.append(built[0].name)
        return True


class Venv(Tool):
    """A virtual environment lkbuild makes for a foreign node (``lkbuild.engines.foreign_env``)."""

    name = "python"
    how_to_install = "Install the venv module of the Python that runs lkbuild (Debian: apt-get install python3-venv)."

    def __init__(self, path: Path, env=None):
        super().__init__(env)
        self.path = Path(path)

    def executable(self) -> str:
        return str(self.path / "bin" / "python")

    def create_and_install(self, requirements: Sequence[str]) -> None:
        """Create the venv with the running Python (if needed) and install ``requirements`` into it."""
        if not (self.path / "bin" / "python").exists():
            _Python().run(["-m", "venv", str(self.path)], hint=self.how_to_install)
        self.run(["-m", "pip", "install", "--disable-pip-version-check", "--quiet", *requirements])

    def imports_fail(self, *modules: str) -> str:
        """Why the venv's Python cannot import ``modules`` (the error's last line), or "" when it can."""
        done = self.run(["-c", f"import {', '.join(modules)}"], check=False)
        return "" if done.returncode == 0 else tail(done.stderr, 1)

    def freeze(self) -> dict:
        """``{distribution: version}`` of what the venv holds."""
        import json

        done = self.run(["-m", "pip", "list", "--disable-pip-version-check", "--format", "json"])
        return {item["name"].lower(): item["version"] for item in json.loads(done.stdout)}


class _Python(Tool):
    """The running interpreter, for ``python -m venv``."""

    name = "python"

    def executable(self) -> str:
        return sys.executable
