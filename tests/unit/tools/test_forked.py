"""Running a tool's Python entry point in a forked child (``dora run`` without a second interpreter)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from lkbuild.tools import fork_entry_point


def test_the_child_runs_the_entry_with_exactly_the_environment_and_its_output_goes_to_the_log(tmp_path):
    log = tmp_path / "run.log"

    def entry():
        print(f"cwd={os.getcwd()} ONLY={os.environ.get('ONLY')} PATH={'PATH' in os.environ}", flush=True)
        os.write(2, b"on stderr\n")

    process = fork_entry_point(entry, ["tool", "run"], tmp_path, {"ONLY": "this"}, log)
    assert process is not None and process.pid != os.getpid()
    assert process.wait(10) == 0
    assert log.read_text() == f"cwd={tmp_path} ONLY=this PATH=False\non stderr\n"
    assert process.cmd == ["tool", "run"]


def test_an_entry_that_raises_exits_1_with_its_error_in_the_log(tmp_path):
    log = tmp_path / "run.log"

    def entry():
        raise RuntimeError("Dataflow failed: node `n1` exited with code 1")

    process = fork_entry_point(entry, ["tool"], tmp_path, {}, log)
    assert process.wait(10) == 1
    assert "[ERROR]\nDataflow failed: node `n1` exited with code 1" in log.read_text()


def test_a_timed_wait_raises_while_the_child_runs_and_stop_ends_it(tmp_path):
    process = fork_entry_point(lambda: time.sleep(60), ["tool"], tmp_path, {}, tmp_path / "run.log")
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(0.2)
    assert process.poll() is None
    started = time.monotonic()
    assert process.stop(grace=5.0) != 0  # SIGINT ends it: the child does not keep this process's handlers
    assert time.monotonic() - started < 4.0
    assert process.poll() is not None


def test_no_fork_while_another_thread_runs(tmp_path):
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert fork_entry_point(lambda: None, ["tool"], tmp_path, {}, None) is None
    finally:
        release.set()
        thread.join()


def test_what_this_process_had_buffered_is_not_written_again_by_the_child(tmp_path, capfd):
    sys.stdout.write("buffered before the fork")
    process = fork_entry_point(lambda: None, ["tool"], tmp_path, {}, tmp_path / "run.log")
    assert process.wait(10) == 0
    assert capfd.readouterr().out == "buffered before the fork"
