"""The user's project as source files: local modules, Component classes, and what each class needs.

A module is *local* when it resolves to a file under one of the project's roots (the system file's
folder, a component's import root); everything else is installed (or must be) — the standard library,
lkbuild, or a third-party requirement.
"""
from __future__ import annotations

import os
import sysconfig
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from .cache import FactsCache, cache as default_cache
from .distributions import NOT_REQUIREMENTS, is_requirement
from .facts import MODULE_OWNER, ClassFact, FileFacts, ImportFact

COMPONENT_BASES = frozenset({"lkbuild.Component", "lkbuild.component.Component"})


@dataclass
class SourceFile:
    path: Path
    module: str  # dotted name under its import root
    facts: FileFacts

    @property
    def package(self) -> str:
        """The package relative imports start from."""
        if self.path.name == "__init__.py":
            return self.module
        return self.module.rpartition(".")[0]


@dataclass
class Need:
    """A module a class needs: ``used`` when the class (or what it calls) uses it, else its file imports it."""

    module: str  # absolute dotted name as imported
    used: bool
    file: Path
    line: int
    col: int


@dataclass
class Needs:
    third_party: Dict[str, Need] = field(default_factory=dict)  # top-level import name -> first reason
    local_files: Set[Path] = field(default_factory=set)


def is_installed(path: Path) -> bool:
    """A path inside an installation (site-packages, the standard library), never part of a project."""
    if {"site-packages", "dist-packages"} & set(path.parts):
        return True
    stdlib = _stdlib()
    return path == stdlib or stdlib in path.parents


@lru_cache(maxsize=None)
def _stdlib() -> Path:
    return Path(sysconfig.get_paths()["stdlib"]).resolve()


