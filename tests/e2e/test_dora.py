"""The dora engine with the real dora binary.

The same recorded outputs as native, clean failures, and nothing left running after any test.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import dora_systems
from dora_cluster import alive, assert_nothing_left
from lkbuild.errors import ComponentError, ToolFailedError
from lkbuild.runtime_stubs.lk_runtime import record
from lkbuild.tools.dora import Dora, LocalCluster

pytestmark = pytest.mark.e2e

TIMEOUT = 120


@pytest.fixture(autouse=True)
def nothing_left(tmp_path, monkeypatch):
    """Private HOME under tmp_path for everything, and no process mentioning tmp_path after the test."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    yield
    assert_nothing_left(str(tmp_path))


def run_native(system, tmp_path: Path, iterations: int):
    rec = tmp_path / "rec_native"
    system.launch(engine="native", out=tmp_path / "build_native", iterations=iterations, record_dir=rec,
                  realtime=False)
    return record.load(str(rec))


def run_dora(system, tmp_path: Path, iterations=None, **options):
    rec = tmp_path / "rec_dora"
    result = system.launch(engine="dora", out=tmp_path / ".lk_build", iterations=iterations, record_dir=rec,
                           timeout=TIMEOUT, **options)
    assert result.pids and not alive(result.pids)
    return result, record.load(str(rec))


def test_a_node_with_several_components_a_multi_output_and_optional_inputs_matches_native(tmp_path):
    marker = tmp_path / "sink_teardown"
    expected = run_native(dora_systems.fan_system(), tmp_path, 30)
    result, recorded = run_dora(dora_systems.fan_system(str(marker)), tmp_path, 30)

    assert recorded == expected
    assert result.fired == {"counter": 30, "splitter": 30, "fuser": 30, "local_fuser": 29, "sink": 30}
    assert len(recorded[("splitter", "even")]) == 15 and len(recorded[("splitter", "odd")]) == 15
    assert marker.read_text() == "torn down"
    assert (result.log_dir / "log_a.jsonl").exists() and (result.log_dir / "log_b.jsonl").exists()


def test_a_stream_of_1_mib_images_crosses_nodes_intact(tmp_path):
    expected = run_native(dora_systems.image_system(), tmp_path, 12)
    result, recorded = run_dora(dora_systems.image_system(), tmp_path, 12)

    assert recorded == expected
    assert len(recorded[("camera", "out")]) == 12 and len(recorded[("stats", "out")]) == 12
    previews = (tmp_path / "rec_dora" / "stats.jsonl").read_text()
    assert "'read_only': True" in previews      # decoded as a view of the received buffer, not a copy
    assert "'shape': [1024, 1024]" in previews


def test_large_frames_sent_without_recording_arrive_byte_for_byte(tmp_path):
    # without a recording, a large frame only another Node receives is written once into dora's buffer
    path = tmp_path / "digests.txt"
    result = dora_systems.image_digest_system(str(path)).launch(engine="dora", out=tmp_path / ".lk_build",
                                                                iterations=12, timeout=TIMEOUT)
    assert result.pids and not alive(result.pids)
    assert path.read_text().splitlines() == dora_systems.camera_digests(12)


def test_fast_mode_fires_sources_back_to_back_with_the_same_outputs(tmp_path):
    expected = run_native(dora_systems.fan_system(), tmp_path, 200)
    _, recorded = run_dora(dora_systems.fan_system(), tmp_path, 200, realtime=False)
    assert recorded == expected


def test_a_component_that_raises_fails_the_launch_with_its_name_node_and_traceback(tmp_path):
    marker = tmp_path / "crasher_teardown"
    with pytest.raises(ComponentError) as caught:
        dora_systems.crash_system(str(marker)).launch(engine="dora", out=tmp_path / ".lk_build", iterations=10,
                                                       timeout=TIMEOUT)
    error = caught.value
    assert (error.component, error.node, error.phase) == ("crasher", "b", "forward")
    assert "ValueError: the crasher refuses 3" in str(error)
    assert "dora_systems.py" in error.traceback_text
    assert "Logs: " in str(error)
    assert marker.read_text() == "torn down"        # teardown ran on the error path


