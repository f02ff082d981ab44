"""Faults on real engines, through the real `lkbuild` command: signals, killed processes, components that
exit or block. Each test asserts the exit code, a named cause within a bounded time, and that no process
and no /dev/shm file of the run is left.

Every run happens in one project directory per test; every process of a run has that directory in its
command line or environment (HOME points into it), which is how leftovers are found.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Optional, Set

import pytest

from dora_cluster import assert_nothing_left, processes_mentioning
from lkbuild.tools.ros2 import DomainLease
from lkbuild.tools.shm import SHM, process_tree, shm_in_use

pytestmark = pytest.mark.e2e

LKBUILD = Path(sys.executable).with_name("lkbuild")
STARTUP_S = 90        # compile (+ colcon build) and start, on a loaded machine
STOP_BOUND_S = 15     # from the signal or fault to lkbuild's exit: "a few seconds", with room for load

ROBOT = '''
import os, sys, time
from lkbuild import Component, Node, System


class Ticker(Component):
    def __init__(self, name="ticker", node=None, rate_hz=20.0):
        super().__init__(name, node=node, rate_hz=rate_hz)

    def setup(self):
        self.n = 0

    def forward(self):
        self.n += 1
        return self.n


class Sink(Component):
    """Ends its own process at message ``at`` when ``how`` says so: "exit0", "exit3", "os_exit"."""

    outputs = ()

    def __init__(self, name="sink", node=None, how="", at=3):
        super().__init__(name, node=node)
        self.how, self.at = how, at

    def forward(self, x):
        if self.how and x >= self.at:
            if self.how == "os_exit":
                os._exit(0)
            sys.exit(int(self.how[len("exit"):]))


class Latest(Component):
    """Slow, and keeps only the newest message: a fast source loses messages to it."""

    outputs = ()
    input_queues = {"x": {"size": 1, "policy": "drop_oldest"}}

    def __init__(self, node=None):
        super().__init__("latest", node=node)

    def forward(self, x):
        time.sleep(0.005)


class SlowStart(Component):
    """A setup() that never returns (a camera that never answers)."""

    outputs = ()

    def __init__(self, node=None):
        super().__init__("slow_start", node=node)

    def setup(self):
        while True:
            time.sleep(0.1)

    def forward(self, x):
        pass


class Flaky(Component):
    """Raises at message 3 the first time (a marker file remembers it), then works."""

    outputs = ()

    def __init__(self, node=None, marker="flaky.marker"):
        super().__init__("flaky", node=node)
        self.marker = os.path.abspath(marker)

    def forward(self, x):
        if x >= 3 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            raise RuntimeError("flaky fails once")


def pair(second, rate_hz=20.0, name="faults", **restart):
    a, b = Node("a", machine="m1"), Node("b", machine="m2", **restart)
    ticker = Ticker(node=a, rate_hz=rate_hz)
    second.node = b
    second(x=ticker.out)
    return System(components=[ticker, second], name=name)


forever = pair(Sink())
exits0 = pair(Sink(how="exit0"))
exits3 = pair(Sink(how="exit3"))
os_exit = pair(Sink(how="os_exit"))
blocked = pair(SlowStart())
lossy = pair(Latest(), rate_hz=1000.0)
flaky = pair(Flaky(), restart="on-failure", max_restarts=2, restart_delay=0.2)
'''

ENGINES = {"native": ["-e", "native"], "dora": ["-e", "dora"], "cluster": ["-e", "dora", "--local-cluster"],
           "ros2": ["-e", "ros2"]}


class Run:
    """One `lkbuild launch` in a project directory, watched: its exit, its output, its /dev/shm files."""

    def __init__(self, project: Path, attr: str, engine: str, *args: str, env=None):
        self.project = project
        self.shm: Set[str] = set()
        self.shm_before = set(os.listdir(SHM))  # host-wide files (LTTng's, other runs') are not the run's
        cmd = [str(LKBUILD), "launch", f"robot.py:{attr}", *ENGINES[engine], "--record", "rec", *args]
        self.process = subprocess.Popen(cmd, cwd=project, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        self.output = ""
        self.ended_at: Optional[float] = None

    def sample_shm(self) -> None:
        self.shm |= shm_in_use(process_tree([self.process.pid])) - {""}

    def wait_for(self, predicate, timeout: float = STARTUP_S) -> None:
        """Until ``predicate()``; fails with lkbuild's output if it ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sample_shm()
            if predicate():
                return
            if self.process.poll() is not None:
                pytest.fail(f"lkbuild ended ({self.process.returncode}) first:\n{self.process.stdout.read()}")
            time.sleep(0.2)
        pytest.fail("timed out waiting for the run")

    def wait_running(self) -> None:
        self.wait_for(lambda: (self.project / "rec" / "ticker.jsonl").exists()
                      and (self.project / "rec" / "ticker.jsonl").stat().st_size > 0)
        for _ in range(5):  # a few samples of the shared memory the running processes use
            self.sample_shm()
            time.sleep(0.2)

    def finish(self, bound: float = STOP_BOUND_S) -> int:
        """lkbuild's exit code; it must come within ``bound`` seconds."""
        start = time.monotonic()
        try:
            self.output, _ = self.process.communicate(timeout=bound)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.output, _ = self.process.communicate()
            pytest.fail(f"lkbuild did not exit within {bound} s:\n{self.output}")
        self.ended_at = time.monotonic() - start
        # lkbuild prints no traceback of its own; a component's failure shows the component's
        assert "Traceback" not in self.output or "raised in" in self.output, self.output
        assert "internal error" not in self.output, self.output
        return self.process.returncode

    def assert_nothing_left(self) -> None:
        assert_nothing_left(str(self.project))
        left = {name for name in self.shm - self.shm_before if (SHM / name).exists()}
        assert not left, f"/dev/shm files of the run left: {left}"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "robot.py").write_text(textwrap.dedent(ROBOT))
    (tmp_path / "home").mkdir()
    return tmp_path


