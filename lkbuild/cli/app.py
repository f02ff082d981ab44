"""The application object every command receives (``ctx.obj``)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

from ..errors import ConfigError
from ..loader import project_settings

INSPECT_CACHE = Path(".lk_build") / "cache" / "inspect"
# [tool.lkbuild] keys that become option defaults, and the commands that take them.
_DEFAULTS = {
    "engine": ("compile", "launch", "bundle"),
    "out": ("compile", "launch", "bundle", "clean"),
    "iterations": ("launch",),
    "coordinator_addr": ("launch", "bundle"),
}


@dataclass
class App:
    debug: bool = False
    cwd: Path = field(default_factory=Path.cwd)
    settings: Dict[str, Any] = field(default_factory=dict)
    pyproject: Optional[Path] = None

    @classmethod
    def create(cls, debug: bool = False, directory: Optional[Path] = None) -> "App":
        if directory is not None:
            os.chdir(directory)
        settings, pyproject = project_settings(Path.cwd())
        if pyproject is not None:
            check_settings(settings, pyproject)
        return cls(debug=debug, cwd=Path.cwd(), settings=settings, pyproject=pyproject)

    def default_map(self) -> Dict[str, Dict[str, Any]]:
        """Option defaults from [tool.lkbuild] (an option on the command line wins)."""
        defaults: Dict[str, Dict[str, Any]] = {}
        for key, commands in _DEFAULTS.items():
            if key in self.settings:
                for command in commands:
                    defaults.setdefault(command, {})[key] = self.settings[key]
        return defaults

    def load_system(self, target: Optional[str], strict_imports: bool = False, cache_dir: Optional[Path] = None):
        """Load SYSTEM; the inspector caches what it reads under ``cache_dir`` (default .lk_build/cache/inspect)."""
        from ..loader import load_system

        self.use_inspect_cache(cache_dir)
        return load_system(target, self.cwd, strict_imports=strict_imports)

    def use_inspect_cache(self, cache_dir: Optional[Path] = None) -> None:
        """Keep what the inspector reads from sources under ``cache_dir`` (default .lk_build/cache/inspect).

        The cache lives in a build directory; where that directory is not lkbuild's to write into (see
        ``output.check_out_dir``), facts are kept in memory only.
        """
        from ..errors import ConfigError
        from ..inspect import use_directory
        from ..output import claim_build_dir

        directory = self.cwd / (cache_dir or INSPECT_CACHE)  # absolute: the cache outlives a chdir
        try:
            claim_build_dir(directory.parent.parent, self.cwd)
        except ConfigError:
            use_directory(None)
            return
        use_directory(directory)


def check_settings(settings: Dict[str, Any], pyproject: Path) -> None:
    """Refuse a [tool.lkbuild] value the command line would refuse, naming pyproject.toml and the key."""
    from ..engines import ENGINES
    from ..output import check_out_dir

    where = f"{os.path.relpath(pyproject)}: [tool.lkbuild]"
    known = ("system", *_DEFAULTS)
    for key, value in settings.items():
        if key not in known:
            raise ConfigError(f"{where} has an unknown key '{key}'; the keys are {', '.join(known)}.")
        if key == "iterations":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{where} iterations must be a whole number, 0 or more. Received: {value!r}")
            continue
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where} {key} must be a non-empty string. Received: {value!r}")
        if key == "engine" and value not in ENGINES:
            raise ConfigError(f"{where} engine = {value!r} is not an engine. Known engines: "
                              f"{', '.join(sorted(ENGINES))}.")
        if key == "out":
            check_out_dir(value, pyproject.parent, what=f"{where} out = {value!r}")
