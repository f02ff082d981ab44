"""``lkbuild inspect``: the system's IR as JSON, or what each component needs, as text."""
from __future__ import annotations

import click

from .options import strict_imports_option, system_argument


@click.command("inspect")
@system_argument
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True,
              help="json: the IR (components, ports, edges, nodes, machines); text: per component, where it "
                   "is defined, its ports and Config, and why each machine needs each package.")
@strict_imports_option
@click.pass_obj
def inspect_command(app, system, fmt, strict_imports):
    """Print the IR of SYSTEM: components, ports, edges, nodes, machines, requirements."""
    spec = app.load_system(system, strict_imports=strict_imports).spec()
    if fmt == "json":
        click.echo(spec.to_json(), nl=False)
        return
    click.echo(describe(spec), nl=False)


def describe(spec) -> str:
    """A human reading of the IR: each component's source facts and needs, then each machine's union."""
    from ..graph import machines

    lines = [f"system '{spec.name}' (root {spec.root})"]
    for c in spec.components:
        lines.append("")
        lines.append(f"component '{c.name}': {c.class_path} on node '{c.node}'")
        lines.append(f"  class    {_at(c.class_at) or c.file}")
        if c.forward_at:
            lines.append(f"  forward  {_at(c.forward_at)}")
        inputs = ", ".join(f"{p.name}{'' if p.required else '?'}" + (f": {p.annotation}" if p.annotation else "")
                           for p in c.inputs)
        lines.append(f"  inputs   {inputs or '(none: a source)'}")
        lines.append(f"  outputs  {', '.join(p.name for p in c.outputs) or '(none: a sink)'}")
        for f in c.config_fields:
            lines.append(f"  config   {f.name}: {f.annotation or '?'}" + (f" = {f.default}" if f.default else ""))
        for i in c.imports:
            if i.used:
                lines.append(f"  needs    {i.requirement} ({i.module}, used by the class, {_at(i.where)})")
        for i in c.imports:
            if not i.used:
                lines.append(f"  imports  {i.module} (its module imports it, the class does not use it: "
                             f"{_at(i.where)})")
        if c.local_modules:
            lines.append(f"  copies   {', '.join(c.local_modules)}")
    for f in spec.foreign:
        lines.append("")
        lines.append(f"{f.kind} endpoint '{f.name}': {f.path}" + (f" from {f.package}" if f.package else "")
                     + f" on machine '{f.machine or 'local'}'")
        lines.append(f"  inputs   {', '.join(f'{p.name} ({p.format})' for p in f.inputs) or '(none)'}")
        lines.append(f"  outputs  {', '.join(f'{p.name} ({p.format})' for p in f.outputs) or '(none)'}")
        if f.timers:
            lines.append(f"  timers   {', '.join(f'{k} at {v:g} Hz' for k, v in f.timers.items())}")
    lines.append("")
    for machine in sorted({n.machine or machines.LOCAL for n in spec.nodes}):
        needs = machines.requirements(spec, machine)
        lines.append(f"machine '{machine}' needs: {', '.join(needs) or 'nothing else'}")
        for requirement, why in needs.items():
            lines.append(f"  {requirement}: {', '.join(why)}")
        stood_in = sorted({m for n in spec.nodes if (n.machine or machines.LOCAL) == machine
                           for m in machines.stand_ins(spec, n.name)})
        if stood_in:
            lines.append(f"  stand-ins: {', '.join(stood_in)} (its files import them, none of its components "
                         "uses them: not installed there)")
    return "\n".join(lines) + "\n"


def _at(where) -> str:
    """A location from the IR (absolute) as the user reads it (relative to the working directory)."""
    return str(where) if where else ""
