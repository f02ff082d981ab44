"""The native engine: every component in this Python process, with the strictness of a distributed run.

Components are rebuilt from their recorded construction and every message passes through the codec,
so whatever runs natively also runs on dora and ROS 2.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ..errors import ComponentError, ConfigError
from ..graph import SystemSpec
from ..graph.plan import node_plan
from ..output import claim_build_dir, write_generated
from ..runtime_stubs.lk_runtime import build, host, record
from ..runtime_stubs.lk_runtime.errors import ComponentFailure
from .base import Engine
from .run import LaunchOptions, RunResult


def write_system_json(out_dir: Path, spec: SystemSpec) -> Path:
    """Claim the build directory for ``spec`` (``output.claim_build_dir``), then write the IR into it."""
    claim_build_dir(out_dir, os.getcwd(), spec)
    write_generated(out_dir, {"system.json": spec.to_json().encode()})
    return Path(out_dir) / "system.json"


def read_system_json(path) -> SystemSpec:
    try:
        return SystemSpec.from_json(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}. Run `lkbuild compile` first.") from None


def refuse_stand_ins(system) -> None:
    """A system read with stand-ins for missing modules cannot run in this process."""
    missing = getattr(system, "stand_ins", ())
    if missing:
        raise ConfigError(
            f"cannot run system '{system.name}' natively: module{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} {'are' if len(missing) > 1 else 'is'} not installed here (lkbuild read the "
            "system with stand-ins). Install them to run it here, or launch it on the machines that have "
            "them (lkbuild bundle --machine NAME)."
        )


def as_component_error(exc: ComponentFailure) -> ComponentError:
    return ComponentError(exc.component, exc.node, exc.machine, exc.phase, exc.traceback_text)


class NativeEngine(Engine):
    """Runs the whole system in one process."""

    name = "native"

    def compile(self, system) -> Optional[Path]:
        return write_system_json(self.out_dir, self.checked_spec(system))

    def launch(self, system, config_path, **kwargs) -> RunResult:
        options = LaunchOptions.of(self.name, **kwargs)
        refuse_stand_ins(system)
        spec = self.launch_spec(system)
        plan = node_plan(spec)
        record_dir = options.record_path
        try:
            instances = build.build_node(plan)
        except ComponentFailure as exc:
            raise as_component_error(exc) from None
        recorder = record.Recorder(str(record_dir)) if record_dir else None
        runner = host.Host(plan, instances, record=recorder, strict=True, iterations=options.iterations)
        try:
            runner.run(duration=options.duration, realtime=options.realtime)
        except ComponentFailure as exc:
            raise as_component_error(exc) from None
        finally:
            if recorder is not None:
                recorder.close()
        return RunResult("native", runner.messages, {s.name: s.fired for s in runner.slots}, record_dir)
