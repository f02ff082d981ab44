"""The errors lkbuild raises, each with the exit code the CLI maps it to.

Every message says what is wrong, where (``file:line:col`` when known) and what to do.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Optional, Sequence

from .runtime_stubs.lk_runtime.errors import CodecError as _WireCodecError


@dataclass(frozen=True)
class Location:
    """A position in a source file: line 1-based, column 0-based."""

    file: str
    line: int = 0
    col: Optional[int] = None

    @property
    def display_file(self) -> str:
        """The file relative to the working directory when it lies below it (as compilers print it)."""
        try:
            rel = os.path.relpath(self.file)
        except ValueError:
            return self.file
        return self.file if rel.startswith("..") else rel

    def __str__(self) -> str:
        if not self.line:
            return self.display_file
        if self.col is None:
            return f"{self.display_file}:{self.line}"
        return f"{self.display_file}:{self.line}:{self.col}"


_LKBUILD_DIR = os.path.dirname(os.path.abspath(__file__))


def user_location(skip_dirs=(_LKBUILD_DIR,)) -> Optional[Location]:
    """The first stack frame outside lkbuild: where the user wrote the call."""
    frame = sys._getframe(1)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(skip_dirs) and not path.startswith("<frozen"):
            return Location(path, frame.f_lineno)
        frame = frame.f_back
    return None


class Problem(str):
    """One thing wrong with the user's input: a code (``LK2nn``), a message and where it is.

    It *is* its text (``robot.py:12: message``), so callers that treat problems as strings keep
    working; ``code``, ``message`` and ``location`` give the structure (``lkbuild check --format json``).
    The codes are listed in docs/design.md.
    """

    code: str
    message: str
    location: Optional[Location]

    def __new__(cls, message: str, code: str = "LK200", location: Optional[Location] = None) -> "Problem":
        if isinstance(message, Problem):
            return message
        self = super().__new__(cls, f"{location}: {message}" if location is not None else message)
        self.code, self.message, self.location = code, message, location
        return self

    def located(self, location: Optional[Location]) -> "Problem":
        """The same problem at ``location`` when it has none yet."""
        if self.location is not None or location is None:
            return self
        return Problem(self.message, self.code, location)

    def to_dict(self) -> dict:
        where = self.location
        return {
            "code": self.code, "message": self.message,
            "file": where.display_file if where else None, "line": where.line if where and where.line else None,
            "col": where.col if where else None, "severity": "error",
        }


class LkbuildWarning(UserWarning):
    """Something the user should know that does not stop lkbuild; the CLI prints it on stderr."""


class LkbuildError(Exception):
    """Base of every error lkbuild reports to a user."""

    exit_code = 1

    def __init__(self, message: str, location: Optional[Location] = None):
        self.message = message
        self.location = location
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.location is not None:
            return f"{self.location}: {self.message}"
        return self.message


class UserError(LkbuildError):
    """The user's input is wrong; fixing the input fixes the error."""

    exit_code = 2


class ConfigError(UserError):
    """A bad option, setting or pyproject.toml entry."""


class InspectError(UserError):
    """The user's source cannot be read or understood (syntax error, unknown attribute...)."""


class GraphError(UserError):
    """The system's graph is invalid. Carries every problem found, not just the first.

    ``problems`` are ``Problem`` objects (strings with a code and a location). One problem given as text
    becomes a ``Problem`` with ``code`` at ``location``; the error's own location is where the user's
    code made the call that failed, set later by the loader when the raiser could not know it.
    """

    def __init__(self, problems: Sequence[str] | str, location: Optional[Location] = None, code: str = "LK200"):
        if isinstance(problems, str):
            problems = [problems]
        self._problems = [p if isinstance(p, Problem) else Problem(p, code) for p in problems]
        if location is None and len(self._problems) == 1:
            location = self._problems[0].location
        if len(self._problems) == 1:
            message = self._problems[0].message
        else:
            message = f"{len(self._problems)} problems in the system:\n" + "\n".join(
                f"  - {p}" for p in self._problems
            )
        super().__init__(message, location)

    @property
    def problems(self) -> list:
        """Every problem; a single one located where the error is (the loader may set that late)."""
        if len(self._problems) == 1:
            return [self._problems[0].located(self.location)]
        return list(self._problems)

    @property
    def code(self) -> str:
        return self._problems[0].code if self._problems else "LK200"


class CodecError(UserError, _WireCodecError):
    """A value cannot be encoded, or bytes cannot be decoded, by the message codec.

    Also an ``lk_runtime`` CodecError (a ValueError): code on a robot, where only lk_runtime is
    installed, catches the same failure under that name.
    """


class ComponentError(LkbuildError):
    """A component raised while the system ran."""

    exit_code = 3

    def __init__(self, component: str, node: str, machine: str, phase: str, traceback_text: str):
        self.component = component
        self.node = node
        self.machine = machine
        self.phase = phase
        self.traceback_text = traceback_text
        super().__init__(
            f"component '{component}' (node '{node}', machine '{machine}') raised in {phase}():\n"
            f"{traceback_text.rstrip()}"
        )


class ComponentStalledError(LkbuildError):
    """Components were still in a phase (``setup``) when the run's duration ended: they never ran.

    The exit code is a component failure's: the run did not do what was asked, and the cause is in the
    components named, not in lkbuild or the engine.
    """

    exit_code = 3

    def __init__(self, components: Sequence[str], node: str, machine: str, phase: Optional[str], duration: float,
                 detail: str = ""):
        self.components = list(components)
        self.node = node
        self.machine = machine
        self.phase = phase
        names = ", ".join(f"'{c}'" for c in self.components)
        where = f"{phase}()" if phase else "setup() or forward()"  # phase None: the engine cannot tell which
        super().__init__(
            f"component{'s' if len(self.components) > 1 else ''} {names} (node '{node}', machine '{machine}') "
            f"still in {where} when the duration of {duration:g} s ended; the run was stopped. Make {where} "
            f"return sooner, or give the run a longer --duration.{detail}"
        )


class ToolError(LkbuildError):
    """An external tool (dora, colcon, docker, pip) could not do its job."""

    exit_code = 4


class MissingToolError(ToolError):
    def __init__(self, tool: str, how_to_install: str):
        self.tool = tool
        self.how_to_install = how_to_install
        super().__init__(f"'{tool}' is not installed or not on PATH. {how_to_install}")


class ToolFailedError(ToolError):
    def __init__(self, cmd: Sequence[str], code: int, output_tail: str, hint: str = ""):
        self.cmd = list(cmd)
        self.code = code
        self.output_tail = output_tail
        text = f"`{' '.join(self.cmd)}` failed with exit code {code}"
        if output_tail.strip():
            text += ":\n" + output_tail.rstrip()
        if hint:
            text += "\n" + hint
        super().__init__(text)
