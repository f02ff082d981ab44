"""``lkbuild check``: the static lint, then load and validate the system; every problem with its location.

The lint reads the sources without running them, so its findings are reported even when importing the
system fails — often they say why it fails.
"""
from __future__ import annotations

import json

import click

from ..errors import ConfigError, GraphError, Problem, UserError
from .options import engine_option, strict_imports_option, system_argument


@click.command()
@system_argument
@engine_option()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one `file:line:col: LKnnn message` per finding and `file:line: message` per problem; "
                   "json: one object with both lists, each entry with code, message, file, line and col.")
@click.option("--strict", is_flag=True, help="Treat lint warnings (LK1xx) as errors.")
@strict_imports_option
@click.pass_obj
def check(app, system, engine, fmt, strict, strict_imports):
    """Lint SYSTEM's sources, load it and report every problem at once.

    Exit 2 if there is an error (or, with --strict, a warning); warnings alone exit 0.
    """
    from ..inspect import lint_system_file
    from ..loader import parse_target

    path, _ = parse_target(system, app.cwd)
    app.use_inspect_cache()
    findings, _, _ = lint_system_file(path)
    loaded, spec, problems = None, None, []
    try:
        loaded = app.load_system(system, strict_imports=strict_imports)
        spec, problems = _validate(loaded, engine)
    except UserError as exc:
        if not _already_found(exc, findings):
            problems = _messages(exc)
    problems = [p for p in problems if not _named_in(p, findings)]
    errors = [f for f in findings if f.severity == "error" or strict]
    failed = bool(errors or problems)
    if fmt == "json":
        click.echo(json.dumps({
            "system": loaded.name if loaded is not None else None,
            "ok": not failed,
            "findings": [f.to_dict() for f in findings],
            "problems": [p.to_dict() for p in problems],
        }, indent=2))
    else:
        _print_text(findings, problems, spec)
    if failed:
        raise click.exceptions.Exit(2)


def _validate(loaded, engine):
    from ..engines import get_engine

    try:
        spec = loaded.spec()
        found = spec.validate()
        if engine:
            found += get_engine(engine).engine_problems(spec)
        return spec, found
    except GraphError as exc:
        return None, _messages(exc)


def _messages(exc) -> list:
    """The error's problems: a GraphError's own, else one for the error (LK280 a setting, LK290 importing)."""
    if isinstance(exc, GraphError):
        return exc.problems
    return [Problem(exc.message, "LK280" if isinstance(exc, ConfigError) else "LK290", exc.location)]


def _already_found(exc, findings) -> bool:
    """The error importing raised is one the lint reported already, with a column (nested components...)."""
    errors = [f for f in findings if f.severity == "error"]
    if any(f.subject and f.subject in exc.message for f in errors):
        return True
    where = exc.location
    if where is None or not where.line:
        return False
    return any(f.file == where.file and where.line in (f.line, f.anchor) for f in errors)


def _named_in(problem: str, findings) -> bool:
    """The IR's own check of a name the lint reported already, with its position."""
    return any(f.subject and f"name '{f.subject}' is not valid" in problem for f in findings)


def _print_text(findings, problems, spec) -> None:
    for finding in findings:
        click.echo(str(finding))
    for problem in problems:
        click.echo(problem)
    errors = sum(1 for f in findings if f.severity == "error") + len(problems)
    warnings = sum(1 for f in findings if f.severity == "warning")
    if errors or warnings:
        click.echo(f"{_count(range(errors), 'error')}, {_count(range(warnings), 'warning')} found.", err=True)
    if spec is not None and not errors:
        nodes = ", ".join(n.name for n in spec.nodes)
        click.echo(f"ok: system '{spec.name}': {_count(spec.components, 'component')}, "
                   f"{_count(spec.edges, 'edge')}, {_count(spec.nodes, 'node')} ({nodes})")


def _count(items, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"