def test_messages_a_port_chose_to_drop_do_not_stall_the_run_and_are_reported(tmp_path):
    result = dora_systems.lossy_system().launch(engine="dora", out=tmp_path / ".lk_build", iterations=300,
                                                realtime=False, timeout=TIMEOUT)
    assert not alive(result.pids)
    (edge, count), = result.lost.items()
    assert edge == "a/counter.out -> b/slow_latest.x"
    assert count == 300 - result.fired["slow_latest"] > 0


def test_a_closed_loop_across_nodes_ends_by_itself_and_matches_native(tmp_path):
    expected = run_native(dora_systems.loop_system(), tmp_path, 100)
    result, recorded = run_dora(dora_systems.loop_system(), tmp_path, 100)

    assert recorded == expected
    assert result.fired == {"plant": 100, "policy": 101, "logger": 101}


def test_local_cluster_runs_each_machine_in_its_own_daemon_and_matches_native(tmp_path):
    expected = run_native(dora_systems.two_machine_system(), tmp_path, 25)
    result, recorded = run_dora(dora_systems.two_machine_system(), tmp_path, 25, local_cluster=True)

    assert recorded == expected
    logs = {p.name: p.relative_to(result.log_dir).parts[0] for p in result.log_dir.rglob("log_*.jsonl")}
    assert logs == {"log_jetson.jsonl": "jetson", "log_nuc.jsonl": "nuc"}   # two daemons, one per machine


def test_coordinator_addr_starts_on_a_running_coordinator_and_prints_daemon_commands(tmp_path):
    system = dora_systems.two_machine_system()
    dora = Dora(home=tmp_path / "cluster_home")
    with LocalCluster(dora, ["jetson", "nuc"], tmp_path / "cluster") as cluster:
        address = f"127.0.0.1:{cluster.coordinator.port}"
        result = system.launch(engine="dora", out=tmp_path / ".lk_build", iterations=10, timeout=TIMEOUT,
                               coordinator_addr=address, record_dir=tmp_path / "rec")
        assert cluster.dora.cluster_status(cluster.coordinator)   # the coordinator is still up
    port = cluster.coordinator.port
    command = f"dora daemon --machine-id jetson --coordinator-addr 127.0.0.1 --coordinator-port {port}"
    assert result.daemon_commands["jetson"] == command
    script = (tmp_path / ".lk_build" / "dora" / "machines" / "nuc.sh").read_text()
    assert f'DORA_COORDINATOR_PORT:-{cluster.coordinator.port}' in script and "--machine-id nuc" in script
    assert len(record.load(str(tmp_path / "rec"))[("fuser", "out")]) == 10


def test_a_machine_without_a_daemon_fails_with_the_command_to_run_there(tmp_path):
    dora = Dora(home=tmp_path / "cluster_home")
    with LocalCluster(dora, ["jetson"], tmp_path / "cluster") as cluster:     # no daemon for "nuc"
        with pytest.raises(ToolFailedError) as caught:
            dora_systems.two_machine_system().launch(
                engine="dora", out=tmp_path / ".lk_build", iterations=5, timeout=TIMEOUT,
                coordinator_addr=f"127.0.0.1:{cluster.coordinator.port}")
    message = str(caught.value)
    assert "nuc" in message
    assert f"on nuc: dora daemon --machine-id nuc --coordinator-addr 127.0.0.1 " \
           f"--coordinator-port {cluster.coordinator.port}" in message


def test_duration_stops_a_system_that_would_run_forever(tmp_path):
    marker = tmp_path / "sink_teardown"
    result = dora_systems.free_running_system(str(marker)).launch(
        engine="dora", out=tmp_path / ".lk_build", duration=1.5, timeout=TIMEOUT)
    assert not alive(result.pids)
    assert marker.read_text() == "torn down"        # a stop is a normal end: teardown runs


@pytest.mark.parametrize("local_cluster", [False, True], ids=["dora_run", "local_cluster"])
def test_ctrl_c_stops_every_process_and_components_are_torn_down(tmp_path, local_cluster):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(dora_systems.__file__).parent)!r})
        import dora_systems
        dora_systems.free_running_system({str(tmp_path / 'marker')!r}).launch(
            engine="dora", out={str(tmp_path / '.lk_build')!r}, local_cluster={local_cluster},
            record_dir={str(tmp_path / 'rec')!r})
    """))
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "rec" / "counter.jsonl").exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.2)
        assert (tmp_path / "rec" / "counter.jsonl").exists(), "the dataflow never started"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "KeyboardInterrupt" in output
    assert (tmp_path / "marker").read_text() == "torn down"
