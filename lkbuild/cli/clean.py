"""``lkbuild clean``: remove what lkbuild made in the build directory, and nothing else."""
from __future__ import annotations

import click

from .options import out_option

SHOWN = 10  # files left behind that are listed by name


@click.command()
@out_option
@click.pass_obj
def clean(app, out):
    """Remove the build directory: the files lkbuild generated there (listed in its .lkbuild-files).

    A directory lkbuild did not make is refused; a file someone else put into the build directory is kept.
    """
    from ..output import clean_build_dir

    report = clean_build_dir(out, app.cwd)
    if not report.existed:
        click.echo(f"Nothing to clean: {out} does not exist.")
        return
    if not report.kept:
        click.echo(f"Removed {out}")
        return
    names = ", ".join(report.kept[:SHOWN]) + (f" and {len(report.kept) - SHOWN} more" if len(report.kept) > SHOWN else "")
    click.echo(f"Removed what lkbuild made in {out}; kept {len(report.kept)} file"
               f"{'s' if len(report.kept) != 1 else ''} it did not make: {names}")
