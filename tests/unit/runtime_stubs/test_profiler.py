"""lk_runtime.profile: stamps, the queue depth from stamps, and a profiled Host's figures."""
from __future__ import annotations

import time

from lkbuild import Component, Node, System
from lkbuild.graph.plan import node_plan
from lkbuild.runtime_stubs.lk_runtime import build, profile
from lkbuild.runtime_stubs.lk_runtime.host import Host


def test_a_stamp_round_trips_and_anything_else_is_refused():
    sent, origins = profile.read(profile.stamp({"camera": 12, "lidar": 34}))
    assert abs(sent - time.time_ns()) < 5e9 and origins == {"camera": 12, "lidar": 34}
    assert profile.read(profile.stamp({}))[1] == {}
    for bad in (None, 5, "", "lk_stamp:x", "lk_stamp:1;__import__('os')=1", "lk_stamp:1;a=b", "other:1",
                "lk_stamp:1;" + "a=1;" * 2000):
        assert profile.read(bad) is None


def test_the_deepest_queue_counts_messages_sent_before_one_was_delivered():
    arrivals = profile._Arrivals()
    # sent at 0, 1, 2, 3 ms; the receiver was busy: delivered at 10, 11, 12, 13 ms
    for i in range(4):
        arrivals.add(i * 1_000_000, (10 + i) * 1_000_000)
    result = arrivals.result()
    assert result["messages"] == 4 and result["deepest_queue"] == 3  # 3 were waiting behind the first
    assert abs(result["latency_s"]["max"] - 0.010) < 1e-9
    quick = profile._Arrivals()
    for i in range(4):  # each delivered before the next is sent
        quick.add(i * 1_000_000, i * 1_000_000 + 100)
    assert quick.result()["deepest_queue"] == 0


class Tick(Component):
    def forward(self):
        return b"x" * 1000


class Slow(Component):
    outputs = ()

    def forward(self, x):
        time.sleep(0.005)


def test_a_profiled_host_times_forward_counts_bytes_and_measures_the_path():
    tick, slow = Tick("tick", rate_hz=100), Slow("slow")
    spec = System(components=[tick, slow], name="p").spec()
    plan = node_plan(spec)
    host = Host(plan, build.build_node(plan), strict=True, iterations=10)
    profiler = profile.Profiler(host).install()
    host.run(realtime=False)
    result = profiler.result()

    assert result["components"]["slow"]["fired"] == 10
    assert 0.005 <= result["components"]["slow"]["forward_s"]["p50"] < 0.05
    assert result["outputs"]["tick.out"]["messages"] == 10
    assert 1000 < result["outputs"]["tick.out"]["bytes"] / 10 < 1100
    assert result["paths"]["tick -> slow"]["count"] == 10 and result["paths"]["tick -> slow"]["min"] >= 0.005


def test_without_profiling_the_host_is_untouched():
    spec = System(components=[Tick("tick"), Slow("slow")], name="p").spec()
    plan = node_plan(spec)
    instances = build.build_node(plan)
    host = Host(plan, instances)
    assert host.record is None and all(s.forward == instances[s.name].forward for s in host.slots)
