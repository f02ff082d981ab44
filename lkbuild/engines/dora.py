"""The dora engine: compile a system to a dora-rs dataflow; run it on one machine or on several.

* ``compile`` writes ``.lk_build/dora/`` (``dataflow.yaml``, ``nodes/``, ``machines/*.sh``) and
  ``.lk_build/system.json``; returns the path of ``dataflow.yaml``.
* ``launch`` runs it: ``dora run`` (one machine, no coordinator), ``coordinator_addr=`` (``dora start
  --attach`` on a running coordinator; prints the daemon command for each machine) or
  ``local_cluster=True`` (a coordinator and one daemon per machine on 127.0.0.1, all stopped after).
  Nothing started is left running, whatever happens. Node logs stay under ``.lk_build/dora/``.
"""
from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .. import recording
from ..errors import ComponentError, LkbuildError, ToolError, ToolFailedError
from ..output import claim_build_dir, inputs_digest, up_to_date, write_generated, write_tree
from ..generators.dora import LOCAL_DATAFLOW
from ..generators.dora.dataflow import TIMERS_PREFIX, boundary_counters
from ..graph.plan import run_plan
from ..tools import stop_all, tail, wait_until
from ..tools.dora import Coordinator, Dora, LocalCluster, daemon_command
from ..tools.logs import Follow, LiveLog
from ..tools.shm import ShmTracker
from ..tools.signals import stop_requests
from ..tools.supervise import STOP_GRACE_S, Outcome, Supervisor
from . import profile
from .base import Engine, write_system_json
from .dora_report import (components_on, ended_without_report, failed_nodes, machine_lost, not_ready, starting, still_in_setup,
                          timed_out)
from .report import Report
from .run import LaunchOptions, RunResult

log = logging.getLogger("lkbuild.dora")

PRUNED = ("",)  # a compile owns every file it generates here: what it no longer generates goes
SCRATCH = ("logs", "out", "home", "cluster")  # dora's logs and state: kept until `lkbuild clean`
INTERRUPT_GRACE_S = 3.0  # after Ctrl-C, for `dora stop` to end the nodes gracefully (the rest is signalled)


