"""What lkbuild's generated ROS 2 node costs over a hand-written rclpy node doing the same job.

Both pass-throughs run at the same time, each as its own process, and are driven by one hand-written
rclpy driver (this script) that publishes lkbuild codec bytes in std_msgs/UInt8MultiArray on
``/<ns>/source/out`` and listens on ``/<ns>/relay/out`` (``ns``: ``bench`` generated, ``hand`` hand-written):

* generated: the ``relay`` executable of a colcon-built lkbuild package (a Relay component whose
  ``forward`` returns its input), started with the arguments its launch file gives;
* hand-written: a minimal rclpy node that republishes every message it receives.

Figures: small-message throughput (a window of 100 messages in flight, 12-byte payloads) and the median
round-trip time of a 1 MB numpy array. The driver alternates between the two pass-throughs, batch by
batch and round by round, so the load of a busy machine weighs on both alike. Targets: generated >= 0.9x the hand-written throughput and
<= 1.1x its latency. Absolute numbers depend on the machine; compare the ratios.

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
from lkbuild.runtime_stubs.lk_runtime import codec
from lkbuild.tools import Tool
from lkbuild.tools.ros2 import DomainLease, Workspace

WINDOW = 100
BATCH = 500

HAND_WRITTEN = """\
\"\"\"A hand-written rclpy pass-through: what a ROS developer would write without lkbuild.\"\"\"
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import UInt8MultiArray

rclpy.init()
node = rclpy.create_node("relay", namespace="/hand")
qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
pub = node.create_publisher(UInt8MultiArray, "relay/out", qos)
node.create_subscription(UInt8MultiArray, "source/out", pub.publish, qos)
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


class Relay(Component):
    def forward(self, x):
        return x


class Sink(Component):
    outputs = ()

    def forward(self, x):
        return None


def bench_system() -> System:
    driver, relay_node = Node("driver"), Node("relay")
    source, relay, sink = Source("source", node=driver), Relay("relay", node=relay_node), Sink("sink", node=driver)
    sink(x=relay(x=source.out))
    return System(components=[source, relay, sink], name="bench")


class Python(Tool):
    name = "python"


class Channel:
    """The driver's publisher to one pass-through and the count of what came back."""

    def __init__(self, node, namespace: str):
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from std_msgs.msg import UInt8MultiArray

        qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
        self.pub = node.create_publisher(UInt8MultiArray, f"/{namespace}/source/out", qos)
        self.received = 0
        # raw: the driver only counts replies, so its own deserialization does not blur the comparison
        node.create_subscription(UInt8MultiArray, f"/{namespace}/relay/out", self._on_message, qos, raw=True)

    def _on_message(self, raw):
        self.received += 1


class Driver:
    """The hand-written rclpy side both pass-throughs are measured with."""

    def __init__(self, namespaces):
        import rclpy
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from std_msgs.msg import String

        rclpy.init()
        self.rclpy = rclpy
        self.node = rclpy.create_node("driver", namespace="/bench")
        self.channels = {name: Channel(self.node, name) for name in namespaces}
        # The generated node waits for its peers' status endpoints before it runs: provide them.
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.node.create_publisher(String, "_lk/status", latched)
        self.node.create_subscription(String, "_lk/status", lambda m: None, latched)

    @staticmethod
    def message(value):
        import array

        from std_msgs.msg import UInt8MultiArray

        msg = UInt8MultiArray()
        msg.data = array.array("B", codec.encode(value))
        return msg

    def spin(self, seconds=0.0):
        self.rclpy.spin_once(self.node, timeout_sec=seconds)

    def wait_ready(self, timeout=60.0):
        """Until every pass-through answers (they may still be discovering the driver)."""
        probe = self.message(0)
        deadline = time.monotonic() + timeout
        while any(c.received == 0 for c in self.channels.values()):
            if time.monotonic() > deadline:
                raise RuntimeError("a pass-through never answered")
            for channel in self.channels.values():
                if channel.received == 0 and channel.pub.get_subscription_count():
                    channel.pub.publish(probe)
            self.spin(0.1)
        end = time.monotonic() + 0.5
        while time.monotonic() < end:  # let late probe echoes drain
            self.spin(0.05)

    def batch(self, channel: Channel, count: int) -> float:
        """Seconds to get ``count`` small messages through, at most WINDOW in flight."""
        msg = self.message(12345)
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
    """{label: (messages/s, median RTT)}, the two measured alternately."""
    labels = list(driver.channels)
    for label in labels:  # warm-up
        driver.batch(driver.channels[label], 200)
    busy = {label: 0.0 for label in labels}
    done = 0
    while done < messages:
        for label in labels:
            busy[label] += driver.batch(driver.channels[label], BATCH)
        done += BATCH
    big = driver.message(np.random.default_rng(0).integers(0, 255, 1 << 20, dtype=np.uint8))
    times = {label: [] for label in labels}
    for _ in range(rounds):
        for label in labels:
            times[label].append(driver.round_trip(driver.channels[label], big))
    return {label: (done / busy[label], statistics.median(times[label])) for label in labels}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lkbuild-ros2-bench-"))
    with DomainLease() as lease:
        os.environ.update(lease.environment(work / "ros_log"))
        engine = get_engine("ros2", out_dir=work / "build")
        spec = bench_system().spec()
        engine.compile(spec)
        engine.build(spec)
        script = work / "hand_written.py"
        script.write_text(HAND_WRITTEN)
        processes = [
            Python().start([str(script)], log_path=work / "hand_written.log"),
            Workspace(engine.workspace).start_sourced(engine.commands(spec)["relay"], work / "generated.log"),
        ]
        driver = None
        try:
            driver = Driver(["hand", "bench"])
            driver.wait_ready()
            results = compare(driver, args.messages, args.rounds)
        finally:
            if driver is not None:
                driver.close()
            for process in processes:
                process.stop()
    (hand_rate, hand_rtt), (gen_rate, gen_rtt) = results["hand"], results["bench"]
    for label, (rate, rtt) in (("hand-written", results["hand"]), ("generated", results["bench"])):
        print(f"{label:13s} {rate:9.0f} msg/s small   {rtt * 1e3:7.2f} ms median RTT 1 MB")
    print(f"throughput ratio generated/hand-written: {gen_rate / hand_rate:.2f}x (target >= 0.9)")
    print(f"latency ratio    generated/hand-written: {gen_rtt / hand_rtt:.2f}x (target <= 1.1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