@pytest.fixture
def env(project):
    """A private HOME and, for ROS 2, a private domain."""
    with DomainLease() as lease:
        yield {**os.environ, "HOME": str(project / "home"), "PYTHONDONTWRITEBYTECODE": "1",
               **lease.environment(project / "ros_log")}


def node_pid(project: Path, node: str) -> int:
    """The pid of a dora node process (its entrypoint is nodes/<node>.py of this project's build)."""
    needle = f"/dora/nodes/{node}.py"
    found = [pid for pid, cmd in processes_mentioning(str(project)).items() if cmd.endswith(needle)]
    assert len(found) == 1, processes_mentioning(str(project))
    return found[0]


def daemon_pid(project: Path, machine: str) -> int:
    found = [pid for pid, cmd in processes_mentioning(str(project)).items()
             if " daemon " in cmd and f"--machine-id {machine} " in cmd]
    assert len(found) == 1, processes_mentioning(str(project))
    return found[0]


# -- signals -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine, sig", [
    ("native", signal.SIGINT), ("native", signal.SIGTERM), ("native", signal.SIGHUP),
    ("dora", signal.SIGTERM), ("dora", signal.SIGHUP),
    ("cluster", signal.SIGINT), ("cluster", signal.SIGTERM), ("cluster", signal.SIGHUP),
    ("ros2", signal.SIGTERM), ("ros2", signal.SIGHUP),
], ids=lambda v: v.name if isinstance(v, signal.Signals) else v)
def test_a_signal_stops_everything_and_exits_128_plus_its_number(project, env, engine, sig):
    run = Run(project, "forever", engine, env=env)
    run.wait_running()
    run.process.send_signal(sig)
    code = run.finish()
    assert code == 128 + sig, run.output
    cause = "Interrupted;" if sig == signal.SIGINT else f"Interrupted by {sig.name};"
    assert f"{cause} everything lkbuild started was stopped." in run.output
    run.assert_nothing_left()


def test_timeout_stops_a_dora_cluster_run_like_sigterm(project, env):
    cmd = ["timeout", "40", str(LKBUILD), "launch", "robot.py:forever", *ENGINES["cluster"]]
    done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 124  # timeout's own code: the command ended after its SIGTERM
    assert "Interrupted by SIGTERM" in done.stderr
    run = Run.__new__(Run)
    run.project, run.shm, run.shm_before = project, set(), set()
    run.assert_nothing_left()


# -- killed processes ------------------------------------------------------------------------------------------
def test_a_killed_dora_node_fails_the_run_naming_it(project, env):
    run = Run(project, "forever", "dora", env=env)
    run.wait_running()
    os.kill(node_pid(project, "b"), signal.SIGKILL)
    code = run.finish()
    assert code == 4, run.output
    assert "node 'b'" in run.output
    run.assert_nothing_left()


def test_a_killed_daemon_is_a_lost_machine_within_seconds(project, env):
    run = Run(project, "forever", "cluster", "-n", "300", env=env)
    run.wait_running()
    os.kill(daemon_pid(project, "m2"), signal.SIGKILL)
    code = run.finish()
    assert code == 4, run.output
    assert "machine 'm2' was lost" in run.output and "b" in run.output.split("was lost", 1)[1]
    run.assert_nothing_left()


# -- components that end their process ---------------------------------------------------------------------------
@pytest.mark.parametrize("engine, attr", [("native", "exits0"), ("dora", "os_exit"), ("dora", "exits3")])
def test_a_component_that_ends_its_process_is_a_component_failure(project, env, engine, attr):
    run = Run(project, attr, engine, "-n", "20", env=env)
    code = run.finish(STARTUP_S)
    assert code == 3, run.output
    assert "component 'sink'" in run.output
    run.assert_nothing_left()


# -- a blocked setup() and --duration ---------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["native", "dora", "ros2"])
def test_duration_bounds_a_run_whose_setup_never_returns(project, env, engine):
    run = Run(project, "blocked", engine, "--duration", "4", env=env)
    code = run.finish(STARTUP_S)
    assert code == 3, run.output
    assert "'slow_start'" in run.output and "still in setup()" in run.output
    run.assert_nothing_left()


# -- losses, however the run ends -------------------------------------------------------------------------------
def test_messages_lost_under_duration_are_reported(project, env):
    run = Run(project, "lossy", "dora", "--duration", "3", "--fast", env=env)
    code = run.finish(STARTUP_S)
    assert code == 0, run.output
    assert "messages lost in transit: a/ticker.out -> b/latest.x=" in run.output
    run.assert_nothing_left()


# -- recovery the user asked for --------------------------------------------------------------------------------
def test_a_node_with_restart_on_failure_is_restarted_and_the_run_reports_what_it_lost(project, env):
    run = Run(project, "flaky", "dora", "-n", "60", env=env)
    code = run.finish(STARTUP_S)
    assert code == 0, run.output
    assert "node 'b' failed in forward() (component 'flaky') and was restarted by dora." in run.output
    assert "fired: ticker=60, flaky=" in run.output
    assert list(project.rglob("flaky.marker"))  # the first incarnation did fail
    run.assert_nothing_left()
