"""The top-level build Makefile (``<out>/Makefile``): per machine ``bundle-M``, ``image-M``, ``save-M``,
``up-M``; and ``run``, ``clean``.

``generate(spec, options)`` is pure. Options: ``out`` (the build directory, as given to lkbuild),
``system`` (the SYSTEM argument lkbuild was given), ``project`` (the absolute project directory the
recipes ``cd`` into; default: found from the Makefile's place). Without ``system``, the file every component was
created in stands for it (where ``System(...)`` usually is); failing that, ``[tool.lkbuild] system`` in
pyproject.toml decides.
"""
from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath
from typing import Any, Dict

from ..templating import render

PACKAGE = "lkbuild.generators.make"
# Machine names become make targets and lkbuild arguments: only these characters can.
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def make_word(text: str) -> str:
    """``text`` as one shell word in a make variable: shell-quoted, then ``$`` and ``#`` escaped for make.

    Every character but a line break survives: make expands ``$$`` to ``$`` and reads ``\\#`` as ``#``;
    the recipe's shell then sees the quoted word.
    """
    if any(c in text for c in "\n\r\0"):
        from ...errors import ConfigError

        raise ConfigError(f"{text!r} cannot be written into a Makefile: make cannot hold a line break in a "
                          "value. Use a path without one.")
    return shlex.quote(text).replace("$", "$$").replace("#", "\\#")


def project_dir(out: str, project: str = "") -> str:
    """A make expression for the project directory: ``project`` (absolute) when given, else found from
    the Makefile's own place under it (make's path functions split on spaces: only for plain paths)."""
    if project:
        return make_word(project)
    path = PurePosixPath(out)
    if path.is_absolute() or ".." in path.parts:
        return "$(CURDIR)"
    up = "/".join([".."] * len([p for p in path.parts if p not in (".", "")]))
    here = "$(dir $(abspath $(lastword $(MAKEFILE_LIST))))"
    return f"$(abspath {here}{up})" if up else f"$(abspath {here})"


def system_file(spec) -> str:
    """The one file all components were created in, or "" when they come from several."""
    files = {c.created_at.file for c in spec.components if c.created_at}
    return files.pop() if len(files) == 1 else ""


def generate(spec, options: Dict[str, Any]) -> Dict[str, bytes]:
    """{"Makefile": bytes} for ``spec``."""
    out = str(options.get("out", ".lk_build"))
    system = options.get("system") or system_file(spec)
    machines = sorted(m.name for m in spec.machines if _SAFE.match(m.name))
    skipped = sorted(m.name for m in spec.machines if not _SAFE.match(m.name))
    text = render(
        PACKAGE, "Makefile.j2",
        system_name=spec.name,
        system=make_word(system) if system else "",
        out=make_word(out),
        project=project_dir(out, str(options.get("project") or "")),
        engine=spec.engine or "native",
        bundle_engine=spec.engine if spec.engine in ("dora", "ros2") else "dora",
        machines=machines,
        skipped=skipped,
    )
    return {"Makefile": text}
