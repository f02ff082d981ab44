"""``lkbuild replay``: run a system with some components replaced by what a recording says they sent."""
from __future__ import annotations

from pathlib import Path

import click

from .compile import compile_system
from .launch import progress_on_stderr
from .options import engine_option, out_option, strict_imports_option


@click.command("replay")
@click.argument("recording", type=click.Path(dir_okay=False))
@click.argument("system", required=False, metavar="[SYSTEM]")
@click.option("--replace", "replace_names", multiple=True, metavar="COMPONENT",
              help="Play this component's recorded outputs instead of running it (repeatable). "
                   "Default: every source.")
@engine_option()
@click.option("-n", "--iterations", type=click.IntRange(min=0), default=None,
              help="Each remaining source fires N times. Default: as in the recording.")
@click.option("--fast", is_flag=True, help="Do not wait for the recorded logical times in real time.")
@click.option("--record", "record_dir", type=click.Path(), default=None,
              help="Record the replay too (FILE.mcap, or a directory of hashes); compare with `lkbuild diff`.")
@click.option("--allow-changed", is_flag=True,
              help="Replay into a system that changed since the recording, as long as the replaced "
                   "components' outputs still fit.")
@out_option
@strict_imports_option
@click.pass_obj
def replay(app, recording, system, replace_names, engine, iterations, fast, record_dir, allow_changed, out,
           strict_imports):
    """Feed RECORDING's messages of the replaced components into SYSTEM, at their recorded logical times.

    A recording that no longer fits SYSTEM (the IR changed, or a replaced component's ports or rate) is
    refused with what changed.
    """
    from ..recording import read
    from ..replay import iterations_of, replay_spec

    rec = read(recording)
    replaced = []

    def transform(spec):
        new, names = replay_spec(rec, spec, replace_names, Path(out).resolve() / "replay", allow_changed)
        replaced.extend(names)
        return new

    _, spec, runner, config_path = compile_system(app, system, engine, out, strict_imports, transform=transform)
    options = {"iterations": iterations if iterations is not None else iterations_of(rec, replaced),
               "realtime": not fast, "record_dir": record_dir}
    with progress_on_stderr():
        result = runner.launch(spec, config_path, **options)
    click.echo(f"Replayed {', '.join(replaced)} from {recording}.")
    click.echo("\n".join(result.lines(spec.name)))
