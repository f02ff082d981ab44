"""``write_bundle``: cut one machine's deploy bundle out of the IR and write it to ``<out>/bundles/<M>/``."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Union

from ..errors import ConfigError, GraphError
from ..output import claim_build_dir, record, safe_join
from . import engines, foreign, manifest, sources
from .requirements import Pin, hash_pins, installed_version, pinned, requirements_txt
from .target import Target, resolve_target
from .writer import replace_dir

DEFAULT_COORDINATOR_PORT = 6013
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$|^\[?[0-9A-Fa-f:]+\]?$")
Content = Union[bytes, Path]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BundleOptions:
    """What ``lkbuild bundle`` was asked for. ``None`` means: from the machine (or its preset)."""

    machine: str
    engine: Optional[str] = None
    offline: bool = False
    platform: Optional[str] = None
    python: Optional[str] = None
    base_image: Optional[str] = None
    coordinator_addr: Optional[str] = None
    out: Union[str, Path] = ".lk_build"


@dataclass
class Bundle:
    """A written bundle: where it is, the image it builds, what it holds."""

    path: Path
    machine: str
    engine: str
    image: str
    target: Target
    offline: bool
    requirements: List[str]  # what the machine asks for, pinned to versions (before pip resolved it)
    wheels: List[str] = field(default_factory=list)  # the files under wheels/
    files: List[str] = field(default_factory=list)
    pins: List[Pin] = field(default_factory=list)  # every distribution installed, by version and sha256
    foreign_requirements: List[str] = field(default_factory=list)  # /opt/foreign: foreign dora nodes' venv


def image_tag(system: str, machine: str, digest: str) -> str:
    """A valid, deterministic Docker tag: ``lkbuild/<system>-<machine>:<IR hash>``."""
    repo = re.sub(r"[^a-z0-9._-]+", "-", f"{system}-{machine}".lower()).strip("-._") or "bundle"
    return f"lkbuild/{repo}:{digest[:12]}"


def coordinator(addr: Optional[str]) -> Dict[str, object]:
    """``HOST[:PORT]`` -> {"addr", "port"}; defaults to dora's (127.0.0.1:6013). Env overrides at run time."""
    if not addr:
        return {"addr": "127.0.0.1", "port": DEFAULT_COORDINATOR_PORT}
    host, _, port = addr.rpartition(":") if addr.count(":") == 1 else (addr, "", "")
    if not _HOST.match(host) or (port and not port.isdigit()) or (port and not 0 < int(port) < 65536):
        raise ConfigError(f"Coordinator address must look like 192.168.1.5 or 192.168.1.5:6013. Received: {addr!r}")
    return {"addr": host, "port": int(port) if port else DEFAULT_COORDINATOR_PORT}


def engine_of(spec, options: BundleOptions) -> str:
    return options.engine or spec.engine or "dora"


def machine_requirements(spec, machine: str, part) -> List[str]:
    """What ``machine`` asks for, pinned to versions: its components' real imports (not what their files
    merely import), the message packages of its ROS-typed ports, and the engine's runtime."""
    from ..graph import machines

    where = f"bundle for machine '{machine}'"
    wanted = list(machines.requirements(spec, machine))
    if machines.message_packages(spec, machine):
        wanted += list(part.message_runtime)
    return pinned(wanted + list(part.runtime), where)


