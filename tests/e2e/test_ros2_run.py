"""The ROS 2 engine with real colcon and rclpy: generated packages that build, test, run and interoperate."""
from __future__ import annotations

import ast
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from geometry_msgs.msg import Pose

from lkbuild import Component, ComponentError, Node, System
from lkbuild.engines import get_engine
from lkbuild.engines.run import LaunchOptions
from lkbuild.runtime_stubs.lk_runtime import record
from lkbuild.tools.colcon import Colcon
from lkbuild.tools.ros2 import DomainLease, mapped_shm_files, remove_stale_shm, shm_files

pytestmark = pytest.mark.e2e


@pytest.fixture
def ros_env(tmp_path, monkeypatch):
    """A private ROS graph for the test: its own domain id, localhost discovery, its own log directory."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    with DomainLease() as lease:
        for key, value in lease.environment(tmp_path / "ros_log").items():
            monkeypatch.setenv(key, value)
        before = shm_files()
        yield lease
    # graceful exits remove their Fast DDS files; anything new and unused would be ours
    assert not {n for n in shm_files() - before if not _in_use(n)}, "Fast DDS files left in /dev/shm"


def _in_use(name: str) -> bool:
    mapped = mapped_shm_files()
    return name in mapped or name.removesuffix("_el") in mapped


# -- a system written for the tests: two Nodes, every message kind ---------------------------------------
class Camera(Component):
    """Frames whose pixels count the frame number."""

    def __init__(self, node=None, size=8):
        super().__init__("camera", node=node, rate_hz=50)
        self.size = size

    def setup(self):
        self.n = 0

    def forward(self):
        self.n += 1
        return np.full((self.size, self.size), self.n, dtype=np.uint16)


class Detector(Component):
    # scalars travel as std_msgs; the dict with an array as codec bytes
    outputs = {"count": int, "label": str, "score": float, "seen": bool, "debug": None}

    def forward(self, image):
        total = int(image.sum())
        return {"count": total, "label": f"frame-{image[0, 0]}", "score": total / 7.0,
                "seen": bool(total % 2), "debug": {"shape": list(image.shape), "corner": image[:2, :2]}}


class Echo(Component):
    """Turns what it gets into a plain, comparable value. ``hint`` is an optional input left unwired."""

    def forward(self, x, hint=None):
        if isinstance(x, dict):
            return {"shape": x["shape"], "corner": x["corner"].tolist(), "hint": hint}
        return [x, type(x).__name__]


class Sink(Component):
    outputs = ()

    def forward(self, x):
        pass


class Explodes(Component):
    def forward(self, x):
        if x[0] >= 3 * 64:  # the third frame's pixel count
            raise RuntimeError("sensor on fire")
        return x


def two_node_system(name="twonode", explode=False):
    """vision (camera, detector, sink) and compute (one echo per detector output) as two processes."""
    vision, compute = Node("vision"), Node("compute")
    camera = Camera(node=vision)
    detector = Detector("detector", node=vision)
    out = detector(image=camera.out)
    echoes = [Echo(f"echo_{port}", node=compute) for port in Detector.outputs]
    for echo, port in zip(echoes, Detector.outputs):
        echo(x=out[port])
    last = Explodes("bomb", node=vision) if explode else Sink("sink", node=vision)
    last(x=echoes[0].out)
    return System(components=[camera, detector, *echoes, last], name=name)


def run_both(system, tmp_path, iterations=12):
    native = tmp_path / "native"
    ros = tmp_path / "ros"
    system.launch(engine="native", out=tmp_path / "build", iterations=iterations, record_dir=native,
                  realtime=False)
    result = system.launch(engine="ros2", out=tmp_path / "build", iterations=iterations, record_dir=ros,
                           timeout=120)
    return result, record.load(str(native)), record.load(str(ros))


def test_two_nodes_in_two_processes_record_what_native_records(tmp_path, ros_env):
    result, native, ros = run_both(two_node_system(), tmp_path)
    assert ros == native
    for port in Detector.outputs:
        assert len(native[(f"echo_{port}", "out")]) == 12
    assert sorted(result.commands) == ["compute", "vision"]
    assert result.fired["camera"] == 12 and result.fired["sink"] == 12


def test_large_frames_sent_without_recording_arrive_byte_for_byte(tmp_path, ros_env):
    # without a recording, a large frame only another Node receives is serialized once from its pieces
    import dora_systems

    path = tmp_path / "digests.txt"
    dora_systems.image_digest_system(str(path)).launch(engine="ros2", out=tmp_path / "build", iterations=6,
                                                       timeout=120)
    assert path.read_text().splitlines() == dora_systems.camera_digests(6)


def test_launch_file_nodes_are_what_was_started(tmp_path, ros_env):
    system = two_node_system("launched")
    result = system.launch(engine="ros2", out=tmp_path / "build", iterations=2, timeout=120)
    launch_file = tmp_path / "build/ros2/src/launched/launch/launched.launch.py"
    declared = {node["executable"]: node for node in launch_nodes(launch_file)}
    assert sorted(declared) == sorted(result.commands)
    # the params file compile wrote last: a config change reaches the next launch without a rebuild
    params = tmp_path / "build/ros2/src/launched/config/params.yaml"
    for name, argv in result.commands.items():
        run_id = argv[argv.index("--run-id") + 1]  # one per launch, the same for every process
        arguments = get_engine("ros2").launch_arguments(LaunchOptions(iterations=2, run_id=run_id))
        node = declared[name]
        expected = [str(tmp_path / f"build/ros2/install/launched/lib/{node['package']}/{node['executable']}")]
        expected += [arguments[a[1]] if isinstance(a, tuple) else a for a in node["arguments"]]
        expected += ["--ros-args", "-r", f"__ns:=/{node['namespace']}", "--params-file", str(params)]
        assert argv == expected
        assert node["parameters"] == [("lc", "params_file")]


def launch_nodes(path: Path):
    """The Node(...) calls of a launch file, keyword arguments as literals; LaunchConfiguration(x) -> ('lc', x)."""
    def value(expr):
        if isinstance(expr, ast.Call) and getattr(expr.func, "id", "") == "LaunchConfiguration":
            return ("lc", expr.args[0].value)
        if isinstance(expr, ast.Name):
            return expr.id
        if isinstance(expr, ast.List):
            return [value(e) for e in expr.elts]
        return ast.literal_eval(expr)

    tree = ast.parse(path.read_text())
    return [{kw.arg: value(kw.value) for kw in call.keywords} for call in ast.walk(tree)
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Node"]


def test_generated_package_passes_colcon_build_colcon_test_and_catkin_pkg(tmp_path, ros_env):
    from catkin_pkg.package import parse_package

    system = two_node_system("checked")
    engine = get_engine("ros2", out_dir=tmp_path / "build")
    engine.compile(system)
    assert engine.build(system.spec()) is True
    assert engine.build(system.spec()) is False  # unchanged sources: no rebuild
    summary = Colcon().test(engine.workspace, ["checked"])
    assert "0 errors, 0 failures" in summary and "0 tests" not in summary
    package = parse_package(str(engine.workspace / "src/checked/package.xml"))
    package.validate()
    assert package.package_format == 3
    assert {"rclpy", "std_msgs", "launch_ros", "python3-numpy"} <= {d.name for d in package.exec_depends}
    assert package.get_build_type() == "ament_python"
    for node in ("vision", "compute"):
        assert (engine.workspace / f"install/checked/lib/checked/{node}").is_file()


def test_component_exception_fails_the_launch_with_its_name_and_traceback(tmp_path, ros_env):
    system = two_node_system("exploding", explode=True)
    with pytest.raises(ComponentError) as caught:
        system.launch(engine="ros2", out=tmp_path / "build", iterations=10, timeout=120)
    error = caught.value
    assert error.component == "bomb" and error.node == "vision"
    assert "RuntimeError: sensor on fire" in error.traceback_text
    assert 'in forward' in error.traceback_text
    assert not running_executables(tmp_path)


def running_executables(tmp_path: Path):
    """Processes still running one of this test's installed executables."""
    alive = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(tmp_path / "build/ros2/install") in cmdline:
                alive.append(pid)
    return alive