class Project:
    """Source files reachable from where a system starts, read through the facts cache."""

    def __init__(self, roots: Sequence[os.PathLike | str], facts_cache: Optional[FactsCache] = None):
        self.roots: List[Path] = []
        for r in roots:
            resolved = Path(r).resolve()
            if resolved not in self.roots and not is_installed(resolved):
                self.roots.append(resolved)
        self.cache = facts_cache or default_cache()
        self._files: Dict[Path, SourceFile] = {}
        self._given: Dict[str, SourceFile] = {}
        self._found: Dict[str, Optional[Path]] = {}
        self._component_memo: Dict[Tuple[Path, str], bool] = {}
        self.described: Dict[tuple, object] = {}  # classes.describe() results, per class

    # -- files and modules ----------------------------------------------------------------------------
    def file(self, path: os.PathLike | str, module: Optional[str] = None) -> SourceFile:
        """The facts of one file (raises OSError if it cannot be read)."""
        known = self._given.get(str(path))  # resolving paths is costly: remember each spelling once
        if known is not None:
            return known
        resolved = Path(path).resolve()
        known = self._files.get(resolved)
        if known is None:
            known = SourceFile(resolved, module or self.module_name(resolved), self.cache.facts(resolved))
            self._files[resolved] = known
        self._given[str(path)] = known
        return known

    @property
    def files(self) -> List[SourceFile]:
        return list(self._files.values())

    def is_local(self, path: Path) -> bool:
        """Whether a file belongs to the project (lies under one of its roots)."""
        return not is_installed(path) and any(path == root or root in path.parents for root in self.roots)

    def module_name(self, path: Path) -> str:
        for root in self.roots:
            try:
                rel = path.relative_to(root)
            except ValueError:
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            return ".".join(parts)
        return path.stem

    def find_module(self, name: str) -> Optional[Path]:
        """The local file of a dotted module name, or None when it is not part of the project."""
        if name in self._found:
            return self._found[name]
        found = None
        parts = name.split(".")
        if parts[0] and parts[0] not in NOT_REQUIREMENTS and all(p.isidentifier() for p in parts):
            for root in self.roots:
                base = root.joinpath(*parts)
                for candidate in (base / "__init__.py", base.with_suffix(".py")):
                    if candidate.is_file() and not is_installed(candidate):
                        found = candidate.resolve()
                        break
                if found is not None:
                    break
        self._found[name] = found
        return found

    def absolute(self, source: SourceFile, imp: ImportFact) -> str:
        """The absolute module an import names (relative imports resolved against the file's package)."""
        if not imp.level:
            return imp.module
        base = source.package.split(".") if source.package else []
        if imp.level > 1:
            base = base[: len(base) - (imp.level - 1)]
        return ".".join([p for p in base + [imp.module] if p])

    def absolute_name(self, source: SourceFile, qualified: str) -> str:
        """A libcst qualified name (``.utils.f``, ``..pkg.X``) made absolute."""
        if not qualified.startswith("."):
            return qualified
        level = len(qualified) - len(qualified.lstrip("."))
        return self.absolute(source, ImportFact(module=qualified[level:], name="", line=0, col=0, level=level))

    def targets(self, source: SourceFile, imp: ImportFact) -> List[str]:
        """The modules an import statement loads: parents first (``import a.b`` runs ``a`` then ``a.b``)."""
        module = self.absolute(source, imp)
        parts = module.split(".") if module else []
        loaded = [".".join(parts[: i + 1]) for i in range(len(parts))]
        if imp.attr and imp.attr != "*":
            sub = f"{module}.{imp.attr}" if module else imp.attr
            if self.find_module(sub) is not None:
                loaded.append(sub)
        return loaded

    def local_files(self, source: SourceFile, imp: ImportFact) -> List[Path]:
        return [p for p in (self.find_module(t) for t in self.targets(source, imp)) if p is not None]

    def walk(self, start: Iterable[os.PathLike | str]) -> List[SourceFile]:
        """Every local file reachable from ``start`` through any import; unreadable files are skipped."""
        todo = [Path(p).resolve() for p in start]
        seen: Set[Path] = set()
        found = []
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            try:
                source = self.file(path)
            except OSError:
                continue
            found.append(source)
            for imp in source.facts.imports:
                todo.extend(self.local_files(source, imp))
        return sorted(found, key=lambda s: str(s.path))

    # -- components -----------------------------------------------------------------------------------
    def resolve_class(self, source: SourceFile, qualified: Tuple[str, str]) -> Optional[Tuple[SourceFile, str]]:
        """The (file, qualname) of a class named by a libcst qualified name, when it is in the project."""
        name, kind = qualified
        if kind == "local":
            return (source, name) if name in source.facts.classes else None
        if kind != "import":
            return None
        parts = self.absolute_name(source, name).split(".")
        for cut in range(len(parts) - 1, 0, -1):
            path = self.find_module(".".join(parts[:cut]))
            if path is not None:
                target = self.file(path, ".".join(parts[:cut]))
                qualname = ".".join(parts[cut:])
                if qualname in target.facts.classes:
                    return target, qualname
                return self._reexported(target, qualname)
        return None

    def _reexported(self, source: SourceFile, name: str) -> Optional[Tuple[SourceFile, str]]:
        """A class a package's module imports from elsewhere (``from .camera import Camera``)."""
        for imp in source.facts.imports:
            if imp.name == name and imp.owner is None and imp.attr and imp.attr != "*":
                prefix = "." * imp.level + imp.module
                qualified = f"{prefix}.{imp.attr}" if imp.module else prefix + imp.attr
                return self.resolve_class(source, (qualified, "import"))
        return None

    def is_component(self, source: SourceFile, qualname: str, _seen: Optional[Set] = None) -> bool:
        """Whether a class derives from lkbuild's Component, following bases through the project."""
        key = (source.path, qualname)
        if key in self._component_memo:
            return self._component_memo[key]
        seen = _seen or set()
        if key in seen:
            return False
        seen.add(key)
        result = False
        for base in source.facts.classes[qualname].bases:
            for name, kind in base:
                if kind == "import" and self.absolute_name(source, name) in COMPONENT_BASES:
                    result = True
                else:
                    where = self.resolve_class(source, (name, kind))
                    result = where is not None and self.is_component(where[0], where[1], seen)
                if result:
                    break
            if result:
                break
        self._component_memo[key] = result
        return result

    def component_classes(self, source: SourceFile) -> List[ClassFact]:
        return [c for q, c in source.facts.classes.items() if self.is_component(source, q)]

    def bases_in_project(self, source: SourceFile, qualname: str) -> List[Tuple[SourceFile, str]]:
        found = []
        for base in source.facts.classes[qualname].bases:
            for q in base:
                where = self.resolve_class(source, q)
                if where is not None:
                    found.append(where)
        return found

    def has_external_base(self, source: SourceFile, qualname: str) -> bool:
        """A base that is neither lkbuild's Component nor a project class: its methods are unknown."""
        for base in source.facts.classes[qualname].bases:
            names = [self.absolute_name(source, n) for n, _ in base]
            if any(n in COMPONENT_BASES for n in names):
                continue
            if not any(self.resolve_class(source, q) for q in base):
                return True
        return False

    # -- what a class needs -----------------------------------------------------------------------------
    def needs(self, source: SourceFile, qualname: str) -> Needs:
        """Third-party modules and local files that the class's code needs to import and run."""
        needs = Needs()
        owner = source.facts.classes[qualname].owner
        self._needs_of(source, {owner}, True, needs, set())
        return needs

    def _needs_of(self, source: SourceFile, start: Optional[Set[str]], on_path: bool, needs: Needs,
                  done: Set) -> None:
        """Walk ``source`` from the owners in ``start`` (None: all of the file).

        ``on_path``: the class's code reaches this file through what it uses (not only by importing).
        """
        key = (source.path, frozenset(start) if start is not None else None, on_path)
        if key in done:
            return
        done.add(key)
        needs.local_files.add(source.path)
        self._package_inits(source, needs, done)
        facts = source.facts
        used = self._reachable(facts, start)
        bound_used = set()
        for owner in used:
            bound_used.update(facts.uses.get(owner, ()))
        for imp in facts.imports:
            in_scope = imp.owner is None or start is None or imp.owner in used
            if not in_scope or imp.optional:  # optional imports are the user's fallback, not a need
                continue
            is_used = on_path and (imp.owner is not None or imp.name in bound_used)
            local = self.local_files(source, imp)
            if local:
                for path in local:
                    target = self.file(path)
                    # `from m import f` needs f's code; `from pkg import sub`, the module's own code
                    names = {imp.attr} if imp.attr and imp.attr != "*" and path == local[-1] else None
                    if names and not (names & set(target.facts.defs)):
                        names = {MODULE_OWNER}
                    self._needs_of(target, names, is_used, needs, done)
                continue
            module = self.absolute(source, imp)
            if not is_requirement(module) or imp.level:
                continue
            top = module.split(".")[0]
            known = needs.third_party.get(top)
            if known is None or (is_used and not known.used):
                needs.third_party[top] = Need(module, is_used, source.path, imp.line, imp.col)

    @staticmethod
    def _reachable(facts: FileFacts, start: Optional[Set[str]]) -> Set[str]:
        if start is None:
            return set(facts.defs) | {MODULE_OWNER}
        seen, todo = set(), list(start)
        while todo:
            owner = todo.pop()
            if owner in seen:
                continue
            seen.add(owner)
            todo.extend(n for n in facts.uses.get(owner, ()) if n in facts.defs)
        return seen

    def _package_inits(self, source: SourceFile, needs: Needs, done: Set) -> None:
        """Importing ``pkg.mod`` runs ``pkg/__init__.py`` first: it and what it imports are needed too."""
        parts = source.module.split(".")
        for i in range(1, len(parts)):
            init = self.find_module(".".join(parts[:i]))
            if init is not None and init.name == "__init__.py":
                self._needs_of(self.file(init), {MODULE_OWNER}, False, needs, done)
