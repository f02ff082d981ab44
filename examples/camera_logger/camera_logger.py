"""One file, two machines: a Camera on a Jetson that uses the Jetson's vision SDK, a Logger on a NUC that does not.

`jetvision` stands for a vendor SDK that exists only on the Jetson. The file imports it at the top, as robot
programs do, but only the Camera's code uses it, so:

- `lkbuild inspect camera_logger.py --format text` lists jetvision for the camera only, and per machine
  the union of what its components need: the nuc needs numpy (the Logger's), not jetvision;
- `lkbuild bundle camera_logger.py --machine nuc` installs no jetvision: on the nuc, the import at the
  top of this file gets a stand-in, so the Logger's process imports the file without the SDK; using the
  SDK there for real fails with an error naming the module, the machine and the component.

`vendor/jetvision` simulates the SDK so the example runs on a computer without a Jetson:
`PYTHONPATH=vendor lkbuild launch camera_logger.py -e native -n 20` (see the Makefile).
"""
from dataclasses import dataclass

import jetvision
import numpy as np

from lkbuild import Component, Machine, Node, System


class Camera(Component):
    """Source: frames from the Jetson's capture pipeline."""

    @dataclass
    class Config:
        width: int = 64
        height: int = 48
        rate_hz: float = 20.0

    def __init__(self, node=None, config=None):
        super().__init__("camera", node=node, config=config)

    def setup(self):
        self.pipeline = jetvision.Pipeline(width=self.config.width, height=self.config.height)

    def forward(self):
        return self.pipeline.capture()

    def teardown(self):
        self.pipeline.close()


class Logger(Component):
    """A running summary of the frames it receives: how many, and their mean brightness."""

    def __init__(self, node=None):
        super().__init__("logger", node=node)

    def setup(self):
        self.frames = 0

    def forward(self, frame):
        self.frames += 1
        return {"frame": self.frames, "shape": list(frame.shape), "mean": round(float(np.mean(frame)), 3)}


jetson = Node("jetson", machine=Machine.preset("jetson", host="192.168.1.10"), engine="dora")
nuc = Node("nuc", machine=Machine("nuc", host="192.168.1.20"), engine="dora")

camera = Camera(node=jetson)
logger = Logger(node=nuc)
logger(frame=camera.out)

system = System(components=[camera, logger], name="camera_logger")
