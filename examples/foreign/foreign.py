"""Existing dora nodes inside a System: node-hub packages from PyPI wired to lkbuild components.

* ``offsets`` (pyarrow-sender) sends calibration offsets once, as a plain Arrow array of floats;
* ``camera`` (a component) makes small test images; they go through ``echo`` (dora-echo) and come back
  as (H, W, C) uint8 arrays: the image boundary format, both ways;
* ``clock`` (dora-echo on a timer) ticks at 10 Hz; its timer counts as a source for ``iterations``;
* ``brightness`` combines the three; ``expect`` (pyarrow-assert) checks the offsets as ``calibrate`` sent them.

The node-hub packages pin numpy<2: lkbuild installs them into a venv of their own under .lk_build/foreign/.
Run it: ``lkbuild launch foreign.py -n 20`` (dora; ``make run``).
"""
from __future__ import annotations

import numpy as np

from lkbuild import Component, DoraNode, Node, System

ECHO = "dora-echo==0.5.0"
hub = Node("hub", engine="dora")


class Camera(Component):
    """A 24x32 BGR gradient that brightens by one level per frame."""

    def setup(self):
        self.frame = 0

    def forward(self) -> np.ndarray:
        self.frame += 1
        row = np.linspace(0, 200, 32, dtype=np.uint8)
        return np.repeat(np.repeat(row[None, :, None], 24, axis=0), 3, axis=2) + np.uint8(self.frame % 50)


class Calibrate(Component):
    """Rounds the offsets to tenths (what the rest of the system uses)."""

    def forward(self, offsets: np.ndarray) -> np.ndarray:
        return np.round(offsets, 1)


class Brightness(Component):
    """Mean brightness of each frame, corrected by the calibration, at each clock tick."""

    outputs = ()

    def forward(self, image: np.ndarray, tick: int, offsets=None):
        correction = float(offsets.sum()) if offsets is not None else 0.0
        print(f"tick {tick}: frame {image.shape} mean {image.mean():.2f} corrected {image.mean() - correction:.2f}")


offsets = DoraNode("offsets", path="pyarrow-sender", package="pyarrow-sender==0.5.0",
                   env={"DATA": "[0.5, 1.25, 2.0]"}, outputs={"data": "array"}, node=hub)
echo = DoraNode("echo", path="dora-echo", package=ECHO, inputs={"image": "image"}, outputs={"image": "image"},
                node=hub)
clock = DoraNode("clock", path="dora-echo", package=ECHO, timers={"tick": 10}, outputs={"tick": "number"}, node=hub)
expect = DoraNode("expect", path="pyarrow-assert", package="pyarrow-assert==0.5.0", env={"DATA": "[0.5, 1.2, 2.0]"},
                  inputs={"offsets": "array"}, node=hub)

camera = Camera("camera", node=hub, rate_hz=10)
calibrate = Calibrate("calibrate", node=hub)
brightness = Brightness("brightness", node=hub)

calibrated = calibrate(offsets=offsets.outputs.data)
expect(offsets=calibrated)
echo(image=camera.out)
brightness(image=echo.outputs.image, tick=clock.outputs.tick, offsets=calibrated)

system = System(components=[offsets, echo, clock, expect, camera, calibrate, brightness], name="foreign")

if __name__ == "__main__":
    system.launch(iterations=20)
