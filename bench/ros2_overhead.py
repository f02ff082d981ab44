"""What lkbuild's generated ROS 2 nodes cost over hand-written rclpy nodes doing the same job.

Two pass-throughs of each kind run at the same time, each in its own process, and one rclpy driver (this
script) sends to them and counts what comes back:

* small messages: a relay of an ``int`` port. Generated: a Relay component ``forward(self, x: int) -> int``
  (lkbuild publishes ``int`` ports as ``std_msgs/msg/Int64``). Hand-written: an rclpy node that
  subscribes ``std_msgs/msg/Int64`` and republishes each message it receives — what a ROS developer
  writes for a counter. Figure: messages per second with 100 in flight.
* images: a relay of a 1 MiB and an 8 MiB ``uint8`` frame. Generated: a Relay component whose port
  carries the numpy array (H, W, 3) as lkbuild does by default. Hand-written: an rclpy node that
  subscribes ``sensor_msgs/msg/Image``, views its data as an (H, W, 3) numpy array (no copy) and
  republishes the message — the usual way to move camera frames in ROS 2. Figure: the median round
  trip, driver -> relay -> driver, of one frame at a time. The driver sends each side the message it
  would get from a peer of its own kind (codec bytes to the generated relay, an ``Image`` to the
  hand-written one) and reads replies serialized, so its own work does not blur the comparison.

The driver alternates between the two sides, batch by batch and round by round, so the load of a busy
machine weighs on both alike. Targets: generated >= 0.9x the hand-written throughput and <= 1.1x its
latency. Absolute numbers depend on the machine; compare the ratios.

Run: .venv/bin/python bench/ros2_overhead.py [--messages N] [--rounds N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lkbuild import Component, Node, System
from lkbuild.engines import get_engine
from lkbuild.runtime_stubs.lk_runtime import codec, ros2_wire, stamp
from lkbuild.tools import Tool
from lkbuild.tools.ros2 import DomainLease, Workspace

WINDOW = 100
BATCH = 500
FRAMES = {"1 MiB": (512, 683), "8 MiB": (1448, 1931)}  # (H, W) of an (H, W, 3) uint8 frame

HAND_WRITTEN = """\
\"\"\"Hand-written rclpy pass-throughs: what a ROS developer would write without lkbuild.\"\"\"
import sys

import numpy as np
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Int64

kind = sys.argv[1]
rclpy.init()
node = rclpy.create_node(f"{kind}_relay", namespace="/hand")
qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
if kind == "small":
    pub = node.create_publisher(Int64, "small_relay/out", qos)
    node.create_subscription(Int64, "small_source/out", pub.publish, qos)
else:
    pub = node.create_publisher(Image, "image_relay/out", qos)

    def relay(msg):
        frame = np.frombuffer(msg.data, dtype=np.uint8).reshape(msg.height, msg.width, 3)
        frame[0, 0]  # what a component would look at
        pub.publish(msg)

    node.create_subscription(Image, "image_source/out", relay, qos)
try:
    rclpy.spin(node)
except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
    pass
finally:
    node.destroy_node()
    rclpy.try_shutdown()
"""


class Source(Component):
    """Stands for the driver: its node is never started."""

    def forward(self):
        return None


class Int(Component):
    def forward(self) -> int:
        return 0


class Relay(Component):
    def forward(self, x):
        return x


class IntRelay(Component):
    def forward(self, x: int) -> int:
        return x


class Sink(Component):
    """Stands for the driver too."""

    outputs = ()

    def forward(self, small, image):
        return None


def bench_system() -> System:
    driver = Node("driver")
    small_source, image_source = Int("small_source", node=driver), Source("image_source", node=driver)
    small = IntRelay("small_relay", node=Node("small_relay"))
    image = Relay("image_relay", node=Node("image_relay"))
    sink = Sink("driver", node=driver)
    sink(small=small(x=small_source.out), image=image(x=image_source.out))
    return System(components=[small_source, image_source, small, image, sink], name="bench")


class Python(Tool):
    name = "python"


class Channel:
    """The driver's publisher to one pass-through and the count of what came back."""

    def __init__(self, node, namespace: str, kind: str, message_type, reply_type):
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
        self.pub = node.create_publisher(message_type, f"/{namespace}/{kind}_source/out", qos)
        self.received = 0
        node.create_subscription(reply_type, f"/{namespace}/{kind}_relay/out", self._on_message, qos, raw=True)

    def _on_message(self, raw):
        self.received += 1


