"""``lkbuild check``: load and validate a system, printing every problem with its location."""
from __future__ import annotations

import json

import click

from ..errors import GraphError
from .options import engine_option, system_argument


@click.command()
@system_argument
@engine_option()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one `file:line: message` per problem; json: a list of objects.")
@click.pass_obj
def check(app, system, engine, fmt):
    """Load SYSTEM and report every problem at once (exit 2 if there is any)."""
    from ..engines import get_engine

    loaded = app.load_system(system)
    try:
        spec = loaded.spec()
        found = spec.validate()
        if engine:
            found += get_engine(engine).problems(spec)
    except GraphError as exc:
        spec, found = None, [f"{exc.location}: {p}" if exc.location else p for p in exc.problems]
    if fmt == "json":
        click.echo(json.dumps({"system": loaded.name, "ok": not found, "problems": found}, indent=2))
    elif found:
        for problem in found:
            click.echo(problem)
        click.echo(f"{len(found)} problem{'s' if len(found) != 1 else ''} found.", err=True)
    else:
        nodes = ", ".join(n.name for n in spec.nodes)
        click.echo(f"ok: system '{spec.name}': {len(spec.components)} components, {len(spec.edges)} edges, "
                   f"{len(spec.nodes)} node{'s' if len(spec.nodes) != 1 else ''} ({nodes})")
    if found:
        raise click.exceptions.Exit(2)
