"""Stop requests: Ctrl-C (SIGINT), ``kill``/``timeout``/a service manager (SIGTERM), a closed terminal (SIGHUP).

Every engine runs its launch inside ``stop_requests()``: the first of these signals raises
``KeyboardInterrupt`` (``Stopped``, a subclass, for SIGTERM and SIGHUP) where the engine waits, so the same cleanup that follows Ctrl-C stops every
process of the run. Further signals are only noted while that cleanup runs: a second Ctrl-C or a
``timeout`` that signals twice must not abandon processes half-stopped. The CLI exits with
``128 + signal number`` (130, 143, 129), as shells report a command a signal ended.
"""
from __future__ import annotations

import contextlib
import logging
import signal
import threading
from typing import Iterator

log = logging.getLogger("lkbuild.tools")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """The run was asked to stop by a signal; ``exit_code`` is ``128 + signum``."""

    def __init__(self, signum: int = signal.SIGINT):
        self.signum = int(signum)
        super().__init__(signal.Signals(self.signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name


def exit_code_of(exc: KeyboardInterrupt) -> int:
    """128 + the signal that stopped the run (a bare KeyboardInterrupt is Ctrl-C: 130)."""
    return exc.exit_code if isinstance(exc, Stopped) else 128 + signal.SIGINT


@contextlib.contextmanager
def stop_requests() -> Iterator[None]:
    """Turn the first SIGINT/SIGTERM/SIGHUP into ``Stopped``; ignore later ones until the block is left.

    Outside the main thread (where Python cannot install handlers) it changes nothing. Nested use
    keeps the outer handlers.
    """
    if threading.current_thread() is not threading.main_thread() or getattr(_state, "active", False):
        yield
        return
    stopping = []

    def request(signum, frame):
        if stopping:
            log.warning("%s received while stopping the run; still stopping.", signal.Signals(signum).name)
            return
        stopping.append(signum)
        raise KeyboardInterrupt if signum == signal.SIGINT else Stopped(signum)  # Ctrl-C reads as ever

    previous = {sig: signal.signal(sig, request) for sig in STOP_SIGNALS}
    _state.active = True
    try:
        yield
    finally:
        _state.active = False
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_state = threading.local()
