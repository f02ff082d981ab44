"""The host loop (ARCHITECTURE §4): when components fire, what they send, and every exit path.

The host runs here on the user's own component objects (no rebuild), with plans cut from the real IR,
in virtual time (``realtime=False``) so that rates are exact and the tests fast.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lkbuild import Component, Machine, Node, System
from lkbuild.graph.plan import node_plan
from lkbuild.runtime_stubs.lk_runtime import codec
from lkbuild.runtime_stubs.lk_runtime.errors import ComponentFailure
from lkbuild.runtime_stubs.lk_runtime.host import Host


# -- components ---------------------------------------------------------------------------------------------
class Counter(Component):
    """A source: 1, 2, 3, ... (times ``scale``)."""

    def __init__(self, name="counter", scale=1, rate_hz=None, node=None):
        super().__init__(name, node=node, rate_hz=rate_hz)
        self.scale = scale
        self.n = 0

    def forward(self):
        self.n += 1
        return self.n * self.scale


class Sink(Component):
    """Remembers every call's arguments."""

    outputs = ()

    def __init__(self, name="sink", node=None):
        super().__init__(name, node=node)
        self.seen = []

    def forward(self, x):
        self.seen.append(x)


class Join(Component):
    def forward(self, a, b):
        return (a, b)


class JoinOptional(Component):
    def forward(self, a, b="default"):
        return (a, b)


class Collect(Component):
    """Sink with two inputs, one optional."""

    outputs = ()

    def __init__(self, name="collect"):
        super().__init__(name)
        self.seen = []

    def forward(self, x, y=None):
        self.seen.append((x, y))


class Lifecycle(Component):
    """Logs setup/forward/teardown into a shared list; can be told to fail in one phase."""

    def __init__(self, name, log, fail_in=None, has_input=True):
        super().__init__(name)
        self.log, self.fail_in = log, fail_in

    def setup(self):
        self.log.append(f"setup {self.name}")
        if self.fail_in == "setup":
            raise RuntimeError(f"{self.name} cannot open the camera")

    def teardown(self):
        self.log.append(f"teardown {self.name}")
        if self.fail_in == "teardown":
            raise RuntimeError(f"{self.name} cannot close")


class LifecycleSource(Lifecycle):
    def forward(self):
        if self.fail_in == "forward":
            raise RuntimeError("sensor unplugged")
        return 1


class LifecycleSink(Lifecycle):
    outputs = ()

    def forward(self, x):
        if self.fail_in == "forward":
            raise RuntimeError("sensor unplugged")


def run(*components, iterations=None, duration=None, record=None, wire=None):
    """Run the system made of ``components`` (already wired) in one host; returns the host."""
    system = System(components=list(components), name="t")
    if wire:
        wire(system)
    host = Host(node_plan(system.spec()), {c.name: c for c in components}, iterations=iterations, record=record)
    host.run(duration=duration, realtime=False)
    return host


def sink_of(source, name="sink"):
    sink = Sink(name)
    sink(x=source.out)
    return sink


# -- sources, rates, iterations, duration -------------------------------------------------------------------
def test_iterations_fire_every_source_n_times_and_drain_the_graph():
    fast, slow = Counter("fast", rate_hz=50), Counter("slow", rate_hz=5)
    join = Join("join")
    join(a=fast.out, b=slow.out)
    sink = sink_of(join)
    host = run(fast, slow, join, sink, iterations=3)
    assert {s.name: s.fired for s in host.slots} == {"fast": 3, "slow": 3, "join": 5, "sink": 5}
    assert host.done()


# Virtual-time runs use long durations: a run also ends when its duration has passed on the wall clock,
# which a loaded machine must never reach first.
def test_sources_fire_at_their_rates_in_virtual_time():
    fast, slow = Counter("fast", rate_hz=3), Counter("slow", rate_hz=1)
    run(fast, slow, sink_of(fast, "fast_sink"), sink_of(slow, "slow_sink"), duration=10.0)
    assert (fast.n, slow.n) == (30, 10)


@pytest.mark.parametrize("rate, duration, expected", [(0.7, 10.0, 7), (0.3, 20.0, 6), (10, 5.0, 50), (7, 3.0, 21)])
def test_a_source_fires_rate_times_duration_times(rate, duration, expected):
    counter = Counter(rate_hz=rate)
    run(counter, sink_of(counter), duration=duration)
    assert counter.n == expected


