"""The dora engine without running a dataflow: compile, validate, argument checks, reading node logs."""
from __future__ import annotations

import json

import pytest

from lkbuild import Component, Node, System
from lkbuild.engines import get_engine
from lkbuild.engines.dora import DoraEngine
from lkbuild.engines.run import RunResult
from lkbuild.errors import ComponentError, ConfigError, GraphError, ToolFailedError


class Source(Component):
    def __init__(self, node=None):
        super().__init__("source", node=node)

    def forward(self):
        return 1


class Relay(Component):
    def __init__(self, name="relay", node=None):
        super().__init__(name, node=node)

    def forward(self, x):
        return x


def chain(nodes=2) -> System:
    a = Node("a")
    b = Node("b") if nodes > 1 else a
    source, relay = Source(node=a), Relay(node=b)
    relay(x=source.out)
    return System(components=[source, relay], name="chain")


@pytest.fixture
def engine(tmp_path):
    return DoraEngine(out_dir=tmp_path / ".lk_build")


def test_the_registry_knows_the_dora_engine(tmp_path):
    assert isinstance(get_engine("dora", out_dir=tmp_path), DoraEngine)


def test_compile_writes_the_dataflow_entrypoints_and_ir(engine, tmp_path):
    path = engine.compile(chain())
    build = tmp_path / ".lk_build"
    assert path == build / "dora" / "dataflow.yaml"
    assert (build / "system.json").exists()
    assert (build / "dora" / "nodes" / "a.py").exists() and (build / "dora" / "nodes" / "b.py").exists()
    assert f"{(build / 'dora').resolve()}/nodes/a.py" in path.read_text()


def test_compiling_again_rewrites_nothing(engine):
    path = engine.compile(chain())
    files = sorted(p for p in path.parent.rglob("*") if p.is_file())
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in files}
    engine.compile(chain())
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in files} == before


def test_an_unchanged_plan_is_not_generated_again_but_an_edited_file_is_restored(engine, monkeypatch):
    path = engine.compile(chain())
    rendered = []
    monkeypatch.setattr(engine, "generate", lambda spec, **kw: rendered.append(spec) or DoraEngine.generate(
        engine, spec, **kw))
    engine.compile(chain())
    assert rendered == []  # the same IR, the same generator: nothing to render
    original = (path.parent / "nodes" / "a.py").read_bytes()
    (path.parent / "nodes" / "a.py").write_text("# edited by hand\n")
    engine.compile(chain())
    assert len(rendered) == 1 and (path.parent / "nodes" / "a.py").read_bytes() == original
    engine.compile(chain(nodes=1))  # another plan
    assert len(rendered) == 2 and not (path.parent / "nodes" / "b.py").exists()


def test_files_of_a_node_that_is_gone_are_pruned_but_logs_are_kept(engine):
    path = engine.compile(chain(nodes=2))
    (path.parent / "out" / "run1").mkdir(parents=True)
    (path.parent / "out" / "run1" / "log_a.jsonl").write_text("{}\n")
    engine.compile(chain(nodes=1))
    assert not (path.parent / "nodes" / "b.py").exists()
    assert (path.parent / "nodes" / "a.py").exists()
    assert (path.parent / "out" / "run1" / "log_a.jsonl").exists()


def test_a_failed_compile_leaves_the_previous_build_untouched(engine):
    path = engine.compile(chain())
    before = path.read_bytes()
    broken = System(components=[Relay()], name="chain")            # required input not connected
    with pytest.raises(GraphError):
        engine.compile(broken)
    assert path.read_bytes() == before


def test_validate_runs_the_real_dora_validator(engine):
    assert engine.validate(chain()) == (True, [])
    ok, problems = engine.validate(System(components=[Relay()], name="chain"))
    assert not ok and "not connected" in problems[0]


@pytest.mark.parametrize("options, message", [
    ({"iterations": -1}, "iterations must be 0 or more"),
    ({"coordinator_addr": "10.0.0.1", "local_cluster": True}, "not both"),
    ({"coordinator_addr": "bad host!"}, "HOST or HOST:PORT"),
])
def test_bad_launch_options_fail_before_anything_starts(engine, tmp_path, options, message):
    path = engine.compile(chain())
    with pytest.raises(ConfigError, match=message):
        engine.launch(chain(), path, **options)
    assert not (tmp_path / ".lk_build" / "dora" / "home").exists() or not any(
        (tmp_path / ".lk_build" / "dora" / "home").iterdir())


def node_log(directory, node, *messages):
    directory.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"node": node, "stream": "stderr", "msg": m}) for m in messages]
    (directory / f"log_{node}.jsonl").write_text("\n".join(lines) + "\n")


def test_a_failure_reported_by_a_node_becomes_a_component_error(engine, tmp_path):
    failure = {"component": "relay", "node": "b", "machine": "nuc", "phase": "forward",
               "traceback": "Traceback (most recent call last):\nValueError: no\n"}
    logs = tmp_path / "out" / "run"
    node_log(logs, "b", "component 'relay' ... raised", "LK_FAILURE " + json.dumps(failure))
    result = RunResult("dora", log_dir=logs)
    with pytest.raises(ComponentError) as caught:
        engine._finish(result, 1, ["dora", "run"], _run(engine, tmp_path))
    error = caught.value
    assert (error.component, error.node, error.machine, error.phase) == ("relay", "b", "nuc", "forward")
    assert "ValueError: no" in str(error) and str(logs) in str(error)