def plan_bundle(spec, options: BundleOptions, wheels: Optional[List[Path]] = None,
                carried: Optional[List[Path]] = None, foreign_wheels: Optional[List[Path]] = None):
    """Every file of M's bundle as {bundle path: bytes or file}, plus the Bundle description (no writes).

    ``wheels``: what pip resolved for M's platform (the closure, pinned by hash in requirements.txt);
    ``carried``: those of them the bundle holds under ``wheels/`` (all when offline); ``foreign_wheels``:
    what pip resolved for the foreign dora nodes' own venv (``bundle.foreign``), carried when offline.
    """
    from ..graph.plan import node_plan
    from ..generators import docker as docker_generator

    target = resolve_target(spec, options.machine, options.platform, options.python, options.base_image)
    engine = engine_of(spec, options)
    part = engines.engine_part(engine)
    nodes = [n for n in spec.nodes if n.machine == options.machine]
    components = [spec.component(name) for n in nodes for name in n.components]
    where = f"bundle for machine '{options.machine}'"
    shared, away = foreign.split_packages(spec, options.machine) if engine == "dora" else ([], [])
    requirements = pinned(machine_requirements(spec, options.machine, part) + shared, where)
    foreign_requirements = foreign.venv_requirements(spec, Path(options.out), away)
    pins = hash_pins(requirements, wheels or [], where)
    carried = sorted(carried or [], key=lambda p: p.name)

    bundled = sources.relocate(spec, [c.name for c in components])
    files: Dict[str, Content] = {}
    files.update(sources.user_files(spec, components))
    files.update(sources.api_files())
    paths = foreign.image_paths(spec) if engine == "dora" else {}
    files.update(part.files(bundled, options.machine, coordinator(options.coordinator_addr), foreign_paths=paths))
    if engine == "dora":
        files.update({rel: source for rel, source in
                      foreign.binaries(spec, options.machine, target.docker_platform).values()})
    if foreign_requirements:  # pinned by hash too: the wheels pip picked for M's platform
        files["foreign-requirements.txt"] = requirements_txt(hash_pins(foreign_requirements, foreign_wheels or [],
                                                                       where))
    for wheel in (foreign_wheels or []) if options.offline else []:
        files[f"wheels-foreign/{wheel.name}"] = wheel
    files.update(sources.runtime_files())
    files["requirements.txt"] = requirements_txt(pins)
    for wheel in carried:
        files[f"wheels/{wheel.name}"] = wheel

    digest = spec.digest()
    image = image_tag(spec.name, options.machine, digest)
    files.update(docker_generator.generate(bundled, {
        "system": spec.name,
        "machine": options.machine,
        "engine": engine,
        "engine_config": part.config(bundled, options.machine),
        "engine_binary": part.binary,
        "commands": part.commands(bundled, options.machine),
        "base_image": target.base_image,
        "python": target.python,
        "platform": target.docker_platform,
        "offline": options.offline,
        "wheels": bool(carried),
        "image": image,
        "nodes": [n.name for n in nodes],
        "plans": [node_plan(bundled, n.name) for n in nodes],
        "coordinator": coordinator(options.coordinator_addr),
        "runtime_modules": list(part.runtime_modules),
        "ir_sha256": digest,
        "foreign_venv": bool(foreign_requirements),
        "foreign_programs": foreign.machine_programs(spec, options.machine, paths),
    }))
    info = {
        "system": spec.name,
        "machine": options.machine,
        "nodes": [n.name for n in nodes],
        "components": [c.name for c in components],
        "engine": engine,
        "engine_versions": part.versions(),
        "ir_sha256": digest,
        "lkbuild_version": installed_version("lkbuild") or "unknown",
        "image": image,
        "base_image": target.base_image,
        "platform": target.docker_platform,
        "python": target.python,
        "offline": options.offline,
        "requirements": requirements,
        "pins": {pin.requirement: {"sha256": pin.sha256, "file": pin.file} for pin in pins},
        "foreign_requirements": foreign_requirements,
    }
    files[manifest.MANIFEST] = manifest.manifest_bytes(files, info)
    bundle = Bundle(
        path=safe_join(Path(options.out) / "bundles", options.machine), machine=options.machine, engine=engine,
        image=image, target=target, offline=options.offline, requirements=requirements,
        wheels=[w.name for w in [*carried, *((foreign_wheels or []) if options.offline else [])]],
        files=sorted(files), pins=pins,
        foreign_requirements=foreign_requirements,
    )
    return bundle, files


