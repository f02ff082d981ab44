"""Small systems the dora e2e tests run (a plain module: dora node processes import these components)."""
from __future__ import annotations

import hashlib
import time

import numpy as np

from lkbuild import Component, Node, System


class Counter(Component):
    """Source: 1, 2, 3, ..."""

    def __init__(self, name="counter", node=None, rate_hz=100.0):
        super().__init__(name, node=node, rate_hz=rate_hz)

    def setup(self):
        self.n = 0

    def forward(self):
        self.n += 1
        return self.n


class Splitter(Component):
    """Several outputs; ``scale`` is an optional input that is never wired (its default is used)."""

    outputs = ("even", "odd", "all")

    def __init__(self, node=None):
        super().__init__("splitter", node=node)

    def forward(self, x, scale=3):
        even = x * scale if x % 2 == 0 else None
        odd = x * scale if x % 2 else None
        return {"even": even, "odd": odd, "all": [x, x * scale]}


class Fuser(Component):
    """Fires on ``value``; ``pose`` is optional and holds its latest value (None until one arrives)."""

    def __init__(self, name="fuser", node=None):
        super().__init__(name, node=node)

    def forward(self, value, pose=None):
        return {"value": value, "pose": pose}


class Sink(Component):
    """Keeps nothing, sends nothing; tears down by writing a marker file (to prove teardown ran)."""

    outputs = ()

    def __init__(self, name="sink", node=None, marker=""):
        super().__init__(name, node=node)
        self.marker = marker

    def forward(self, x):
        return None

    def teardown(self):
        if self.marker:
            with open(self.marker, "w") as f:
                f.write("torn down")


class SlowLatest(Component):
    """Wants only the newest value (a 1-deep drop_oldest queue) and is slow: messages get dropped."""

    outputs = ()
    input_queues = {"x": {"size": 1, "policy": "drop_oldest"}}

    def __init__(self, node=None):
        super().__init__("slow_latest", node=node)

    def forward(self, x):
        time.sleep(0.002)


class Camera(Component):
    """Source: 1 MiB frames (1024 x 1024 uint8), different every time."""

    def __init__(self, node=None, size=1024, rate_hz=30.0):
        super().__init__("camera", node=node, rate_hz=rate_hz)
        self.size = size

    def setup(self):
        self.frame = 0
        self.base = np.arange(self.size * self.size, dtype=np.uint32).reshape(self.size, self.size)

    def forward(self):
        self.frame += 1
        return ((self.base * self.frame) % 251).astype(np.uint8)


class Stats(Component):
    """Digest of a frame: shape, sum, a corner; ``zero_copy`` says whether it arrived read-only (a view)."""

    def __init__(self, node=None):
        super().__init__("stats", node=node)

    def forward(self, image):
        return {"read_only": not image.flags.writeable, "shape": list(image.shape),
                "sum": int(image.sum(dtype=np.uint64)), "corner": int(image[-1, -1])}


class Digests(Component):
    """Writes what it receives to ``path``, a line per frame: shape, dtype and the sha256 of its bytes."""

    outputs = ()

    def __init__(self, node=None, path=""):
        super().__init__("digests", node=node)
        self.path = path

    def forward(self, image):
        with open(self.path, "a") as f:
            f.write(f"{list(image.shape)} {image.dtype} {hashlib.sha256(image.tobytes()).hexdigest()}\n")


class Crasher(Component):
    """Raises on the third message."""

    outputs = ()

    def __init__(self, node=None, marker=""):
        super().__init__("crasher", node=node)
        self.marker = marker

    def forward(self, x):
        if x == 3:
            raise ValueError("the crasher refuses 3")

    def teardown(self):
        if self.marker:
            with open(self.marker, "w") as f:
                f.write("torn down")


class Plant(Component):
    """Starts a closed loop: sends a first state, then integrates every command it receives."""

    outputs = ("state",)

    def __init__(self, node=None):
        super().__init__("plant", node=node)

    def setup(self):
        self.position = 0

    def initial_outputs(self):
        return self.position

    def forward(self, command):
        self.position += command
        return self.position


