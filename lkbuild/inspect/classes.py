"""What the IR records about one Component class, read from its source (never by running it)."""
from __future__ import annotations

import inspect as pyinspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from .distributions import distribution, is_requirement
from .facts import ClassFact, ConfigField
from .project import Project


@dataclass
class ImportUse:
    """A third-party module the class needs, and the distribution that provides it."""

    module: str  # top-level import name
    requirement: str  # "numpy==2.4.6", or the bare name when it is not installed here
    installed: bool
    used: bool  # the class's code uses it (False: only its module imports it; a stand-in does there)
    file: str
    line: int
    col: int


@dataclass
class ClassSource:
    file: str
    qualname: str
    line: int
    col: int
    forward: Optional[Tuple[str, int, int]] = None  # (file, line, col): may be on a base class
    config: List[ConfigField] = field(default_factory=list)
    imports: List[ImportUse] = field(default_factory=list)
    local_modules: List[str] = field(default_factory=list)  # relative to the system's root

    @property
    def requirements(self) -> List[str]:
        """What the class's code really uses. A module its file merely imports is not one: on a machine
        where no component uses it, the runtime stands in for it (``lk_runtime.stand_ins``)."""
        return sorted({i.requirement for i in self.imports if i.used}, key=str.lower)


def class_file(cls) -> Optional[Path]:
    """The source file of a class, if it has one (classes typed into a REPL have none)."""
    try:
        file = pyinspect.getsourcefile(cls)
    except TypeError:
        return None
    return Path(file).resolve() if file and os.path.isfile(file) else None


def describe(project: Project, file: Path, qualname: str, root: Path) -> Optional[ClassSource]:
    """The class's positions, Config fields, imports and local modules; None if the source lacks it."""
    key = (Path(file), qualname, Path(root))
    if key not in project.described:
        project.described[key] = _describe(project, file, qualname, root)
    return project.described[key]


def _describe(project: Project, file: Path, qualname: str, root: Path) -> Optional[ClassSource]:
    if not project.is_local(Path(file)):
        return _installed_class(project, Path(file), qualname)
    try:
        source = project.file(file)
    except OSError:
        return None
    fact: Optional[ClassFact] = source.facts.classes.get(qualname)
    if fact is None:
        return None
    needs = project.needs(source, qualname)
    imports = []
    for top, need in sorted(needs.third_party.items()):
        dist = distribution(top)
        imports.append(ImportUse(top, dist.requirement, dist.version is not None, need.used, str(need.file),
                                 need.line, need.col))
    local = sorted(_relative(p, root) for p in needs.local_files)
    config = fact.config if fact.config is not None else _inherited_config(project, source, qualname)
    return ClassSource(
        file=str(source.path), qualname=qualname, line=fact.line, col=fact.col,
        forward=_forward_position(project, source, qualname),
        config=list(config or []), imports=imports, local_modules=local,
    )


def _installed_class(project: Project, file: Path, qualname: str) -> Optional[ClassSource]:
    """A component class from an installed package: its distribution is the requirement, nothing to copy."""
    try:
        source = project.file(file)
    except OSError:
        return None
    fact = source.facts.classes.get(qualname)
    if fact is None:
        return None
    found = ClassSource(file=str(file), qualname=qualname, line=fact.line, col=fact.col,
                        forward=(str(file), fact.forward.line, fact.forward.col) if fact.forward else None,
                        config=list(fact.config or []))
    top = _installed_top_level(file)
    if top and is_requirement(top):
        dist = distribution(top)
        found.imports.append(ImportUse(top, dist.requirement, dist.version is not None, True, str(file), fact.line,
                                       fact.col))
    return found


def _installed_top_level(file: Path) -> Optional[str]:
    """The top-level package of a file under site-packages (``.../site-packages/mylib/x.py`` -> mylib)."""
    parts = file.parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            rest = parts[parts.index(marker) + 1:]
            return Path(rest[0]).stem if rest else None
    return None


def _relative(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def _forward_position(project: Project, source, qualname: str, depth: int = 0):
    """Where forward is defined: on the class, or on the nearest project base class that has one."""
    fact = source.facts.classes[qualname]
    if fact.forward is not None:
        return str(source.path), fact.forward.line, fact.forward.col
    if depth > 20:
        return None
    for base_source, base_qualname in project.bases_in_project(source, qualname):
        found = _forward_position(project, base_source, base_qualname, depth + 1)
        if found is not None:
            return found
    return None


def _inherited_config(project: Project, source, qualname: str, depth: int = 0):
    for base_source, base_qualname in project.bases_in_project(source, qualname):
        fact = base_source.facts.classes[base_qualname]
        if fact.config is not None:
            return fact.config
        if depth < 20:
            found = _inherited_config(project, base_source, base_qualname, depth + 1)
            if found is not None:
                return found
    return None
