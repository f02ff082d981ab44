"""The native engine: components rebuilt from their recorded construction, strict, real-time when asked.

Components here are rebuilt by the engine (as on a robot), so they report what they see through module
globals, reset for each test.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pytest

from lkbuild import Component, ComponentError, ConfigError, GraphError, LkbuildError, Machine, Node, System
from lkbuild.engines import get_engine
from lkbuild.engines.native import NativeEngine, RunResult
from lkbuild.runtime_stubs.lk_runtime import codec, record

SEEN = []        # (component, value) in arrival order
BUILT = []       # every construction: (class name, name)
FLAGS = {}


@pytest.fixture(autouse=True)
def _reset():
    SEEN.clear()
    BUILT.clear()
    FLAGS.clear()


class Built(Component):
    """A source that sends back everything it was constructed with."""

    @dataclass
    class Config:
        gain: float = 1.0
        labels: tuple = ("a",)

    def __init__(self, name, values, limits=(0, 1), *, tag=b"", options=None, scale=float("nan"),
                 node=None, config=None):
        super().__init__(name, node=node, config=config)
        BUILT.append(("Built", name))
        self.args = {"values": values, "limits": limits, "tag": tag, "options": options, "scale": scale,
                     "gain": self.config.gain, "labels": self.config.labels}
        self.calls = 0

    def forward(self):
        self.calls += 1
        return self.args


class Count(Component):
    def __init__(self, name="count", rate_hz=None, node=None):
        super().__init__(name, node=node, rate_hz=rate_hz)
        self.n = 0

    def forward(self):
        self.n += 1
        return self.n


class Seen(Component):
    outputs = ()

    def forward(self, x):
        SEEN.append((self.name, x))


class Boom(Component):
    def forward(self, x):
        if x >= FLAGS.get("boom_at", 2):
            raise RuntimeError(f"bad reading {x}")
        return x


class Fragile(Component):
    def __init__(self, name="fragile"):
        super().__init__(name)
        if FLAGS.get("fail_rebuild"):
            raise OSError("no such device /dev/video0")

    def forward(self):
        return 1


class SetOut(Component):
    def forward(self):
        return {1, 2}


class TwoOut(Component):
    outputs = ("left", "right")

    def forward(self):
        return [1, 2]


class Tracked(Component):
    outputs = ()

    def setup(self):
        SEEN.append((self.name, "setup"))

    def forward(self, x):
        SEEN.append((self.name, x))

    def teardown(self):
        SEEN.append((self.name, "teardown"))


def chain(*components, name="native_test"):
    return System(components=list(components), name=name)


def launch(system, tmp_path, **kwargs):
    kwargs.setdefault("realtime", False)
    return system.launch(engine="native", out=tmp_path / "build", **kwargs)


# -- rebuilt from recorded construction ---------------------------------------------------------------------------
def test_components_are_rebuilt_with_their_positional_and_keyword_arguments(tmp_path):
    source = Built("built", [1, 2.5, "x", None, True], (3, (4, b"\x00")), tag=b"\xff\x00cam",
                   options={"$ref": 1, "mode": ("fast", 2), "nested": {"k": [b"v"]}},
                   config=Built.Config(gain=2.5, labels=("p", "q")))
    sink = Seen("sink")
    sink(x=source.out)
    launch(chain(source, sink), tmp_path, iterations=1)

    assert BUILT == [("Built", "built"), ("Built", "built")]  # the user's object, then the engine's
    assert source.calls == 0  # the engine ran its own rebuilt instance
    (name, got), = SEEN
    assert name == "sink"
    assert {k: v for k, v in got.items() if k != "scale"} == {
        "values": [1, 2.5, "x", None, True], "limits": (3, (4, b"\x00")), "tag": b"\xff\x00cam",
        "options": {"$ref": 1, "mode": ("fast", 2), "nested": {"k": [b"v"]}},
        "gain": 2.5, "labels": ("p", "q"),
    }
    assert type(got["limits"]) is tuple and type(got["limits"][1]) is tuple
    assert math.isnan(got["scale"])


def test_config_given_as_a_dict_is_rebuilt(tmp_path):
    source = Built("built", [], config={"gain": 4.0})
    sink = Seen("sink")
    sink(x=source.out)
    launch(chain(source, sink), tmp_path, iterations=1)
    assert SEEN[0][1]["gain"] == 4.0 and SEEN[0][1]["labels"] == ("a",)


def test_a_component_that_cannot_be_rebuilt_fails_naming_it(tmp_path):
    fragile = Fragile()
    sink = Seen("sink")
    sink(x=fragile.out)
    FLAGS["fail_rebuild"] = True
    with pytest.raises(ComponentError) as err:
        launch(chain(fragile, sink), tmp_path, iterations=1)
    assert str(err.value).startswith("component 'fragile' (node 'local', machine 'local') raised in __init__():\n"
                                     "Traceback (most recent call last):\n")
    assert str(err.value).endswith("OSError: no such device /dev/video0")


# -- what a launch returns and records ------------------------------------------------------------------------------
def test_launch_runs_iterations_and_reports_messages_and_firings(tmp_path):
    count = Count()
    sink = Seen("sink")
    sink(x=count.out)
    result = launch(chain(count, sink), tmp_path, iterations=4)
    assert result == RunResult("native", messages=4, fired={"count": 4, "sink": 4}, record_dir=None)
    assert SEEN == [("sink", 1), ("sink", 2), ("sink", 3), ("sink", 4)]


def test_launch_without_an_engine_uses_native(tmp_path):
    count = Count()
    sink = Seen("sink")
    sink(x=count.out)
    result = chain(count, sink).launch(iterations=1, out=tmp_path / "build", realtime=False)
    assert result.engine == "native"


def test_the_recording_holds_the_sha256_of_every_message_and_repeats_exactly(tmp_path):
    def once(where):
        count = Count()
        boom = Boom("relay")
        FLAGS["boom_at"] = 100
        boom(x=count.out)
        sink = Seen("sink")
        sink(x=boom.out)
        launch(chain(count, boom, sink), tmp_path, iterations=3, record_dir=tmp_path / where)
        return record.load(str(tmp_path / where))

    first, second = once("one"), once("two")
    assert first == second
    import hashlib
    digests = [hashlib.sha256(codec.encode(n)).hexdigest() for n in (1, 2, 3)]
    assert first == {("count", "out"): digests, ("relay", "out"): digests}
    lines = (tmp_path / "one" / "count.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"output": "out", "seq": 0, "sha256": digests[0], "value": "1"}


def test_compile_writes_system_json_that_launch_reads(tmp_path):
    count = Count()
    sink = Seen("sink")
    sink(x=count.out)
    system = chain(count, sink)
    engine = NativeEngine(out_dir=tmp_path / "build")
    config = engine.compile(system)
    assert config == tmp_path / "build" / "system.json"
    assert json.loads(config.read_text())["components"][0]["name"] == "count"
    result = engine.launch(None, config, iterations=2, realtime=False)
    assert result.fired == {"count": 2, "sink": 2}


# -- errors ------------------------------------------------------------------------------------------------------------
def test_an_exception_stops_the_run_naming_component_node_and_machine(tmp_path):
    sensors = Node("sensors", machine="nuc")
    vision = Node("vision", machine=Machine("jetson", host="192.168.1.10"))
    count = Count(node=sensors)
    boom = Boom("detector", node=vision)
    boom(x=count.out)
    sink = Tracked("sink", node=vision)
    sink(x=boom.out)
    with pytest.raises(ComponentError) as err:
        launch(chain(count, boom, sink), tmp_path, iterations=5)
    error = err.value
    assert isinstance(error, LkbuildError) and error.exit_code == 3
    assert (error.component, error.node, error.machine, error.phase) == ("detector", "vision", "jetson", "forward")
    text = str(error)
    assert text.startswith("component 'detector' (node 'vision', machine 'jetson') raised in forward():\n"
                           "Traceback (most recent call last):\n")
    assert f'File "{__file__}"' in text and 'raise RuntimeError(f"bad reading {x}")' in text
    assert text.endswith("RuntimeError: bad reading 2")
    assert SEEN == [("sink", "setup"), ("sink", 1), ("sink", "teardown")]  # torn down, nothing left running


def test_a_value_the_codec_cannot_carry_is_a_component_error_naming_the_output(tmp_path):
    with pytest.raises(ComponentError) as err:
        launch(chain(SetOut("points")), tmp_path, iterations=1)
    assert str(err.value) == (
        "component 'points' (node 'local', machine 'local') raised in forward():\n"
        "CodecError: output 'out': the codec cannot carry a value of type builtins.set: use numbers, str, bytes, "
        "None, numpy arrays, lists/tuples/dicts of those, or a registered dataclass."
    )


def test_a_bad_multi_output_return_is_a_component_error(tmp_path):
    with pytest.raises(ComponentError) as err:
        launch(chain(TwoOut("stereo")), tmp_path, iterations=1)
    assert str(err.value) == (
        "component 'stereo' (node 'local', machine 'local') raised in forward():\n"
        "ValueError: component 'stereo' has 2 outputs ('left', 'right') and returned a list; return a dict or a "
        "tuple in declared order"
    )


def test_an_invalid_system_is_refused_before_anything_runs(tmp_path):
    count, seen = Count(), Seen("seen")
    seen(x=count.out)
    sink = Tracked("sink")  # its required input is wired to nothing
    with pytest.raises(GraphError) as err:
        launch(chain(count, seen, sink, name="bad"), tmp_path, iterations=1)
    assert "required input 'sink.x' is not connected" in str(err.value)
    assert SEEN == []
    assert not (tmp_path / "build" / "system.json").exists()


@pytest.mark.parametrize("kwargs, message", [
    ({"iterations": -1}, "iterations must be 0 or more (a whole number). Received: iterations=-1"),
    ({"frequency": 3}, "the native engine does not take frequency ('frequency' is not a launch option)."),
    ({"coordinator_addr": "10.0.0.1"}, "the native engine does not take coordinator_addr (only the dora engine"),
    ({"duration": float("inf")}, "duration must be a positive number of seconds. Received: duration=inf"),
    ({"duration": 0}, "duration must be a positive number of seconds"),
])
def test_bad_launch_options_are_config_errors(tmp_path, kwargs, message):
    count = Count()
    sink = Seen("sink")
    sink(x=count.out)
    with pytest.raises(ConfigError) as err:
        launch(chain(count, sink), tmp_path, **kwargs)
    assert str(err.value).startswith(message)


def test_an_unknown_engine_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"^Unknown engine 'warp'\. Known engines: .*native"):
        get_engine("warp")


def test_engine_validate_reports_problems_without_raising():
    count, seen = Count(), Seen("seen")
    seen(x=count.out)
    sink = Seen("sink")
    ok, problems = NativeEngine().validate(chain(count, seen, sink, name="Bad Name"))
    assert not ok
    assert any(p.message.startswith("System name 'Bad Name' is not valid") for p in problems)
    assert any("required input 'sink.x' is not connected" in p for p in problems)


# -- real time --------------------------------------------------------------------------------------------------------
def test_in_real_time_sources_at_2_to_1_rates_fire_in_2_to_1_proportion(tmp_path):
    fast, slow = Count("fast", rate_hz=40), Count("slow", rate_hz=20)
    fast_sink, slow_sink = Seen("fast_sink"), Seen("slow_sink")
    fast_sink(x=fast.out)
    slow_sink(x=slow.out)
    launch(chain(fast, slow, fast_sink, slow_sink), tmp_path, duration=0.5, realtime=True)

    order = [name for name, _ in SEEN]
    # The schedule in time order (ties: declaration order): fast, slow, fast, fast, slow, fast, fast, slow ...
    schedule = sorted([(n / 40, 0, "fast_sink") for n in range(20)] + [(n / 20, 1, "slow_sink") for n in range(10)])
    expected = [name for _, _, name in schedule]
    assert len(order) >= 6, order
    assert order == expected[:len(order)]  # a slow machine may stop early, but never out of proportion
    fast_count, slow_count = order.count("fast_sink"), order.count("slow_sink")
    assert 2 * slow_count - 1 <= fast_count <= 2 * slow_count
    assert [x for name, x in SEEN if name == "fast_sink"] == list(range(1, fast_count + 1))
