"""The Host owns time: the engine adapters, driven through fakes, fire sources in the Host's own order."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from dora.testing import MockNode

from lkbuild import Component, Node, System
from lkbuild.generators.dora.dataflow import node_wiring
from lkbuild.generators.ros2 import interfaces
from lkbuild.graph.plan import node_plan
from lkbuild.runtime_stubs.lk_runtime import driver
from lkbuild.runtime_stubs.lk_runtime.dora_node import NodeRunner
from lkbuild.runtime_stubs.lk_runtime.host import Host
from lkbuild.runtime_stubs.lk_runtime.ros2_node import NodeProcess
from lkbuild.runtime_stubs.lk_runtime.settings import Settings


class Ticks(Component):
    def __init__(self, name, rate_hz):
        super().__init__(name, rate_hz=rate_hz)
        self.n = 0

    def forward(self):
        self.n += 1
        return self.n


class Join(Component):
    def __init__(self):
        super().__init__("join")

    def forward(self, a, b=None, c=None):
        return f"{a} {b} {c}"


def system(rates):
    sources = [Ticks(f"s{i}", rate) for i, rate in enumerate(rates)]
    join = Join()
    join(**{port: source.out for port, source in zip("abc", sources)})
    return System(components=[*sources, join], name="clock").spec(), len(sources)


def instances(spec):
    out = {}
    for entry in node_plan(spec)["components"]:
        c = spec.component(entry["name"])
        out[c.name] = Join() if c.name == "join" else Ticks(c.name, c.rate_hz)
    return out


def native_order(spec, iterations):
    sent = []
    host = Host(node_plan(spec), instances(spec), iterations=iterations,
                record=lambda c, o, p, t=0: sent.append((c, bytes(p))))
    host.run(realtime=False)
    return sent


def dora_order(spec, iterations):
    sent = []
    node = spec.nodes[0].name
    runner = NodeRunner(node_plan(spec, node), node_wiring(spec, node), instances(spec),
                        Settings(iterations, realtime=False), record_to=lambda c, o, p, t=0: sent.append((c, bytes(p))))
    runner.host.run_with(lambda: runner.run(MockNode([])))
    return sent


class FakeExecutor:
    """rclpy's executor as the ROS 2 adapter uses it; waiting moves a fake clock instead of sleeping."""

    def __init__(self, clock):
        self.clock = clock

    def spin_once(self, timeout_sec=None):
        self.clock.now += timeout_sec if timeout_sec else 0.001


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def ros2_order(spec, iterations, realtime=False):
    sent = []
    node = spec.nodes[0].name
    plan = node_plan(spec, node)
    plan["ros2"] = interfaces.node_interfaces(spec, node, interfaces.topics(spec))
    proc = NodeProcess(plan, Settings(iterations, realtime=realtime))
    proc.host = Host(plan, instances(spec), iterations=iterations, record=lambda c, o, p, t=0: sent.append((c, bytes(p))))
    clock = Clock()
    proc.executor = FakeExecutor(clock)
    proc.host.run_with(lambda: driver.drive(proc.host, proc.ending, proc, realtime, clock=clock))
    return sent


rates = st.one_of(st.integers(1, 60).map(float), st.floats(0.5, 60.0, allow_nan=False, allow_infinity=False))


@settings(max_examples=60, deadline=None)
@given(st.lists(rates, min_size=2, max_size=3), st.integers(1, 12))
def test_every_adapter_fires_sources_in_the_hosts_order(source_rates, iterations):
    spec, count = system(source_rates)
    expected = native_order(spec, iterations)
    assert sum(1 for c, _ in expected if c != "join") == count * iterations
    assert dora_order(spec, iterations) == expected
    assert ros2_order(spec, iterations) == expected
    assert ros2_order(spec, iterations, realtime=True) == expected


def exact_order(rates, iterations):
    """Firing n of source i is due at exactly n / rate (rational arithmetic); ties to the one listed first."""
    due = sorted((Fraction(n) / Fraction(rate), i) for i, rate in enumerate(rates) for n in range(iterations))
    return [f"s{i}" for _, i in due]


def running_sum_order(rates, iterations):
    timers = [(0.0, i, 0) for i in range(len(rates))]
    order = []
    while timers:
        timers.sort()
        at, i, n = timers.pop(0)
        order.append(f"s{i}")
        if n + 1 < iterations:
            timers.append((at + 1.0 / rates[i], i, n + 1))
    return order


@pytest.mark.parametrize("rates, iterations", [([10.0, 1.0], 40), ([1.0, 10.0], 40), ([30.0, 7.0], 40),
                                               ([20.0, 5.0], 40)])
def test_periods_that_do_not_add_up_exactly_fire_by_count_not_by_running_sum(rates, iterations):
    spec, _ = system(rates)
    fired = [c for c, _ in native_order(spec, iterations) if c != "join"]
    assert fired == exact_order(rates, iterations)


@pytest.mark.parametrize("rates, step", [([1.0, 10.0], 11), ([30.0, 7.0], 37), ([20.0, 5.0], 20)])
def test_a_running_sum_of_periods_would_fire_in_another_order(rates, step):
    """What dora's adapter did (the issue's report: 1 Hz and 10 Hz part ways at step 11)."""
    by_sum, by_count = running_sum_order(rates, 40), exact_order(rates, 40)
    assert by_sum[:step] == by_count[:step] and by_sum[step] != by_count[step]


class FakeDora:
    """A dora node whose ``next()`` without a timeout would block forever: the loop must not call it."""

    def __init__(self):
        self.outputs = {}

    def next(self, timeout=None):
        assert timeout is not None, "the Node waited for an event that can never come"
        return {"type": "ERROR", "error": "timed out"}

    def is_empty(self):
        return True

    def send_output(self, output_id, data, metadata=None):
        self.outputs.setdefault(output_id, []).append(data)


def test_a_node_alone_whose_work_is_done_ends_without_waiting_for_events():
    class Loop(Component):
        outputs = ("x",)

        def __init__(self, name, node=None):
            super().__init__(name, node=node)

        def initial_outputs(self):
            return 0

        def forward(self, y):
            return y + 1

    class Back(Loop):
        def initial_outputs(self):
            return None

    solo = Node("solo")
    a, b = Loop("a", node=solo), Back("b", node=solo)
    b(y=a(y=b.outputs.x))
    spec = System(components=[a, b], name="loop").spec()
    runner = NodeRunner(node_plan(spec, "solo"), node_wiring(spec, "solo"),
                        {"a": Loop("a"), "b": Back("b")}, Settings(5, realtime=False))
    runner.host.run_with(lambda: runner.run(FakeDora()))
    assert runner.host.by_name["a"].fired == 5
