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
@click.pass_obj
def graph(app, system, fmt, output):
    """Draw SYSTEM: components coloured by node and machine (no Graphviz needed)."""
    from ..generators import graph as drawing
    from ..output import write_tree

    spec = app.load_system(system).spec()
    text = drawing.mermaid(spec) if fmt == "mermaid" else drawing.html(spec)
    if output is None:
        click.echo(text, nl=False)
        return
    write_tree(output.parent.resolve(), {output.name: text.encode()})
    click.echo(f"Wrote {output}")