def test_iterations_zero_fires_nothing_but_still_sets_up_and_tears_down():
    log = []
    source = LifecycleSource("src", log)
    sink = LifecycleSink("snk", log)
    sink(x=source.out)
    host = run(source, sink, iterations=0)
    assert log == ["setup src", "setup snk", "teardown snk", "teardown src"]
    assert host.messages == 0


def test_the_clock_says_when_each_firing_is_due_and_ends_after_the_iterations():
    counter = Counter(rate_hz=4)
    sink = sink_of(counter)
    system = System(components=[counter, sink], name="t")
    host = Host(node_plan(system.spec()), {"counter": counter, "sink": sink}, iterations=3)
    host.setup()
    host.start()
    due = []
    while host.next_due() is not None:
        due.append(host.next_due())
        host.fire_next()
    assert due == [0.0, 0.25, 0.5]
    assert sink.seen == [1, 2, 3] and host.done()


# -- inputs: latest value, optional inputs -------------------------------------------------------------------
def test_a_component_fires_on_every_message_once_required_inputs_have_values_using_latest_values():
    fast, slow = Counter("fast", rate_hz=2), Counter("slow", scale=100, rate_hz=1)
    join = Join("join")
    join(a=fast.out, b=slow.out)
    sink = sink_of(join)
    run(fast, slow, join, sink, duration=2.0)
    # t=0: fast 1 (b has no value yet: no firing), slow 100; t=.5: fast 2; t=1: fast 3, slow 200; t=1.5: fast 4
    assert sink.seen == [(1, 100), (2, 100), (3, 100), (3, 200), (4, 200)]


def test_optional_input_uses_its_default_until_a_value_arrives():
    fast, slow = Counter("fast", rate_hz=2), Counter("slow", scale=100, rate_hz=1)
    join = JoinOptional("join")
    join(a=fast.out, b=slow.out)
    sink = sink_of(join)
    run(fast, slow, join, sink, duration=1.0)
    assert sink.seen == [(1, "default"), (1, 100), (2, 100)]


def test_unwired_optional_input_keeps_its_default():
    counter = Counter()
    collect = Collect()
    collect(x=counter.out)
    run(counter, collect, iterations=2)
    assert collect.seen == [(1, None), (2, None)]


# -- outputs --------------------------------------------------------------------------------------------------
class EveryOther(Component):
    def __init__(self, name="every_other"):
        super().__init__(name)
        self.n = 0

    def forward(self):
        self.n += 1
        return self.n if self.n % 2 else None


def test_returning_none_sends_nothing():
    source = EveryOther()
    sink = sink_of(source)
    host = run(source, sink, iterations=5)
    assert sink.seen == [1, 3, 5]
    assert host.messages == 3


class Split(Component):
    outputs = ("even", "odd")

    def __init__(self, name="split", style="dict"):
        super().__init__(name)
        self.style = style

    def forward(self, x):
        if self.style == "dict":
            return {"even": x} if x % 2 == 0 else {"odd": x}
        if self.style == "tuple":
            return (x, None) if x % 2 == 0 else (None, x)
        if self.style == "list":
            return [x, x]
        if self.style == "bad_key":
            return {"even": x, "odd": x, "oops": x}
        if self.style == "short_tuple":
            return (x,)
        return x


def _split_run(style, iterations=4):
    counter = Counter()
    split = Split(style=style)
    even, odd = split(x=counter.out)
    evens, odds = Sink("evens"), Sink("odds")
    evens(x=even)
    odds(x=odd)
    host = run(counter, split, evens, odds, iterations=iterations)
    return host, evens.seen, odds.seen


@pytest.mark.parametrize("style", ["dict", "tuple"])
def test_several_outputs_by_dict_or_tuple_and_a_missing_or_none_one_sends_nothing(style):
    host, evens, odds = _split_run(style)
    assert (evens, odds) == ([2, 4], [1, 3])
    assert host.messages == 4 + 4


class DictOut(Component):
    def forward(self, x):
        return {"value": x, "twice": 2 * x}


def test_a_single_output_returning_a_dict_sends_the_dict():
    counter = Counter()
    d = DictOut("d")
    d(x=counter.out)
    sink = sink_of(d)
    run(counter, d, sink, iterations=2)
    assert sink.seen == [{"value": 1, "twice": 2}, {"value": 2, "twice": 4}]