# -- interoperability with a plain rclpy node -----------------------------------------------------------
class Ticker(Component):
    def setup(self):
        self.n = 0

    def forward(self) -> int:
        self.n += 1
        return self.n


class Doubler(Component):
    def forward(self, x: int) -> int:
        return 2 * x


def test_plain_rclpy_node_reads_and_writes_generated_topics(tmp_path, ros_env):
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Int64

    a, b = Node("a"), Node("b")
    ticker = Ticker("ticker", node=a, rate_hz=20)
    doubler = Doubler("doubler", node=b)
    sink = Sink("sink", node=a)
    sink(x=doubler(x=ticker.out))
    system = System(components=[ticker, doubler, sink], name="interop")
    errors = []

    def run():
        try:
            system.launch(engine="ros2", out=tmp_path / "build", duration=20, timeout=60)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("plain_test_node", context=context)
    got = []
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(Int64, "/interop/doubler/out", lambda m: got.append(m.data), qos)
    pub = node.create_publisher(Int64, "/interop/ticker/out", qos)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    launcher = threading.Thread(target=run)
    launcher.start()
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and not any(v >= 2000 for v in got):
            executor.spin_once(timeout_sec=0.1)
            if got and pub.get_subscription_count():
                pub.publish(Int64(data=1000))
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)
        stop_launch(tmp_path)
        launcher.join(60)
    assert not errors, errors
    assert any(0 < v < 1000 and v % 2 == 0 for v in got), "no doubled tick reached the plain node"
    assert 2000 in got, "the doubler never received what the plain node published"


