"""The dora adapter driven by dora's MockNode: events in, outputs out, failures, the end-of-run protocol."""
from __future__ import annotations

import json
import sys

import numpy as np
import pyarrow as pa
import pytest
from dora.testing import MockNode

from lkbuild import Component, Node, System
from lkbuild.graph.plan import node_plan
from lkbuild.generators.dora.dataflow import node_wiring
from lkbuild.runtime_stubs.lk_runtime import codec, dora_node, ending, report, settings, stamp
from lkbuild.runtime_stubs.lk_runtime.dora_node import NodeRunner, ProfiledRunner, main, payload_view
from lkbuild.runtime_stubs.lk_runtime.errors import ComponentFailure
from lkbuild.runtime_stubs.lk_runtime.settings import Settings

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


def arrow(value, at: int = 0) -> pa.Array:
    """A message as dora delivers it: a stamped frame of the codec's bytes in a uint8 Arrow array."""
    return pa.array(np.frombuffer(stamp.pack(at, at, codec.encode(value)), dtype=np.uint8))


def frames_in(sent) -> list:
    """The frames in what a Node sent on an output: each message is a frame or a batch of them."""
    return [frame for message in sent for frame in stamp.frames(bytes(message))]


def values(sent) -> list:
    """The values of the frames a Node sent (frames with only a watermark left out)."""
    unpacked = [stamp.unpack(frame) for frame in frames_in(sent)]
    return [codec.decode(payload) for flags, _, _, payload in unpacked if not flags & stamp.WATERMARK_ONLY]


def runner_for(node: str, iterations=None, spec=None, profile=False) -> NodeRunner:
    spec = spec or system()
    plan = node_plan(spec, node)
    instances = {c["name"]: globals()[{"ticker": "Ticker", "doubler": "Doubler", "shape": "Shape"}[c["name"]]]()
                 for c in plan["components"]}
    return (ProfiledRunner if profile else NodeRunner)(plan, node_wiring(spec, node), instances,
                                                        Settings(iterations, realtime=False, profile=profile))


@pytest.fixture(autouse=True)
def clear_log():
    LOG.clear()


def test_inputs_from_other_nodes_fire_components_and_their_outputs_stay_local():
    runner = runner_for("b")
    node = MockNode([("doubler.x", arrow(4)), ("doubler.x", arrow(5))])
    runner.run(node)
    assert [s.fired for s in runner.host.slots] == [2, 0]
    assert "doubler.out" not in node.outputs       # doubler's output is not wired to another node
    assert runner.ending.received_counts == {"doubler.x": 2, "shape.image": 0}


def test_a_source_sends_its_exported_output_as_codec_bytes_n_times_then_returns():
    runner = runner_for("a", iterations=5)
    node = MockNode([])                            # the stream ends: nothing more can be heard
    runner.run(node)
    assert values(node.outputs["ticker.out"]) == [1, 2, 3, 4, 5]
    times = [stamp.unpack(f)[1:3] for f in frames_in(node.outputs["ticker.out"])]
    tick = runner.host.tick_hz // 1000  # ticker fires at 1 kHz: each frame says when the next one comes
    assert times == [(0, tick), (tick, 2 * tick), (2 * tick, 3 * tick), (3 * tick, 4 * tick), (4 * tick, stamp.NEVER)]
    assert runner.ending.sent_counts == {"ticker.out": 5}


def test_frames_made_back_to_back_leave_in_batches_and_each_counts_as_a_message():
    runner = runner_for("a", iterations=50)
    node = MockNode([])
    runner.run(node)  # --fast: the ticker fires back to back
    sent = node.outputs["ticker.out"]
    assert values(sent) == list(range(1, 51))
    assert len(sent) < 50 and max(len(stamp.frames(bytes(m))) for m in sent) <= dora_node.BATCH_MAX
    assert runner.ending.sent_counts == {"ticker.out": 50}


