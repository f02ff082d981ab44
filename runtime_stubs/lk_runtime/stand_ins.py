"""Stand-ins for modules that are imported where they are not installed (as Sphinx's ``autodoc_mock_imports``).

One mechanism serves two places:

* the build (``lkbuild.inspect.stand_ins``): reading a system imports the user's file, and a Jetson's SDK is
  rarely installed on the laptop that builds for it;
* a Node's process (``MachineStandIns``, installed by ``build``): one ``robot.py`` holds every machine's
  components, so its top-level imports name every machine's SDKs. A machine installs only what its own
  components use; a module-level import that none of them uses gets a stand-in, so the file imports.

A finder placed *last* on ``sys.meta_path`` — asked only when no real module was found — hands out a
``StandInModule``. While a user module is being imported, attribute access, calls, subscripts, subclassing
and decorating all work, so module-level code like ``import sdk; LOG = sdk.Logger()`` loads. On a machine,
using a stand-in for real afterwards raises ``NotOnThisMachine``, naming the module, the machine and the
component that used it.
"""
from __future__ import annotations

import importlib.machinery
import sys
import types
from typing import Dict, Iterable, List, Optional, Set


class NotOnThisMachine(ModuleNotFoundError):
    """A module that lkbuild stood in for on this machine was used for real."""


class StandIn:
    """Any attribute, call, subscript or base class taken from a module that is not installed."""

    def __init__(self, name: str, finder: Optional["StandInFinder"] = None):
        object.__setattr__(self, "_lk_name", name)
        object.__setattr__(self, "_lk_finder", finder or _LENIENT)

    def _lk_use(self, what: str) -> "StandIn":
        self._lk_finder.use(self._lk_name, what)
        return StandIn(what, self._lk_finder)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._lk_use(f"{self._lk_name}.{name}")

    def __call__(self, *args, **kwargs):
        # Used as a decorator (@numba.jit): hand the decorated function or class back unchanged.
        if len(args) == 1 and not kwargs and isinstance(args[0], (types.FunctionType, type)):
            self._lk_finder.use(self._lk_name, f"@{self._lk_name}")
            return args[0]
        return self._lk_use(f"{self._lk_name}()")

    def __mro_entries__(self, bases):
        self._lk_finder.use(self._lk_name, f"a subclass of {self._lk_name}")
        module, _, name = self._lk_name.rpartition(".")
        return (type(name or "StandIn", (), {"__module__": module or "stand_in"}),)

    def __getitem__(self, key):
        self._lk_finder.use(self._lk_name, f"{self._lk_name}[...]")
        return self

    def __or__(self, other):
        return self

    __ror__ = __or__

    def __iter__(self):
        self._lk_finder.use(self._lk_name, f"iterating {self._lk_name}")
        return iter(())

    def __repr__(self) -> str:
        return f"<stand-in for {self._lk_name}>"


class StandInModule(types.ModuleType):
    """A package whose every attribute is a StandIn, and whose submodules are stand-ins too."""

    def __init__(self, name: str, finder: "StandInFinder"):
        super().__init__(name, f"Stand-in for '{name}', which is not installed here.")
        self.__path__ = []
        self.__all__ = []
        self._lk_finder = finder

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        self._lk_finder.use(self.__name__, f"{self.__name__}.{name}")
        return StandIn(f"{self.__name__}.{name}", self._lk_finder)


class _Loader:
    """The loader of stand-in modules (the import system needs only these two methods)."""

    def __init__(self, finder: "StandInFinder"):
        self.finder = finder

    def create_module(self, spec):
        return StandInModule(spec.name, self.finder)

    def exec_module(self, module) -> None:
        pass


class StandInFinder:
    """Stands in for the missing top-level modules ``covers`` accepts (and their submodules).

    Subclasses decide which modules (``covers``) and what using a stand-in does (``use``: nothing here).
    """

    def __init__(self):
        self.used: Dict[str, Set[str]] = {}  # top-level name -> the full names stood in for

    def covers(self, top: str) -> bool:
        raise NotImplementedError

    def use(self, name: str, what: str) -> None:
        """Called on every use of a stand-in; may raise."""

    def find_spec(self, fullname, path, target=None):
        top = fullname.partition(".")[0]
        if fullname != top and top not in self.used:
            return None  # a missing submodule of an installed package: let the import fail
        if not self.covers(top):
            return None
        self.used.setdefault(top, set()).add(fullname)
        return importlib.machinery.ModuleSpec(fullname, _Loader(self), is_package=True)

    def install(self) -> "StandInFinder":
        if self not in sys.meta_path:
            sys.meta_path.append(self)
        return self

    def remove(self) -> None:
        """Take the finder away and forget its stand-in modules (a later real import then fails as it should)."""
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        for name in [n for n, mod in sys.modules.items()
                     if isinstance(mod, StandInModule) and mod._lk_finder is self]:
            del sys.modules[name]


_LENIENT = StandInFinder()


NOT_ON_THIS_MACHINE = (
    "module '{module}' is not installed on machine '{machine}'; {user} used it ({what}). No component of "
    "machine '{machine}' uses it in its class's code, so the machine's bundle does not install it and lkbuild "
    "stood in for it only so that the files importing it load{needers}. If {subject} needs it, use it from "
    "the component's class (lkbuild then installs it on machine '{machine}'), or place the component on a "
    "machine that has it."
)


class MachineStandIns(StandInFinder):
    """The stand-ins of one Node's process: modules no component of its machine uses (from the node plan).

    ``modules``: top-level name -> the components elsewhere that do use it (for the message).
    """

    def __init__(self, machine: str, node: str, modules: Dict[str, Iterable[str]]):
        super().__init__()
        self.machine = machine
        self.node = node
        self.modules = {top: sorted(who) for top, who in modules.items()}
        self.importing = 0  # > 0 while a user module is imported: module-level code may use stand-ins
        self.building: Optional[str] = None  # the component being constructed
        self._components: Dict[int, str] = {}  # id(instance) -> component name

    def covers(self, top: str) -> bool:
        return top in self.modules

    def add_component(self, name: str, instance) -> None:
        self._components[id(instance)] = name

    def use(self, name: str, what: str) -> None:
        if self.importing:
            return
        top = name.partition(".")[0]
        component = self._component()
        user = f"component '{component}' (node '{self.node}')" if component else f"code on node '{self.node}'"
        needers = self.modules.get(top, [])
        raise NotOnThisMachine(NOT_ON_THIS_MACHINE.format(
            module=top, machine=self.machine, user=user, what=what,
            subject=f"'{component}'" if component else "it",
            needers=f" (it is used by {', '.join(needers)})" if needers else ""), name=top)

    def _component(self) -> Optional[str]:
        """The component whose code is running: the nearest ``self`` on the stack that is one of this Node's."""
        frame = sys._getframe(1)
        while frame is not None:
            name = self._components.get(id(frame.f_locals.get("self")))
            if name is not None:
                return name
            frame = frame.f_back
        return self.building


_installed: List[MachineStandIns] = []


def for_plan(plan: Dict) -> Optional[MachineStandIns]:
    """The process's stand-ins for a node plan (installed once, kept for the life of the process)."""
    modules = plan.get("stand_ins") or {}
    if not modules:
        return None
    for finder in _installed:
        if finder.modules == {top: sorted(who) for top, who in modules.items()}:
            return finder
    finder = MachineStandIns(plan.get("machine") or "local", plan.get("node") or "local", modules).install()
    _installed.append(finder)
    return finder
