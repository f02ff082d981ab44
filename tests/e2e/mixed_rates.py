"""Sources of different rates on one Node, joined by one component, logged on a second Node.

The periods of 30 Hz and 7 Hz (or 10 Hz and 1 Hz) do not add up exactly in floating point: a clock that
sums periods fires them in another order than one that counts (tick n at n / rate_hz). Every engine
must fire them in the same order, so every engine records the same joined pairs.
"""
from __future__ import annotations

from lkbuild import Component, Node, System


class Ticks(Component):
    """A source: 1, 2, 3, ... at its rate."""

    def __init__(self, name, rate_hz, node=None):
        super().__init__(name, node=node, rate_hz=rate_hz)

    def setup(self):
        self.n = 0

    def forward(self):
        self.n += 1
        return self.n


class Join(Component):
    def __init__(self, node=None):
        super().__init__("join", node=node)

    def forward(self, fast, slow):
        return f"{fast} {slow}"


class Log(Component):
    outputs = ("line",)

    def __init__(self, node=None):
        super().__init__("log", node=node)

    def forward(self, text):
        return text


def pair(fast_hz: float, slow_hz: float) -> System:
    one, two = Node("one"), Node("two")
    fast, slow = Ticks("fast", fast_hz, node=one), Ticks("slow", slow_hz, node=one)
    join, log = Join(node=one), Log(node=two)
    log(text=join(fast=fast.out, slow=slow.out))
    return System(components=[fast, slow, join, log], name=f"rates_{int(fast_hz)}_{int(slow_hz)}")


rates_20_5 = pair(20, 5)
rates_30_7 = pair(30, 7)
rates_10_1 = pair(10, 1)