def test_a_frame_made_long_after_the_one_before_leaves_at_once(monkeypatch):
    runner = runner_for("a", iterations=3)
    runner.node = node = MockNode([])
    clock = [10.0, 10.0001, 11.0]  # the second frame comes 0.1 ms after the first, the third 1 s later
    monkeypatch.setattr(dora_node.time, "monotonic", lambda: clock.pop(0) if len(clock) > 1 else clock[0])
    frames = [stamp.pack(i, i, codec.encode(i)) for i in range(3)]
    runner.send("ticker", "out", frames[0])
    assert len(node.outputs.get("ticker.out", [])) == 1  # nothing came just before it: it does not wait
    runner.send("ticker", "out", frames[1])
    assert len(node.outputs["ticker.out"]) == 1          # it came fast: it waits for what may follow
    runner.send("ticker", "out", frames[2])               # too late to wait with it: both leave now
    assert values(node.outputs["ticker.out"]) == [0, 1, 2] and len(node.outputs["ticker.out"]) == 2


def test_an_output_a_ros_bridge_reads_is_never_batched():
    runner = runner_for("a", iterations=3)
    runner.node = node = MockNode([])
    runner.unbatched = {"ticker.out"}  # what node_wiring lists for an output read by a ROS bridge node
    runner.sent_at = dora_node.time.monotonic()  # a frame just went: another output's would wait
    frames = [stamp.pack(i, i, codec.encode(i)) for i in range(3)]
    for frame in frames:
        runner.send("ticker", "out", frame)
    assert [bytes(m) for m in node.outputs["ticker.out"]] == frames and not runner.unsent


def test_a_node_that_sent_to_a_ros_bridge_gives_its_last_frames_time_to_arrive(monkeypatch):
    runner = runner_for("a", iterations=2)
    runner.unbatched = {"ticker.out"}
    slept = []
    monkeypatch.setattr(dora_node.time, "sleep", slept.append)
    runner.run(MockNode([]))
    assert len(slept) == 1 and 0.5 < slept[0] <= dora_node.BRIDGE_LINGER_S
    plain = runner_for("a", iterations=2)
    plain.run(MockNode([]))
    assert len(slept) == 1  # a Node that sent nothing to a bridge ends at once


def test_a_large_frame_leaves_after_the_small_frames_sent_before_it():
    runner = runner_for("a", iterations=3)
    runner.node = node = MockNode([])
    small, large = stamp.pack(0, 0, codec.encode(1)), stamp.pack(1, 1, codec.encode(np.zeros(8192, np.uint8)))
    runner.sent_at = dora_node.time.monotonic()  # as if a frame had just gone: the small one waits
    runner.send("ticker", "out", small)
    runner.send("ticker", "out", large)
    first, second = node.outputs["ticker.out"]
    assert bytes(first) == small and len(bytes(second)) == len(large) and not runner.unsent


def test_a_large_output_only_another_node_receives_goes_out_as_the_frame_made_whole():
    runner = runner_for("a", iterations=1)
    runner.node = node = MockNode([])
    frame = np.arange(1 << 17, dtype=np.uint16).reshape(256, 512)  # 256 KiB: it reaches send_parts
    runner.host.by_name["ticker"].forward = lambda: frame
    runner.host.run(realtime=False)
    (sent,) = node.outputs["ticker.out"]
    flags, at, _, payload = stamp.unpack(bytes(sent))
    assert (flags, at) == (0, 0) and bytes(payload) == codec.encode(frame)
    assert runner.ending.counts()["sent"]["ticker.out"] == 1


class Frame(Component):
    def forward(self):
        return np.arange(1 << 17, dtype=np.uint16).reshape(256, 512)