# -- ports annotated with a ROS message class ---------------------------------------------------------------
class Planner(Component):
    def setup(self):
        self.n = 0

    def forward(self) -> Pose:
        self.n += 1
        pose = Pose()
        pose.position.x, pose.position.y, pose.orientation.w = float(self.n), -0.5 * self.n, 1.0
        return pose


class Follower(Component):
    def forward(self, pose: Pose) -> float:
        return pose.position.x + pose.position.y


# A plain rclpy node (no lkbuild) in its own process: subscribes to the planner's topic as Pose until the
# Pose at x == argv[1] arrives (or SIGINT), then prints what it received. It ends by itself: a plain
# subscriber is not part of the end-of-run protocol, so the last message may still be on its way to it
# when the run has ended. (In its own process so that it exits, and cleans up, like any ROS node.)
POSE_LISTENER = """
import json, sys, rclpy
from geometry_msgs.msg import Pose
from rclpy.qos import QoSProfile, ReliabilityPolicy
last = float(sys.argv[1])
rclpy.init()
node = rclpy.create_node("plain_pose_listener")
got = []
node.create_subscription(Pose, "/posebot/planner/out", got.append,
                         QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
print("ready", flush=True)
try:
    while rclpy.ok() and not (got and got[-1].position.x >= last):
        rclpy.spin_once(node, timeout_sec=0.1)
except KeyboardInterrupt:
    pass
print(json.dumps([[type(m).__name__, m.position.x, m.position.y, m.orientation.w] for m in got]), flush=True)
node.destroy_node()
rclpy.try_shutdown()
"""


