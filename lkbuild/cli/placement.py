"""``lkbuild placement``: from a profile, the CPU each machine needs and the bytes that cross between them."""
from __future__ import annotations

from pathlib import Path

import click

from .options import out_option, system_argument


@click.command()
@system_argument
@click.option("--profile", "profile_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A profile written by `lkbuild launch --profile`. Default: profile.json in the build directory.")
@click.option("--what-if", "moves", multiple=True, metavar="COMPONENT=NODE",
              help="Weigh another placement without running it: move COMPONENT to NODE (repeatable).")
@out_option
@click.pass_obj
def placement(app, system, profile_path, moves, out):
    """Where SYSTEM's components should run, by a profiled run: CPU per machine, bytes across machines."""
    from ..engines import placement as weigh
    from ..engines.profile import FILE, load

    spec = app.load_system(system).spec()
    profile = load(profile_path or Path(out) / FILE)
    moved = weigh.parse_moves(moves, spec)
    title = "what if " + ", ".join(f"{c} ran on {n}" for c, n in moved.items()) if moved else "as placed"
    click.echo(f"Placement of '{spec.name}' ({title}), from a {profile.get('duration_s', 0):.1f} s "
               f"{profile.get('engine')} run:")
    click.echo("\n".join(weigh.report(spec, profile, moved).lines()))
