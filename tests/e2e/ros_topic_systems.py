"""A system on existing ROS 2 topics (tests/e2e/test_foreign_ros2.py), and the robot it talks to.

The robot is a plain rclpy program (no lkbuild), run in its own process: it publishes camera frames on
``/camera/image_raw`` (best effort, as camera drivers do) and laser scans on ``/scan``, and prints every
``geometry_msgs/msg/Twist`` it receives on ``/cmd_vel`` once it has what it was told to expect (or when
it is interrupted): a message still on its way when the run ends is not counted as lost. It starts sending once the
system's ``/cmd_vel`` publisher has matched its subscription, so no answer is lost to discovery.
"""
from __future__ import annotations

import numpy as np
from geometry_msgs.msg import Twist
from sensor_msgs.msg import LaserScan

from lkbuild import Component, Node, RosTopic, System

WIDTH, HEIGHT = 6, 4


def robot_frame(k: int) -> np.ndarray:
    """Frame k of the robot's camera (rgb8): every pixel is computed from k."""
    base = np.arange(HEIGHT * WIDTH * 3, dtype=np.uint16).reshape(HEIGHT, WIDTH, 3)
    frame = ((base + 7 * k) % 256).astype(np.uint8)
    frame[0, 0, 0] = k % 256
    return frame


class Look(Component):
    """Sends on the camera frame it gets, so that the recording holds it, on a topic named for the robot."""

    ros_topics = {"out": {"topic": "/seen_frames", "qos": {"preset": "default", "depth": 50}}}

    def forward(self, image: np.ndarray):
        return image


class Tally(Component):
    outputs = ()

    def forward(self, frame):
        pass


class Planner(Component):
    """Drives at the nearest range, turning by the scan's angle increment."""

    def forward(self, scan: LaserScan) -> Twist:
        twist = Twist()
        twist.linear.x = float(min(scan.ranges))
        twist.angular.z = float(scan.angle_increment)
        return twist


def robot_system():
    camera = RosTopic("/camera/image_raw", "sensor_msgs/msg/Image", qos="sensor_data", format="image")
    scan = RosTopic("/scan", "sensor_msgs/msg/LaserScan")
    cmd_vel = RosTopic("/cmd_vel", "geometry_msgs/msg/Twist")
    look = Look("look", node=Node("vision"))
    planner = Planner("planner", node=Node("drive"))
    tally = Tally("tally", node=planner.node)
    tally(frame=look(image=camera.out))
    cmd_vel(msg=planner(scan=scan.out))
    return System(components=[camera, scan, cmd_vel, look, planner, tally], name="rosbot")


ROBOT = """
import json, select, sys, time
import numpy as np
import rclpy
from geometry_msgs.msg import Twist
from std_msgs.msg import UInt8MultiArray
from rclpy.qos import qos_profile_sensor_data, QoSProfile
from sensor_msgs.msg import Image, LaserScan
sys.path.insert(0, sys.argv[1])
from ros_topic_systems import robot_frame
expected = json.loads(sys.argv[2])  # {"twists": n, "seen": n}: what to wait for before saying what it got
# It publishes until its stdin closes (the system's run is over: a bridge may still want a frame after the
# robot got its Twists; a best-effort frame can be lost) and it has what it expects, or it is interrupted.

rclpy.init()
node = rclpy.create_node("test_robot")
images = node.create_publisher(Image, "/camera/image_raw", qos_profile_sensor_data)
scans = node.create_publisher(LaserScan, "/scan", QoSProfile(depth=10))
got = []
cmd_vel = node.create_subscription(Twist, "/cmd_vel", got.append, QoSProfile(depth=100))
seen = []  # the generated topic of look.out, under the name its ros_topics gives it
node.create_subscription(UInt8MultiArray, "/seen_frames", seen.append, QoSProfile(depth=100))
k = 0

def tick():
    global k
    if cmd_vel.get_publisher_count() == 0:
        return  # the system's /cmd_vel publisher has not matched yet: its answers would go nowhere
    frame = robot_frame(k)
    msg = Image(height=frame.shape[0], width=frame.shape[1], encoding="rgb8", step=frame.shape[1] * 3)
    msg.header.frame_id = "camera"
    msg.data = frame.tobytes()
    images.publish(msg)
    scans.publish(LaserScan(angle_increment=0.25, ranges=[k + 0.5, float(k), k + 1.5]))
    k += 1

node.create_timer(0.05, tick)
print("ready", flush=True)
run_over = False
try:
    while not run_over or len(got) < expected["twists"] or len(seen) < expected["seen"]:  # or until interrupted
        rclpy.spin_once(node, timeout_sec=0.1)
        if not run_over and select.select([sys.stdin], [], [], 0)[0]:
            run_over = sys.stdin.readline() == ""
except KeyboardInterrupt:
    pass
print(json.dumps({"published": k, "twists": [[t.linear.x, t.angular.z] for t in got], "seen": len(seen)}),
      flush=True)
node.destroy_node()
rclpy.try_shutdown()
"""
