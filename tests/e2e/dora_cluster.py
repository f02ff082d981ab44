"""Helpers for the dora e2e tests: find the processes a test started, and fail if any outlive it."""
from __future__ import annotations

import os
import signal
import time
from typing import Dict, Iterable


def processes_mentioning(text: str) -> Dict[int, str]:
    """Live processes whose command line or environment contains ``text`` (e.g. the test's tmp_path).

    Every process a dora test starts has the test's directory in one of them: dora itself and its
    daemons run with a private HOME there, node processes run entrypoints from there.
    """
    needle = text.encode()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue  # gone, or not ours to read
        if needle in cmdline or needle in environ:
            found[int(entry)] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    return found


def alive(pids: Iterable[int]) -> Dict[int, str]:
    """The given pids that still run (zombies, already dead but not reaped, do not count)."""
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out[pid] = state
    return out


def assert_nothing_left(text: str, grace: float = 3.0) -> None:
    """Fail when a process mentioning ``text`` is still alive; kill leftovers (by pid) so others are not hurt."""
    deadline = time.monotonic() + grace
    left = processes_mentioning(text)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = processes_mentioning(text)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not left, f"processes left running after the test: {left}"
