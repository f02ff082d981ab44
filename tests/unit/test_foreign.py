"""DoraNode: wiring, the IR, validation, and what the dora generator makes of it (no dora run here)."""
from __future__ import annotations

import pytest
import yaml

from lkbuild import Component, DoraNode, GraphError, Node, System
from lkbuild.engines.dora import DoraEngine
from lkbuild.foreign import timer_hz
from lkbuild.generators import dora as dora_generator
from lkbuild.graph import SystemSpec
from lkbuild.graph.plan import feeds, run_plan


class Double(Component):
    def forward(self, x):
        return 2 * x


class Sink(Component):
    outputs = ()

    def forward(self, x):
        pass


def echo_system():
    sender = DoraNode("sender", path="pyarrow-sender", package="pyarrow-sender==0.5.0", env={"DATA": "[1]"},
                      outputs={"data": "array"})
    cam = DoraNode("cam", path="bin/cam", args="--fps 30 'a b'", inputs={"tick": "dora/timer/millis/50"},
                   outputs={"image": "image"}, build="cargo build -p cam")
    echo = DoraNode("echo", path="dora-echo", inputs=["x"], outputs={"x": "raw"})
    double = Double("double", node=Node("work"))
    sink = Sink("sink", node=Node("tail"))
    look = Sink("look", node=double.node)
    echo(x=double(x=sender.outputs.data))
    sink(x=echo.outputs.x)
    look(x=cam.outputs.image)
    return System(components=[sender, cam, echo, double, sink, look], name="echoes")


def test_a_dora_node_is_wired_like_a_component_and_recorded_in_the_ir():
    spec = echo_system().spec()
    assert spec.validate() == []
    assert [c.name for c in spec.components] == ["double", "sink", "look"]
    cam = spec.member("cam")
    assert (cam.kind, cam.path, cam.args, cam.build) == ("dora", "bin/cam", ("--fps", "30", "a b"),
                                                         "cargo build -p cam")
    assert cam.timers == {"tick": 20.0} and cam.inputs == ()
    assert [(p.name, p.format) for p in spec.member("echo").inputs] == [("x", "auto")]
    assert [(p.name, p.format) for p in spec.member("echo").outputs] == [("x", "raw")]
    assert [str(e) for e in spec.edges] == ["double.out -> echo.x", "sender.data -> double.x", "echo.x -> sink.x",
                                            "cam.image -> look.x"]
    assert SystemSpec.from_json(spec.to_json()) == spec


def test_foreign_sources_clock_the_nodes_they_feed_and_relays_do_not():
    spec = echo_system().spec()
    assert sorted(feeds(spec)) == [["tail", "sink.x", "relay"], ["work", "double.x", "source"],
                                   ["work", "look.x", "source"]]
    assert run_plan(spec)["clocked"] == ["work"]


def test_the_dataflow_lists_each_dora_node_with_its_own_path_args_env_build_and_timer_node(tmp_path):
    spec = echo_system().spec()
    files = dora_generator.generate(spec, {"root": "/r", "python": "/py",
                                           "foreign_paths": {"sender": "/venv/bin/pyarrow-sender"}})
    nodes = {n["id"]: n for n in yaml.safe_load(files["dataflow.yaml"])["nodes"]}
    assert nodes["sender"] == {"id": "sender", "path": "/venv/bin/pyarrow-sender", "outputs": ["data"],
                               "env": {"DATA": "[1]"}}
    assert nodes["cam"]["args"] == "--fps 30 'a b'" and nodes["cam"]["build"] == "cargo build -p cam"
    assert nodes["cam"]["inputs"]["tick"]["source"] == "_lk_timers.cam/tick"
    assert nodes["_lk_timers.cam"]["args"] == "-u /r/nodes/_lk_timers.py tick=20.0"
    assert nodes["echo"]["inputs"]["x"]["source"] == "work/double.out.auto"
    assert "double.out.auto" in nodes["work"]["outputs"]
    assert nodes["work"]["inputs"]["double.x"]["source"] == "sender/data"
    assert nodes["tail"]["inputs"]["sink.x"]["source"] == "echo/x"
    assert "nodes/_lk_timers.py" in files


def test_dora_validate_accepts_the_generated_dataflow(tmp_path):
    ok, found = DoraEngine(out_dir=tmp_path / "out").validate(echo_system())
    assert ok, found


def test_timer_sources_read_as_rates():
    assert timer_hz("dora/timer/millis/50") == 20.0
    assert timer_hz("dora/timer/hz/2.5") == 2.5
    assert timer_hz("dora/timer/secs/2") == 0.5
    assert timer_hz("dora/timer/weeks/1") is None


def test_an_undeclared_port_or_format_is_refused_where_it_is_written():
    echo = DoraNode("echo", path="dora-echo", inputs=["x"], outputs={"x": "array"})
    with pytest.raises(GraphError, match="has no output named 'y'"):
        echo.outputs.y
    with pytest.raises(GraphError, match="has no input named 'y'. Its inputs: x. Declare it in inputs"):
        echo(y=Double("d").out)
    with pytest.raises(GraphError, match="output 'x' has unknown format 'jpeg'; use one of raw, array"):
        DoraNode("echo", path="dora-echo", outputs={"x": "jpeg"})
    with pytest.raises(GraphError, match="input 'tick' = 'dora/timer/week/1' is not a dora timer"):
        DoraNode("cam", path="cam", inputs={"tick": "dora/timer/week/1"})


def test_engines_that_cannot_run_a_dora_node_say_which_engine_does():
    from lkbuild.engines.native import NativeEngine

    ok, found = NativeEngine().validate(echo_system())
    assert not ok
    assert found[0].message.startswith("DoraNode 'sender' cannot run on the native engine: a DoraNode runs on the "
                                       "dora engine. Launch with --engine dora")
    assert found[0].code == "LK277" and found[0].location.file.endswith("test_foreign.py")


def test_a_placed_system_needs_a_machine_for_every_dora_node():
    echo = DoraNode("echo", path="dora-echo", inputs=["x"], outputs={"x": "array"})
    double = Double("double", node=Node("a", machine="m1"))
    echo(x=double.out)
    sink = Sink("sink", node=double.node)
    sink(x=echo.outputs.x)
    found = System(components=[double, echo, sink], name="placed").validate()[1]
    assert any("DoraNode 'echo' runs on no machine while the nodes are placed on m1" in p.message for p in found)
