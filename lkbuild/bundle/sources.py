"""The Python sources a bundle carries: the user's modules, lkbuild's user API, and lk_runtime.

Inside a bundle everything importable lives under ``app/src``: the user modules, and ``lkbuild`` (its API and
the whole runtime, ``lkbuild/runtime_stubs/lk_runtime``, carried once and imported under that one name by
the API and every entrypoint); the components' recorded import roots are moved there (``relocate``).
"""
from __future__ import annotations

import ast
import dataclasses
import importlib.util
from pathlib import Path, PurePosixPath
from typing import Dict, Iterable, List, Set

from ..errors import ConfigError

APP = "/app"
SRC = "app/src"
IMAGE_SRC = f"{APP}/src"
_SKIP_DIRS = {"__pycache__"}


def relocate(spec, components: Iterable[str]):
    """The IR with each named component's file and import root moved to where the bundle puts them."""
    moved = []
    names = set(components)
    for c in spec.components:
        if c.name in names:
            rel = module_path(c)
            c = dataclasses.replace(c, file=f"{IMAGE_SRC}/{rel}", import_root=IMAGE_SRC)
        moved.append(c)
    return dataclasses.replace(spec, root=IMAGE_SRC, components=tuple(moved))


def module_path(component) -> str:
    """The component's module file relative to its import root (``pkg/mod.py``)."""
    file, root = Path(component.file), Path(component.import_root)
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        raise ConfigError(
            f"Component '{component.name}': its module file {file} is not under its import root {root}; "
            "the bundle cannot tell which path to import it from."
        ) from None


def user_files(spec, components) -> Dict[str, Path]:
    """{bundle path: source file} for the modules the components need (theirs + the inspector's list)."""
    files: Dict[str, Path] = {}
    for c in components:
        root = Path(c.import_root)
        _add_module_file(files, root, Path(c.file))
        for entry in c.local_modules:
            _add_module_file(files, root, _local_module_file(spec, c, entry))
    return dict(sorted(files.items()))


def _local_module_file(spec, component, entry: str) -> Path:
    """A ``local_modules`` entry (a path relative to the system's root, or a module name) as a file."""
    if entry.endswith(".py") or "/" in entry:
        path = Path(spec.root) / entry
    else:
        base = Path(component.import_root).joinpath(*entry.split("."))
        path = base / "__init__.py" if (base / "__init__.py").is_file() else base.with_suffix(".py")
    if not path.is_file():
        raise ConfigError(f"Component '{component.name}' needs the local module '{entry}', but {path} does not "
                          "exist. Recompile after fixing the import.")
    return path


def _add_module_file(files: Dict[str, Path], root: Path, path: Path) -> None:
    path = path.resolve()
    root = root.resolve()
    try:
        rel = path.relative_to(root)
    except ValueError:
        raise ConfigError(f"{path} is outside the import root {root}; a bundle copies only modules below it. "
                          "Move the module into the project, or install it as a package.") from None
    files[f"{SRC}/{rel.as_posix()}"] = path
    # Parent packages must come along, or the module cannot be imported by its dotted name.
    for parent in rel.parents:
        if parent == Path("."):
            break
        init = root / parent / "__init__.py"
        if init.is_file():
            files[f"{SRC}/{(parent / '__init__.py').as_posix()}"] = init


# -- lkbuild's user API --------------------------------------------------------------------------------------
def api_modules(root: str = "lkbuild") -> List[str]:
    """The lkbuild modules ``import lkbuild`` loads: the API and what it imports at module level.

    Imports inside functions are lazy on purpose (jinja2, click, the IR, engines) and stay out, so a
    bundle can ``import lkbuild`` where none of the build-time dependencies is installed.
    """
    seen: Set[str] = set()
    todo = [root]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            continue
        is_package = spec.submodule_search_locations is not None
        package = name if is_package else name.rpartition(".")[0]
        for imported in _top_level_imports(Path(spec.origin), package):
            if imported == root or imported.startswith(root + "."):
                todo.extend(_with_parents(imported, root))
    return sorted(seen)


def _with_parents(name: str, root: str) -> List[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]).startswith(root)]


def _top_level_imports(path: Path, package: str) -> List[str]:
    """Modules imported by statements that run at import time (not inside def/class bodies)."""
    tree = ast.parse(path.read_text(), str(path))
    found: List[str] = []
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) \
                if node.level else node.module
            found.append(base)
            # ``from . import system`` imports a submodule when one exists by that name.
            found += [f"{base}.{alias.name}" for alias in node.names
                      if base.startswith("lkbuild") and _find_spec_quiet(f"{base}.{alias.name}") is not None]
        elif isinstance(node, (ast.If, ast.Try)):
            for block in ("body", "orelse", "finalbody"):
                stack.extend(getattr(node, block, []))
            stack.extend(h for handler in getattr(node, "handlers", []) for h in handler.body)
    return found


def _find_spec_quiet(name: str):
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


def api_files() -> Dict[str, bytes]:
    """{bundle path: bytes} of the lkbuild API modules under ``app/src/lkbuild/``."""
    files: Dict[str, bytes] = {}
    for name in api_modules():
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin)
        rel = PurePosixPath(*name.split("."))
        rel = rel / "__init__.py" if spec.submodule_search_locations is not None else rel.with_suffix(".py")
        files[f"{SRC}/{rel}"] = origin.read_bytes()
    return dict(sorted(files.items()))


def runtime_files() -> Dict[str, bytes]:
    """{bundle path: bytes} of the whole lk_runtime, where the API's own imports of it also live."""
    spec = importlib.util.find_spec("lkbuild.runtime_stubs.lk_runtime")
    base = Path(spec.origin).parent
    files = {}
    for path in sorted(base.rglob("*.py")):
        if _SKIP_DIRS.intersection(path.relative_to(base).parts):
            continue
        files[f"{SRC}/lkbuild/runtime_stubs/lk_runtime/{path.relative_to(base).as_posix()}"] = path.read_bytes()
    return files
