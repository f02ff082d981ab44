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
# Sourcing the workspace's setup script is exactly what `ros2 run` users do; then the command replaces sh.
_SOURCED = '. "$1" && shift && exec "$@"'


class Workspace(Tool):
    """Starts commands with a colcon workspace's ``install/setup.sh`` sourced (through ``/bin/sh``)."""

    name = "sh"
    how_to_install = "A POSIX shell (/bin/sh) is required."

    def __init__(self, root: Path, env: Optional[Mapping[str, str]] = None):
        super().__init__(env)
        self.root = Path(root)

    def executable(self) -> str:
        return shutil.which("sh") or "/bin/sh"

    def verify(self) -> str:
        return str(self.root / "install" / "setup.sh")

    def start_sourced(self, argv: Sequence[str], log_path: Path, env: Optional[Mapping[str, str]] = None) -> Process:
        setup = self.root / "install" / "setup.sh"
        return self.start(["-c", _SOURCED, "lkbuild-ros2", str(setup), *argv], cwd=self.root,
                          env=runtime_environment(env), log_path=log_path)


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
