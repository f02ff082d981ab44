"""The bridge between a dora dataflow and an existing ROS 2 topic (a ``RosTopic`` on the dora engine).

One dora node per ``RosTopic``, which is also an rclpy node: what it receives on the topic it sends to the
components as codec bytes on its output ``out`` (a ROS message as the codec's external frame of the bytes
rclpy received, an ``image`` topic as an ``(H, W, C)`` array); what components send to its input ``msg``
it publishes on the topic. It speaks no end-of-run protocol: with ``iterations=N`` it forwards N messages
from the topic and returns (its output closes, so the Nodes it feeds see a source end, ``ending``); it
also returns when its input closes (the components that publish through it have ended) or dora stops it.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, Dict

from . import codec, images, ros2_wire, stamp
from .settings import Settings

POLL_S = 0.005  # each side (dora, rclpy) is looked at this often when the other is quiet


def main(config: Dict[str, Any], environ=None) -> int:
    import rclpy
    from dora import Node

    from .dora_node import as_arrow, payload_view

    settings = Settings.from_env(os.environ if environ is None else environ)
    limit = settings.iterations
    rclpy.init(args=sys.argv)
    ros = rclpy.create_node(config["ros_node"])
    cls = ros2_wire.message_class(config["type"])
    qos = ros2_wire.topic_qos(config["qos"])
    image = config["format"] == "image"
    node = Node()
    state = {"sent": 0, "published": 0}

    def on_message(message) -> None:
        if limit is not None and state["sent"] >= limit:
            return
        payload = codec.encode(images.from_ros(message)) if image else codec.external_frame(config["type"], message)
        # A ROS topic has no logical time: the frame says time 0 and a watermark that never holds anyone
        # back, so the components take these messages in arrival order.
        node.send_output("out", as_arrow(stamp.pack(0, stamp.NEVER, payload)), {})
        state["sent"] += 1

    if config["subscribe"]:
        ros.create_subscription(cls, config["topic"], on_message, qos, raw=not image)
    publisher = ros.create_publisher(cls, config["topic"], qos) if config["publish"] else None

    def publish(frame) -> None:
        flags, _, _, payload = stamp.unpack(frame)
        if flags & stamp.WATERMARK_ONLY:
            return
        external = codec.external_data(payload)
        if image:
            publisher.publish(images.to_ros(codec.decode(payload), cls))
        elif external is not None and external[0] == config["type"]:
            publisher.publish(bytes(external[1]))
        else:
            sys.stderr.write(f"bridge {config['topic']}: dropped a value that is not a {config['type']}\n")
            return
        state["published"] += 1
    try:
        if publisher is not None:
            # A subscriber that is already there must not miss the first messages while discovery completes.
            started = time.monotonic()
            while publisher.get_subscription_count() == 0 and time.monotonic() - started < ros2_wire.FOREIGN_WAIT_S:
                rclpy.spin_once(ros, timeout_sec=0.01)
        while True:
            if config["subscribe"] and not config["publish"] and limit is not None and state["sent"] >= limit:
                break
            rclpy.spin_once(ros, timeout_sec=0 if publisher is not None else POLL_S)
            event = node.next(timeout=POLL_S) if publisher is not None else (None if node.is_empty() else node.next())
            if event is None:
                if publisher is not None:
                    break  # every input closed
                continue
            if event["type"] == "STOP":
                break
            if event["type"] == "INPUT" and publisher is not None and event["id"] == "msg":
                publish(payload_view(event["value"]))  # never a batch: its input is unbatched (dora_node)
        if publisher is not None and state["published"]:
            state["acked"] = ros2_wire.wait_for_acks(publisher, lambda: rclpy.spin_once(ros, timeout_sec=0.01))
    finally:
        ros.destroy_node()
        rclpy.try_shutdown()
    acked = "" if "acked" not in state else " (acknowledged)" if state["acked"] else \
        f" (not acknowledged within {ros2_wire.ACK_WAIT_S:.0f} s)"
    sys.stdout.write(f"lkbuild bridge {config['topic']} ({config['type']}): {state['sent']} sent to the dataflow, "
                     f"{state['published']} published{acked}\n")
    return 0
