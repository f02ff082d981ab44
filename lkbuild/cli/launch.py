"""``lkbuild launch``: compile, then run."""
from __future__ import annotations

import contextlib
import logging

import click

from .compile import compile_system
from .options import engine_option, out_option, strict_imports_option, system_argument


@click.command()
@system_argument
@engine_option()
@click.option("-n", "--iterations", type=click.IntRange(min=0), default=None,
              help="Each source fires N times, then the graph drains and stops. Default: run until stopped.")
@click.option("-d", "--duration", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop after S seconds.")
@click.option("--fast", is_flag=True, help="Fire sources as fast as possible instead of at their rate.")
@click.option("--record", "record_dir", type=click.Path(file_okay=False), default=None,
              help="Record every message sent (sha256 per message, one JSONL file per component) into DIR.")
@click.option("--coordinator-addr", default=None, metavar="HOST[:PORT]",
              help="dora: start the dataflow on this running coordinator; prints the daemon command for "
                   "each machine.")
@click.option("--local-cluster", is_flag=True,
              help="dora: rehearse a multi-machine run on this computer (one daemon per machine, 127.0.0.1).")
@out_option
@strict_imports_option
@click.pass_obj
def launch(app, system, engine, iterations, duration, fast, record_dir, coordinator_addr, local_cluster, out,
           strict_imports):
    """Compile SYSTEM, then run it (Ctrl-C stops it cleanly)."""
    loaded, _, runner, config_path = compile_system(app, system, engine, out, strict_imports)
    options = {"iterations": iterations, "duration": duration}
    if fast:
        options["realtime"] = False
    if record_dir:
        options["record_dir"] = record_dir
    if coordinator_addr:
        options["coordinator_addr"] = coordinator_addr
    if local_cluster:
        options["local_cluster"] = True
    with progress_on_stderr():
        result = runner.launch(loaded, config_path, **options)
    click.echo(summary(loaded.name, runner.name, result))
    for warning in getattr(result, "warnings", None) or ():
        click.echo(f"Warning: {warning}", err=True)


def summary(name, engine, result) -> str:
    lines = [f"Ran system '{name}' on {engine}."]
    fired = getattr(result, "fired", None)
    if fired:
        lines.append("fired: " + ", ".join(f"{k}={v}" for k, v in fired.items()))
    messages = getattr(result, "messages", None)
    if messages:
        lines.append(f"messages sent: {messages}")
    for label in ("record_dir", "log_dir"):
        value = getattr(result, label, None)
        if value:
            lines.append(f"{label.replace('_dir', '')}: {value}")
    commands = getattr(result, "daemon_commands", None)
    if commands:
        lines.append("start one dora daemon per machine:")
        lines += [f"  {machine}: {command}" for machine, command in sorted(commands.items())]
    lost = getattr(result, "lost", None)
    if lost:
        lines.append("messages lost in transit: " + ", ".join(f"{edge}={n}" for edge, n in sorted(lost.items())))
    return "\n".join(lines)


class _StderrHandler(logging.Handler):
    """lkbuild's progress notes on stderr, warnings prefixed as the CLI prints its other warnings."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "Warning: " if record.levelno >= logging.WARNING else ""
        click.echo(f"{prefix}{record.getMessage()}", err=True)


@contextlib.contextmanager
def progress_on_stderr():
    """Show what a launch waits for (daemons registering, a run stopping) while it waits."""
    logger = logging.getLogger("lkbuild")
    if logger.handlers:  # configured by the caller: leave it alone
        yield
        return
    handler = _StderrHandler(logging.INFO)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
