"""A two-machine robot: camera + detector on a Jetson, planner + controller on a NUC.

The camera renders synthetic frames (a bright blob moving over a dark, slightly noisy background), the
detector finds the blob with a threshold and a centroid, the planner turns the detection into a
bearing and a range, and the controller turns that into velocity commands that steer toward the blob.

The nodes name the dora engine, so `lkbuild launch robot.py` runs a dora dataflow; add `-e native` to
run everything in one Python process. `lkbuild bundle robot.py --machine jetson` cuts the Jetson's
deploy bundle.
"""
from dataclasses import dataclass

import numpy as np

from lkbuild import Component, Node, System


class Camera(Component):
    """Source: synthetic grayscale frames with one bright blob on a Lissajous path."""

    @dataclass
    class Config:
        width: int = 160
        height: int = 120
        blob_radius: float = 6.0    # pixels, when the target is farthest; it grows to twice that up close
        period: int = 40            # frames for the blob to sweep across and back
        noise: int = 30             # background brightness varies in [0, noise)
        seed: int = 1
        rate_hz: float = 30.0

    def __init__(self, node=None, config=None):
        super().__init__("camera", node=node, config=config)

    def setup(self):
        # Seeded here so every run (and every engine) renders the same frames.
        self.rng = np.random.default_rng(self.config.seed)
        self.frame = 0
        cfg = self.config
        self.ys, self.xs = np.mgrid[0:cfg.height, 0:cfg.width]

    def forward(self):
        cfg = self.config
        phase = 2 * np.pi * self.frame / cfg.period
        self.frame += 1
        cx = cfg.width / 2 + 0.4 * cfg.width * np.sin(phase)
        cy = cfg.height / 2 + 0.3 * cfg.height * np.sin(2 * phase)
        image = self.rng.integers(0, cfg.noise, size=(cfg.height, cfg.width), dtype=np.uint8)
        radius = cfg.blob_radius * (1.5 - 0.5 * np.cos(phase / 2))   # the target comes closer, then recedes
        blob = (self.xs - cx) ** 2 + (self.ys - cy) ** 2 <= radius ** 2
        image[blob] = 230
        return image


class Detector(Component):
    """Finds the brightest blob: threshold, then centroid and area. Also sends a small debug mask."""

    @dataclass
    class Config:
        threshold: int = 128
        min_area: int = 10          # fewer bright pixels than this is noise, not a blob
        debug_scale: int = 4        # the debug mask is the frame shrunk by this factor

    outputs = ("detections", "debug")

    def __init__(self, node=None, config=None):
        super().__init__("detector", node=node, config=config)

    def forward(self, image):
        cfg = self.config
        mask = image >= cfg.threshold
        s = cfg.debug_scale
        debug = (mask[::s, ::s] * 255).astype(np.uint8)
        area = int(mask.sum())
        if area < cfg.min_area:
            return {"detections": None, "debug": debug}     # nothing seen: send no detection
        ys, xs = np.nonzero(mask)
        height, width = image.shape
        # Offsets from the image centre, in [-1, 1]: +x is right, +y is down.
        x = (xs.mean() - (width - 1) / 2) / (width / 2)
        y = (ys.mean() - (height - 1) / 2) / (height / 2)
        return {"detections": {"x": round(float(x), 4), "y": round(float(y), 4), "area": area},
                "debug": debug}


class Planner(Component):
    """Turns a detection into a goal: bearing (rad, positive = left, as in ROS) and range (m)."""

    @dataclass
    class Config:
        fov_deg: float = 60.0
        area_at_1m: float = 113.0   # blob area in pixels when the target is 1 m away

    def __init__(self, node=None, config=None):
        super().__init__("planner", node=node, config=config)

    def forward(self, detections):
        cfg = self.config
        bearing = -detections["x"] * np.radians(cfg.fov_deg) / 2
        distance = np.sqrt(cfg.area_at_1m / max(detections["area"], 1))
        return {"bearing": round(float(bearing), 4), "range": round(float(distance), 4)}


class Controller(Component):
    """PD controller: angular velocity from the bearing, forward speed while the goal is ahead and far."""

    @dataclass
    class Config:
        kp: float = 2.0
        kd: float = 0.1
        max_angular: float = 1.5    # rad/s
        cruise: float = 0.4         # m/s
        stop_range: float = 0.6     # m: close enough, turn in place

    outputs = ("cmd_vel",)

    def __init__(self, node=None, config=None):
        super().__init__("controller", node=node, config=config)

    def setup(self):
        self.previous = None

    def forward(self, goal):
        cfg = self.config
        bearing = goal["bearing"]
        change = 0.0 if self.previous is None else bearing - self.previous
        self.previous = bearing
        angular = float(np.clip(cfg.kp * bearing + cfg.kd * change, -cfg.max_angular, cfg.max_angular))
        linear = cfg.cruise * max(0.0, np.cos(bearing)) if goal["range"] > cfg.stop_range else 0.0
        return {"linear": round(float(linear), 4), "angular": round(angular, 4)}


vision = Node('jetson', machine='192.168.1.10', engine='dora')
compute = Node('nuc', machine='192.168.1.20', engine='dora')

camera = Camera(node=vision)
detector = Detector(node=vision)
planner = Planner(node=compute)
controller = Controller(node=compute)

dets = detector(image=camera.out)
goal = planner(detections=dets.detections)
controller(goal=goal)

system = System(components=[camera, detector, planner, controller], name="robot")

if __name__ == "__main__":
    system.launch(iterations=100)
