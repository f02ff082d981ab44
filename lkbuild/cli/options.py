"""Arguments and options shared by several commands, and the checks every command applies to them."""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import click

from ..errors import ConfigError

system_argument = click.argument("system", required=False, metavar="[SYSTEM]")


def engine_option(default=None):
    return click.option(
        "-e", "--engine", default=default, metavar="ENGINE",
        help="native, dora or ros2. Default: the engine the system's Nodes name, else native.",
    )


out_option = click.option(
    "-o", "--out", default=".lk_build", show_default=True, metavar="DIR",
    help="Build directory for generated files.",
)

strict_imports_option = click.option(
    "--strict-imports", is_flag=True,
    help="Fail when a module a component imports is not installed here, instead of reading the system "
         "with a stand-in for it.",
)


class Seconds(click.FloatRange):
    """A positive, finite number of seconds: ``nan`` and ``inf`` would make a run that never ends."""

    name = "seconds"

    def __init__(self):
        super().__init__(min=0, min_open=True)

    def convert(self, value, param, ctx):
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a finite number of seconds.", param, ctx)
        return seconds


def check_out_dir(out, what: str = "--out") -> Path:
    """The build directory ``out``, refused (ConfigError) when it cannot be one: nothing is written.

    It must be a directory or not exist yet; then its nearest existing parent must be a directory in
    which lkbuild can create one (tried with an empty temporary directory, removed at once).
    """
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {out}: is not a directory (a file of that name exists). "
                          "Pass a directory for the build, e.g. --out .lk_build.")
    parent = path if path.exists() else path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{what} {out}: cannot be created, {parent} is a file. Pass a directory for the build.")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".lkbuild-probe-", dir=parent))
    except OSError as exc:
        raise ConfigError(f"{what} {out}: cannot be written ({exc.strerror} in {parent}). "
                          "Pass a directory you can write to.") from None
    return path
