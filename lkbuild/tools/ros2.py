"""Running a built ROS 2 workspace: ``ros2 launch`` where a ROS install has it, else its executables.

Also what isolates a run (its own domain id, localhost discovery, a private log directory) and what
removes Fast DDS shared-memory files a killed process leaves behind.
"""
from __future__ import annotations

import fcntl
import os
import random
import shutil
import sys
from pathlib import Path
from typing import Dict, Iterable, Mapping, Optional, Sequence, Set

from . import Process, Tool

SHM = Path("/dev/shm")
SHM_PREFIXES = ("fastrtps_", "fastdds_", "sem.fastrtps_", "sem.fastdds_")
# Domain ids that keep every participant's ports valid (ROS 2 docs): 0-101.
DOMAIN_IDS = range(1, 102)
# colcon's environment hooks: (operation, variable, value) per line of a package's .dsv files.
_PREPEND = ("prepend-non-duplicate", "prepend-non-duplicate-if-exists")
_APPEND = ("append-non-duplicate", "append-non-duplicate-if-exists")
# What a ROS 2 workspace's path cannot hold, and why (each checked with colcon + setuptools + rclpy).
WORKSPACE_PATH_LIMITS = {
    os.pathsep: "ROS 2 finds packages through PYTHONPATH and AMENT_PREFIX_PATH, lists separated by "
                f"'{os.pathsep}' that cannot hold one",
    "$": "setuptools, which colcon builds the package with, expands '$NAME' in install paths",
    "\n": "the ROS 2 tools read paths line by line",
}


def workspace_problem(root: Path) -> Optional[str]:
    """Why a workspace at ``root`` cannot be built or run, or None."""
    path = str(Path(root).absolute())
    for char, why in WORKSPACE_PATH_LIMITS.items():
        if char in path:
            return (f"the ROS 2 workspace {path} cannot be used: its path holds {char!r} and {why}. "
                    f"Move the project, or give --out a path without {char!r}.")
    return None


