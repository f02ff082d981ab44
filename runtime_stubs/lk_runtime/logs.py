"""What components print, prefixed with ``node/component``, line by line, on every engine.

``capture`` replaces ``sys.stdout`` and ``sys.stderr`` of a Node's process with streams that find, when
something is written, which component is writing (the innermost frame whose ``self`` is one of the
Node's components) and prefix each of its lines with ``node/component | ``; everything else (the
runtime's own lines, the report markers) passes through unchanged. The cost is paid when a component
prints, never per message. Each line is flushed as it ends, so a log file that lkbuild follows
(dora's, a ROS 2 process's) shows it at once; lkbuild reads the prefix back (``lkbuild.tools.logs``).
"""
from __future__ import annotations

import sys
import threading
from typing import Dict

SEPARATOR = " | "
MAX_DEPTH = 64  # frames looked at to find the component that writes
_writing = threading.local()  # shared by stdout's and stderr's streams: a line shown by writing it again passes


class PrefixedStream:
    """A text stream: lines written from inside a component go to ``target`` prefixed, the rest to ``passthrough``."""

    def __init__(self, target, labels: Dict[int, str], passthrough=None):
        self.target = target
        self.passthrough = passthrough if passthrough is not None else target
        self.labels = labels  # id(component object) -> "node/component"
        self.pending: Dict[str, str] = {}

    def _label(self):
        frame = sys._getframe(2)
        for _ in range(MAX_DEPTH):
            if frame is None:
                return None
            owner = frame.f_locals.get("self")
            if owner is not None:
                label = self.labels.get(id(owner))
                if label is not None:
                    return label
            frame = frame.f_back
        return None

    def write(self, text: str) -> int:
        if getattr(_writing, "busy", False):  # written while writing (a handler that prints): as it is
            return self.passthrough.write(text)
        _writing.busy = True
        try:
            label = self._label()
            if label is None:
                return self.passthrough.write(text)
            *lines, rest = (self.pending.get(label, "") + text).split("\n")
            self.pending[label] = rest
            for line in lines:
                self.target.write(f"{label}{SEPARATOR}{line}\n")
            if lines:
                self.target.flush()
            return len(text)
        finally:
            _writing.busy = False

    def flush(self) -> None:
        self.target.flush()
        if self.passthrough is not self.target:
            self.passthrough.flush()

    def __getattr__(self, name):  # encoding, fileno, isatty, ...: the stream's it replaces
        return getattr(self.passthrough, name)


def labels_of(plan, instances) -> Dict[int, str]:
    """``id(component) -> "node/component"`` for a Node's built components (entries may name their own Node)."""
    node = plan.get("node", "local")
    return {id(instances[e["name"]]): f"{e.get('node') or node}/{e['name']}" for e in plan["components"]}


def capture(plan, instances, target=None):
    """Prefix the components' output on this process's stdout and stderr; returns a function that undoes it.

    ``target``: where component lines go (default: the stream each replaces).
    """
    labels = labels_of(plan, instances)
    saved = sys.stdout, sys.stderr
    sys.stdout = PrefixedStream(target or saved[0], labels, saved[0])
    sys.stderr = PrefixedStream(target or saved[1], labels, saved[1])

    def restore() -> None:
        sys.stdout, sys.stderr = saved

    return restore
