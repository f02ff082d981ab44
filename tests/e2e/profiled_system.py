"""The system the profile e2e tests run (a plain module: dora and ROS 2 node processes import it).

Known figures: ``tick`` fires at 10 Hz, ``sleeper`` sleeps 20 ms in every ``forward()``, ``big`` sends
1 MiB per message, and every path from ``tick`` to ``sink`` goes through the sleeper. Two Nodes on two
machines, so the edge ``sleeper.out -> big.x`` crosses both.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from lkbuild import Component, Node, System

MIB = 1 << 20


class Tick(Component):
    def __init__(self, node=None):
        super().__init__("tick", node=node, rate_hz=10.0)

    def setup(self):
        self.n = 0

    def forward(self):
        self.n += 1
        return self.n


class Sleeper(Component):
    def __init__(self, node=None):
        super().__init__("sleeper", node=node)

    def forward(self, x):
        time.sleep(0.02)
        return x


class Big(Component):
    def __init__(self, node=None):
        super().__init__("big", node=node)

    def forward(self, x):
        print(f"big got {x}")
        return np.full(MIB, x % 256, dtype=np.uint8)


class Sink(Component):
    outputs = ()

    def __init__(self, node=None, fail_at=0):
        super().__init__("sink", node=node)
        self.fail_at = fail_at

    def forward(self, image):
        n = int(image[0])
        print(f"sink saw frame {n}", file=sys.stderr)
        if self.fail_at and n >= self.fail_at:
            raise RuntimeError(f"sink gave up at frame {n}")


def system(engine: str = "dora", fail_at: int = 0) -> System:
    a = Node("a", machine="m1", engine=engine)
    b = Node("b", machine="m2", engine=engine)
    tick, sleeper, big, sink = Tick(node=a), Sleeper(node=a), Big(node=b), Sink(node=b, fail_at=fail_at)
    return System(components=[tick, sleeper, big, sink], name="profiled")
