"""Stand-ins for modules a robot needs but the build machine lacks (as Sphinx's ``autodoc_mock_imports``).

Reading a system means importing the user's file, and a Jetson's ``tensorrt`` is rarely installed on the
laptop that builds for it. While the file is imported, a finder placed *last* on ``sys.meta_path`` —
asked only when no real module was found — hands out a stand-in module for a module that a component
file imports. Attribute access, calls, subclassing and decorating with a stand-in all work, so module
level code like ``import tensorrt as trt; LOGGER = trt.Logger()`` loads. A module that no component file
imports (a typo in the system file) is not stood in for: importing it still fails.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import inspect
import sys
import types
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, Optional, Set

from ..errors import InspectError, LkbuildWarning

STRICT = ("module '{module}' is not installed here; it is imported by {where}. --strict-imports requires every "
          "module a component imports to be installed where lkbuild runs: install it, or drop --strict-imports "
          "to read the system with a stand-in.")


class StandInWarning(LkbuildWarning):
    """A module was replaced by a stand-in while the system was read."""


class StandIn:
    """Any attribute, call, subscript or base class taken from a module that is not installed."""

    def __init__(self, name: str):
        object.__setattr__(self, "_lk_name", name)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return StandIn(f"{self._lk_name}.{name}")

    def __call__(self, *args, **kwargs):
        # Used as a decorator (@numba.jit): hand the decorated function or class back unchanged.
        if len(args) == 1 and not kwargs and (inspect.isfunction(args[0]) or inspect.isclass(args[0])):
            return args[0]
        return StandIn(f"{self._lk_name}()")

    def __mro_entries__(self, bases):
        module, _, name = self._lk_name.rpartition(".")
        return (type(name or "StandIn", (), {"__module__": module or "stand_in"}),)

    def __getitem__(self, key):
        return self

    def __or__(self, other):
        return self

    __ror__ = __or__

    def __iter__(self):
        return iter(())

    def __repr__(self) -> str:
        return f"<stand-in for {self._lk_name}>"


class StandInModule(types.ModuleType):
    """A package whose every attribute is a StandIn, and whose submodules are stand-ins too."""

    def __init__(self, name: str):
        super().__init__(name, f"Stand-in for '{name}', which is not installed where lkbuild runs.")
        self.__path__ = []
        self.__all__ = []

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return StandIn(f"{self.__name__}.{name}")


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        return StandInModule(spec.name)

    def exec_module(self, module) -> None:
        pass


class StandInFinder(importlib.abc.MetaPathFinder):
    """Stands in for missing modules that ``importers(top_level_name)`` names files for.

    ``importers`` is called lazily, only once a module is really missing, so reading a system whose
    packages are all installed costs nothing.
    """

    def __init__(self, importers: Callable[[], Dict[str, Set[str]]], strict: bool = False):
        self._importers = importers
        self._known: Optional[Dict[str, Set[str]]] = None
        self.strict = strict
        self.used: Dict[str, Set[str]] = {}  # top-level name -> the full names stood in for

    def importers(self, top: str) -> Set[str]:
        if self._known is None:
            self._known = {}  # reading the sources imports libcst: its own optional imports must not recurse
            self._known = self._importers()
        return self._known.get(top, set())

    def find_spec(self, fullname, path, target=None):
        top = fullname.partition(".")[0]
        if fullname != top and top not in self.used:
            return None  # a missing submodule of an installed package: let the import fail
        where = self.importers(top)
        if not where:
            return None
        if self.strict:
            raise InspectError(STRICT.format(module=top, where=", ".join(sorted(where))))
        self.used.setdefault(top, set()).add(fullname)
        return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=True)


@contextmanager
def stand_ins(importers: Callable[[], Dict[str, Set[str]]], strict: bool = False) -> Iterator[StandInFinder]:
    """Active stand-ins for the duration of the block; afterwards the stand-in modules are forgotten.

    A later real import (a component's ``setup()`` run natively) then fails as it should, instead of
    quietly getting a stand-in.
    """
    finder = StandInFinder(importers, strict)
    sys.meta_path.append(finder)
    try:
        yield finder
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n, mod in sys.modules.items() if isinstance(mod, StandInModule)]:
            del sys.modules[name]