def test_node_summaries_give_messages_and_firings(engine, tmp_path):
    logs = tmp_path / "out" / "run"
    node_log(logs, "a", 'LK_SUMMARY {"node": "a", "messages": 3, "fired": {"source": 3}}')
    node_log(logs, "b", 'LK_SUMMARY {"node": "b", "messages": 3, "fired": {"relay": 3}}')
    result = RunResult("dora", log_dir=logs)
    engine._finish(result, 0, ["dora", "run"], _run(engine, tmp_path))
    assert (result.messages, result.fired) == (6, {"source": 3, "relay": 3})


def test_a_dora_failure_without_a_node_report_shows_doras_output(engine, tmp_path):
    log_file = tmp_path / "dora-run.log"
    log_file.write_text("[ERROR]\nno matching daemon for machine id `nuc`\n")
    with pytest.raises(ToolFailedError, match="no matching daemon") as caught:
        engine._finish(RunResult("dora", log_file=log_file), 1, ["dora", "run"], _run(engine, tmp_path))
    assert str(log_file) in str(caught.value)


def test_messages_dora_lost_are_reported_per_edge(engine, tmp_path, caplog):
    logs = tmp_path / "out" / "run"
    lost = 'LK_LOST {"missing": {"a/source.out -> b/relay.x": 2}, "node": "%s"}'
    summary = 'LK_SUMMARY {"node": "%s", "messages": 0, "fired": {}}'
    node_log(logs, "a", lost % "a", summary % "a")
    node_log(logs, "b", summary % "b")
    result = RunResult("dora", log_dir=logs)
    engine._finish(result, 0, ["dora", "run"], _run(engine, tmp_path))
    assert result.lost == {"a/source.out -> b/relay.x": 2}
    assert "dora lost 2 message(s)" in caplog.text


def test_a_node_that_ended_its_process_without_a_report_is_a_component_failure(engine, tmp_path):
    logs = tmp_path / "out" / "run"
    node_log(logs, "a", 'LK_SUMMARY {"node": "a", "messages": 3, "fired": {"source": 3}}')
    node_log(logs, "b", "relay got 1")          # os._exit(0) in relay: no summary, dora exits 0
    with pytest.raises(ComponentError) as caught:
        engine._finish(RunResult("dora", log_dir=logs), 0, ["dora", "run"], _run(engine, tmp_path))
    assert caught.value.exit_code == 3 and caught.value.component == "relay" and caught.value.node == "b"
    assert "ended without a report" in str(caught.value)


def test_a_run_that_was_stopped_reports_what_the_summaries_say_was_never_delivered(engine, tmp_path, caplog):
    logs = tmp_path / "out" / "run"
    node_log(logs, "a", 'LK_SUMMARY {"node": "a", "messages": 9, "fired": {"source": 9}, '
                        '"sent": {"source.out": 9}, "received": {}}')
    node_log(logs, "b", 'LK_SUMMARY {"node": "b", "messages": 0, "fired": {"relay": 6}, '
                        '"sent": {}, "received": {"relay.x": 6}}')
    result = RunResult("dora", log_dir=logs)
    engine._finish(result, 0, ["dora", "run"], _run(engine, tmp_path))
    assert result.lost == {"a/source.out -> b/relay.x": 3}


def _outcome(**kw):
    from lkbuild.tools.supervise import Outcome

    return Outcome(**kw)


def _run(engine, tmp_path, duration=4.0):
    from lkbuild.engines.dora import _Run
    from lkbuild.tools.shm import ShmTracker

    spec = engine.checked_spec(chain())
    return _Run(spec, tmp_path / "dataflow.yaml", {}, tmp_path, duration, None, RunResult("dora"), ShmTracker())


@pytest.mark.parametrize("ready", [
    "10:24:18 INFO   a: daemon node is ready",                  # dora run
    "10:24:18 INFO   a on daemon `m1`: daemon node is ready",   # dora start (a cluster)
])
def test_a_node_never_ready_at_the_end_of_the_duration_is_named_still_in_setup(engine, tmp_path, ready):
    from lkbuild.errors import ComponentStalledError

    log_file = tmp_path / "dora-run.log"
    log_file.write_text(ready + "\n")
    with pytest.raises(ComponentStalledError) as caught:
        engine._finish(RunResult("dora", log_file=log_file), _outcome(code=0, deadline=True), ["dora", "run"],
                       _run(engine, tmp_path))
    assert caught.value.exit_code == 3 and caught.value.components == ["relay"]
    assert "component 'relay' (node 'b', machine 'local') still in setup() when the duration of 4 s ended" \
        in str(caught.value)


def test_a_node_dora_saw_killed_is_named_with_its_components(engine, tmp_path):
    log_file = tmp_path / "dora-run.log"
    log_file.write_text("Dataflow failed:\nNode `b` failed: exited because of signal SIGKILL\n")
    with pytest.raises(ToolFailedError) as caught:
        engine._finish(RunResult("dora", log_file=log_file), 1, ["dora", "run"], _run(engine, tmp_path))
    assert "node 'b' (components relay) exited because of signal SIGKILL" in str(caught.value)
