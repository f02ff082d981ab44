"""Waiting for a run's main process without hanging: a wall-clock bound, lost helpers, progress notes.

The engines start one main process per run (``dora run``, ``dora start --attach``) and, for clusters,
helpers it depends on (coordinator, daemons). ``Supervisor.wait`` returns when the main process ends,
and also when

* a helper dies (a machine is lost: its daemon was killed, crashed or ran out of memory) — at once,
  naming it, instead of waiting for a dataflow that can no longer end;
* ``duration`` seconds of wall-clock time passed since the run started, setup included: it asks the run
  to stop (``on_deadline``) and gives it ``stop_grace`` seconds before stopping it for good;
* ``timeout`` seconds passed: a run that should have ended by itself did not.

It samples the run's shared-memory files as it waits (``ShmTracker``), so they can be removed after.
"""
from __future__ import annotations

import logging
import subprocess
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from . import PROGRESS_EVERY_S, Process
from .shm import ShmTracker

log = logging.getLogger("lkbuild.tools")

POLL_S = 0.1
SAMPLE_EVERY_S = 0.5
STOP_GRACE_S = 5.0
LOSS_SETTLE_S = 0.5


@dataclass
class Outcome:
    """How a supervised run ended.

    ``code``: the main process's exit code (None when it had to be stopped). ``lost``: the helper
    that died first. ``broken``: why the run can no longer succeed, as ``broken()`` said. ``deadline``: the duration passed and the run was asked to stop. ``stalled``: it
    did not end within the grace period after that, and was stopped. ``timed_out``: ``timeout`` passed.
    """

    code: Optional[int] = None
    lost: Optional[str] = None
    deadline: bool = False
    stalled: bool = False
    timed_out: bool = False
    broken: Optional[str] = None
    elapsed: float = 0.0


class Supervisor:
    """Watches ``main`` and the ``helpers`` it depends on (by name: ``machine 'nuc'``, ``coordinator``)."""

    def __init__(self, main: Process, helpers: Optional[Mapping[str, Process]] = None,
                 shm: Optional[ShmTracker] = None, started: Optional[float] = None):
        self.main = main
        self.helpers = dict(helpers or {})
        self.shm = shm
        self.started = time.monotonic() if started is None else started

    def wait(self, duration: Optional[float] = None, timeout: Optional[float] = None,
             on_deadline: Optional[Callable[[], None]] = None, stop_grace: float = STOP_GRACE_S,
             waiting_for: Optional[Callable[[], Optional[str]]] = None,
             broken: Optional[Callable[[], Optional[str]]] = None) -> Outcome:
        """Until the run ends (see the module's docstring).

        ``waiting_for`` says what the run is still waiting for (e.g. nodes in setup), or None: it is
        logged every ``PROGRESS_EVERY_S`` seconds while it has something to say. ``broken`` says why the
        run can no longer succeed (checked as often), or None.
        """
        outcome = Outcome()
        stop_by = None
        said = self.started
        sampled = checked = 0.0
        while True:
            now = time.monotonic()
            outcome.elapsed = now - self.started
            if waiting_for is not None and now - said >= PROGRESS_EVERY_S:
                said = now
                what = waiting_for()
                if what:
                    log.info("waiting for %s (%.0f s)", what, outcome.elapsed)
            if broken is not None and now - checked >= SAMPLE_EVERY_S:
                checked = now
                outcome.broken = broken()
                if outcome.broken:
                    return outcome
            if self.shm is not None and now - sampled >= SAMPLE_EVERY_S:
                self.shm.sample([self.main.pid, *(p.pid for p in self.helpers.values())])
                sampled = now
            code = self.main.poll()
            if code is not None and code != 0 and self.helpers:
                time.sleep(LOSS_SETTLE_S)  # the main process failed: because a helper died just now?
            outcome.lost = next((name for name, p in self.helpers.items() if p.poll() is not None), None)
            if code is not None or outcome.lost:
                outcome.code = code
                return outcome
            if duration is not None and not outcome.deadline and outcome.elapsed >= duration:
                outcome.deadline = True
                stop_by = now + stop_grace
                if on_deadline is not None:
                    on_deadline()
            if stop_by is not None and now >= stop_by:
                log.warning("the run did not stop within %.0f s of the end of its duration; stopping it.",
                            stop_grace)
                outcome.stalled = True
                return outcome
            if timeout is not None and outcome.elapsed >= timeout:
                outcome.timed_out = True
                return outcome
            try:
                self.main.wait(POLL_S)  # returns as soon as the run ends: no sleeping past it
            except subprocess.TimeoutExpired:
                pass
