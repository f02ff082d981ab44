"""Systems that hold real dora node-hub packages from PyPI beside lkbuild components (tests/e2e/test_foreign_dora.py).

The packages (``pyarrow-sender``, ``pyarrow-assert``, ``dora-echo``) pin ``numpy<2``: they run from a venv of
their own. ``pyarrow-assert`` fails the run when what it receives differs from its ``DATA``: the values
are checked at the foreign end; the components record what they receive: checked at lkbuild's end.
"""
from __future__ import annotations

import numpy as np

from lkbuild import Component, DoraNode, Node, System

SENDER = "pyarrow-sender==0.5.0"
ASSERT = "pyarrow-assert==0.5.0"
ECHO = "dora-echo==0.5.0"


class Doubler(Component):
    def forward(self, x):
        return x * 2


class Keep(Component):
    """Sends on what it receives, so that the recording holds it."""

    def forward(self, x):
        return x


class Frames(Component):
    """Small deterministic BGR images: frame n is filled from n."""

    def forward(self):
        self.n = getattr(self, "n", -1) + 1
        return frame(self.n)


class Shout(Component):
    def __init__(self, name, node=None, misfit=False):
        super().__init__(name, node=node)
        self.misfit = misfit

    def forward(self, x):
        return x if self.misfit else f"value {x}"  # misfit: an int where the echo's port wants a str


def frame(n: int):
    return (np.arange(4 * 5 * 3, dtype=np.uint16).reshape(4, 5, 3) * (n + 1) % 256).astype(np.uint8)


def node(name: str, machine=None):
    return Node(name, machine=machine)


def exchange_system(expected=(2, 4, 6), placed: bool = False, misfit: bool = False):
    """sender -> doubler -> echo -> keep, doubler -> pyarrow-assert; frames -> echo (image) -> keep_image;
    a timer of a dora-echo counted as a source; numbers and strings through a second echo."""
    work = node("work", "alpha" if placed else None)
    sink = node("sink", "beta" if placed else None)
    sender = DoraNode("sender", path="pyarrow-sender", package=SENDER, env={"DATA": "[1, 2, 3]"},
                      outputs={"data": "array"}, node=work)
    check = DoraNode("check", path="pyarrow-assert", package=ASSERT, env={"DATA": repr(list(expected))},
                     inputs=["x"], node=sink)
    echo = DoraNode("echo", path="dora-echo", package=ECHO, inputs={"x": "array", "img": "image", "s": "string"},
                    outputs={"x": "array", "img": "image", "s": "string"}, node=sink)
    ticks = DoraNode("ticks", path="dora-echo", package=ECHO, timers={"tick": 20}, outputs={"tick": "number"},
                     node=work)
    doubler = Doubler("doubler", node=work)
    frames = Frames("frames", node=work, rate_hz=20)
    shout = Shout("shout", node=work, misfit=misfit)
    keep = Keep("keep", node=sink)
    keep_image = Keep("keep_image", node=sink)
    keep_tick = Keep("keep_tick", node=sink)
    keep_text = Keep("keep_text", node=sink)
    doubled = doubler(x=sender.outputs.data)
    check(x=doubled)
    echo(x=doubled, img=frames.out, s=shout(x=ticks.outputs.tick))
    keep(x=echo.outputs.x)
    keep_image(x=echo.outputs.img)
    keep_tick(x=ticks.outputs.tick)
    keep_text(x=echo.outputs.s)
    return System(components=[sender, doubler, check, echo, frames, ticks, shout, keep, keep_image, keep_tick,
                              keep_text], name="foreign_exchange")


LATE_RELAY = '''#!{python}
"""Echoes its images like dora-echo, but starts reading only {delay} s after it started: a slow first answer."""
import time

from dora import Node

node = Node()
time.sleep({delay})
for event in node:
    if event["type"] == "INPUT":
        node.send_output("img", event["value"], event["metadata"])
'''


def late_relay_system(path: str):
    """frames -> a relay whose first answer comes late -> keep_image, all in one Node."""
    work = node("work")
    late = DoraNode("late", path=path, inputs={"img": "image"}, outputs={"img": "image"}, node=work)
    frames = Frames("frames", node=work, rate_hz=20)
    keep_image = Keep("keep_image", node=work)
    late(img=frames.out)
    keep_image(x=late.outputs.img)
    return System(components=[frames, late, keep_image], name="late_relay")
