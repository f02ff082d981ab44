"""Wrappers around external tools. This package is the only place in lkbuild that starts processes.

Every tool has ``verify()`` (installed? which version?) and domain methods built on ``run``/``start``.
Unit tests replace ``Tool.runner`` to fake a process; e2e tests run the real thing.
"""
from __future__ import annotations

import logging
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence

from ..errors import MissingToolError, ToolFailedError

TAIL_LINES = 40
PROGRESS_EVERY_S = 5.0

log = logging.getLogger("lkbuild.tools")


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


class Process:
    """A started tool process in its own process group; ``stop()`` ends the whole group by pid."""

    def __init__(self, popen: subprocess.Popen, cmd: Sequence[str], log_path: Optional[Path] = None):
        self.popen = popen
        self.cmd = list(cmd)
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> Optional[int]:
        return self.popen.poll()

    def wait(self, timeout: Optional[float] = None) -> int:
        """The exit code; raises ``subprocess.TimeoutExpired`` after ``timeout`` seconds.

        With a timeout, ``Popen.wait`` polls with growing sleeps (up to 50 ms after the process ended);
        on Linux a pidfd says the moment it ends.
        """
        if timeout is not None and self.popen.returncode is None and ended_within(self.popen.pid, timeout) is not None:
            code = self.popen.poll()
            if code is None:
                raise subprocess.TimeoutExpired(self.cmd, timeout)
            return code
        return self.popen.wait(timeout)

    def interrupt(self) -> None:
        """SIGINT the leader only: the tool stops its own children (``dora run`` stops its nodes)."""
        if self.popen.poll() is None:
            try:
                os.kill(self.popen.pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def stop(self, grace: float = 5.0) -> int:
        """SIGINT the group, then SIGTERM, then SIGKILL; returns the exit code."""
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
            if self.popen.poll() is not None:
                break
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.popen.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        self._reap_group()
        return self.popen.wait()

    def _reap_group(self) -> None:
        """Children that outlived the leader still belong to its group: end them too."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def log_tail(self) -> str:
        if self.log_path and self.log_path.exists():
            return tail(self.log_path.read_text(errors="replace"))
        return ""


def ended_within(pid: int, timeout: float) -> Optional[bool]:
    """Wait at most ``timeout`` seconds for process ``pid`` to end, on a pidfd (woken the moment it ends):
    whether it did; None when no pidfd can be had (already reaped, or no pidfd support here)."""
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return None
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    return bool(ready)


class Forked:
    """A child forked from this process to run a tool's Python entry point without starting a new
    interpreter: what ``Process`` needs of a ``subprocess.Popen`` (``pid``, ``returncode``, ``poll``, ``wait``)."""

    def __init__(self, pid: int, cmd: Sequence[str]):
        self.pid = pid
        self.cmd = list(cmd)
        self.returncode: Optional[int] = None

    def _reap(self, flags: int) -> Optional[int]:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:  # reaped elsewhere: it has ended, how is unknown
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> Optional[int]:
        return self._reap(os.WNOHANG)

    def wait(self, timeout: Optional[float] = None) -> int:
        if timeout is not None and self.poll() is None:
            ended_within(self.pid, timeout)  # a pidfd always opens: the child is not reaped yet
            if self.poll() is None:
                raise subprocess.TimeoutExpired(self.cmd, timeout)
        return self._reap(0)


def fork_entry_point(entry: Callable[[], None], cmd: Sequence[str], cwd, env: Mapping[str, str],
                     log_path: Optional[Path]) -> Optional[Process]:
    """Run ``entry`` (a tool's Python entry point, e.g. the ``dora`` command's) in a forked child, as ``start`` would
    run ``cmd``: its own session, ``cwd``, exactly ``env``, stdin from /dev/null, stdout and stderr to
    ``log_path``. Exit code 0 when ``entry`` returns, the code of a ``SystemExit`` it raises, 1 (its error
    written to the log) when it raises anything else.

    It saves starting an interpreter and importing the tool (~40 ms here). None when forking is not safe
    (not POSIX, or another thread runs: a fork copies locks other threads may hold) or the child could
    not be waited for with a timeout (no pidfd); then use ``start``.
    """
    import threading

    if not hasattr(os, "fork") or not hasattr(os, "pidfd_open") or threading.active_count() > 1:
        return None
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()  # or the child could write what this process buffered
        except (OSError, ValueError):
            pass
    pid = os.fork()
    if pid:
        return Process(Forked(pid, cmd), cmd, log_path)
    code = 1
    try:  # the child: never returns into the caller
        os.setsid()
        if cwd is not None:
            os.chdir(cwd)
        null = os.open(os.devnull, os.O_RDWR)
        out = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if log_path else null
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        keep = {0, 1, 2}
        for fd in map(int, os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ()):
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        sys.stdout = open(1, "w", buffering=1, closefd=False, errors="replace")  # this process's may be
        sys.stderr = open(2, "w", buffering=1, closefd=False, errors="replace")  # other files (a test's capture)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)  # as for a new process: the tool installs its own, if any
        os.environ.clear()
        os.environ.update(env)
        entry()
        code = 0
    except SystemExit as exc:  # the entry point's own exit code (it has said why)
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # noqa: B902  (the child reports everything, and exits)
        try:
            os.write(2, f"\n[ERROR]\n{exc}\n".encode(errors="replace"))
        except OSError:
            pass
    finally:
        os._exit(code)


class Tool:
    """One external command-line tool."""

    name = ""
    how_to_install = ""

    def __init__(self, env: Optional[Mapping[str, str]] = None):
        self.env = dict(env) if env is not None else None

    def executable(self) -> str:
        """The tool's path: the running Python's own bin directory first, then PATH."""
        local = Path(sys.executable).parent / self.name
        if local.exists():
            return str(local)
        found = shutil.which(self.name)
        if found is None:
            raise MissingToolError(self.name, self.how_to_install)
        return found

    def verify(self) -> str:
        """The tool's version text; raises MissingToolError when it is not installed."""
        return self.run(["--version"]).stdout.strip()

    def environment(self, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        env = dict(os.environ if self.env is None else self.env)
        env.update(extra or {})
        return env

    def run(self, args: Sequence[str], cwd=None, env: Optional[Mapping[str, str]] = None,
            timeout: Optional[float] = None, check: bool = True, hint: str = "",
            on_line: Optional[Callable[[str], None]] = None) -> subprocess.CompletedProcess:
        """Run to completion, capturing output; raises ToolFailedError (with the output's tail) on failure.

        ``on_line``: called with each line of output as it comes (stderr merged into stdout), for progress.
        """
        cmd = [self.executable(), *map(str, args)]
        try:
            if on_line is not None:
                done = _streamed(cmd, cwd, self.environment(env), timeout, on_line)
            else:
                done = subprocess.run(cmd, cwd=cwd, env=self.environment(env), capture_output=True, text=True,
                                      timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            raise ToolFailedError(cmd, -1, tail(out), f"timed out after {timeout} s") from None
        if check and done.returncode != 0:
            raise ToolFailedError(cmd, done.returncode, tail(done.stdout + "\n" + done.stderr), hint)
        return done

    def start(self, args: Sequence[str], cwd=None, env: Optional[Mapping[str, str]] = None,
              log_path: Optional[Path] = None) -> Process:
        """Start in the background, in a new process group, output to ``log_path`` (or discarded)."""
        cmd = [self.executable(), *map(str, args)]
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            popen = subprocess.Popen(cmd, cwd=cwd, env=self.environment(env), stdout=out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            if log_path:
                out.close()
        return Process(popen, cmd, log_path)


def _streamed(cmd, cwd, env, timeout: Optional[float], on_line) -> subprocess.CompletedProcess:
    """``subprocess.run`` with the output read line by line as it comes (stderr merged into stdout)."""
    import threading

    popen = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             stdin=subprocess.DEVNULL, errors="replace")
    lines: List[str] = []

    def read() -> None:
        for line in popen.stdout:
            lines.append(line)
            on_line(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        code = popen.wait(timeout)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait()
        raise subprocess.TimeoutExpired(cmd, timeout, output="".join(lines)) from None
    reader.join(5.0)
    return subprocess.CompletedProcess(cmd, code, "".join(lines), "")


def stop_all(processes: Sequence["Process"], grace: float = 5.0) -> None:
    """Stop several processes at once: each step (SIGINT, SIGTERM, SIGKILL) goes to every group together.

    Stopping them one after the other would add their grace periods up: with 30 machines, a minute.
    """
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
        running = [p for p in processes if p.poll() is None]
        for process in running:
            try:
                os.killpg(process.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        if not wait_until(lambda: all(p.poll() is not None for p in running), wait, interval=0.05):
            continue
    for process in processes:
        process.stop(grace=0.0)  # reaps the leader and whatever is left of its group


def wait_until(predicate, timeout: float, interval: float = 0.1, waiting_for: str = "") -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass.

    With ``waiting_for``, a wait that lasts says so every few seconds (``lkbuild`` logger, INFO), so a
    user never watches a silent terminal without knowing why.
    """
    from .progress import Progress

    start = time.monotonic()
    deadline = start + timeout
    progress = Progress(f"waiting for {waiting_for}") if waiting_for else None
    if progress is not None and not progress.enabled:
        progress = None  # not a terminal: a log line every few seconds instead
    if progress is None:
        return _wait(predicate, deadline, interval, waiting_for, progress, start, timeout)
    with progress:
        return _wait(predicate, deadline, interval, waiting_for, progress, start, timeout)


def _wait(predicate, deadline, interval, waiting_for, progress, start, timeout) -> bool:
    said = start
    while time.monotonic() < deadline:
        if predicate():
            return True
        now = time.monotonic()
        if progress is not None:
            progress.update(detail=f"{now - start:.0f} of at most {timeout:.0f} s")
        elif waiting_for and now - said >= PROGRESS_EVERY_S:
            log.info("waiting for %s (%.0f s of at most %.0f s)", waiting_for, now - start, timeout)
            said = now
        time.sleep(interval)
    return bool(predicate())


__all__: List[str] = ["Process", "Tool", "stop_all", "tail", "wait_until"]
