"""The ROS 2 engine: an ament_python package per system, built with colcon, run with real rclpy.

``compile`` writes the colcon workspace ``<out>/ros2`` (see ``lkbuild.generators.ros2``) and returns
the system's launch file. ``launch`` builds the package with colcon (skipped when its sources did not
change), then runs it: with ``ros2 launch`` where a ROS 2 install provides it, otherwise by starting
every installed node executable itself, with exactly the arguments the launch file gives them. One
process per lkbuild Node; the run ends by itself with ``iterations``, after ``duration`` seconds, or on
Ctrl-C (or SIGTERM, SIGHUP), and no process of it is left running.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Dict, List, Optional

from .. import recording
from ..errors import ComponentError, ComponentStalledError, ToolFailedError
from ..output import write_generated
from ..runtime_stubs.lk_runtime.report import SUMMARY as SUMMARY_MARK
from ..tools import Process, stop_all
from ..tools.colcon import Colcon
from ..tools.ros2 import Ros2Cli, Workspace, remove_stale_shm, shm_files, workspace_problem
from ..tools.logs import Follow, LiveLog
from ..tools.signals import stop_requests
from . import profile
from .base import Engine, write_system_json
from .report import Report
from .run import LaunchOptions, RunResult

POLL = 0.05


class Ros2Engine(Engine):
    """Compiles to a colcon workspace of one ament_python package and runs it with rclpy."""

    name = "ros2"

    @property
    def workspace(self) -> Path:
        return (self.out_dir / "ros2").absolute()

    def problems(self, spec) -> List[str]:
        from ..generators.ros2 import interfaces
        from ..runtime_stubs.lk_runtime import rosmsg

        found = []
        for name in interfaces.ros_messages(spec):
            try:
                rosmsg.resolve(name)  # a name from the IR (the user's annotations), checked by rosmsg.MESSAGE
            except ImportError as exc:
                ports = ", ".join(sorted(f"{c.name}.{p.name}" for c in spec.components
                                         for p in (*c.inputs, *c.outputs) if rosmsg.type_name(p.annotation) == name))
                found.append(f"{ports or 'a port'} carries the ROS message {name}, but {exc}.")
        workspace = workspace_problem(self.workspace)  # before anything is written or built
        if workspace:
            found.append(workspace)
        for machine in spec.machines:
            if machine.name == spec.name:
                found.append(f"machine '{machine.name}' has the system's name; its launch file would replace "
                             f"launch/{spec.name}.launch.py. Rename the machine or the system.")
        return found

    # -- compile ------------------------------------------------------------------------------------------
    def compile(self, system) -> Optional[Path]:
        from ..generators import ros2

        spec = self.checked_spec(system)
        files = ros2.generate(spec)
        write_system_json(self.out_dir, spec)  # first: it checks that the build directory is lkbuild's
        # Every package under src/ is generated: another system's package left there would be built too.
        write_generated(self.workspace, files, prune=["src"], scratch=["build", "install", "log"])
        return self.workspace / "src" / spec.name / "launch" / f"{spec.name}.launch.py"

    def build(self, spec, env=None) -> bool:
        """``colcon build`` the package unless what it is built from is unchanged; True if built.

        A change of config values that travel as ROS parameters needs no build: the nodes read them
        from the params file compile wrote (``ros2.code_digest``).
        """
        from ..generators import ros2

        stamp = self.workspace / "build" / f".lkbuild-{spec.name}.sha256"
        digest = ros2.code_digest(spec)
        installed = self.workspace / "install" / spec.name / "lib" / spec.name
        if installed.is_dir() and stamp.is_file() and stamp.read_text() == digest:
            return False
        # colcon never removes what a previous build installed (a renamed node's executable, say)
        for stale in (self.workspace / "install" / spec.name, self.workspace / "build" / spec.name):
            shutil.rmtree(stale, ignore_errors=True)
        Colcon().build(self.workspace, [spec.name], env=env)
        stamp.write_text(digest)
        return True

    # -- launch -------------------------------------------------------------------------------------------
    def commands(self, spec, options: Optional[LaunchOptions] = None) -> Dict[str, List[str]]:
        """The command line of every node executable, as the system's launch file starts them."""
        from ..generators import ros2

        install = self.workspace / "install" / spec.name
        params = ros2.params_file(self.workspace, spec.name)
        values = self.launch_arguments(options)
        out = {}
        for node in spec.nodes:
            argv = [str(install / "lib" / spec.name / ros2.executable(node.name))]
            for flag, name in ros2.node_arguments():
                argv += [flag, values[name]]
            out[node.name] = argv + ["--ros-args", *ros2.ros_arguments(spec.name, str(params))]
        return out

    @staticmethod
    def launch_arguments(options: Optional[LaunchOptions] = None) -> Dict[str, str]:
        """The launch file's arguments (``name:=value``) for these options."""
        return (options or LaunchOptions(run_id="")).settings().to_args()

    def launch(self, system, config_path, **kwargs) -> RunResult:
        """Build, then run until the system ends (``iterations``), ``duration`` passes, or Ctrl-C.

        Options: see ``LaunchOptions``; ``timeout``: seconds after which a run that has not ended is
        stopped and reported as a failure; ``env``: extra environment variables for every process.
        Raises:
            ComponentError: a component raised (its name, node and traceback).
            ToolFailedError: the build failed, a process died, or the run exceeded ``timeout``.
        """
        options = LaunchOptions.of(self.name, **kwargs)
        spec = self.launch_spec(system)
        built = self.build(spec, env=options.env)
        log_dir = self.workspace / "log" / "run"
        log_dir.mkdir(parents=True, exist_ok=True)
        recording.prepare(options.record_path)
        result = RunResult("ros2", record_dir=options.record_path, log_dir=log_dir, built=built)
        before = shm_files()
        processes: Dict[str, Process] = {}
        with stop_requests():
            live = LiveLog()
            try:
                self._run(spec, result, processes, options, live)
            except ComponentError as exc:
                raise live.explained(exc) from None
            finally:
                stop_all(list(processes.values()))
                remove_stale_shm(before)
                if options.profile:  # also when the run was stopped or failed
                    parts = self._report(*processes.values()).profiles.values()
                    profile.conclude(self.out_dir, spec, self.name, parts, options.run_id, result)
        self._summarize(result, spec)
        recording.finish(options.record_path, spec, options.iterations)
        return result

    def _run(self, spec, result, processes, options: LaunchOptions, live: Optional[LiveLog] = None) -> None:
        """Start the processes (into ``processes``) and supervise them until the run ends."""
        cli = Ros2Cli()
        if cli.available():
            from ..generators import ros2

            arguments = {**self.launch_arguments(options),
                         "params_file": str(ros2.params_file(self.workspace, spec.name))}
            result.commands["launch"] = cli.launch_argv(spec.name, f"{spec.name}.launch.py", arguments)
        else:
            result.commands = self.commands(spec, options)
        workspace = Workspace(self.workspace)
        for name, argv in result.commands.items():
            log = result.log_dir / f"{name}.log"
            log.write_bytes(b"")
            processes[name] = workspace.start_sourced(argv, log, options.env)
        with Follow(live or LiveLog(), lambda: [p.log_path for p in processes.values()]):
            self._supervise(processes, options.duration, options.timeout, spec)

    def _supervise(self, processes: Dict[str, Process], duration, timeout, spec=None) -> None:
        """Wait for every process to end; on a failure stop the others and raise what went wrong."""
        start = time.monotonic()
        while True:
            codes = {name: p.poll() for name, p in processes.items()}
            failed = [name for name, code in codes.items() if code not in (None, 0)]
            if failed:
                stop_all(list(processes.values()))
                raise self._failure(processes, failed[0])
            if all(code == 0 for code in codes.values()):
                if any(self._failures(p) for p in processes.values()):  # `ros2 launch` exits 0 regardless
                    raise self._failure(processes, next(iter(processes)))
                return
            elapsed = time.monotonic() - start
            if duration is not None and elapsed >= duration:
                stop_all(list(processes.values()))
                failed = [name for name, p in processes.items() if p.poll() not in (0, None)]
                if any(self._failures(p) for p in processes.values()):
                    raise self._failure(processes, failed[0] if failed else next(iter(processes)))
                stuck = [name for name, p in processes.items() if not _summarized(p)]
                if spec is not None and stuck and "launch" not in processes:
                    raise _stalled(spec, stuck, duration, processes)
                return
            if timeout is not None and elapsed >= timeout:
                stop_all(list(processes.values()))
                name = next((n for n, c in codes.items() if c is None), next(iter(processes)))
                raise ToolFailedError(processes[name].cmd, -1, processes[name].log_tail(),
                                      f"the ROS 2 run did not end within {timeout} s; logs: "
                                      f"{processes[name].log_path.parent}")
            time.sleep(POLL)

    @staticmethod
    def _report(*processes: Process) -> Report:
        lines: List[str] = []
        for process in processes:
            if process.log_path and process.log_path.exists():
                lines += process.log_path.read_text(errors="replace").splitlines()
        return Report.read(lines)

    def _failures(self, process: Process) -> List[dict]:
        return self._report(process).failures

    def _failure(self, processes: Dict[str, Process], name: str):
        """The error to raise: the component that raised (in any process), else the process that died."""
        error = self._report(processes[name], *processes.values()).component_error()
        if error is not None:
            return error
        process = processes[name]
        return ToolFailedError(process.cmd, process.poll() or -1, process.log_tail(),
                               f"node '{name}' ended with an error; its log: {process.log_path}")

    @staticmethod
    def _summarize(result: RunResult, spec) -> None:
        from ..graph.plan import run_plan

        lines: List[str] = []
        for log in sorted(result.log_dir.glob("*.log")):
            for line in log.read_text(errors="replace").splitlines():
                lines.append(line)
                if "[WARN]" in line and line not in result.warnings:
                    result.warnings.append(line)
        found = Report.read(lines)
        result.messages = found.messages
        result.fired = found.fired(c.name for c in spec.components)
        result.lost = {**found.undelivered(run_plan(spec)["edges"]), **found.lost}


def _summarized(process: Process) -> bool:
    """The process printed its summary: it stopped by itself when asked, not because it was killed."""
    return bool(process.log_path and process.log_path.exists()
                and SUMMARY_MARK in process.log_path.read_text(errors="replace"))


def _stalled(spec, nodes: List[str], duration: float, processes: Dict[str, Process]) -> ComponentStalledError:
    """Nodes that did not stop when the duration ended (they had to be killed): a component never returned."""
    node = spec.node(nodes[0])
    return ComponentStalledError(list(node.components), node.name, node.machine or "local", None, duration,
                                 "".join(f"\nnode '{n}' did not stop when asked; its log: {processes[n].log_path}"
                                         for n in nodes))