def test_a_large_output_to_a_foreign_node_arrives_there_in_its_boundary_format():
    from lkbuild import DoraNode

    a = Node("a")
    frame = Frame("frame", node=a)
    echo = DoraNode("echo", path="dora-echo", inputs={"x": "array"}, outputs={"x": "array"}, node=a)
    echo(x=frame.out)
    spec = System(components=[frame, echo], name="foreign_large").spec()
    plan = node_plan(spec, "a")
    runner = NodeRunner(plan, node_wiring(spec, "a"), {"frame": frame}, Settings(1, realtime=False))
    runner.node = node = MockNode([])
    runner.host.run(realtime=False)
    ((output_id, (array,)),) = node.outputs.items()
    assert np.array_equal(array.to_numpy(), Frame("f").forward().reshape(-1))


def test_a_batch_received_fires_the_component_once_per_frame_in_order():
    runner = runner_for("b")
    frames = [stamp.pack(i, i, codec.encode(v)) for i, v in enumerate([4, 5, 6])]
    node = MockNode([("doubler.x", pa.array(np.frombuffer(stamp.batch(frames), dtype=np.uint8))),
                     ("doubler.x", arrow(7, at=3))])
    runner.run(node)
    assert runner.host.by_name["doubler"].fired == 4
    assert runner.ending.received_counts == {"doubler.x": 4, "shape.image": 0}


def test_profiled_frames_travel_in_batches_and_each_keeps_its_stamp():
    source = runner_for("a", iterations=12, profile=True)
    sent_by_a = MockNode([])
    source.run(sent_by_a)
    messages = sent_by_a.outputs["ticker.out"]
    assert len(messages) < 12  # batched, each frame with the profiler's stamp in front
    receiver = runner_for("b", profile=True)
    receiver.run(MockNode([("doubler.x", pa.array(np.frombuffer(bytes(m), dtype=np.uint8))) for m in messages]))
    assert receiver.host.by_name["doubler"].fired == 12
    assert receiver.ending.received_counts["doubler.x"] == 12
    arrivals = receiver.profiler.arrivals["doubler.x"]
    assert arrivals.messages == 12 and arrivals.latency.count == 12  # every frame's own stamp was read


def test_the_leader_ends_the_run_when_the_other_node_says_it_received_everything():
    runner = runner_for("a", iterations=3)
    warm_b = {"node": "b", "run": "", "idle": False, "sent": {}, "received": {}, "warm": True}
    done_b = {"node": "b", "run": "", "idle": True, "sent": {}, "received": {"doubler.x": 3, "shape.image": 3}}
    node = MockNode([("_lk_status.b", ending.dumps(warm_b))] + [("_lk_status.b", ending.dumps(done_b))] * 3)
    runner.run(node)
    decisions = [json.loads(bytes(p)) for p in node.outputs["_lk_control"]]
    # the warm-up before any source fires; no "go": b has no clock, so it does not wait for one
    assert decisions[0]["hello"] and not any(d.get("go") for d in decisions)
    assert decisions[1]["drain"] and decisions[-1]["done"] and decisions[-1]["lost"] == {}


def test_a_received_array_is_a_view_of_the_arrow_buffer_not_a_copy():
    image = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    value = arrow(image)
    decoded = codec.decode(stamp.unpack(payload_view(value))[3])
    assert np.array_equal(decoded, image)
    assert np.shares_memory(decoded, np.frombuffer(value.buffers()[1], dtype=np.uint8))
    assert not decoded.flags.writeable


def test_a_non_lkbuild_message_is_refused():
    with pytest.raises(codec.CodecError):
        payload_view(pa.array([1.5, 2.5]))


def test_a_node_tells_the_leader_and_its_senders_its_status_and_hears_the_leaders_decisions():
    wiring = node_wiring(system(), "b")
    assert wiring["status_output"] == "_lk_status" and wiring["control_input"] == "_lk_control"
    # b has no clock and a sends to it: b hears a's status too (ending: "Settling")
    assert wiring["status_inputs"] == [["_lk_status.a", "a"]] and wiring["control_output"] is None
    leader = node_wiring(system(), "a")
    assert leader["status_inputs"] == [["_lk_status.b", "b"]] and leader["control_output"] == "_lk_control"
    assert leader["status_output"] == "_lk_status"


