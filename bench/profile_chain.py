"""The chain ``bench/profile_overhead.py`` runs (a plain module: dora node processes import it)."""
from __future__ import annotations

import json
import time

from lkbuild import Component, Node, System


class Count(Component):
    def __init__(self, node=None):
        super().__init__("count", node=node)

    def setup(self):
        self.n = 0

    def forward(self):
        self.n += 1
        return self.n


class Add(Component):
    def forward(self, x):
        return x + 1


class Timed(Component):
    """The sink: writes how many messages it got and the time from the first to the last to ``path``."""

    outputs = ()

    def __init__(self, node=None, path=""):
        super().__init__("timed", node=node)
        self.path = path

    def setup(self):
        self.count, self.first, self.last = 0, None, None

    def forward(self, x):
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        self.last = now
        self.count += 1

    def teardown(self):
        with open(self.path, "w") as f:
            json.dump({"count": self.count, "seconds": (self.last or 0) - (self.first or 0)}, f)


def chain(engine: str, path: str) -> System:
    """count -> add1 -> add2 -> timed; on dora and ROS 2 the edge add1 -> add2 crosses two Nodes."""
    a, b = Node("a", engine=engine), Node("b", engine=engine)
    parts = [Count(node=a), Add("add1", node=a), Add("add2", node=b), Timed(node=b, path=path)]
    return System(components=parts, name="profile_chain")
