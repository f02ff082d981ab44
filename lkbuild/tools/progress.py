"""Progress of long steps (colcon builds, wheel downloads, waiting for daemons) on one line of a terminal.

``Progress`` rewrites one stderr line in place — what is happening, how far, for how long — and only
when stderr is a terminal: in a log file or CI output it writes nothing at all. ``Tool.run`` feeds it
the tool's output line by line (``on_line``) while it runs; each step's parser turns lines into counts.
"""
from __future__ import annotations

import re
import shutil
import sys
import time
from typing import Optional

REDRAW_S = 0.1

_COLCON_START = re.compile(r"^Starting >>> (\S+)")
_COLCON_DONE = re.compile(r"^Finished <<< (\S+)")
_PIP_GET = re.compile(r"^\s*(?:Collecting|Downloading|Obtaining|Processing) (\S+)")


class Progress:
    """``with Progress("colcon build", total=3) as p: ...``; ``p.update(done, detail)`` as it goes."""

    def __init__(self, what: str, total: Optional[int] = None, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self.what, self.total, self.done, self.detail = what, total, 0, ""
        self.started = time.monotonic()
        self._drawn_at = 0.0
        self._width = 0

    def __enter__(self) -> "Progress":
        self.draw(force=True)
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()

    def update(self, done: Optional[int] = None, detail: Optional[str] = None) -> None:
        if done is not None:
            self.done = done
        if detail is not None:
            self.detail = detail
        self.draw()

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._drawn_at < REDRAW_S):
            return
        self._drawn_at = now
        count = f" {self.done}/{self.total}" if self.total else f" {self.done}" if self.done else ""
        text = f"{self.what}:{count} {self.detail} ({now - self.started:.0f} s)".replace("  ", " ")
        text = text[:max(20, shutil.get_terminal_size((100, 20)).columns - 1)]
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    # -- parsers of tools' output ---------------------------------------------------------------------
    def colcon_line(self, line: str) -> None:
        """``Starting >>> pkg`` / ``Finished <<< pkg``: packages built so far."""
        if _COLCON_DONE.match(line):
            self.update(self.done + 1, f"built {_COLCON_DONE.match(line).group(1)}")
        elif _COLCON_START.match(line):
            self.update(detail=f"building {_COLCON_START.match(line).group(1)}")

    def pip_line(self, line: str) -> None:
        """``Collecting x`` / ``Downloading x``: distributions fetched so far."""
        found = _PIP_GET.match(line)
        if found:
            self.update(self.done + 1 if line.lstrip().startswith("Collecting") else None, found.group(1)[-60:])
