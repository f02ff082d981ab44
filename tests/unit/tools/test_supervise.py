"""Stop requests, supervised waits and shared-memory cleanup, with small real processes (sleep, python)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from lkbuild.tools import Tool, stop_all, wait_until
from lkbuild.tools.shm import SHM, ShmTracker
from lkbuild.tools.signals import Stopped, exit_code_of, stop_requests
from lkbuild.tools.supervise import Supervisor


class Python(Tool):
    name = "python"

    def executable(self) -> str:
        return sys.executable


def start(code: str):
    return Python().start(["-c", code])


def test_sigterm_and_sighup_become_stopped_with_128_plus_the_signal():
    for sig, code in ((signal.SIGTERM, 143), (signal.SIGHUP, 129)):
        with pytest.raises(Stopped) as caught, stop_requests():
            os.kill(os.getpid(), sig)
            wait_until(lambda: False, 5)
        assert exit_code_of(caught.value) == code and caught.value.signal_name == sig.name
    with pytest.raises(KeyboardInterrupt) as caught, stop_requests():
        os.kill(os.getpid(), signal.SIGINT)
        wait_until(lambda: False, 5)
    assert exit_code_of(caught.value) == 130


def test_a_second_signal_does_not_interrupt_the_cleanup_of_the_first():
    cleaned = []
    with pytest.raises(Stopped), stop_requests():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            wait_until(lambda: False, 5)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # ignored: cleanup goes on
            wait_until(lambda: False, 0.2)
            cleaned.append(True)
    assert cleaned == [True]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_dead_helper_ends_the_wait_at_once_naming_it():
    main, helper = start("import time; time.sleep(60)"), start("import time; time.sleep(0.3)")
    try:
        outcome = Supervisor(main, {"machine 'nuc'": helper}).wait(timeout=30)
    finally:
        stop_all([main, helper])
    assert outcome.lost == "machine 'nuc'" and outcome.elapsed < 10
    assert main.poll() is not None


def test_a_run_that_ignores_the_stop_request_at_its_duration_is_stalled():
    main = start("import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)")
    try:
        outcome = Supervisor(main).wait(duration=0.3, on_deadline=main.interrupt, stop_grace=0.5)
    finally:
        stop_all([main], grace=0.2)
    assert outcome.deadline and outcome.stalled and outcome.code is None
    assert main.poll() is not None


def test_a_run_that_stops_at_its_duration_ends_with_its_code():
    main = start("import time\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    pass")
    outcome = Supervisor(main).wait(duration=0.5, on_deadline=main.interrupt)
    assert outcome.deadline and not outcome.stalled and outcome.code == 0


def test_only_the_runs_own_shared_memory_files_are_removed():
    ours, theirs = SHM / f"lk-test-{uuid.uuid4().hex}.zenoh", SHM / f"lk-test-{uuid.uuid4().hex}.zenoh"
    theirs.write_bytes(b"x")
    holder = start(f"f = open({str(ours)!r}, 'wb'); f.write(b'x'); f.flush(); import time; time.sleep(60)")
    try:
        assert wait_until(ours.exists, 10)
        shm = ShmTracker()
        assert wait_until(lambda: shm.sample([holder.pid]) or ours.name in shm.seen, 10)
        assert shm.cleanup() == [] or ours.exists()  # still held: kept
        shm.sample([holder.pid])
        stop_all([holder])
        assert shm.cleanup() == [ours.name]
        assert not ours.exists() and theirs.exists()
    finally:
        stop_all([holder])
        for path in (ours, theirs):
            if path.exists():
                path.unlink()


def test_waiting_with_a_timeout_raises_until_the_process_ends_then_gives_its_exit_code():
    process = start("import sys, time; time.sleep(0.5); sys.exit(7)")
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(0.05)
    assert process.wait(30) == 7
    assert process.wait(1) == 7  # already reaped: the same code again
