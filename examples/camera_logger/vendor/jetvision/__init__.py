"""A simulation of a Jetson-only vision SDK, so that the example runs on a computer without a Jetson.

On the robot the real SDK comes with the Jetson's image; lkbuild never copies this folder into a bundle.
"""
import numpy as np


class Pipeline:
    """Deterministic test frames: a gradient that shifts by one grey level per frame."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.count = 0
        self.open = True

    def capture(self) -> np.ndarray:
        if not self.open:
            raise RuntimeError("the pipeline is closed")
        self.count += 1
        ys, xs = np.mgrid[0:self.height, 0:self.width]
        return ((xs + ys + self.count) % 256).astype(np.uint8)

    def close(self) -> None:
        self.open = False
