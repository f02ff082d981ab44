"""``lkbuild launch``: compile, then run."""
from __future__ import annotations

import contextlib
import logging
import time

import click

from .compile import compile_system
from .options import Seconds, engine_option, out_option, strict_imports_option, system_argument


@click.command()
@system_argument
@engine_option()
@click.option("-n", "--iterations", type=click.IntRange(min=0), default=None,
              help="Each source fires N times, then the graph drains and stops. Default: run until stopped.")
@click.option("-d", "--duration", type=Seconds(), default=None,
              help="Stop after S seconds.")
@click.option("--fast", is_flag=True, help="Fire sources as fast as possible instead of at their rate.")
@click.option("--record", "record_dir", type=click.Path(), default=None, metavar="FILE.mcap|DIR",
              help="Record every message sent: FILE.mcap (payloads, logical and wall time; opens in "
                   "Foxglove, replays with `lkbuild replay`), or DIR (sha256 per message, JSONL per component).")
@click.option("--coordinator-addr", default=None, metavar="HOST[:PORT]",
              help="dora: start the dataflow on this running coordinator; prints the daemon command for "
                   "each machine.")
@click.option("--local-cluster", is_flag=True,
              help="dora: rehearse a multi-machine run on this computer (one daemon per machine, 127.0.0.1).")
@click.option("--profile", is_flag=True,
              help="Measure the run: per component, edge and path; a table at the end, JSON in the build "
                   "directory (profile.json). See docs/profile.md.")
@click.option("-q", "--quiet", is_flag=True,
              help="Do not show what components print while the run goes (a failing component's last lines "
                   "still come with its error).")
@out_option
@strict_imports_option
@click.pass_obj
def launch(app, system, engine, iterations, duration, fast, record_dir, coordinator_addr, local_cluster, profile,
           quiet, out, strict_imports):
    """Compile SYSTEM, then run it (Ctrl-C stops it cleanly)."""
    options = {"iterations": iterations, "duration": duration, "realtime": not fast, "record_dir": record_dir,
               "coordinator_addr": coordinator_addr, "local_cluster": local_cluster, "profile": profile}

    def refuse_early(runner, spec):
        refuse_options(runner.name, spec, options)

    _, spec, runner, config_path = compile_system(app, system, engine, out, strict_imports, refuse_early)
    started = time.time()
    try:
        with progress_on_stderr(quiet):
            result = runner.launch(spec, config_path, **options)
    except KeyboardInterrupt:
        if profile:
            show_profile(runner.out_dir, started)
        raise
    click.echo("\n".join(result.lines(spec.name)))
    if result.profile is not None:
        from ..engines.profile import table

        click.echo("\n" + "\n".join(table(result.profile)))
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)


def show_profile(out_dir, since: float) -> None:
    """The profile of a run stopped by Ctrl-C, if the engine wrote it."""
    from ..engines.profile import FILE, load, table

    path = out_dir / FILE
    if path.exists() and path.stat().st_mtime >= since:
        click.echo("\n".join(table(load(path))), err=True)


def refuse_options(engine: str, spec, options) -> None:
    """What the engine would refuse once started, refused before anything is compiled or run."""
    from ..engines.run import LaunchOptions

    LaunchOptions.of(engine, **options)
    if engine == "native":
        from ..engines.native import refuse_stand_ins

        refuse_stand_ins(spec)
    if options.get("coordinator_addr") and engine == "dora":
        from ..tools.dora import Coordinator

        Coordinator.parse(options["coordinator_addr"])


class _StdoutHandler(logging.Handler):
    """What components print, on stdout as their print() would go in a plain Python process."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(record.getMessage())
        except OSError:  # stdout closed (`| head`): nothing to show it on, and the run goes on
            pass


class _StderrHandler(logging.Handler):
    """lkbuild's progress notes on stderr, warnings prefixed as the CLI prints its other warnings."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "Warning: " if record.levelno >= logging.WARNING else ""
        click.echo(f"{prefix}{record.getMessage()}", err=True)


@contextlib.contextmanager
def progress_on_stderr(quiet: bool = False):
    """Show what a launch waits for (daemons registering, a run stopping) on stderr, and what components
    print on stdout, as it goes.

    ``quiet``: not what components print (the ``lkbuild.output`` logger, ``lkbuild.tools.logs``).
    """
    logger = logging.getLogger("lkbuild")
    output = logging.getLogger("lkbuild.output")
    if logger.handlers:  # configured by the caller: leave it alone
        yield
        return
    handler, shown = _StderrHandler(logging.INFO), _StdoutHandler(logging.INFO)
    level, output_level, propagate = logger.level, output.level, output.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    output.addHandler(shown)
    output.propagate = False
    output.setLevel(logging.WARNING if quiet else logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        output.removeHandler(shown)
        output.setLevel(output_level)
        output.propagate = propagate