def test_a_ros_message_port_is_that_message_on_the_topic_and_records_what_native_records(tmp_path, ros_env):
    import json
    import signal
    import subprocess
    import sys

    brain, body = Node("brain"), Node("body")
    planner = Planner("planner", node=brain, rate_hz=10)
    follower = Follower("follower", node=body)
    sink = Sink("sink", node=body)
    sink(x=follower(pose=planner.out))
    system = System(components=[planner, follower, sink], name="posebot")
    before = shm_files()
    listener = subprocess.Popen([sys.executable, "-c", POSE_LISTENER, "30"], stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout.readline().strip() == "ready"
        result, native, ros = run_both(system, tmp_path, iterations=30)
        try:
            listener.wait(timeout=10)  # it ends once the last Pose arrived
        except subprocess.TimeoutExpired:
            pass
    finally:
        if listener.poll() is None:
            listener.send_signal(signal.SIGINT)
        out, _ = listener.communicate(timeout=30)
        # the listener outlived the node processes: it held their port files as they exited
        remove_stale_shm(before)
    assert ros == native
    assert len(native[("planner", "out")]) == 30 and len(native[("follower", "out")]) == 30
    assert result.fired == {"planner": 30, "follower": 30, "sink": 30}
    got = json.loads(out.strip().splitlines()[-1])
    assert got, "the plain rclpy node received no Pose"
    # a reliable subscriber gets every message from when it matched on, in order, as Pose
    first = int(got[0][1])
    assert got == [["Pose", float(n), -0.5 * n, 1.0] for n in range(first, 31)]


def stop_launch(tmp_path):
    """End the launch early by interrupting its node processes (as Ctrl-C would)."""
    import signal

    for pid in running_executables(tmp_path):
        try:
            os.kill(int(pid), signal.SIGINT)
        except ProcessLookupError:
            pass


# -- configs as ROS parameters --------------------------------------------------------------------------
class Scaled(Component):
    @dataclass
    class Config:
        gain: float = 1.0
        label: str = "plain"

    def __init__(self, node=None, config=None):
        super().__init__("scaled", node=node, config=config)

    def setup(self):
        self.n = 0

    def forward(self):
        self.n += 1
        return f"{self.config.label}:{self.n * self.config.gain}"


def test_component_configs_are_ros_parameters_overridable_on_the_command_line(tmp_path, ros_env):
    import json

    from lkbuild.tools.ros2 import Workspace

    scaled = Scaled(config=Scaled.Config(gain=2.0))
    sink = Sink("sink")
    sink(x=scaled.out)
    system = System(components=[scaled, sink], name="params")
    engine = get_engine("ros2", out_dir=tmp_path / "build")
    engine.compile(system)
    engine.build(system.spec())
    argv = engine.commands(system.spec(), LaunchOptions(iterations=2, record_dir=tmp_path / "rec"))["local"]
    process = Workspace(engine.workspace).start_sourced(
        argv + ["-p", "label:=tuned", "-p", "gain:=10"], tmp_path / "run.log")
    try:
        assert process.wait(60) == 0, process.log_tail()
    finally:
        process.stop()
    lines = [json.loads(line) for line in (tmp_path / "rec/scaled.jsonl").read_text().splitlines()]
    # the params file says gain 2.0; the command line overrides it (an int given for a float still works)
    assert [line["value"] for line in lines] == ["'tuned:10.0'", "'tuned:20.0'"]


def test_a_config_change_reaches_the_next_launch_without_a_colcon_build(tmp_path, ros_env):
    import json

    def run(gain, label="plain", rate_hz=None):
        scaled = Scaled(config=Scaled.Config(gain=gain, label=label))
        if rate_hz is not None:
            scaled.rate_hz = rate_hz
        sink = Sink("sink")
        sink(x=scaled.out)
        record_dir = tmp_path / f"rec-{gain}-{label}-{rate_hz}"
        result = System(components=[scaled, sink], name="tuned").launch(
            engine="ros2", out=tmp_path / "build", iterations=2, record_dir=record_dir, realtime=False, timeout=120)
        lines = (record_dir / "scaled.jsonl").read_text().splitlines()
        return result.built, [json.loads(line)["value"] for line in lines]

    assert run(2.0) == (True, ["'plain:2.0'", "'plain:4.0'"])
    assert run(3.0) == (False, ["'plain:3.0'", "'plain:6.0'"])              # a new value: no build
    assert run(3.0, label="new") == (False, ["'new:3.0'", "'new:6.0'"])
    assert run(3.0, label="new", rate_hz=20.0)[0] is True                  # the rate is compiled in: a build


FOREIGN = '''
import json, sys, time
import rclpy
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

import os
system, nodes, stop = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
rclpy.init()
node = rclpy.create_node("intruder")
qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE,
                 durability=DurabilityPolicy.TRANSIENT_LOCAL)
pubs = [node.create_publisher(String, f"/{system}/_lk/status/{n}", qos) for n in nodes]
control = node.create_publisher(String, f"/{system}/_lk/control", qos)
print("ready", flush=True)
deadline = time.monotonic() + 60
while time.monotonic() < deadline and not os.path.exists(stop):
    for n, pub in zip(nodes, pubs):
        for run in ("", "another-run"):
            pub.publish(String(data=json.dumps({"node": n, "run": run, "idle": True, "failed": True,
                                                "sent": {}, "received": {}})))
    control.publish(String(data=json.dumps({"node": nodes[0], "run": "another-run", "done": True, "lost": {},
                                            "failed": nodes[0]})))
    rclpy.spin_once(node, timeout_sec=0.01)
node.destroy_node()
rclpy.shutdown()
'''


def test_statuses_from_a_process_that_is_not_part_of_the_run_neither_end_nor_fail_it(tmp_path, ros_env):
    import subprocess
    import sys

    script = tmp_path / "intruder.py"
    script.write_text(FOREIGN)
    system = two_node_system("guarded")
    stop = tmp_path / "stop"
    before = shm_files()
    intruder = subprocess.Popen([sys.executable, str(script), "guarded", "vision,compute", str(stop)],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert intruder.stdout.readline().strip() == "ready"
        result = system.launch(engine="ros2", out=tmp_path / "build", iterations=20, timeout=120)
    finally:
        stop.touch()  # it shuts rclpy down itself: no Fast DDS files left behind
        try:
            intruder.wait(20)
        except subprocess.TimeoutExpired:
            intruder.kill()
        remove_stale_shm(before)  # the intruder outlived the node processes: it held their port files
    assert result.fired["camera"] == 20 and result.fired["sink"] == 20   # ran to its end, not stopped early
    logs = "".join(p.read_text() for p in (tmp_path / "build/ros2/log/run").glob("*.log"))
    assert "stopping: node" not in logs
