"""The ``lkbuild`` command line: one module per command, one error handler for all of them."""
from __future__ import annotations

import atexit
import os
import sys
import threading
import traceback
import warnings
from pathlib import Path

import click

from ..errors import LkbuildError, LkbuildWarning
from .app import App

EXIT_INTERRUPTED = 130  # Ctrl-C; SIGTERM and SIGHUP exit 128 + their number (lkbuild.tools.signals)
EXIT_INTERNAL = 70
EXIT_BROKEN_PIPE = 141  # stdout's reader went away: as a shell reports a process ended by SIGPIPE
BUG_REPORT = "This is a bug in lkbuild. Run again with --debug for the traceback and report it."


# command name -> (module of lkbuild.cli, attribute): a command's module is imported when it is run (or
# listed by --help), so that `lkbuild launch` does not import every other command.
COMMANDS = {
    "check": ("check", "check"), "inspect": ("inspect", "inspect_command"), "compile": ("compile", "compile_command"),
    "launch": ("launch", "launch"), "replay": ("replay", "replay"), "diff": ("diff", "diff"),
    "graph": ("graph", "graph"), "placement": ("placement", "placement"), "bundle": ("bundle", "bundle"),
    "clean": ("clean", "clean"),
}


class LkbuildGroup(click.Group):
    """Maps every LkbuildError to its message and exit code; tracebacks only with --debug."""

    def list_commands(self, ctx: click.Context):
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str):
        if name not in COMMANDS:
            return None
        import importlib

        module, attribute = COMMANDS[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attribute)

    def invoke(self, ctx: click.Context):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", LkbuildWarning)
                warnings.showwarning = _show_warning
                return super().invoke(ctx)
        except LkbuildError as exc:
            if _debug(ctx):
                traceback.print_exc()
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            from ..tools.signals import exit_code_of

            cause = f" by {exc.signal_name}" if getattr(exc, "signal_name", None) else ""
            click.echo(f"Interrupted{cause}; everything lkbuild started was stopped.", err=True)
            ctx.exit(exit_code_of(exc))
        except BrokenPipeError:  # whoever read stdout stopped (`| head`): nothing left to show it on
            try:  # so that flushing stdout at exit does not fail again
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):  # a stdout without a file descriptor (one a test captures)
                pass
            ctx.exit(EXIT_BROKEN_PIPE)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug: say so plainly
            if _debug(ctx):
                raise
            click.echo(f"Error: internal error: {type(exc).__name__}: {exc}\n{BUG_REPORT}", err=True)
            ctx.exit(EXIT_INTERNAL)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """lkbuild's own warnings read like its errors (no Python source line); others keep Python's format."""
    if issubclass(category, LkbuildWarning):
        click.echo(f"Warning: {message}", err=True)
    else:
        click.echo(warnings.formatwarning(message, category, filename, lineno, line), err=True, nl=False)


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.obj and ctx.obj.debug)


@click.group(cls=LkbuildGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.option("-C", "--directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Run as if lkbuild was started in this directory.")
@click.version_option(package_name="lkbuild")
@click.pass_context
def main(ctx: click.Context, debug: bool, directory):
    """Compile one robot program — Python Components composed into a System — to native, dora-rs,
    ROS 2 and per-machine deploy bundles.

    SYSTEM arguments are `path/to/robot.py:attribute`, `path/to/robot.py` (the one System in it), or
    omitted to use `system = "..."` under [tool.lkbuild] in pyproject.toml.

    \b
    Typical use:
      lkbuild check robot.py              find every problem, with file:line
      lkbuild launch robot.py -n 100      run it natively, each source firing 100 times
      lkbuild compile robot.py -e dora    write .lk_build/dora/dataflow.yaml
      lkbuild launch robot.py -n 100 --fast --record run.mcap
      lkbuild replay run.mcap robot.py --replace camera    the recorded frames, on any engine
      lkbuild diff run.mcap again.mcap    the first differing message per output
    """
    app = App.create(debug=debug, directory=directory)
    ctx.obj = app
    ctx.default_map = app.default_map()


def run() -> None:
    """The ``lkbuild`` command: ``main``, then an exit that does not tear the interpreter down.

    Freeing every module and object at exit takes 15-20 ms after a launch, a tenth of a short one, and
    nothing of lkbuild's needs it: what must happen at exit is registered with ``atexit`` (temporary
    directories, logging, coverage), which runs first. With a thread still running, Python exits as usual.
    """
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    status = 0 if code is None else code
    if threading.active_count() > 1:
        sys.exit(status)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # stdout went away (`| head`): as Python exits when it cannot flush it
        status = status or 120
    os._exit(status)


__all__ = ["main", "run"]

if __name__ == "__main__":  # pragma: no cover
    run()
