"""The dora adapter driven by dora's MockNode: events in, outputs out, failures, the end-of-run protocol."""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from dora.testing import MockNode

from lkbuild import Component, Node, System
from lkbuild.engines.plan import node_plan
from lkbuild.generators.dora.dataflow import node_wiring
from lkbuild.runtime_stubs.lk_runtime import codec, dora_node
from lkbuild.runtime_stubs.lk_runtime.dora_node import NodeRunner, Settings, main, payload_view

LOG = []


class Ticker(Component):
    def __init__(self, node=None):
        super().__init__("ticker", node=node, rate_hz=1000)
        self.n = 0

    def forward(self):
        self.n += 1
        return self.n


class Doubler(Component):
    def __init__(self, node=None):
        super().__init__("doubler", node=node)

    def forward(self, x):
        if x == 13:
            raise ValueError("13 is unlucky")
        return 2 * x

    def teardown(self):
        LOG.append("doubler teardown")


class Shape(Component):
    outputs = ("shape", "view")

    def __init__(self, node=None):
        super().__init__("shape", node=node)

    def forward(self, image):
        LOG.append(image)
        return {"shape": list(image.shape), "view": None}


def system():
    a, b = Node("a"), Node("b")
    ticker, doubler, shape = Ticker(node=a), Doubler(node=b), Shape(node=b)
    doubler(x=ticker.out)
    shape(image=ticker.out)
    return System(components=[ticker, doubler, shape], name="mock").spec()


def arrow(value) -> pa.Array:
    """A message as dora delivers it: the codec's bytes in a uint8 Arrow array."""
    return pa.array(np.frombuffer(codec.encode(value), dtype=np.uint8))


def runner_for(node: str, iterations=None, spec=None) -> NodeRunner:
    spec = spec or system()
    plan = node_plan(spec, node)
    instances = {c["name"]: globals()[{"ticker": "Ticker", "doubler": "Doubler", "shape": "Shape"}[c["name"]]]()
                 for c in plan["components"]}
    return NodeRunner(plan, node_wiring(spec, node), instances, Settings(iterations, realtime=False))


@pytest.fixture(autouse=True)
def clear_log():
    LOG.clear()


def test_inputs_from_other_nodes_fire_components_and_their_outputs_stay_local():
    runner = runner_for("b")
    node = MockNode([("doubler.x", arrow(4)), ("doubler.x", arrow(5))])
    runner.run(node)
    assert [s.fired for s in runner.host.slots] == [2, 0]
    assert node.outputs == {}                      # doubler's output is not wired to another node
    assert runner.received == {"doubler.x": 2}


def test_a_source_sends_its_exported_output_as_codec_bytes_n_times_then_returns():
    runner = runner_for("a", iterations=5)
    node = MockNode([])
    runner.peer_finished = True                    # the peer has ended the run; nothing to wait for
    runner.run(node)
    sent = [codec.decode(bytes(payload)) for payload in node.outputs["ticker.out"]]
    assert sent == [1, 2, 3, 4, 5]
    assert runner.sent == {"ticker.out": 5}


def test_a_received_array_is_a_view_of_the_arrow_buffer_not_a_copy():
    image = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    value = arrow(image)
    decoded = codec.decode(payload_view(value))
    assert np.array_equal(decoded, image)
    assert np.shares_memory(decoded, np.frombuffer(value.buffers()[1], dtype=np.uint8))
    assert not decoded.flags.writeable


def test_a_non_lkbuild_message_is_refused():
    with pytest.raises(codec.CodecError):
        payload_view(pa.array([1.5, 2.5]))


def test_the_run_is_over_only_when_every_node_is_idle_and_every_edge_count_matches():
    runner = runner_for("b", iterations=3)
    runner.node = MockNode([])
    runner.received.update({"doubler.x": 3, "shape.image": 3})
    assert not runner.run_is_over()                          # nothing heard from node a yet
    runner.peer_status["a"] = {"idle": True, "sent": {"ticker.out": 4}, "received": {}}
    assert not runner.run_is_over()                          # one message still in flight
    runner.peer_status["a"] = {"idle": False, "sent": {"ticker.out": 3}, "received": {}}
    assert not runner.run_is_over()                          # node a reported progress, not rest
    runner.peer_status["a"] = {"idle": True, "sent": {"ticker.out": 3}, "received": {}}
    assert runner.run_is_over()