class Policy(Component):
    """Closes the loop: a command from the state."""

    outputs = ("command",)

    def __init__(self, node=None):
        super().__init__("policy", node=node)

    def forward(self, state):
        return 1 + state % 3


# -- systems ------------------------------------------------------------------------------------------------
def fan_system(marker: str = "") -> System:
    """Two Nodes; node 'b' hosts several components, a multi-output one and optional inputs."""
    a, b = Node("a"), Node("b")
    counter = Counter(node=a)
    splitter = Splitter(node=b)
    fuser = Fuser(node=b)
    local = Fuser("local_fuser", node=b)
    sink = Sink(node=b, marker=marker)
    parts = splitter(x=counter.out)
    fuser(value=parts.all)                     # optional pose never wired: its default is used
    local(value=parts.even, pose=parts.odd)    # optional pose wired inside node b: holds the latest odd
    sink(x=fuser.out)
    return System(components=[counter, splitter, fuser, local, sink], name="fan")


def image_system() -> System:
    a, b = Node("vision", machine="jetson"), Node("compute", machine="nuc")
    camera = Camera(node=a)
    stats = Stats(node=b)
    stats(image=camera.out)
    return System(components=[camera, stats], name="images")


def image_digest_system(path: str) -> System:
    """1 MiB frames to another Node, nothing recorded: each frame goes out in pieces (``Host.send_parts``)."""
    camera = Camera(node=Node("vision"))
    digests = Digests(node=Node("compute"), path=path)
    digests(image=camera.out)
    return System(components=[camera, digests], name="image_digests")


def camera_digests(count: int) -> list:
    """What ``Digests`` writes for the camera's first ``count`` frames, made here."""
    base = np.arange(1024 * 1024, dtype=np.uint32).reshape(1024, 1024)
    return [f"[1024, 1024] uint8 {hashlib.sha256(((base * n) % 251).astype(np.uint8).tobytes()).hexdigest()}"
            for n in range(1, count + 1)]


def crash_system(marker: str) -> System:
    a, b = Node("a"), Node("b")
    counter = Counter(node=a)
    crasher = Crasher(node=b, marker=marker)
    crasher(x=counter.out)
    return System(components=[counter, crasher], name="crash")


def loop_system() -> System:
    """A closed loop across two Nodes, plus a logger on a third."""
    sim, brain, logs = Node("sim"), Node("brain"), Node("logs")
    plant = Plant(node=sim)
    policy = Policy(node=brain)
    logger = Sink("logger", node=logs)
    command = policy(state=plant.outputs.state)
    plant(command=command)
    logger(x=plant.outputs.state)
    return System(components=[plant, policy, logger], name="loop")


def two_machine_system() -> System:
    """A chain over two machines and back: counter (jetson) -> splitter (nuc) -> fuser (jetson)."""
    j, n = Node("jetson", machine="jetson"), Node("nuc", machine="nuc")
    counter = Counter(node=j)
    splitter = Splitter(node=n)
    fuser = Fuser(node=j)
    parts = splitter(x=counter.out)
    fuser(value=parts.all)
    return System(components=[counter, splitter, fuser], name="cluster")


def free_running_system(marker: str = "") -> System:
    """A source that never stops by itself (for duration and Ctrl-C)."""
    a, b = Node("a", machine="m1"), Node("b", machine="m2")
    counter = Counter(node=a, rate_hz=20.0)
    sink = Sink(node=b, marker=marker)
    sink(x=counter.out)
    return System(components=[counter, sink], name="forever")


def lossy_system() -> System:
    a, b = Node("a"), Node("b")
    counter = Counter(node=a, rate_hz=1000.0)
    slow = SlowLatest(node=b)
    slow(x=counter.out)
    return System(components=[counter, slow], name="lossy")
