"""Systems whose outputs depend on the order messages meet in: the logical-time suite runs them split over Nodes.

* ``join``: a 10 Hz source on Node a, a 1 Hz source on Node b, joined on Node a (the case of issue 12:
  without logical time, where the slow source sits decides which pairs are made);
* ``diamond``: three Nodes, sources at 10, 4 and 2.5 Hz meeting in two joins and a sum;
(examples/gym_loop.py:two_nodes is the third: a loop across two Nodes.)
"""
from __future__ import annotations

from lkbuild import Component, Node, System
from mixed_rates import Ticks


class Pair(Component):
    """Joins its two inputs as they stand: which pairs it makes depends on the order they arrive in."""

    def __init__(self, name, node=None):
        super().__init__(name, node=node)

    def forward(self, left, right):
        return [left, right]


class Sum(Component):
    def __init__(self, name, node=None):
        super().__init__(name, node=node)

    def forward(self, left, right):
        return {"left": left, "right": right, "n": len(str(left)) + len(str(right))}


def join_system(fast_hz=10, slow_hz=1, name="cross_join") -> System:
    a, b = Node("a", machine="alpha"), Node("b", machine="beta")
    fast, slow = Ticks("fast", fast_hz, node=a), Ticks("slow", slow_hz, node=b)
    join = Pair("join", node=a)
    join(left=fast.out, right=slow.out)
    return System(components=[fast, slow, join], name=name)


def diamond_system() -> System:
    a, b, c = Node("a", machine="alpha"), Node("b", machine="beta"), Node("c", machine="gamma")
    x, y, z = Ticks("x", 10, node=a), Ticks("y", 4, node=b), Ticks("z", 2.5, node=c)
    left, right = Pair("left", node=b), Pair("right", node=c)
    total = Sum("total", node=a)
    lo, ro = left(left=x.out, right=y.out), right(left=x.out, right=z.out)
    total(left=lo, right=ro)
    return System(components=[x, y, z, left, right, total], name="diamond")


join = join_system()
diamond = diamond_system()

realtime = join_system(50, 5, "realtime_join")  # short enough to run in real time in a test
