"""Live logs: the components' output shown in the terminal while a run goes, the last lines kept for errors.

Every Node's process prefixes what its components print with ``node/component | `` (``lk_runtime.logs``).
``LiveLog`` takes lines from wherever they land — the native engine's own process, dora's run log, a
ROS 2 process's log file (``Follow`` reads files as they grow) — logs each component line on the
``lkbuild.output`` logger (the CLI prints it on stdout; ``--quiet`` does not) and keeps the last
``KEEP`` lines of every component, so that an error can show them with the traceback.
"""
from __future__ import annotations

import logging
import re
import threading
from collections import deque
from pathlib import Path
from typing import Callable, Dict, Iterable

from ..errors import ComponentError
from ..runtime_stubs.lk_runtime.logs import SEPARATOR

KEEP = 20
FOLLOW_EVERY_S = 0.2
_LINE = re.compile(r"([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)" + re.escape(SEPARATOR) + r"(.*)$")

log = logging.getLogger("lkbuild.output")


class LiveLog:
    def __init__(self):
        self.last: Dict[str, deque] = {}
        self._lock = threading.Lock()

    def feed(self, raw: str) -> None:
        """One line as an engine wrote it; a component's line (``node/component | text``) is shown and kept."""
        found = _LINE.search(raw.rstrip("\n"))
        if found is None:
            return
        label, text = found.groups()
        with self._lock:
            self.last.setdefault(label, deque(maxlen=KEEP)).append(text)
        log.info("%s%s%s", label, SEPARATOR, text)

    @staticmethod
    def shown() -> bool:
        """Whether something shows the lines (the CLI does: a handler on ``lkbuild.output`` or ``lkbuild``)."""
        return bool(log.handlers or logging.getLogger("lkbuild").handlers)

    def write(self, text: str) -> int:
        """A stream for ``lk_runtime.logs.capture`` in this process (the native engine)."""
        for line in text.splitlines():
            self.feed(line)
        return len(text)

    def flush(self) -> None:
        pass

    def explained(self, error: ComponentError) -> ComponentError:
        """The same error with the failing component's last lines of output after its traceback."""
        label = f"{error.node}/{error.component}"
        lines = list(self.last.get(label, ()))
        if not lines:
            return error
        more = f"\nlast output of {label}:\n" + "".join(f"  {line}\n" for line in lines)
        return ComponentError(error.component, error.node, error.machine, error.phase,
                              error.traceback_text.rstrip() + "\n" + more)


class Follow:
    """Reads the files ``paths()`` names as they grow (new files too), in a thread, into ``live.feed``."""

    def __init__(self, live: LiveLog, paths: Callable[[], Iterable[Path]]):
        self.live = live
        self.paths = paths
        self.offsets: Dict[Path, int] = {}
        self.partial: Dict[Path, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lkbuild-logs", daemon=True)

    def __enter__(self) -> "Follow":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5.0)
        self.read()  # what was written last

    def _run(self) -> None:
        while not self._stop.wait(FOLLOW_EVERY_S):
            self.read()

    def read(self) -> None:
        for path in list(self.paths()):
            try:
                with open(path, "rb") as f:
                    f.seek(self.offsets.get(path, 0))
                    data = f.read()
            except OSError:
                continue
            if not data:
                continue
            self.offsets[path] = self.offsets.get(path, 0) + len(data)
            *lines, rest = (self.partial.get(path, "") + data.decode("utf-8", "replace")).split("\n")
            self.partial[path] = rest
            for line in lines:
                self.live.feed(line)
