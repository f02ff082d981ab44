"""Static inspection of Component classes with libcst: what the IR needs, and the lint.

Nothing here imports or runs the user's code: sources are parsed (``reader``), the facts cached by
content hash (``cache``), linked across the project's files (``project``), turned into what the IR
records per component (``classes``: positions, Config fields, third-party imports mapped to
distributions, local modules) and into lint findings (``lint``). ``stand_ins`` lets lkbuild import a
system whose robot-only packages are not installed where it runs.

libcst itself loads only when a file has to be parsed.
"""
from .cache import FactsCache, use_directory
from .classes import ClassSource, ImportUse, class_file, describe
from .distributions import Distribution, distribution, is_requirement, is_stdlib
from .lint import Finding, lint_project, lint_system_file
from .project import Project

__all__ = [
    "ClassSource", "Distribution", "FactsCache", "Finding", "ImportUse", "Project", "class_file", "describe",
    "distribution", "is_requirement", "is_stdlib", "lint_project", "lint_system_file", "use_directory",
]