@pytest.mark.parametrize("style, what", [
    ("list", "has 2 outputs ('even', 'odd') and returned a list; return a dict or a tuple in declared order"),
    ("int", "has 2 outputs ('even', 'odd') and returned a int; return a dict or a tuple in declared order"),
    ("bad_key", "returned output 'oops', which is not declared (outputs = ('even', 'odd'))"),
    ("short_tuple", "returned a tuple of 1 values for 2 outputs ('even', 'odd')"),
])
def test_a_bad_multi_output_return_fails_the_run_naming_the_component(style, what):
    with pytest.raises(ComponentFailure) as err:
        _split_run(style)
    assert str(err.value) == (
        "component 'split' (node 'local', machine 'local') raised in forward():\n"
        f"ValueError: component 'split' {what}"
    )
    assert (err.value.component, err.value.phase) == ("split", "forward")


def test_a_bad_dict_result_sends_none_of_its_outputs():
    sent = []
    with pytest.raises(ComponentFailure):
        _split_run_recording("bad_key", sent)
    assert [(c, o) for c, o, _ in sent] == [("counter", "out")]


def _split_run_recording(style, sent):
    counter = Counter()
    split = Split(style=style)
    split(x=counter.out)
    run(counter, split, iterations=1, record=lambda c, o, payload, t=0: sent.append((c, o, payload)))


# -- closed loops ----------------------------------------------------------------------------------------------
class LoopStart(Component):
    """Sends 0 to start the loop, then passes on what comes back."""

    def __init__(self, name="start"):
        super().__init__(name)
        self.seen = []

    def initial_outputs(self):
        return 0

    def forward(self, x):
        self.seen.append(x)
        return x


class Increment(Component):
    def forward(self, x):
        return x + 1


def _loop():
    start, inc = LoopStart(), Increment("inc")
    inc(x=start.out)
    start(x=inc.out)
    return start, inc


def test_a_loop_started_by_initial_outputs_runs_iterations_times():
    start, inc = _loop()
    host = run(start, inc, iterations=3)
    assert start.seen == [1, 2, 3]
    assert {s.name: s.fired for s in host.slots} == {"start": 3, "inc": 4}
    assert host.done()


def test_a_loop_with_iterations_zero_sends_nothing():
    start, inc = _loop()
    host = run(start, inc, iterations=0)
    assert host.messages == 0 and start.seen == []


def test_an_unbounded_loop_stops_at_the_duration():
    start, inc = _loop()
    run(start, inc, duration=0.2)  # no source: only the wall clock bounds it
    assert len(start.seen) >= 2
    assert start.seen == list(range(1, len(start.seen) + 1))


# -- lifecycle on every exit path --------------------------------------------------------------------------------
def _lifecycle(fail=None, where=None):
    log = []
    a = LifecycleSource("a", log, fail_in=fail if where == "a" else None)
    b = LifecycleSink("b", log, fail_in=fail if where == "b" else None)
    b(x=a.out)
    c = LifecycleSink("c", log, fail_in=fail if where == "c" else None)
    c(x=a.out)
    return log, (a, b, c)


def test_setup_before_the_first_message_and_teardown_in_reverse_order_on_a_normal_end():
    log, components = _lifecycle()
    run(*components, iterations=1)
    assert log == ["setup a", "setup b", "setup c", "teardown c", "teardown b", "teardown a"]


def test_an_error_in_forward_tears_everything_down_and_names_the_component():
    log, components = _lifecycle("forward", "b")
    with pytest.raises(ComponentFailure) as err:
        run(*components, iterations=3)
    assert log == ["setup a", "setup b", "setup c", "teardown c", "teardown b", "teardown a"]
    text = str(err.value)
    assert text.startswith("component 'b' (node 'local', machine 'local') raised in forward():\n"
                           "Traceback (most recent call last):\n")
    assert "in forward\n    raise RuntimeError(\"sensor unplugged\")" in text
    assert text.endswith("RuntimeError: sensor unplugged")


def test_an_error_in_a_later_setup_tears_down_only_what_was_set_up():
    log, components = _lifecycle("setup", "b")
    with pytest.raises(ComponentFailure) as err:
        run(*components, iterations=3)
    assert log == ["setup a", "setup b", "teardown a"]
    assert err.value.phase == "setup" and err.value.component == "b"
    assert str(err.value).endswith("RuntimeError: b cannot open the camera")


