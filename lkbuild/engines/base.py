"""The ``Engine`` interface every backend implements."""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import List, Optional, Tuple, Union

from ..errors import GraphError, Problem

DEFAULT_OUT = ".lk_build"


class Engine(ABC):
    """Compiles a system for one backend and launches it.

    ``system`` is a ``System`` or its IR (``SystemSpec``); generators only ever see the IR.
    """

    name = ""

    def __init__(self, out_dir: Union[str, os.PathLike] = DEFAULT_OUT):
        self.out_dir = Path(out_dir)

    @abstractmethod
    def compile(self, system) -> Optional[Path]:
        """Generate this engine's files under ``out_dir``; return the path of its main config."""

    @abstractmethod
    def launch(self, system, config_path, **kwargs):
        """Run a compiled system (``config_path`` is what ``compile`` returned)."""

    def validate(self, system) -> Tuple[bool, List[str]]:
        """``(ok, problems)`` for this system on this engine."""
        try:
            spec = as_spec(system)
        except GraphError as exc:
            return False, exc.problems
        found = spec.validate() + self.engine_problems(spec)
        return not found, found

    def problems(self, spec) -> List[str]:
        """Engine-specific problems on top of the IR's own validation."""
        return []

    def launch_spec(self, system):
        """The IR a launch runs: the system's, or with ``system=None`` the one compiled into ``out_dir``."""
        if system is None:
            return read_system_json(self.out_dir / "system.json")
        return self.checked_spec(system)

    def engine_problems(self, spec) -> List[Problem]:
        """``problems()`` as Problems (code LK270), and foreign endpoints this engine cannot serve (LK277)."""
        from ..graph.validate import foreign_on_engine

        return [Problem(p, "LK270") for p in self.problems(spec)] + foreign_on_engine(spec, self.name)

    def checked_spec(self, system):
        """The IR, validated for this engine; raises GraphError with every problem."""
        spec = as_spec(system)
        found = spec.validate() + self.engine_problems(spec)
        if found:
            raise GraphError(found)
        return spec


def as_spec(system):
    """The IR of a ``System`` (or the IR itself)."""
    from ..graph import SystemSpec

    if isinstance(system, SystemSpec):
        return system
    return system.spec()


def write_system_json(out_dir: Path, spec) -> Path:
    """Claim the build directory for ``spec`` (``output.claim_build_dir``), then write the IR into it."""
    from ..output import claim_build_dir, write_generated

    claim_build_dir(out_dir, os.getcwd(), spec)
    write_generated(out_dir, {"system.json": spec.to_json().encode()})
    return Path(out_dir) / "system.json"


def read_system_json(path):
    """The IR a compile wrote (``SystemSpec``)."""
    from ..errors import ConfigError
    from ..graph import SystemSpec

    try:
        return SystemSpec.from_json(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}. Run `lkbuild compile` first.") from None