class Workspace:
    """Starts commands in a built colcon workspace's environment, as ``install/setup.sh`` would set it.

    The environment is read from the packages' colcon hooks (``share/<pkg>/package.dsv``) instead of by
    sourcing ``setup.sh``: colcon's shell scripts break on a quote, ``$`` or space in the workspace's path,
    while the hooks are plain data. The command then runs with no shell between.
    """

    def __init__(self, root: Path, env: Optional[Mapping[str, str]] = None):
        self.root = Path(root)
        self.env = env

    def environment(self, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        """``runtime_environment(extra)`` with every installed package's hooks applied."""
        problem = workspace_problem(self.root)
        if problem:
            from ..errors import ConfigError

            raise ConfigError(problem)
        env = runtime_environment({**(self.env or {}), **(extra or {})})
        install = self.root.absolute() / "install"
        for dsv in sorted(install.glob("*/share/*/package.dsv")):
            prefix = dsv.parents[2]
            if dsv.parent.name == prefix.name:  # install/<pkg>/share/<pkg>/package.dsv
                _apply_hooks(env, prefix, dsv, depth=0)
        env["COLCON_PREFIX_PATH"] = _prepended(env.get("COLCON_PREFIX_PATH", ""), str(install))
        return env

    def start_sourced(self, argv: Sequence[str], log_path: Path, env: Optional[Mapping[str, str]] = None) -> Process:
        """Start ``argv`` (an installed executable, or ``ros2``) in the workspace's environment."""
        return _Program(str(argv[0])).start(list(argv[1:]), cwd=self.root, env=self.environment(env),
                                             log_path=log_path)


class _Program(Tool):
    """A command given by its path (an executable the workspace installed)."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.name = Path(path).name

    def executable(self) -> str:
        return self.path


def _apply_hooks(env: Dict[str, str], prefix: Path, dsv: Path, depth: int) -> None:
    """Apply one colcon .dsv file to ``env``; ``source`` lines naming other .dsv files are followed."""
    if depth > 8 or not dsv.is_file():
        return
    for line in dsv.read_text(errors="replace").splitlines():
        kind, _, rest = line.partition(";")
        if kind == "source":
            if rest.endswith(".dsv"):
                _apply_hooks(env, prefix, prefix / rest, depth + 1)
            continue  # the .sh/.bash/.ps1 twins of the same hook
        name, _, values = rest.partition(";")
        if not name:
            continue
        for value in values.split(";") if values else [""]:
            path = str(prefix / value) if value and not os.path.isabs(value) else (value or str(prefix))
            if kind.endswith("-if-exists") and not os.path.exists(path):
                continue
            if kind in _PREPEND:
                env[name] = _prepended(env.get(name, ""), path)
            elif kind in _APPEND:
                env[name] = os.pathsep.join([p for p in env.get(name, "").split(os.pathsep) if p and p != path]
                                            + [path])
            elif kind == "set" or (kind == "set-if-unset" and not env.get(name)):
                env[name] = path if value else ""


def _prepended(current: str, path: str) -> str:
    return os.pathsep.join([path] + [p for p in current.split(os.pathsep) if p and p != path])


class Ros2Cli(Tool):
    """The ``ros2`` command of a ROS 2 install (not available from PyPI)."""

    name = "ros2"
    how_to_install = "Source a ROS 2 Jazzy install (/opt/ros/jazzy/setup.sh) to use `ros2 launch`."

    def available(self) -> bool:
        return shutil.which("ros2") is not None

    def launch_argv(self, package: str, launch_file: str, arguments: Mapping[str, str]) -> list:
        return [self.executable(), "launch", package, launch_file,
                *(f"{key}:={value}" for key, value in arguments.items())]


def runtime_environment(extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The environment node processes get: ours, plus what the rclpy wheels need to find their packages."""
    env = dict(os.environ)
    prefix = os.environ.get("VIRTUAL_ENV") or sys.prefix
    paths = [p for p in env.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    if prefix not in paths:
        env["AMENT_PREFIX_PATH"] = os.pathsep.join(paths + [prefix])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class DomainLease:
    """A ROS domain id no other lkbuild run on this computer holds (a lock file per id), for isolated runs.

    Example:
        >>> with DomainLease() as lease:                        # doctest: +SKIP
        ...     env = lease.environment(log_dir)
    """

    def __init__(self, lock_dir: Optional[Path] = None):
        self.lock_dir = Path(lock_dir or os.environ.get("TMPDIR", "/tmp"))
        self.domain_id: Optional[int] = None
        self._file = None

    def __enter__(self) -> "DomainLease":
        ids = list(DOMAIN_IDS)
        random.shuffle(ids)
        for domain_id in ids:
            f = open(self.lock_dir / f"lkbuild-ros-domain-{domain_id}.lock", "w")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                continue
            self.domain_id, self._file = domain_id, f
            return self
        raise RuntimeError("every ROS domain id 1-101 is in use by another lkbuild run")

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def environment(self, log_dir: Path) -> Dict[str, str]:
        """Variables that keep a run to itself: its domain, localhost discovery, its own ROS log directory."""
        return {"ROS_DOMAIN_ID": str(self.domain_id), "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
                "ROS_LOG_DIR": str(log_dir)}


def shm_files() -> Set[str]:
    """The Fast DDS shared-memory files that exist now."""
    try:
        return {name for name in os.listdir(SHM) if name.startswith(SHM_PREFIXES)}
    except OSError:
        return set()


def mapped_shm_files() -> Set[str]:
    """Names of /dev/shm files some process has mapped (readable /proc entries only)."""
    mapped = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/maps") as f:
                for line in f:
                    at = line.find("/dev/shm/")
                    if at >= 0:
                        mapped.add(line[at + len("/dev/shm/"):].split(" ")[0].strip())
        except OSError:
            continue
    return mapped


def _lock_is_free(path: Path) -> bool:
    try:
        with open(path, "r") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
    except OSError:
        return False


def remove_stale_shm(before: Iterable[str]) -> list:
    """Remove Fast DDS files created since ``before`` that no living process uses; return their names.

    Processes that exit normally remove their own files; this is for one that was killed. A file is kept
    while any process maps it or holds its ``_el`` lock, so concurrent ROS runs are never disturbed.
    """
    new = sorted(shm_files() - set(before))
    if not new:
        return []
    mapped = mapped_shm_files()
    removed = []
    for name in new:
        base = name[:-3] if name.endswith("_el") else name
        if name in mapped or base in mapped:
            continue
        lock = SHM / (base + "_el")
        if lock.exists() and not _lock_is_free(lock):
            continue
        try:
            (SHM / name).unlink()
            removed.append(name)
        except FileNotFoundError:
            continue
    return removed
