"""Stand-ins for modules a robot needs but the build machine lacks (as Sphinx's ``autodoc_mock_imports``).

Reading a system means importing the user's file, and a Jetson's ``tensorrt`` is rarely installed on the
laptop that builds for it. While the file is imported, a finder placed *last* on ``sys.meta_path`` —
asked only when no real module was found — hands out a stand-in module for a module that a component
file imports. The mechanism is the runtime's (``lk_runtime.stand_ins``, which a Node's process uses for
the imports no component of its machine needs); here it is lenient for as long as the block lasts.
Attribute access, calls, subclassing and decorating with a stand-in all work, so module level code like ``import tensorrt as trt; LOGGER = trt.Logger()`` loads. A module that no component file
imports (a typo in the system file) is not stood in for: importing it still fails.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Optional, Set

from ..errors import InspectError, LkbuildWarning
from ..runtime_stubs.lk_runtime.stand_ins import StandIn, StandInModule  # noqa: F401  (re-exported)
from ..runtime_stubs.lk_runtime.stand_ins import StandInFinder as RuntimeFinder

STRICT = ("module '{module}' is not installed here; it is imported by {where}. --strict-imports requires every "
          "module a component imports to be installed where lkbuild runs: install it, or drop --strict-imports "
          "to read the system with a stand-in.")


class StandInWarning(LkbuildWarning):
    """A module was replaced by a stand-in while the system was read."""


class StandInFinder(RuntimeFinder):
    """Stands in for missing modules that ``importers(top_level_name)`` names files for.

    ``importers`` is called lazily, only once a module is really missing, so reading a system whose
    packages are all installed costs nothing.
    """

    def __init__(self, importers: Callable[[], Dict[str, Set[str]]], strict: bool = False):
        super().__init__()
        self._importers = importers
        self._known: Optional[Dict[str, Set[str]]] = None
        self.strict = strict

    def importers(self, top: str) -> Set[str]:
        if self._known is None:
            self._known = {}  # reading the sources imports libcst: its own optional imports must not recurse
            self._known = self._importers()
        return self._known.get(top, set())

    def covers(self, top: str) -> bool:
        where = self.importers(top)
        if where and self.strict:
            raise InspectError(STRICT.format(module=top, where=", ".join(sorted(where))))
        return bool(where)


@contextmanager
def stand_ins(importers: Callable[[], Dict[str, Set[str]]], strict: bool = False) -> Iterator[StandInFinder]:
    """Active stand-ins for the duration of the block; afterwards the stand-in modules are forgotten.

    A later real import (a component's ``setup()`` run natively) then fails as it should, instead of
    quietly getting a stand-in.
    """
    finder = StandInFinder(importers, strict).install()
    try:
        yield finder
    finally:
        finder.remove()