class Driver:
    """The rclpy side both kinds of pass-through are measured with."""

    def __init__(self):
        import rclpy
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import Image
        from std_msgs.msg import Int64, String, UInt8MultiArray

        rclpy.init()
        self.rclpy = rclpy
        # A generated node runs once the components it feeds have subscribed, by name: the driver's rclpy
        # node has the name of the system's sink component, "driver".
        self.node = rclpy.create_node("driver", namespace="/bench")
        self.small = {"hand": Channel(self.node, "hand", "small", Int64, Int64),
                      "generated": Channel(self.node, "bench", "small", Int64, Int64)}
        self.image = {"hand": Channel(self.node, "hand", "image", Image, Image),
                      "generated": Channel(self.node, "bench", "image", UInt8MultiArray, UInt8MultiArray)}
        # The generated nodes wait for their peers' status endpoints before they run: provide them.
        latched = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.node.create_publisher(String, "_lk/status/driver", latched)
        for peer in ("small_relay", "image_relay"):
            self.node.create_subscription(String, f"_lk/status/{peer}", lambda m: None, latched)
        self.node.create_publisher(String, "_lk/control", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE,
                                                                      durability=DurabilityPolicy.TRANSIENT_LOCAL))

    @staticmethod
    def int_message(value: int):
        from std_msgs.msg import Int64

        return Int64(data=value)

    @staticmethod
    def frames(shape):
        """The same frame as each side sends it: a serialized ``Image``, and codec bytes in the frame an
        lkbuild Node sends (``stamp``: logical time, here 0, and a watermark that holds no one back)."""
        from rclpy.serialization import serialize_message
        from sensor_msgs.msg import Image

        h, w = shape
        frame = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
        image = Image(height=h, width=w, encoding="rgb8", is_bigendian=0, step=w * 3)
        image.data = frame.tobytes()
        lkbuild = stamp.pack(0, stamp.NEVER, codec.encode(frame))
        return serialize_message(image), ros2_wire.uint8_multiarray_cdr(lkbuild)

    def spin(self, seconds=0.0):
        self.rclpy.spin_once(self.node, timeout_sec=seconds)

    def wait_ready(self, probes, timeout=60.0):
        """Until every pass-through answers (they may still be discovering the driver)."""
        deadline = time.monotonic() + timeout
        channels = [(channel, probes[kind][side]) for kind, group in (("small", self.small), ("image", self.image))
                    for side, channel in group.items()]
        while any(c.received == 0 for c, _ in channels):
            if time.monotonic() > deadline:
                raise RuntimeError("a pass-through never answered")
            for channel, probe in channels:
                if channel.received == 0 and channel.pub.get_subscription_count():
                    channel.pub.publish(probe)
            self.spin(0.1)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:  # let late probe echoes drain
            self.spin(0.05)

    def batch(self, channel: Channel, count: int) -> float:
        """Seconds to get ``count`` small messages through, at most WINDOW in flight."""
        msg = self.int_message(12345)
        start_received, sent = channel.received, 0
        start = time.perf_counter()
        while channel.received - start_received < count:
            while sent < count and sent - (channel.received - start_received) < WINDOW:
                channel.pub.publish(msg)
                sent += 1
            self.spin(0.5)
        return time.perf_counter() - start

    def round_trip(self, channel: Channel, msg) -> float:
        before = channel.received
        start = time.perf_counter()
        channel.pub.publish(msg)
        while channel.received == before:
            self.spin(1.0)
        return time.perf_counter() - start

    def close(self):
        self.node.destroy_node()
        self.rclpy.try_shutdown()


def compare(driver: Driver, messages: int, rounds: int):
    """{figure: {side: value}}, the two sides measured alternately."""
    sides = ("hand", "generated")
    for side in sides:  # warm-up
        driver.batch(driver.small[side], 200)
    busy = {side: 0.0 for side in sides}
    done = 0
    while done < messages:
        for side in sides:
            busy[side] += driver.batch(driver.small[side], BATCH)
        done += BATCH
    results = {"throughput": {side: done / busy[side] for side in sides}}
    for label, shape in FRAMES.items():
        image, codec_bytes = driver.frames(shape)
        sent = {"hand": image, "generated": codec_bytes}
        times = {side: [] for side in sides}
        for _ in range(rounds):
            for side in sides:
                times[side].append(driver.round_trip(driver.image[side], sent[side]))
        results[label] = {side: statistics.median(times[side]) for side in sides}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lkbuild-ros2-bench-") as tmp, DomainLease() as lease:
        work = Path(tmp)
        os.environ.update(lease.environment(work / "ros_log"))
        engine = get_engine("ros2", out_dir=work / "build")
        spec = bench_system().spec()
        engine.compile(spec)
        engine.build(spec)
        script = work / "hand_written.py"
        script.write_text(HAND_WRITTEN)
        commands = engine.commands(spec)
        processes = [Python().start([str(script), kind], log_path=work / f"hand_{kind}.log")
                     for kind in ("small", "image")]
        processes += [Workspace(engine.workspace).start_sourced(commands[node], work / f"generated_{node}.log")
                      for node in ("small_relay", "image_relay")]
        driver = None
        try:
            driver = Driver()
            image, codec_bytes = driver.frames((4, 4))
            small = driver.int_message(1)
            driver.wait_ready({"small": {"hand": small, "generated": small},
                               "image": {"hand": image, "generated": codec_bytes}})
            results = compare(driver, args.messages, args.rounds)
        finally:
            if driver is not None:
                driver.close()
            for process in processes:
                process.stop()
    print(f"{'figure':<28}{'hand-written':>14}{'generated':>12}{'ratio':>8}   target")
    rate = results["throughput"]
    print(f"{'small messages (msg/s)':<28}{rate['hand']:>14.0f}{rate['generated']:>12.0f}"
          f"{rate['generated'] / rate['hand']:>8.2f}   >= 0.90")
    for label in FRAMES:
        rtt = results[label]
        print(f"{label + ' frame RTT (ms)':<28}{rtt['hand'] * 1e3:>14.2f}{rtt['generated'] * 1e3:>12.2f}"
              f"{rtt['generated'] / rtt['hand']:>8.2f}   <= 1.10")
    return 0


if __name__ == "__main__":
    sys.exit(main())
