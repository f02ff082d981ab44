"""Turns ``path/to/robot.py[:attr]`` (or pyproject's ``[tool.lkbuild] system``) into a System.

The user's file is imported in *build mode*: under its own module name (so ``if __name__ ==
"__main__":`` blocks do not run) and with ``System.launch``/``compile`` refused at import time.
Third-party modules that component files import but this machine lacks (a Jetson's ``tensorrt`` on a
laptop) are replaced by stand-ins while the file is imported (``lkbuild.inspect.stand_ins``); each one is
reported as a warning naming the machines that need it, or as an error with ``strict_imports``.
"""
from __future__ import annotations

import importlib.util
import os
import re
import sys
import traceback
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Optional, Set, Tuple

from .component import Component
from . import system as system_module
from .errors import ConfigError, InspectError, Location, LkbuildError, UserError
from .system import System

_ATTR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
NO_TARGET = (
    "No SYSTEM given and no `system = \"path/to/robot.py:attr\"` under [tool.lkbuild] in pyproject.toml. "
    "Pass the system as path/to/robot.py or path/to/robot.py:attribute."
)


def find_pyproject(start: Path) -> Optional[Path]:
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def project_settings(start: Optional[Path] = None) -> Tuple[Dict[str, Any], Optional[Path]]:
    """``[tool.lkbuild]`` of the nearest pyproject.toml (and that file's path)."""
    path = find_pyproject(Path(start or os.getcwd()).resolve())
    if path is None:
        return {}, None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse pyproject.toml: {exc}") from None
    settings = data.get("tool", {}).get("lkbuild", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"{path}: [tool.lkbuild] must be a table.")
    return settings, path


def parse_target(target: Optional[str], cwd: Optional[Path] = None) -> Tuple[Path, Optional[str]]:
    """``(file, attribute or None)`` from a SYSTEM argument, falling back to pyproject.toml."""
    cwd = Path(cwd or os.getcwd())
    base = cwd
    target_given = bool(target)
    if not target:
        settings, pyproject = project_settings(cwd)
        target = settings.get("system")
        if not target:
            raise ConfigError(NO_TARGET)
        if not isinstance(target, str):
            raise ConfigError(f"{pyproject}: [tool.lkbuild] system must be a string like \"robot.py:system\".")
        base = pyproject.parent
    path_text, attr = target, None
    if ":" in target and not target.endswith(".py"):
        path_text, attr = target.rsplit(":", 1)
        if not _ATTR.match(attr):
            raise ConfigError(f"'{attr}' in '{target}' is not a Python attribute name. Use path/to/robot.py:name.")
    path = (base / path_text).resolve()
    # Named by pyproject.toml: the message says so, since the command line named nothing.
    origin = "" if target_given else f"{os.path.relpath(base / 'pyproject.toml', cwd)}: [tool.lkbuild] system: "
    if not path.exists():
        raise UserError(f"{origin}{path_text}: no such file. Pass the Python file that defines the system.")
    if path.is_dir():
        raise UserError(f"{origin}{path_text} is a directory. Pass the Python file that defines the system.")
    if path.suffix != ".py":
        raise UserError(f"{origin}{path_text} is not a Python file (.py).")
    return path, attr


@contextmanager
def build_mode():
    previous = system_module.BUILD_MODE
    system_module.BUILD_MODE = True
    try:
        yield
    finally:
        system_module.BUILD_MODE = previous


def import_file(path: Path, strict_imports: bool = False):
    """Import a user file as a module named after it, reporting errors at the user's line."""
    return _import_file(path, strict_imports)[0]


def _import_file(path: Path, strict_imports: bool = False):
    """``(module, stand-ins used: top-level name -> full names)``."""
    from .inspect.stand_ins import stand_ins

    name = path.stem
    if not name.isidentifier():
        raise UserError(f"{path}: the file name must be a valid Python module name (letters, digits, _).")
    known = sys.modules.get(name)
    if known is not None and os.path.abspath(getattr(known, "__file__", "") or "") != str(path):
        del sys.modules[name]
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with build_mode(), stand_ins(lambda: component_imports(path), strict_imports) as finder:
            spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[name]
        where = Location(exc.filename or str(path), exc.lineno or 0, (exc.offset or 1) - 1)
        raise InspectError(f"syntax error: {exc.msg}", where) from None
    except LkbuildError as exc:
        del sys.modules[name]
        if exc.location is None:  # raised by lkbuild's API: the user's line is the call that failed
            exc.location = _user_frame(exc, path)
        raise
    except ModuleNotFoundError as exc:
        del sys.modules[name]
        if not exc.name:
            raise UserError(f"importing {path.name} raised ModuleNotFoundError: {exc}", _user_frame(exc, path)) from exc
        raise UserError(NOT_INSTALLED.format(module=exc.name), _user_frame(exc, path)) from exc
    except Exception as exc:
        del sys.modules[name]
        raise UserError(
            f"importing {path.name} raised {type(exc).__name__}: {exc}",
            _user_frame(exc, path),
        ) from exc
    return module, finder.used


NOT_INSTALLED = ("module '{module}' is not installed, and no component file imports it, so lkbuild cannot stand "
                 "in for it (a typo?). Install it, or fix the import.")


