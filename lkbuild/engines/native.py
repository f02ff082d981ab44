"""The native engine: every component in this Python process, with the strictness of a distributed run.

Components are rebuilt from their recorded construction and every message passes through the codec,
so whatever runs natively also runs on dora and ROS 2.

The components run in a worker thread while the calling thread keeps the clock: ``duration`` bounds
the whole run, setup included, even when a component never returns from ``setup()`` or ``forward()``
(Python cannot stop such a thread; the run is reported, named, and the worker is abandoned). SIGTERM
and SIGHUP stop a run as Ctrl-C does.
"""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import List, Optional

from ..errors import ComponentError, ComponentStalledError, ConfigError
from ..graph.plan import node_plan
from .. import recording
from ..runtime_stubs.lk_runtime import build, host, logs, record
from ..runtime_stubs.lk_runtime.profile import Profiler
from ..runtime_stubs.lk_runtime.errors import ComponentFailure
from ..tools.logs import LiveLog
from ..tools.signals import stop_requests
from . import profile
from .base import Engine, write_system_json
from .run import LaunchOptions, RunResult


# s a run may take past its duration (to drain and tear down), or after Ctrl-C, before it is abandoned
STOP_GRACE_S = 5.0
POLL_S = 0.05


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
        recording.prepare(record_dir)
        recorder = record.recorder(record_dir, "local", host.plan_tick_hz(plan), options.realtime)
        runner = host.Host(plan, instances, record=recorder, strict=True, iterations=options.iterations,
                           logical_time=options.logical_time)
        profiler = Profiler(runner).install() if options.profile else None
        result = RunResult("native", record_dir=record_dir)
        live = LiveLog()
        # Shown as live logs where someone shows them (the CLI); through the API, prints go where they go.
        restore = logs.capture(plan, instances, target=live) if live.shown() else (lambda: None)
        try:
            with stop_requests():
                run_bounded(runner, instances, options.duration, options.realtime)
        except ComponentFailure as exc:
            raise live.explained(as_component_error(exc)) from None
        finally:
            restore()
            if recorder is not None:
                recorder.close()
            if profiler is not None:  # a run stopped by Ctrl-C or a failure is profiled too
                profile.conclude(self.out_dir, spec, self.name, [profiler.result()], options.run_id, result)
        recording.finish(record_dir, spec, options.iterations)
        result.messages, result.fired = runner.messages, {s.name: s.fired for s in runner.slots}
        return result


def run_bounded(runner, instances, duration: Optional[float], realtime: bool) -> None:
    """``runner.run`` in a worker thread, bounded by ``duration`` (wall clock) and stopped by Ctrl-C.

    Raises what the run raised; ``ComponentStalledError`` naming the component (and the line it was
    at) when the run is still busy ``STOP_GRACE_S`` after its duration.
    """
    stop = threading.Event()
    failed: List[BaseException] = []

    def work() -> None:
        try:
            runner.run(duration=duration, realtime=realtime, should_stop=stop.is_set)
        except BaseException as exc:  # handed to the calling thread, which raises it
            failed.append(exc)

    worker = threading.Thread(target=work, name="lkbuild-native", daemon=True)
    start = time.monotonic()
    worker.start()
    try:
        while worker.is_alive():
            worker.join(POLL_S)
            if duration is not None and worker.is_alive() and time.monotonic() - start >= duration + STOP_GRACE_S:
                stop.set()
                raise _stalled(worker, runner, instances, duration)
    except KeyboardInterrupt:
        stop.set()  # sources stop firing; teardown runs in the worker
        worker.join(STOP_GRACE_S)
        raise
    if failed:
        raise failed[0]


def _stalled(worker: threading.Thread, runner, instances, duration: float) -> ComponentStalledError:
    """Where the worker is: the outermost call into a component (its phase) and the innermost line in it."""
    names = {id(obj): name for name, obj in instances.items()}
    frame = sys._current_frames().get(worker.ident)
    outer = inner = None
    while frame is not None:
        owner = names.get(id(frame.f_locals.get("self")))
        if owner is not None:
            outer = (owner, frame.f_code.co_name)
            inner = inner or f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    component, phase = outer or (runner.slots[0].name if runner.slots else "?", "forward")
    slot = runner.by_name.get(component)
    return ComponentStalledError([component], slot.node if slot else runner.node,
                                 slot.machine if slot else runner.machine, phase, duration,
                                 f"\nIt was at {inner}." if inner else "")
