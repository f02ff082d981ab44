"""``lkbuild compile``: generate an engine's files under the build directory."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import click

from .options import engine_option, out_option, strict_imports_option, system_argument, system_files


def compile_system(app, system, engine, out, strict_imports: bool = False, before_write=None, transform=None):
    """Load, compile, and return (loaded system, its IR, engine, config path). The IR is built once.

    ``before_write(runner, spec)`` runs once the IR is known and before anything is written: a command
    refuses there what it would refuse later (a launch option the engine does not take), so a refusal
    leaves the build directory as it was. ``transform(spec)`` returns the IR to compile instead (a replay's).
    """
    from ..engines import get_engine

    from ..output import check_out_dir

    check_out_dir(out, app.cwd, system_files(system))  # before anything is written
    existed = Path(out).exists()
    try:
        loaded = app.load_system(system, strict_imports=strict_imports, cache_dir=Path(out) / "cache" / "inspect")
        name = loaded.engine_name(engine)
        runner = get_engine(name, out_dir=out)
        spec = runner.checked_spec(loaded.spec())
        if transform is not None:
            spec = runner.checked_spec(transform(spec))
        if before_write is not None:
            before_write(runner, spec)
        config_path = runner.compile(spec)
        write_makefile(spec, out, system)
    except BaseException:
        # A failed compile writes nothing: not even the inspector's cache may leave a build dir behind.
        if not existed:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return loaded, spec, runner, config_path


def write_makefile(spec, out, target=None) -> None:
    """The top-level build Makefile: per machine bundle-M, image-M, save-M, up-M; run; clean.

    Not rendered again (~50 ms with the template engine) when what it is made from and the file itself
    are unchanged since the last compile: ``cache/makefile.json`` keeps both digests.
    """
    from ..generators import make
    from ..output import inputs_digest, write_generated

    options = {"out": str(out), "system": target or "", "project": os.path.abspath(os.getcwd())}
    made_from = json.dumps([spec.name, make.system_file(spec), sorted(m.name for m in spec.machines), spec.engine,
                            options], sort_keys=True)
    sources = [p for p in Path(make.__file__).parent.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    inputs = inputs_digest(made_from, sources=sources)
    memo, makefile = Path(out) / "cache" / "makefile.json", Path(out) / "Makefile"
    try:
        known = json.loads(memo.read_text())
        if known["inputs"] == inputs and known["sha256"] == hashlib.sha256(makefile.read_bytes()).hexdigest():
            return
    except (OSError, ValueError, KeyError, TypeError):
        pass
    files = make.generate(spec, options)
    write_generated(out, files)
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(json.dumps({"inputs": inputs, "sha256": hashlib.sha256(files["Makefile"]).hexdigest()}))


@click.command("compile")
@system_argument
@engine_option()
@out_option
@strict_imports_option
@click.pass_obj
def compile_command(app, system, engine, out, strict_imports):
    """Generate everything ENGINE needs for SYSTEM under the build directory.

    A failed compile leaves the previous build directory untouched.
    """
    _, spec, runner, config_path = compile_system(app, system, engine, out, strict_imports)
    click.echo(f"Compiled system '{spec.name}' ({len(spec.components)} components, {len(spec.nodes)} node{'s' if len(spec.nodes) != 1 else ''}) "
               f"for {runner.name}: {config_path}")
