"""``lkbuild bundle``: one machine's standalone deploy bundle (and, on request, its Docker image)."""
from __future__ import annotations

import click

from .options import check_out_dir, out_option, system_argument


@click.command()
@system_argument
@click.option("-m", "--machine", required=True, metavar="NAME",
              help="The machine to bundle (a Node's machine, e.g. jetson).")
@click.option("-e", "--engine", default=None, metavar="ENGINE",
              help="The engine the bundle runs: dora or ros2. Default: the engine the system's Nodes name, "
                   "else dora.")
@click.option("--offline", is_flag=True,
              help="Put every wheel for the machine's platform into wheels/: installing needs no network.")
@click.option("--image", "build", is_flag=True, help="Also build the Docker image (docker SDK; streams the log).")
@click.option("--save", is_flag=True, help="Also write the image tarball image.tar (implies --image).")
@click.option("--base-image", default=None, metavar="IMAGE",
              help="Base image of the Dockerfile. Default: the machine's (or its preset's).")
@click.option("--platform", default=None, metavar="PLATFORM",
              help="Target platform, e.g. linux/arm64 or linux/amd64. Default: the machine's.")
@click.option("--python", default=None, metavar="X.Y", help="Target Python version. Default: the machine's.")
@click.option("--coordinator-addr", default=None, metavar="HOST[:PORT]",
              help="dora coordinator the machine's daemon joins (run.sh reads DORA_COORDINATOR_ADDR/PORT "
                   "first). Default: 127.0.0.1:6013.")
@out_option
@click.pass_obj
def bundle(app, system, machine, engine, offline, build, save, base_image, platform, python, coordinator_addr,
           out):
    """Write MACHINE's deploy bundle for SYSTEM to <out>/bundles/MACHINE/.

    The bundle holds only MACHINE's Nodes, the modules they import, lk_runtime, requirements.txt,
    a Dockerfile, run.sh (selftest | up), a Makefile and manifest.json. Bundling the same inputs twice
    gives byte-identical bundles; a failed bundle leaves the previous one untouched.

    \b
    Examples:
      lkbuild bundle robot.py --machine jetson --offline --platform linux/arm64
      lkbuild bundle robot.py --machine nuc --offline --image --save
    """
    from ..bundle import BundleOptions, build_image, save_image, write_bundle
    from ..tools.docker import Docker, build_progress

    check_out_dir(out)
    loaded = app.load_system(system)
    spec = loaded.spec()
    options = BundleOptions(machine=machine, engine=engine, offline=offline, platform=platform, python=python,
                            base_image=base_image, coordinator_addr=coordinator_addr, out=out)
    docker = Docker() if build or save else None
    if docker is not None:
        docker.verify()  # no daemon: say so before downloading anything
    result = write_bundle(spec, options, progress=lambda text: click.echo(text, err=True))
    click.echo(f"Bundle for machine '{machine}' ({result.target.describe()}, {result.engine}): {result.path}")
    if build or save:
        def show(line: str) -> None:
            step = build_progress(line)
            click.echo(f"[{step}] {line}" if step else f"  {line}", err=True)

        image_id = build_image(result, docker, on_line=show)
        click.echo(f"Image {result.image} ({image_id[:19]})")
    if save:
        click.echo(f"Image tarball: {save_image(result, docker)}")