class DoraEngine(Engine):
    """Compiles to ``.lk_build/dora/dataflow.yaml`` and runs it with the real ``dora`` binary."""

    name = "dora"

    @property
    def dora_dir(self) -> Path:
        return self.out_dir / "dora"

    def tool(self, home: Optional[Path] = None) -> Dora:
        return Dora(home=home if home is not None else self.dora_dir.resolve() / "home")

    def generate(self, spec, **options) -> Dict[str, bytes]:
        from ..generators import dora as generator

        from .foreign_env import foreign_paths

        options.setdefault("root", str(self.dora_dir.resolve()))
        options.setdefault("python", os.path.abspath(sys.executable))
        options.setdefault("foreign_paths", foreign_paths(spec, self.out_dir))
        return generator.generate(spec, options)

    # -- compile ----------------------------------------------------------------------------------------------
    def compile(self, system) -> Optional[Path]:
        spec = self.checked_spec(system)
        if spec.foreign:  # the venv of foreign nodes' packages, made before anything is written (kept once made)
            from .foreign_env import FOREIGN_DIR, prepare

            claim_build_dir(self.out_dir, os.getcwd(), spec)
            prepare(spec, self.out_dir)
            write_generated(self.out_dir, {}, scratch=(FOREIGN_DIR,))  # removed by `lkbuild clean`
        system_json = write_system_json(self.out_dir, spec)
        inputs = self.generation_inputs(system_json)
        if not up_to_date(self.dora_dir, inputs):  # else generating would write the same bytes again
            files = self.generate(spec)  # everything rendered before anything is written
            write_generated(self.dora_dir, files, prune=PRUNED, scratch=SCRATCH, inputs=inputs)
        return self.dora_dir / "dataflow.yaml"

    def generation_inputs(self, system_json: Path) -> str:
        """What the generated dora files depend on: the IR, the paths baked in, the generator's files."""
        from ..generators import dora as generator

        sources = [p for p in Path(generator.__file__).parent.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts]
        return inputs_digest(system_json.read_text(), str(self.dora_dir.resolve()),
                             os.path.abspath(sys.executable), sources=sources)

    def validate(self, system) -> Tuple[bool, List[str]]:
        """The IR's problems, then what the real ``dora validate`` says about the generated dataflow."""
        ok, found = super().validate(system)
        if not ok:
            return ok, found
        with tempfile.TemporaryDirectory(prefix="lk-dora-") as tmp:
            try:
                files = self.generate(self.checked_spec(system), root=tmp)
                write_tree(Path(tmp), files)
                self.tool(Path(tmp) / "home").validate(Path(tmp) / "dataflow.yaml")
            except LkbuildError as exc:
                found.append(f"dora: {exc}")
        return not found, found

    # -- launch -----------------------------------------------------------------------------------------------
    def launch(self, system, config_path, **kwargs) -> RunResult:
        """Run the compiled dataflow; returns when it has ended (``iterations``, ``duration`` or Ctrl-C).

        ``duration`` bounds the run in wall-clock time from the dataflow's start, setup included.
        SIGTERM and SIGHUP stop the run as Ctrl-C does (``lkbuild.tools.signals.Stopped``).

        Raises:
            ComponentError: a component raised; names component, node and machine, with the traceback.
            ComponentStalledError: ``duration`` passed while a node was still in ``setup()``.
            ToolError: dora failed, a machine's daemon was lost, or ``timeout`` seconds passed
                (everything is stopped first).
        """
        options = LaunchOptions.of(self.name, **kwargs)
        spec = self.launch_spec(system)
        dataflow = Path(config_path or self.compile(spec)).resolve()
        env_vars = options.settings().to_env()
        if os.environ.get("HOME") and "$" not in os.environ["HOME"]:
            env_vars["HOME"] = os.environ["HOME"]  # dora's own HOME is private; components keep the user's
        logs = dataflow.parent / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        result = RunResult("dora", record_dir=options.record_path)
        recording.prepare(options.record_path)
        run = _Run(spec, dataflow, env_vars, logs, options.duration, options.timeout, result, ShmTracker())
        if options.profile:
            run.profile_run_id = options.run_id
        with stop_requests():
            try:
                if options.local_cluster:
                    self._run_local_cluster(run)
                elif options.coordinator_addr:
                    self._run_on_coordinator(run, Coordinator.parse(options.coordinator_addr))
                else:
                    self._run_here(run)
            except ComponentError as exc:
                raise run.live.explained(exc) from None
            finally:
                run.shm.cleanup()  # every process of the run has been stopped by now
                if run.profile_run_id is not None:  # also when the run was stopped or failed
                    self._profile(run, run.dataflow.parent / "cluster" if options.local_cluster else None)
                # Nodes report in their own order; show them in the system's, as the native engine does.
                result.fired = {name: result.fired[name] for name in (c.name for c in spec.components)
                                if name in result.fired}
        recording.finish(options.record_path, spec, options.iterations)
        return result

    def _profile(self, run: "_Run", cluster: Optional[Path]) -> None:
        """Merge the Nodes' ``LK_PROFILE`` lines (in their logs: a cluster's are under its state directory)."""
        logs = RunResult(self.name, log_dir=run.result.log_dir or cluster, log_file=run.result.log_file)
        parts = Report.read(node_log_lines(logs)).profiles.values()
        profile.conclude(self.out_dir, run.spec, self.name, parts, run.profile_run_id, run.result)

    def _run_here(self, run: "_Run") -> None:
        result = run.result
        result.log_file = _fresh(run.logs / "dora-run.log")
        dora = self.tool()
        local = run.dataflow.parent / LOCAL_DATAFLOW  # `dora run` refuses `deploy:` sections
        before = _log_dirs(run.dataflow.parent / "out")
        # The duration is enforced here, in wall-clock time from the launch: dora's own --stop-after
        # only starts counting once every node has set up.
        process = dora.run_dataflow(local if local.exists() else run.dataflow, run.env_vars, result.log_file)
        result.pids.append(process.pid)
        try:
            with Follow(run.live, lambda: [result.log_file]):
                outcome = Supervisor(process, shm=run.shm).wait(
                    run.duration, run.timeout, on_deadline=process.interrupt, waiting_for=lambda: starting(run))
        finally:
            process.stop()
        result.log_dir = _newest(_log_dirs(run.dataflow.parent / "out") - before)
        self._finish(result, outcome, process.cmd, run)

    def _run_local_cluster(self, run: "_Run") -> None:
        from ..generators.dora.dataflow import machines_of

        # Scratch state of the previous rehearsal (daemon work dirs, node logs) is of no further use.
        state = run.dataflow.parent / "cluster"
        shutil.rmtree(state, ignore_errors=True)
        run.result.log_file = _fresh(run.logs / "dora-start.log")
        machines = machines_of(run.spec)
        with LocalCluster(self.tool(state / "home"), machines, state) as cluster:
            run.result.pids.extend(cluster.pids)
            log.info("local dora cluster: coordinator %s, daemons for %s", cluster.coordinator,
                     ", ".join(machines) or "one unnamed machine")
            outcome = self._attach(cluster.dora, cluster.coordinator, run, cluster.helpers(),
                                   broken=cluster.spawn_failure)
            if outcome.lost:
                raise machine_lost(outcome, cluster, run)
            if outcome.broken:
                raise ToolError(f"{outcome.broken} {outcome.elapsed:.0f} s into the run; every process of the run "
                                f"was stopped. Logs: {state}")
        run.result.log_dir = state  # <machine>/_work/<session>/out/<run>/log_<node>.jsonl, one tree per daemon
        self._finish(run.result, outcome, ["dora", "start", str(run.dataflow)], run, extra_logs=state.glob("*.log"))

    def _run_on_coordinator(self, run: "_Run", coordinator) -> None:
        from ..generators.dora.dataflow import machines_of

        result = run.result
        files = self.generate(run.spec, coordinator_addr=coordinator.host, coordinator_port=coordinator.port)
        write_tree(self.dora_dir, {k: v for k, v in files.items() if k.startswith("machines/")})
        for machine in machines_of(run.spec):
            command = " ".join(shlex.quote(a) for a in daemon_command(machine, coordinator))
            result.daemon_commands[machine] = command
            log.info("on machine %s run: %s   (also in %s)", machine, command,
                     self.dora_dir / "machines" / f"{machine}.sh")
        result.log_file = _fresh(run.logs / "dora-start.log")
        outcome = self._attach(self.tool(), coordinator, run)
        try:
            self._finish(result, outcome, ["dora", "start", str(run.dataflow)], run)
        except ToolFailedError as exc:
            # Most often a daemon is missing: say what to start where.
            commands = "\n".join(f"  on {m}: {c}" for m, c in result.daemon_commands.items())
            raise ToolFailedError(exc.cmd, exc.code, exc.output_tail,
                                  f"Is a dora daemon running on every machine, connected to {coordinator}?\n"
                                  f"{commands}") from None

    def _attach(self, dora, coordinator, run: "_Run", helpers=None, broken=None) -> Outcome:
        """``dora start --attach``; ``duration`` and Ctrl-C stop the dataflow through the coordinator."""
        process = dora.start_dataflow(run.dataflow, coordinator, run.spec.name, run.env_vars, run.result.log_file)
        run.result.pids.append(process.pid)
        stopping: List = []

        def request_stop() -> None:
            stopping.append(dora.request_stop(coordinator, run.spec.name))

        try:
            with Follow(run.live, lambda: [run.result.log_file]):
                return Supervisor(process, helpers, shm=run.shm).wait(
                    run.duration, run.timeout, on_deadline=request_stop, waiting_for=lambda: starting(run),
                    broken=broken)
        except KeyboardInterrupt:
            request_stop()  # the nodes end as at a normal stop (teardown runs); stop_all ends what does not
            wait_until(lambda: process.poll() is not None, INTERRUPT_GRACE_S)
            raise
        finally:
            stop_all([process, *stopping], grace=2.0)

    def _finish(self, result: RunResult, outcome, cmd, run: Optional["_Run"] = None, extra_logs=()) -> None:
        """Read the node logs (summaries, losses, failures); raise what went wrong.

        ``outcome``: how the run ended (``Outcome``), or just dora's exit code.
        """
        if not isinstance(outcome, Outcome):
            outcome = Outcome(code=outcome)
        lines = node_log_lines(result, extra_logs)
        found = Report.read(lines)
        summarized = set(found.summaries)
        result.messages = found.messages
        if run is not None:
            result.fired = found.fired(c.name for c in run.spec.components)
            result.lost = {**found.undelivered(run_plan(run.spec)["edges"]), **found.lost}
            result.boundary = found.at_boundary(boundary_counters(run.spec))
        else:
            result.fired = found.fired(sorted({k for s in found.summaries.values() for k in s.get("fired", {})}))
            result.lost = dict(found.lost)
        if result.lost:
            log.warning("dora lost %d message(s) in transit: %s. The recorded outputs are incomplete.",
                        sum(result.lost.values()), ", ".join(f"{e}: {n}" for e, n in sorted(result.lost.items())))
        if result.log_dir:
            log.info("dora node logs: %s", result.log_dir)
        failures = list(found.failures)
        where = f"\nLogs: {result.log_dir or result.log_file}"
        if run is not None:
            # A node dora restarted (Node(restart=...)) that then finished the run has recovered.
            restarted = {n.name for n in run.spec.nodes if n.restart in ("on-failure", "always")} & summarized
            for failure in [f for f in failures if str(f.get("node")) in restarted]:
                warning = (f"node '{failure.get('node')}' failed in {failure.get('phase')}() "
                           f"(component '{failure.get('component')}') and was restarted by dora.")
                result.warnings.append(warning)  # the CLI prints them; one log line would print it twice
            failures = [f for f in failures if str(f.get("node")) not in restarted]
        error = Report(failures=failures).component_error(where)
        if error is not None:
            raise error
        if outcome.timed_out:
            raise timed_out(run.timeout if run else None, result)
        if outcome.deadline and run is not None:
            unready = not_ready(run.spec, lines)
            if unready:
                raise still_in_setup(run, unready, where)
        if outcome.stalled:
            raise ToolError(f"the dora run did not stop within {STOP_GRACE_S:.0f} s of the end of its duration "
                            f"and was stopped.{where}")
        if outcome.code == 0 and run is not None and not (outcome.deadline or outcome.stalled):
            silent = [n for n in run.spec.nodes if n.name not in summarized]
            if silent:  # it ended "successfully" without a word: a component ended the process
                raise ended_without_report(silent[0], where)
        if outcome.code == 0:
            return
        if failures:
            raise ToolFailedError(cmd, outcome.code, str(failures[0].get("traceback", "")),
                                  f"node '{failures[0].get('node')}' failed.{where}")
        output = result.log_file.read_text(errors="replace") if result.log_file and result.log_file.exists() else ""
        code = outcome.code if outcome.code is not None else -1
        ended = failed_nodes(lines)
        foreign = {f.name: f for f in run.spec.foreign} if run is not None else {}
        gone = sorted(n for n in ended if n in foreign or n.startswith(TIMERS_PREFIX))
        if gone:
            # A foreign node speaks no lkbuild report: its own output says why it ended.
            raise ToolFailedError(cmd, outcome.code if outcome.code is not None else -1, tail(output), "".join(
                f"foreign dora node '{n}' ({foreign[n].path if n in foreign else 'timers'}) {ended[n]}. "
                for n in gone) + f"See {result.log_file}.")
        if ended and run is not None:
            # A node that ended without a report of its own was ended from outside (killed, out of memory).
            raise ToolFailedError(cmd, code, tail(output), "".join(
                f"node '{n}' (components {', '.join(components_on(run.spec, n))}) {why}; it reported "
                f"nothing itself, so it was ended from outside (killed, out of memory). "
                for n, why in sorted(ended.items())) + f"See {result.log_file}.")
        raise ToolFailedError(cmd, code, tail(output), f"See {result.log_file}.")


