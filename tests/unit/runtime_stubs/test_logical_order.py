"""Logical time in the Host: message order by (time, input), watermarks between Hosts, the stamp frame."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from lkbuild import Component, Node, System
from lkbuild.graph.plan import node_plan
from lkbuild.runtime_stubs.lk_runtime import codec, stamp
from lkbuild.runtime_stubs.lk_runtime.host import Host, period_ticks, rate_parts, tick_hz


class Ticks(Component):
    def __init__(self, name, rate_hz, node=None):
        super().__init__(name, node=node, rate_hz=rate_hz)
        self.n = 0

    def forward(self):
        self.n += 1
        return self.n


class Pair(Component):
    def __init__(self, node=None):
        super().__init__("join", node=node)
        self.seen = []

    def forward(self, left, right):
        self.seen.append((left, right))
        return [left, right]


class Odd(Component):
    """Passes odd numbers only: its watermark rises without a message for every even one."""

    def __init__(self, node=None):
        super().__init__("odd", node=node)

    def forward(self, x):
        return x if x % 2 else None


def join_system(placement: str):
    a, b = Node("a"), Node("b")
    fast, slow = Ticks("fast", 10, node=a), Ticks("slow", 1, node=b if placement == "split" else a)
    join = Pair(node=a)
    join(left=fast.out, right=slow.out)
    return System(components=[fast, slow, join], name="j"), (fast, slow, join)


def one_host_pairs(iterations=12):
    system, (fast, slow, join) = join_system("together")
    spec = system.spec()
    host = Host(node_plan(spec), {"fast": fast, "slow": slow, "join": join}, iterations=iterations)
    host.run(realtime=False)
    return join.seen


def split_pairs(order, iterations=12):
    """The join on Host a, the slow source on Host b, b's frames handed to a at the points ``order`` says."""
    system, (fast, slow, join) = join_system("split")
    spec = system.spec()
    frames = []
    b = Host(node_plan(spec, "b"), {"slow": slow}, send=lambda c, o, f: frames.append(f), iterations=iterations)
    a = Host(node_plan(spec, "a"), {"fast": fast, "join": join}, iterations=iterations)
    b.run_with(lambda: _run_all(b))
    a.setup()
    a.start()
    pending = list(frames)
    for deliver_now in order:
        if deliver_now and pending:
            a.receive("join", "right", pending.pop(0))
            a.drain()
        elif a.next_due() is not None:
            a.fire_next()
    while a.next_due() is not None:
        a.fire_next()
    for frame in pending:
        a.receive("join", "right", frame)
        a.drain()
    assert a.done()
    return join.seen


def _run_all(host):
    host.start()
    while host.next_due() is not None:
        host.fire_next()


def test_a_join_in_one_host_pairs_by_logical_time():
    pairs = one_host_pairs()
    assert len(pairs) == 23
    assert pairs[9:12] == [(10, 1), (11, 1), (11, 2)]  # at 1.0 s the input declared first goes first


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), max_size=60))
def test_a_join_across_hosts_makes_the_same_pairs_whenever_the_other_hosts_frames_arrive(order):
    assert split_pairs(order) == one_host_pairs()


def test_a_filtered_message_still_moves_the_watermark_on():
    a, b = Node("a"), Node("b")
    ticks, odd = Ticks("ticks", 10, node=a), Odd(node=a)
    sink = Pair(node=b)
    sink(left=odd(x=ticks.out), right=ticks.out)
    spec = System(components=[ticks, odd, sink], name="w").spec()
    frames = []
    host = Host(node_plan(spec, "a"), {"ticks": ticks, "odd": odd}, iterations=4,
                send=lambda c, o, f: frames.append((c, stamp.unpack(f)[:3])))
    host.run(realtime=False)
    period = host.tick_hz // 10
    odd_frames = [f for c, f in frames if c == "odd"]
    # values at 0 (1) and 2 periods (3); the evens only say "nothing before the next firing"
    assert odd_frames == [(0, 0, period), (stamp.WATERMARK_ONLY, 2 * period, 2 * period),
                          (0, 2 * period, 3 * period), (stamp.WATERMARK_ONLY, stamp.NEVER, stamp.NEVER)]


def test_a_rate_is_the_same_fraction_whether_it_is_whole_or_not():
    from fractions import Fraction

    for rate in (10, 10.0, 1e6, 2.5, 7.8737, 52.39, 1 / 3):
        exact = Fraction(rate).limit_denominator(10 ** 6)
        assert rate_parts(rate) == (exact.numerator, exact.denominator), rate
    assert period_ticks(30.0, 210) == 7 and period_ticks(2.5, 10) == 4


def test_the_clock_counts_whole_ticks_of_a_common_multiple_of_the_rates():
    assert tick_hz([30, 7]) == 210
    assert tick_hz([10, 2.5]) == 10
    assert tick_hz([]) == 1
    fast, slow, join = Ticks("fast", 30), Ticks("slow", 7), Pair()
    join(left=fast.out, right=slow.out)
    seen = []
    spec = System(components=[fast, slow, join], name="r").spec()
    host = Host(node_plan(spec), {"fast": fast, "slow": slow, "join": join}, iterations=8,
                record=lambda c, o, p, t: seen.append((t, c)))
    host.run(realtime=False)
    assert [t for t, c in seen if c == "slow"] == [30 * n for n in range(8)]
    assert [t for t, c in seen if c == "fast"] == [7 * n for n in range(8)]
    sources = [s for s in seen if s[1] != "join"]
    assert sources == sorted(sources, key=lambda s: (s[0], s[1] != "fast"))


@pytest.mark.parametrize("frame, why", [
    (b"\x01\x00", "18|24 bytes or more"),
    (stamp.HEADER.pack(9, 0, 0, 0), "version 9"),
    (stamp.HEADER.pack(stamp.VERSION, 0, 5, 4), "not a valid stamp"),
    (stamp.HEADER.pack(stamp.VERSION, 0, -1, 0), "not a valid stamp"),
])
def test_a_malformed_frame_is_refused(frame, why):
    with pytest.raises(codec.CodecError, match=why):
        stamp.unpack(frame)


def test_a_frame_carries_time_watermark_and_the_codec_bytes():
    flags, at, watermark, payload = stamp.unpack(stamp.pack(3, 7, codec.encode("x")))
    assert (flags, at, watermark, codec.decode(payload)) == (0, 3, 7, "x")
    assert stamp.unpack(stamp.watermark_frame(9))[:3] == (stamp.WATERMARK_ONLY, 9, 9)


def test_a_batch_carries_frames_in_order_and_a_lone_frame_is_its_own_batch():
    frames = [stamp.pack(1, 2, codec.encode("a")), stamp.watermark_frame(3), stamp.pack(3, 4, codec.encode([1]))]
    assert [bytes(f) for f in stamp.frames(stamp.batch(frames))] == frames
    assert stamp.frames(frames[0]) == (frames[0],)
    assert stamp.unpack(stamp.batch(frames))[0] == stamp.BATCH
    other = bytes([9, stamp.BATCH]) + bytes(22)  # another version's frame is not read as a batch: unpack refuses it
    assert stamp.frames(other) == (other,)


@pytest.mark.parametrize("batch, why", [
    (stamp.batch([stamp.pack(1, 1, b"xyz")])[:-1], "truncated"),
    (stamp.batch([stamp.pack(1, 1)]) + b"\x01", "truncated"),
    (stamp.batch([stamp.batch([stamp.pack(1, 1)])]), "holds another batch"),
])
def test_a_malformed_batch_is_refused(batch, why):
    with pytest.raises(codec.CodecError, match=why):
        stamp.frames(batch)
