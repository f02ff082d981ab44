"""Turns ``path/to/robot.py[:attr]`` (or pyproject's ``[tool.lkbuild] system``) into a System.

The user's file is imported in *build mode*: under its own module name (so ``if __name__ ==
"__main__":`` blocks do not run) and with ``System.launch``/``compile`` refused at import time.
"""
from __future__ import annotations

import importlib.util
import os
import re
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

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
    if not path.exists():
        raise UserError(f"{path_text}: no such file. Pass the Python file that defines the system.")
    if path.is_dir():
        raise UserError(f"{path_text} is a directory. Pass the Python file that defines the system.")
    if path.suffix != ".py":
        raise UserError(f"{path_text} is not a Python file (.py).")
    return path, attr


@contextmanager
def build_mode():
    previous = system_module.BUILD_MODE
    system_module.BUILD_MODE = True
    try:
        yield
    finally:
        system_module.BUILD_MODE = previous


def import_file(path: Path):
    """Import a user file as a module named after it, reporting errors at the user's line."""
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
        with build_mode():
            spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[name]
        where = Location(exc.filename or str(path), exc.lineno or 0, (exc.offset or 1) - 1)
        raise InspectError(f"syntax error: {exc.msg}", where) from None
    except LkbuildError:
        del sys.modules[name]
        raise
    except Exception as exc:
        del sys.modules[name]
        raise UserError(
            f"importing {path.name} raised {type(exc).__name__}: {exc}",
            _user_frame(exc, path),
        ) from exc
    return module


def _user_frame(exc: BaseException, path: Path) -> Optional[Location]:
    """The deepest traceback frame in the user's own file, else the deepest one outside lkbuild."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if os.path.abspath(f.filename) == str(path)]
    if mine:
        return Location(mine[-1].filename, mine[-1].lineno or 0)
    lk = os.path.dirname(os.path.abspath(__file__))
    others = [f for f in frames if not os.path.abspath(f.filename).startswith(lk) and "importlib" not in f.filename]
    return Location(others[-1].filename, others[-1].lineno or 0) if others else Location(str(path))


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


def load_system(target: Optional[str] = None, cwd: Optional[Path] = None) -> System:
    """The System named by ``target`` (see module docstring)."""
    path, attr = parse_target(target, cwd)
    module = import_file(path)
    found = find_system(module, path, attr)
    return found


def load_spec(target: Optional[str] = None, cwd: Optional[Path] = None):
    """The IR of the System named by ``target``."""
    return load_system(target, cwd).spec()
