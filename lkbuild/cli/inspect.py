"""``lkbuild inspect``: the system's IR as JSON on stdout."""
from __future__ import annotations

import click

from .options import system_argument


@click.command("inspect")
@system_argument
@click.pass_obj
def inspect_command(app, system):
    """Print the IR of SYSTEM (components, ports, edges, nodes, machines) as JSON."""
    spec = app.load_system(system).spec()
    click.echo(spec.to_json(), nl=False)
