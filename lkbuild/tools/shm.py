"""Shared-memory files (``/dev/shm``) a run's processes use, so that none outlives the run.

zenoh (dora's transport) maps segments ``/dev/shm/<number>.zenoh`` in every daemon and node, and
leaves them behind for about half a minute after those processes end. A run's own segments are the
ones its own processes map or hold open: ``ShmTracker`` notes them while the run is alive and removes
them once nothing maps or holds them any more, so segments of other runs are never touched.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set

SHM = Path("/dev/shm")
ZENOH_SUFFIX = ".zenoh"


def process_tree(roots: Iterable[int]) -> Set[int]:
    """``roots`` and every living descendant (by parent pid, from ``/proc``)."""
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found: Set[int] = set()
    todo = [pid for pid in roots]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        todo.extend(children.get(pid, ()))
    return found


def shm_in_use(pids: Optional[Iterable[int]] = None) -> Set[str]:
    """Names of ``/dev/shm`` files mapped or open in ``pids`` (default: every process we may read)."""
    if pids is None:
        pids = [int(e) for e in os.listdir("/proc") if e.isdigit()]
    prefix = f"{SHM}/"
    used: Set[str] = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/maps") as f:
                for line in f:
                    at = line.find(prefix)
                    if at >= 0:
                        used.add(line[at + len(prefix):].split(" ")[0].strip())
            fd_dir = f"/proc/{pid}/fd"
            for fd in os.listdir(fd_dir):
                try:
                    target = os.readlink(f"{fd_dir}/{fd}")
                except OSError:
                    continue
                if target.startswith(prefix):
                    used.add(target[len(prefix):].split(" ")[0])
        except OSError:
            continue  # gone, or not ours to read
    return used


class ShmTracker:
    """Remembers the shared-memory files of one run's processes; ``cleanup()`` removes those left over.

    Example:
        >>> shm = ShmTracker()                                  # doctest: +SKIP
        >>> shm.sample([daemon.pid]); ...; stop everything; shm.cleanup()
    """

    def __init__(self, suffixes=(ZENOH_SUFFIX,)):
        self.suffixes = tuple(suffixes)
        self.seen: Set[str] = set()

    def sample(self, roots: Iterable[int]) -> None:
        """Note the files the processes ``roots`` (and their children) use right now."""
        self.seen |= {name for name in shm_in_use(process_tree(roots)) if name.endswith(self.suffixes)}

    def cleanup(self) -> List[str]:
        """Remove the noted files that no living process maps or holds; returns their names."""
        if not self.seen:
            return []
        in_use = shm_in_use()
        removed = []
        for name in sorted(self.seen - in_use):
            if "/" in name:
                continue  # read from /proc: never follow a path out of /dev/shm
            try:
                (SHM / name).unlink()
                removed.append(name)
            except FileNotFoundError:
                continue
            except OSError:
                continue
        self.seen.clear()
        return removed
