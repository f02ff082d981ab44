"""``lkbuild graph``: the system's graph as Mermaid text or one self-contained HTML page."""
from __future__ import annotations

from pathlib import Path

import click

from .options import system_argument


@click.command()
@system_argument
@click.option("--format", "fmt", type=click.Choice(["mermaid", "html"]), default="mermaid", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout.")
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="HTML: label edges and components with the figures of this profile (`lkbuild launch --profile`).")
@click.pass_obj
def graph(app, system, fmt, output, profile_path):
    """Draw SYSTEM: components coloured by node and machine (no Graphviz needed)."""
    from ..engines.profile import load
    from ..generators import graph as drawing
    from ..output import write_tree

    spec = app.load_system(system).spec()
    profile = load(profile_path) if profile_path is not None else None
    if profile is not None and fmt != "html":
        raise click.UsageError("--profile labels the HTML graph: add --format html.")
    text = drawing.mermaid(spec) if fmt == "mermaid" else drawing.html(spec, profile)
    if output is None:
        click.echo(text, nl=False)
        return
    write_tree(output.parent.resolve(), {output.name: text.encode()})
    click.echo(f"Wrote {output}")