def test_a_failing_teardown_does_not_stop_the_others_and_is_reported():
    log, components = _lifecycle("teardown", "c")
    with pytest.raises(ComponentFailure) as err:
        run(*components, iterations=1)
    assert log == ["setup a", "setup b", "setup c", "teardown c", "teardown b", "teardown a"]
    assert err.value.phase == "teardown" and err.value.component == "c"


def test_the_first_error_wins_over_a_teardown_error():
    log, (a, b, c) = _lifecycle("forward", "b")
    c.fail_in = "teardown"
    with pytest.raises(ComponentFailure) as err:
        run(a, b, c, iterations=1)
    assert (err.value.component, err.value.phase) == ("b", "forward")
    assert log[-3:] == ["teardown c", "teardown b", "teardown a"]


def test_a_stop_request_ends_the_run_with_teardown():
    log, components = _lifecycle()
    system = System(components=list(components), name="t")
    host = Host(node_plan(system.spec()), {c.name: c for c in components})
    calls = []
    host.run(realtime=False, should_stop=lambda: calls.append(1) or len(calls) > 4)
    assert host.by_name["a"].fired == 4
    assert log[-3:] == ["teardown c", "teardown b", "teardown a"]


def test_errors_name_the_node_and_machine_from_the_plan():
    log, components = _lifecycle("forward", "a")
    system = System(components=list(components), name="t")
    plan = node_plan(system.spec(), "local")
    plan.update(node="vision", machine="jetson")
    host = Host(plan, {c.name: c for c in components}, iterations=1)
    with pytest.raises(ComponentFailure) as err:
        host.run(realtime=False)
    assert str(err.value).startswith("component 'a' (node 'vision', machine 'jetson') raised in forward():")
    assert (err.value.node, err.value.machine) == ("vision", "jetson")


# -- strictness: every message goes through the codec -------------------------------------------------------------
class Emits(Component):
    def __init__(self, name="emits", kind="set"):
        super().__init__(name)
        self.kind = kind
        self.sent = []

    def forward(self):
        if self.kind == "set":
            return {1, 2}
        if self.kind == "object_array":
            return np.array([object()])
        value = [np.zeros(3), [1]]
        self.sent.append(value)
        return value


@pytest.mark.parametrize("kind, why", [
    ("set", "the codec cannot carry a value of type builtins.set: use numbers, str, bytes, None, numpy arrays, "
            "lists/tuples/dicts of those, or a registered dataclass."),
    ("object_array", "numpy dtype dtype('O') cannot travel; use a numeric or bool dtype."),
])
def test_a_value_the_codec_cannot_carry_fails_the_run_naming_component_and_output(kind, why):
    source = Emits(kind=kind)
    with pytest.raises(ComponentFailure) as err:
        run(source, iterations=1)  # even with nobody listening: it would fail on dora and ROS 2
    assert str(err.value) == (
        "component 'emits' (node 'local', machine 'local') raised in forward():\n"
        f"CodecError: output 'out': {why}"
    )


@pytest.mark.parametrize("kind", ["set", "object_array"])
def test_a_value_the_codec_cannot_carry_to_a_direct_receiver_fails_naming_its_sender(kind):
    # the sink has one input, fed on this Host: it is fired directly, on the chain's hot path
    source, sink = Emits(kind=kind), Sink()
    sink(x=source.out)
    with pytest.raises(ComponentFailure) as err:
        run(source, sink, iterations=1)
    assert str(err.value).startswith("component 'emits' (node 'local', machine 'local') raised in forward():\n"
                                     "CodecError: output 'out': ")
    assert sink.seen == []


class Mutates(Component):
    outputs = ()

    def forward(self, x):
        x[0][0] = 1.0


def test_received_arrays_are_read_only_as_they_are_on_a_distributed_engine():
    source = Emits(kind="nested")
    mutates = Mutates("mutates")
    mutates(x=source.out)
    with pytest.raises(ComponentFailure) as err:
        run(source, mutates, iterations=1)
    assert err.value.component == "mutates"
    assert str(err.value).endswith("ValueError: assignment destination is read-only")


def test_receivers_get_their_own_copy_not_the_senders_object():
    source = Emits(kind="nested")
    sink, other = sink_of(source), sink_of(source, "other")
    run(source, sink, other, iterations=1)
    got = sink.seen[0]
    assert got is not source.sent[0] and got[1] is not other.seen[0][1]
    source.sent[0][1].append(2)
    assert got[1] == [1]