def write_bundle(spec, options: BundleOptions, progress: Optional[Progress] = None) -> Bundle:
    """Write ``<out>/bundles/<machine>/``. A failure (e.g. a requirement with no wheel) leaves the old one.

    Raises:
        ConfigError: unknown machine, bad option, or a requirement without a wheel for the platform.
    """
    say = progress or (lambda _: None)
    problems = spec.validate()
    if problems:
        raise GraphError(problems)
    claim_build_dir(options.out, os.getcwd(), spec)
    bundle, _ = plan_bundle(spec, options)  # checks everything cheap before downloading
    scratch = Path(tempfile.mkdtemp(prefix=".wheels-", dir=_bundles_dir(options)))
    try:
        from ..tools.pip import Pip

        # Online too: the hashes in requirements.txt are those of the wheels pip picks for M's platform.
        say(f"Downloading wheels for {bundle.target.describe()}: {', '.join(bundle.requirements)}")
        pip = Pip()
        wheels = pip.download(bundle.requirements, scratch, bundle.target.pip_platforms, bundle.target.python,
                              bundle.target.describe())
        # Online, the image fetches from the index; only the wheels lkbuild built itself come along.
        carried = wheels if options.offline else [w for w in wheels if w.name in pip.built]
        foreign_wheels: List[Path] = []
        if bundle.foreign_requirements:  # online too: their hashes go into foreign-requirements.txt
            say(f"Downloading the foreign nodes' wheels: {', '.join(bundle.foreign_requirements)}")
            foreign_wheels = pip.download(bundle.foreign_requirements, scratch / "foreign",
                                          bundle.target.pip_platforms, bundle.target.python,
                                          bundle.target.describe())
        bundle, files = plan_bundle(spec, options, wheels, carried, foreign_wheels)
        replace_dir(bundle.path, files)
        record(Path(options.out), dirs=[f"bundles/{options.machine}"])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    say(f"Wrote {bundle.path} ({len(bundle.files)} files, {len(bundle.wheels)} wheels)")
    return bundle


def _bundles_dir(options: BundleOptions) -> Path:
    path = Path(options.out) / "bundles"
    path.mkdir(parents=True, exist_ok=True)
    return path


TAMPERED = (
    "{files}: the sha256 of {which} differs from requirements.txt, so pip --require-hashes refused to install "
    "it and the image was not built. The bundle was changed after lkbuild wrote it (`make verify` in {bundle} "
    "lists every changed file); bundle the machine again."
)
_MISMATCH = re.compile(r"from file://\S*?/wheels/([^\s/:]+\.whl)")


def build_image(bundle: Bundle, docker=None, on_line: Optional[Progress] = None) -> str:
    """Build the bundle's image with the docker SDK (no network when offline); returns the image id.

    Raises:
        ToolFailedError: the build failed; for a wheel whose sha256 is not the pinned one, naming the file.
    """
    from ..errors import ToolFailedError
    from ..tools.docker import Docker

    docker = docker or Docker()
    platform = bundle.target.docker_platform
    try:
        return docker.build(bundle.path, bundle.image, network_mode="none" if bundle.offline else None,
                            on_line=on_line, platform=platform if platform != "linux/amd64" else None)
    except ToolFailedError as exc:
        changed = sorted(set(_MISMATCH.findall(exc.output_tail or ""))) if "HASHES" in (exc.output_tail or "") else []
        if not changed:
            raise
        raise ToolFailedError(exc.cmd, exc.code, exc.output_tail, TAMPERED.format(
            files=", ".join(f"wheels/{name}" for name in changed), bundle=bundle.path,
            which="this wheel" if len(changed) == 1 else "these wheels")) from None


def save_image(bundle: Bundle, docker=None) -> Path:
    """Write the image tarball ``image.tar`` into the bundle (``make load`` reads it on the robot)."""
    from ..tools.docker import Docker

    docker = docker or Docker()
    return docker.save(bundle.image, bundle.path / "image.tar")