def component_imports(path: Path) -> Dict[str, Set[str]]:
    """Third-party top-level modules imported by the project's component files -> where (``file:line:col``).

    Read statically from ``path`` and the local files it imports; what lkbuild may stand in for.
    """
    from .inspect import Project, is_requirement

    project = Project([path.parent])
    found: Dict[str, Set[str]] = {}
    for source in project.walk([path]):
        if not project.component_classes(source):
            continue
        for imp in source.facts.imports:
            top = imp.module.split(".")[0]
            if imp.level or imp.optional or not is_requirement(top) or project.find_module(top):
                continue
            found.setdefault(top, set()).add(str(Location(str(source.path), imp.line, imp.col)))
    return found


def warn_stand_ins(system: System, used: Dict[str, Set[str]], path: Path) -> None:
    """One warning per stood-in module, naming the machines (and components) that need it."""
    from .inspect import Project, class_file, describe
    from .inspect.stand_ins import StandInWarning

    project = Project([system.root, path.parent])
    readings = []
    for c in system.components:
        if not isinstance(c, Component):
            continue  # a DoraNode or RosTopic: no class of the user's to read
        file = class_file(type(c))
        found = describe(project, file, type(c).__qualname__, Path(system.root)) if file else None
        readings.append((c, found.imports if found else []))
    for top in sorted(used):
        # only the components whose class uses it: elsewhere the machine stands in for it at run time too
        needers = [(c, i) for c, imports in readings for i in imports if i.module == top and i.used]
        if needers:
            machines = sorted({_machine_name(c) for c, _ in needers})
            components = ", ".join(sorted(f"'{c.name}'" for c, _ in needers))
            first = needers[0][1]
            need = (f"Needed on machine{'s' if len(machines) > 1 else ''} {', '.join(machines)} by component"
                    f"{'s' if len(needers) > 1 else ''} {components} (imported at "
                    f"{Location(first.file, first.line, first.col)}).")
        else:
            need = "No component of the system uses it."
        warnings.warn(f"module '{top}' is not installed here; lkbuild read the system with a stand-in for it. "
                      f"{need} Pass --strict-imports to make this an error.", StandInWarning, stacklevel=3)


def _machine_name(component) -> str:
    node = component.node
    if node is not None and node.machine is not None:
        return f"'{node.machine.name}'"
    return "'local' (no machine given)"


def _user_frame(exc: BaseException, path: Path) -> Optional[Location]:
    """The deepest traceback frame in the user's project (the system file's folder, installed packages
    aside), else in the system file, else the deepest one outside lkbuild."""
    frames = traceback.extract_tb(exc.__traceback__)
    lk = os.path.dirname(os.path.abspath(__file__))
    project = str(path.parent) + os.sep
    outside = [f for f in frames if not os.path.abspath(f.filename).startswith(lk) and "importlib" not in f.filename
               and not f.filename.startswith("<")]  # <string>: code Python generated (dataclass methods)
    for chosen in ([f for f in outside if os.path.abspath(f.filename).startswith(project)
                    and "site-packages" not in f.filename],
                   [f for f in frames if os.path.abspath(f.filename) == str(path)],
                   outside):
        if chosen:
            return Location(chosen[-1].filename, chosen[-1].lineno or 0)
    return Location(str(path))


def find_system(module, path: Path, attr: Optional[str]) -> System:
    if attr:
        obj = module
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise UserError(f"{path.name} has no attribute '{attr}'. {_systems_hint(module, path)}",
                                Location(str(path)))
            obj = getattr(obj, part)
        if not isinstance(obj, System):
            raise UserError(f"{path.name}:{attr} is a {type(obj).__name__}, not a System. "
                            f"{_systems_hint(module, path)}", Location(str(path)))
        return obj
    found = _systems(module)
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        raise UserError(f"{path.name} defines no System at module level. Create one, e.g. "
                        "`system = System(components=[...])`.", Location(str(path)))
    names = ", ".join(sorted(found))
    raise UserError(f"{path.name} defines several Systems ({names}); say which one: "
                    f"{path.name}:{sorted(found)[0]}.", Location(str(path)))


def _systems(module) -> Dict[str, System]:
    return {k: v for k, v in vars(module).items() if isinstance(v, System) and not k.startswith("_")}


def _systems_hint(module, path: Path) -> str:
    found = sorted(_systems(module))
    if not found:
        return "It defines no System at module level."
    return "Systems in it: " + ", ".join(f"{path.name}:{n}" for n in found) + "."


def load_system(target: Optional[str] = None, cwd: Optional[Path] = None, strict_imports: bool = False) -> System:
    """The System named by ``target`` (see module docstring).

    Args:
        strict_imports: a module a component imports but this machine lacks is an error, not a stand-in.
    """
    path, attr = parse_target(target, cwd)
    module, stood_in = _import_file(path, strict_imports)
    found = find_system(module, path, attr)
    if stood_in:
        found.stand_ins = tuple(sorted(stood_in))
        warn_stand_ins(found, stood_in, path)
    return found


def load_spec(target: Optional[str] = None, cwd: Optional[Path] = None, strict_imports: bool = False):
    """The IR of the System named by ``target``."""
    return load_system(target, cwd, strict_imports).spec()