@codec.register(name="test_host.Pose")
@dataclasses.dataclass
class Pose:
    x: float
    y: float


class Poser(Component):
    def forward(self):
        return Pose(1.0, 2.0)


def test_registered_dataclasses_travel_between_components():
    poser = Poser("poser")
    sink = sink_of(poser)
    run(poser, sink, iterations=1)
    assert sink.seen == [Pose(1.0, 2.0)]


def test_every_sent_message_is_recorded_as_its_encoded_bytes():
    counter = Counter()
    sink = sink_of(counter)
    sent = []
    run(counter, sink, iterations=2, record=lambda c, o, payload, t=0: sent.append((c, o, payload)))
    assert sent == [("counter", "out", codec.encode(1)), ("counter", "out", codec.encode(2))]


# -- a host that is one Node of several --------------------------------------------------------------------------
def test_exported_outputs_are_sent_and_imported_messages_are_received():
    here, there = Node("here", machine="m1"), Node("there", machine="m2")
    counter = Counter(node=here)
    remote = Sink("remote", node=there)
    remote(x=counter.out)
    local = Sink("local_sink", node=here)
    local(x=counter.out)
    spec = System(components=[counter, remote, local], name="t").spec()
    sent = []
    sender = Host(node_plan(spec, "here"), {"counter": counter, "local_sink": local},
                  send=lambda c, o, p, t=0: sent.append((c, o, p)), iterations=2)
    sender.run(realtime=False)
    assert [(c, o) for c, o, _ in sent] == [("counter", "out"), ("counter", "out")]
    assert local.seen == [1, 2]

    receiver = Host(node_plan(spec, "there"), {"remote": remote})
    receiver.setup()
    for _, _, payload in sent:
        receiver.receive("remote", "x", payload)
    receiver.drain()
    assert remote.seen == [1, 2]


# -- the direct path: in-process chains fire without the queue -----------------------------------------------
class Tap(Component):
    """Passes ``x`` on plus one; remembers what it got."""

    def __init__(self, name):
        super().__init__(name)
        self.seen = []

    def forward(self, x):
        self.seen.append(x)
        return x + 1


class KeywordOnlyTap(Tap):
    def forward(self, *, x):
        self.seen.append(x)
        return x + 1


class Pairs(Component):
    def __init__(self, name):
        super().__init__(name)
        self.seen = []

    def forward(self, a, b):
        self.seen.append((a, b))
        return a * 1000 + b


def mixed_graph():
    """Two sources at 10 and 4 Hz; chains, a fan-out and a join of both."""
    fast, slow = Counter("fast", rate_hz=10), Counter("slow", scale=100, rate_hz=4)
    a, b, c, k = Tap("a"), KeywordOnlyTap("b"), Tap("c"), Tap("k")
    join, sink = Pairs("join"), Sink("sink")
    b(x=a(x=fast.out))
    c(x=fast.out)
    sink(x=k(x=join(a=b.out, b=slow.out)))
    return [fast, slow, a, b, c, join, k, sink]


def test_every_component_gets_the_same_messages_in_the_same_order_with_or_without_the_queue():
    """Recording sends every message through the queue; without it single-input chains fire directly."""
    direct, queued = mixed_graph(), mixed_graph()
    run(*direct, iterations=12)
    host = run(*queued, iterations=12, record=lambda *message: None)
    assert host.by_name["a"].direct and not host.by_name["join"].direct
    for one, other in zip(direct, queued):
        assert getattr(one, "seen", None) == getattr(other, "seen", None), one.name
    assert direct[2].seen == list(range(1, 13)) and direct[3].seen == list(range(2, 14))
    assert direct[-1].seen[0] == 3 * 1000 + 100 + 1  # the join's first pair: b's 3 at t=0 with slow's 100


def test_a_long_in_process_chain_delivers_every_message():
    source = Counter("source")
    taps = [Tap(f"tap{i}") for i in range(1500)]  # deeper than the interpreter's nesting limit
    upstream = source.out
    for tap in taps:
        upstream = tap(x=upstream)
    sink = sink_of(taps[-1])
    run(source, *taps, sink, iterations=3)
    assert sink.seen == [1501, 1502, 1503]
