"""The Camera/Logger example run for real with the Jetson SDK on the jetson only: the nuc's generated
entrypoints (a dora node under its own daemon, a ROS 2 executable) import the file and run the Logger
without it, and record what the native engine records with the SDK everywhere."""
from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest

from dora_cluster import assert_nothing_left
from lkbuild.engines.run import LaunchOptions
from lkbuild.runtime_stubs.lk_runtime import record
from lkbuild.tools import wait_until
from lkbuild.tools.dora import Dora, LocalCluster

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "camera_logger"
VENDOR = EXAMPLE / "vendor"  # the simulated SDK: on the jetson's path only
ITERATIONS = 8


@pytest.fixture(scope="module")
def spec_and_native(tmp_path_factory):
    """The example's IR and the native run's recording (one process, the SDK importable)."""
    from lkbuild.engines.native import NativeEngine
    from lkbuild.loader import load_system

    saved = list(sys.path)
    sys.path.insert(0, str(VENDOR))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec = load_system(str(EXAMPLE / "camera_logger.py")).spec()
        out = tmp_path_factory.mktemp("native")
        NativeEngine(out_dir=out / "build").launch(spec, None, iterations=ITERATIONS, record_dir=out / "rec",
                                                   realtime=False)
    finally:
        sys.path[:] = saved
        for name in ("camera_logger", "jetvision"):
            sys.modules.pop(name, None)
    native = record.load(str(out / "rec"))
    assert len(native[("logger", "out")]) == ITERATIONS
    return spec, native


def environment(machine: str, home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HOME"] = str(home)
    if machine == "jetson":
        env["PYTHONPATH"] = str(VENDOR)
    return env


class PerMachineDora(Dora):
    """The dora CLI, whose daemons get the environment of their machine (nodes inherit the daemon's)."""

    def __init__(self, home: Path):
        super().__init__(home=home)
        self.machine_home = home

    def start_daemon(self, machine, *args, **kwargs):
        return Dora(home=self.machine_home, env=environment(machine, self.machine_home)).start_daemon(
            machine, *args, **kwargs)


def test_dora_nuc_node_runs_the_logger_without_the_sdk(spec_and_native, tmp_path):
    from lkbuild.engines.dora import DoraEngine

    spec, native = spec_and_native
    dataflow = DoraEngine(out_dir=tmp_path / "build").compile(spec)
    settings = LaunchOptions.of("dora", iterations=ITERATIONS, record_dir=tmp_path / "rec", realtime=False).settings()
    home = tmp_path / "home"
    home.mkdir()
    try:
        with LocalCluster(PerMachineDora(home), ["jetson", "nuc"], tmp_path / "cluster") as cluster:
            run = cluster.dora.start_dataflow(dataflow, cluster.coordinator, "camera-logger", settings.to_env(),
                                              tmp_path / "start.log")
            assert wait_until(lambda: run.poll() is not None, timeout=120), "the dataflow did not end"
            logs = {p.name: p.read_text(errors="replace")[-2000:] for p in (tmp_path / "cluster").rglob("log_*")}
            assert run.poll() == 0, ((tmp_path / "start.log").read_text()[-3000:], logs)
    finally:
        assert_nothing_left(str(tmp_path))
    nuc_log = next((tmp_path / "cluster" / "nuc").rglob("log_nuc.jsonl")).read_text()
    assert "jetvision" not in nuc_log  # no import error, no warning: the stand-in was silent
    assert record.load(str(tmp_path / "rec")) == native


def test_ros2_nuc_executable_runs_the_logger_without_the_sdk(spec_and_native, tmp_path):
    from lkbuild.engines.ros2 import Ros2Engine
    from lkbuild.tools.ros2 import DomainLease, Workspace

    spec, native = spec_and_native
    engine = Ros2Engine(out_dir=tmp_path / "build")
    engine.compile(spec)
    engine.build(spec)
    options = LaunchOptions.of("ros2", iterations=ITERATIONS, record_dir=tmp_path / "rec", realtime=False)
    (tmp_path / "rec").mkdir()
    home = tmp_path / "home"
    home.mkdir()
    workspace = Workspace(engine.workspace)
    processes = {}
    with DomainLease() as lease:
        try:
            for node, argv in engine.commands(spec, options).items():
                env = {**environment(node, home), **lease.environment(tmp_path / "ros_log")}
                processes[node] = workspace.start_sourced(argv, tmp_path / f"{node}.log", env)
            assert wait_until(lambda: all(p.poll() is not None for p in processes.values()), timeout=120)
            logs = {n: (tmp_path / f"{n}.log").read_text(errors="replace")[-3000:] for n in processes}
            assert {n: p.poll() for n, p in processes.items()} == {"jetson": 0, "nuc": 0}, logs
        finally:
            for process in processes.values():
                process.stop()
    assert "jetvision" not in (tmp_path / "nuc.log").read_text()
    assert record.load(str(tmp_path / "rec")) == native
