"""Arguments and options shared by several commands, and the checks every command applies to them."""
from __future__ import annotations

import math

import click


system_argument = click.argument("system", required=False, metavar="[SYSTEM]")


def system_files(system) -> list:
    """The source file a SYSTEM argument names (``path/robot.py[:attr]``), if any: no build may hold it."""
    path = (system or "").partition(":")[0]
    return [path] if path.endswith(".py") else []


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


