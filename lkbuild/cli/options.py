"""Arguments and options shared by several commands."""
from __future__ import annotations

import click

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