@dataclass
class _Run:
    """One launch's inputs and what it collects as it goes."""

    spec: object
    dataflow: Path
    env_vars: Dict[str, str]
    logs: Path
    duration: Optional[float]
    timeout: Optional[float]
    result: RunResult
    shm: ShmTracker
    all_ready: bool = False
    profile_run_id: Optional[str] = None  # set when the run is profiled
    live: LiveLog = field(default_factory=LiveLog)


# -- helpers ----------------------------------------------------------------------------------------------------
def _fresh(path: Path) -> Path:
    if path.exists():
        path.unlink()
    return path


def _log_dirs(*roots: Path) -> set:
    return {d for root in roots if root.is_dir() for d in root.iterdir() if d.is_dir()}


def _newest(dirs) -> Optional[Path]:
    return max(dirs, key=lambda d: d.stat().st_mtime) if dirs else None


def node_log_lines(result: RunResult, extra_logs=()) -> List[str]:
    """The messages of every node log of this run (JSON lines), then dora's own output (and daemons')."""
    lines: List[str] = []
    if result.log_dir and result.log_dir.is_dir():
        for path in sorted(result.log_dir.rglob("log_*.jsonl")):
            for raw in path.read_text(errors="replace").splitlines():
                try:
                    lines.append(str(json.loads(raw).get("msg", "")))
                except (ValueError, AttributeError):
                    lines.append(raw)
    for path in [result.log_file, *sorted(extra_logs)]:
        if path and path.exists():
            lines += path.read_text(errors="replace").splitlines()
    return lines
