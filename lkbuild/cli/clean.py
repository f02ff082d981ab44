"""``lkbuild clean``: remove the build directory."""
from __future__ import annotations

import shutil
from pathlib import Path

import click

from ..errors import UserError
from .options import out_option


@click.command()
@out_option
def clean(out):
    """Remove the build directory (only if lkbuild made it)."""
    path = Path(out)
    if not path.exists():
        click.echo(f"Nothing to clean: {out} does not exist.")
        return
    if not path.is_dir():
        raise UserError(f"--out {out}: is not a directory (a file of that name exists); refusing to delete it.")
    if not (path / "system.json").is_file() and path.name != ".lk_build":
        raise UserError(f"{out} does not look like an lkbuild build directory (no system.json); "
                        "refusing to delete it.")
    shutil.rmtree(path)
    click.echo(f"Removed {out}")
