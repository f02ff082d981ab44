"""Logical time on real engines: systems split over Nodes record the same bytes on every engine.

The cross-Node join of issue 12, a three-Node diamond with three rates and examples/gym_loop split over
two Nodes run with ``--fast`` on native, dora (one machine), dora ``--local-cluster`` (one daemon per
machine) and ROS 2 (one process per Node); every MCAP recording must be byte-identical to the native one
and ``lkbuild diff`` must say so. examples/robot recorded on dora replays with ``--replace camera``
natively and on ROS 2 with the same detector, planner and controller outputs.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dora_cluster import assert_nothing_left
from example_runs import EXAMPLES, LKBUILD, copy_example, lkbuild, private_env
from lkbuild.tools.ros2 import DomainLease

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
SYSTEMS = {  # name: (SYSTEM argument, iterations)
    "join": ("logical_systems.py:join", 12),
    "diamond": ("logical_systems.py:diamond", 8),
    "gym_loop": ("gym_loop/two_nodes.py", 12),
}
ENGINES = {"dora": ["-e", "dora"], "cluster": ["-e", "dora", "--local-cluster"], "ros2": ["-e", "ros2"]}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with the systems, a private HOME and a private ROS graph, shared by the module's tests."""
    folder = tmp_path_factory.mktemp("logical")
    shutil.copy(HERE / "logical_systems.py", folder)
    shutil.copy(HERE / "mixed_rates.py", folder)
    copy_example("gym_loop", folder)
    with DomainLease() as lease:
        env = {**private_env(folder), **lease.environment(folder / "ros_log")}
        yield folder, env
    assert_nothing_left(str(folder))


@pytest.fixture(scope="module")
def native(work):
    """Each system's native recording, made once."""
    folder, env = work
    made = {}

    def recording(name: str) -> Path:
        if name not in made:
            target, n = SYSTEMS[name]
            made[name] = folder / f"{name}_native.mcap"
            lkbuild(["launch", target, "-n", n, "--fast", "--record", made[name].name, "-o", f".lk_{name}"],
                    folder, env)
        return made[name]
    return recording


def diff(folder: Path, env, a, b) -> subprocess.CompletedProcess:
    return subprocess.run([LKBUILD, "diff", a, b], cwd=folder, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("engine", sorted(ENGINES))
@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_a_system_split_over_nodes_records_the_same_bytes_on_every_engine(work, native, name, engine):
    folder, env = work
    target, n = SYSTEMS[name]
    rec = folder / f"{name}_{engine}.mcap"
    lkbuild(["launch", target, *ENGINES[engine], "-n", n, "--fast", "--record", rec.name,
             "-o", f".lk_{name}_{engine}"], folder, env)
    same = diff(folder, env, native(name).name, rec.name)
    assert same.returncode == 0 and same.stdout.startswith("identical: "), same.stdout + same.stderr
    assert rec.read_bytes() == native(name).read_bytes()


def test_the_cross_node_join_makes_the_pairs_one_process_makes(work, native):
    from mcap.reader import make_reader

    with open(native("join"), "rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        pairs = [(m.log_time, bytes(m.data)) for _, c, m in reader.iter_messages(topics=["/join/out"])]
    channels = {c.topic: (c.message_encoding, summary.schemas[c.schema_id].name) for c in summary.channels.values()}
    assert channels == {t: ("json", "lkbuild.Value") for t in ("/fast/out", "/slow/out", "/join/out")}
    counts = {summary.channels[i].topic: n for i, n in summary.statistics.channel_message_counts.items()}
    assert counts == {"/fast/out": 12, "/slow/out": 12, "/join/out": 23}
    # Firings at 0.0, 0.1, ... 1.1 s and 0, 1, ... 11 s; at 1.0 s the fast input (declared first) goes first.
    assert pairs[:2] == [(0, b'{"value":[1,1]}'), (100_000_000, b'{"value":[2,1]}')]
    assert pairs[10:12] == [(1_000_000_000, b'{"value":[11,1]}'), (1_000_000_000, b'{"value":[11,2]}')]
    assert pairs[-1] == (11_000_000_000, b'{"value":[12,12]}')


def test_in_real_time_a_cross_node_join_on_dora_makes_the_pairs_of_a_fast_run(work):
    """Real time changes when messages are sent, not their logical times: the same pairs, the wall clock kept."""
    from mcap.reader import make_reader

    folder, env = work
    lkbuild(["launch", "logical_systems.py:realtime", "-n", "10", "--fast", "--record", "rt_fast.mcap",
             "-o", ".lk_rt_native"], folder, env)
    lkbuild(["launch", "logical_systems.py:realtime", "-e", "dora", "-n", "10", "--record", "rt_dora.mcap",
             "-o", ".lk_rt_dora"], folder, env)
    same = diff(folder, env, "rt_fast.mcap", "rt_dora.mcap")
    assert same.returncode == 0, same.stdout
    with open(folder / "rt_dora.mcap", "rb") as f:
        walls = [(m.log_time, m.publish_time) for _, _, m in make_reader(f).iter_messages(topics=["/slow/out"])]
    # the slow source's firings 0.2 s apart on the wall clock too: the clock catches up after a late
    # first firing, so the span from the second to the last is 8 periods (wide bounds: a loaded machine)
    assert len(walls) == 10
    span = (walls[-1][1] - walls[1][1]) / 1e9
    assert 1.2 < span < 2.5, [w for _, w in walls]


@pytest.fixture(scope="module")
def robot(work):
    """examples/robot recorded on dora (its Nodes' engine)."""
    folder, env = work
    robot = copy_example("robot", folder)
    lkbuild(["launch", "robot.py", "-n", "20", "--fast", "--record", "dora.mcap"], robot, env)
    return robot, env


@pytest.mark.parametrize("engine", ["native", "ros2"])
def test_robot_recorded_on_dora_replays_with_the_recorded_camera_and_the_same_outputs(robot, engine):
    folder, env = robot
    done = lkbuild(["replay", "dora.mcap", "robot.py", "--replace", "camera", "-e", engine, "--fast",
                    "--record", f"replay_{engine}.mcap", "-o", f".lk_replay_{engine}"], folder, env)
    assert "Replayed camera from dora.mcap." in done.stdout
    assert "fired: camera=20, detector=20, planner=20, controller=20" in done.stdout
    same = diff(folder, env, "dora.mcap", f"replay_{engine}.mcap")
    assert same.returncode == 0 and same.stdout == "identical: 100 messages on 5 outputs.\n", same.stdout


def test_a_replay_into_a_changed_system_is_refused_saying_what_changed(robot):
    folder, env = robot
    changed = folder / "changed"
    shutil.copytree(folder, changed, ignore=shutil.ignore_patterns(".lk*", "*.mcap"))
    source = changed / "robot.py"
    source.write_text(source.read_text().replace("threshold: int = 128", "threshold: int = 100"))
    refused = subprocess.run([LKBUILD, "replay", str(folder / "dora.mcap"), "robot.py", "--replace", "camera"],
                             cwd=changed, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "does not fit system 'robot'" in refused.stderr
    assert "component 'detector': config, config_fields changed" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (changed / ".lk_build" / "dora").exists()  # nothing compiled, nothing run
    allowed = lkbuild(["replay", str(folder / "dora.mcap"), "robot.py", "--replace", "camera", "--allow-changed",
                       "-e", "native", "--fast"], changed, env)
    assert "camera=20" in allowed.stdout