def test_a_node_without_sources_publishes_only_after_every_node_with_sources():
    runner = runner_for("b", iterations=3)
    assert not runner.may_publish()
    runner.peer_status["a"] = {"idle": True, "sent": {"ticker.out": 3}, "received": {}}
    assert runner.may_publish()


def test_a_sender_holds_its_sources_while_too_many_messages_are_unacknowledged():
    runner = runner_for("a", iterations=None)
    runner.sent["ticker.out"] = dora_node.WINDOW
    assert not runner.window_open()
    runner.peer_status["b"] = {"idle": False, "sent": {}, "received": {"doubler.x": 1, "shape.image": 1}}
    assert runner.window_open()


def test_a_receiver_reports_progress_every_ack_every_messages():
    runner = runner_for("b")
    node = MockNode([("doubler.x", arrow(100 + i)) for i in range(dora_node.ACK_EVERY * 2 + 1)])
    runner.run(node)
    progress = [json.loads(bytes(p)) for p in node.outputs["_lk_status"]]
    assert [p["received"]["doubler.x"] for p in progress] == [dora_node.ACK_EVERY, 2 * dora_node.ACK_EVERY]
    assert not any(p["idle"] for p in progress)


def test_a_stop_request_ends_a_source_that_would_run_forever():
    runner = runner_for("a", iterations=None)
    node = MockNode([{"type": "STOP", "id": "MANUAL"}])
    runner.run(node)
    assert runner.stop_requested and runner.host.slots[0].fired >= 1


def test_a_component_that_raises_exits_1_after_teardown_and_reports_itself(capsys):
    spec = system()
    node = MockNode([("doubler.x", arrow(13))])
    code = main(node_plan(spec, "b"), node_wiring(spec, "b"), node_factory=lambda: node, environ={})
    err = capsys.readouterr().err
    assert code == 1
    assert "doubler teardown" in LOG
    report = json.loads(err.split(dora_node.FAILURE_MARK, 1)[1])
    assert (report["component"], report["node"], report["phase"]) == ("doubler", "b", "forward")
    assert "ValueError: 13 is unlucky" in report["traceback"]


def test_main_reads_the_run_settings_and_records_what_it_sends(tmp_path, capsys):
    spec = system()
    environ = {dora_node.RUN_ENV: json.dumps({"iterations": 2, "realtime": False, "record_dir": str(tmp_path)})}
    node = MockNode([("doubler.x", arrow(1)), ("shape.image", arrow(np.zeros((2, 3)))),
                     {"type": "INPUT_CLOSED", "id": "_lk_status.a"}])
    assert main(node_plan(spec, "b"), node_wiring(spec, "b"), node_factory=lambda: node, environ=environ) == 0
    summary = json.loads(capsys.readouterr().out.split(dora_node.SUMMARY_MARK, 1)[1])
    assert summary == {"node": "b", "messages": 2, "fired": {"doubler": 1, "shape": 1}}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doubler.jsonl", "shape.jsonl"]
    assert LOG[0].shape == (2, 3)


@pytest.mark.parametrize("text", ['{"iterations": "3"}', '{"iterations": true}'])
def test_bad_run_settings_are_refused(text):
    with pytest.raises(ValueError, match="iterations must be an integer"):
        Settings.from_env({dora_node.RUN_ENV: text})


def test_a_busy_node_says_so_before_handling_a_message_after_saying_it_was_idle():
    runner = runner_for("b", iterations=3)
    node = MockNode([("doubler.x", arrow(1))])
    runner.node = node
    runner.publish(idle=True)
    runner.handle(node.next())
    said = [json.loads(bytes(p)) for p in node.outputs["_lk_status"]]
    assert [(s["idle"], s["received"]) for s in said] == [(True, {}), (False, {})]   # busy, before counting


def test_messages_sent_but_never_received_are_named_per_edge():
    runner = runner_for("b", iterations=3)
    runner.received.update({"doubler.x": 3, "shape.image": 1})
    runner.peer_status["a"] = {"idle": True, "sent": {"ticker.out": 3}, "received": {}}
    assert runner.missing() == {"a/ticker.out -> b/shape.image": 2}


def test_a_loss_is_reported_on_one_line_for_the_engine(capsys):
    dora_node.report_loss("b", {"a/ticker.out -> b/shape.image": 2})
    err = capsys.readouterr().err
    assert "dora lost 2 message(s)" in err
    assert json.loads(err.split(dora_node.LOST_MARK, 1)[1]) == {
        "node": "b", "missing": {"a/ticker.out -> b/shape.image": 2}}