def test_a_receiver_reports_progress_every_ack_every_messages():
    runner = runner_for("b")
    node = MockNode([("doubler.x", arrow(100 + i)) for i in range(ending.ACK_EVERY * 2 + 1)])
    runner.run(node)
    progress = [json.loads(bytes(p)) for p in node.outputs["_lk_status"]]
    assert [p["received"]["doubler.x"] for p in progress] == [ending.ACK_EVERY, 2 * ending.ACK_EVERY]
    assert not any(p["idle"] for p in progress)


def test_a_stop_request_ends_a_source_that_would_run_forever():
    runner = runner_for("a", iterations=None)
    runner.ending.warming = False  # warmed up already (the warm-up is test_ending's)
    node = MockNode([{"type": "STOP", "id": "MANUAL"}])
    runner.run(node)
    assert runner.stop_requested and runner.host.slots[0].fired >= 1


def test_a_component_that_raises_exits_3_after_teardown_reports_itself_and_tells_the_leader(capsys):
    spec = system()
    node = MockNode([("doubler.x", arrow(13))])
    code = main(node_plan(spec, "b"), node_wiring(spec, "b"), node_factory=lambda: node, environ={})
    err = capsys.readouterr().err
    assert code == report.EXIT_COMPONENT == 3
    assert "doubler teardown" in LOG
    failure = json.loads(err.split(report.FAILURE, 1)[1])
    assert (failure["component"], failure["node"], failure["phase"]) == ("doubler", "b", "forward")
    assert "ValueError: 13 is unlucky" in failure["traceback"]
    assert json.loads(bytes(node.outputs["_lk_status"][-1]))["failed"] is True


class Quitter(Component):
    outputs = ()

    def forward(self, x):
        sys.exit(0)


def test_a_component_that_calls_sys_exit_fails_in_its_own_name(capsys):
    ticker, quitter = Ticker(), Quitter("quitter")
    quitter(x=ticker.out)
    spec = System(components=[ticker, quitter], name="quits").spec()
    plan = node_plan(spec, spec.nodes[0].name)
    instances = {"ticker": ticker, "quitter": quitter}
    runner = NodeRunner(plan, node_wiring(spec, spec.nodes[0].name), instances, Settings(3, realtime=False))
    with pytest.raises(ComponentFailure, match=r"(?s)component 'quitter'.*SystemExit: 0"):
        runner.host.run_with(lambda: runner.run(MockNode([])))


def test_main_reads_the_run_settings_and_records_what_it_sends(tmp_path, capsys):
    spec = system()
    environ = Settings(2, realtime=False, record_dir=str(tmp_path), run_id="r1").to_env()
    node = MockNode([("doubler.x", arrow(1)), ("shape.image", arrow(np.zeros((2, 3)))),
                     {"type": "INPUT_CLOSED", "id": "_lk_control"}])
    assert main(node_plan(spec, "b"), node_wiring(spec, "b"), node_factory=lambda: node, environ=environ) == 0
    summary = json.loads(capsys.readouterr().out.split(report.SUMMARY, 1)[1])
    assert summary == {"node": "b", "messages": 2, "fired": {"doubler": 1, "shape": 1}, "sent": {},
                       "received": {"doubler.x": 1, "shape.image": 1}, "control": 0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doubler.jsonl", "shape.jsonl"]
    assert LOG[0].shape == (2, 3)


@pytest.mark.parametrize("text", ['{"iterations": "3"}', '{"iterations": true}', '{"iterations": -1}', '[1]', 'x'])
def test_bad_run_settings_are_refused(text):
    with pytest.raises(ValueError):
        Settings.from_env({settings.ENV: text})


def test_a_loss_is_reported_on_one_line_for_the_engine(capsys):
    report.lost("b", {"a/ticker.out -> b/shape.image": 2})
    err = capsys.readouterr().err
    assert "2 message(s) were lost" in err
    assert json.loads(err.split(report.LOST, 1)[1]) == {
        "node": "b", "missing": {"a/ticker.out -> b/shape.image": 2}}
