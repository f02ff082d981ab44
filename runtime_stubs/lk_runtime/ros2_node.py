"""The rclpy adapter: runs one lkbuild Node as a ROS 2 process, one rclpy node per component.

Transport only. The shared host loop (``host.Host``) fires the components and owns time, the Node's
``ending.Ending`` decides when the run is over, ``driver.drive`` runs the loop and ``report`` says how
it went — exactly as on dora. What is ROS 2 here: one rclpy node per component, one publisher per
output that leaves the Node, one subscription per input fed from another Node, component configs as
ROS parameters, and the control plane as topics: ``/<system>/_lk/status/<node>`` (each Node's status,
heard by the leader and the Nodes that send to it) and ``/<system>/_lk/control`` (the leader's
decisions), reliable and transient-local. Before its clocks start, each process waits until its
publishers and subscriptions have matched their peers, so no message is sent into the void.

Codec bytes travel in ``std_msgs/UInt8MultiArray`` written and read in serialized form (no per-byte
Python work, no copy on receipt, ``ros2_wire``); ``str``/``int``/``float``/``bool`` ports use std_msgs
scalars. Ports annotated with a ROS message class publish that message type: the codec already holds it
serialized (``rosmsg``), so those bytes are published and received as they are.

A ``RosTopic`` is an existing topic: its name as given (remapping applies), its message type and QoS;
nothing on it is waited for, and with ``iterations=N`` a subscription to it takes N messages and then
counts as closed (it is a source of the run, ``ending``). ``sensor_msgs/msg/Image`` topics of format
``image`` convert to and from ``(H, W, C)`` arrays (``images``).
"""
from __future__ import annotations

import array
import signal
import sys
import time
from typing import Any, Dict, List, Optional

from . import build, codec, driver, ending, images, logs, profile, record, report, rosmsg, ros2_wire, stamp
from .errors import ComponentFailure
from .host import Host, plan_tick_hz
from .settings import Settings

STATUS_PERIOD = 0.05     # s: the loop wakes at least this often (stop requests, the end of the run)
WAIT_LOG_PERIOD = 5.0    # s between two "waiting for peers" log lines
ACK_TIMEOUT = 5.0        # s to wait for peers to acknowledge the last status before exiting


def main(plan: Dict[str, Any], argv: Optional[List[str]] = None, messages: Optional[Dict[str, Any]] = None) -> int:
    """Entry point of a generated node executable.

    ``messages``: ``{pkg/msg/Name: class}``, the ROS message types the Node's ports carry, imported by the
    generated entrypoint.
    """
    import rclpy
    from rclpy.signals import SignalHandlerOptions
    from rclpy.utilities import remove_ros_args

    argv = list(sys.argv if argv is None else argv)
    settings = Settings.from_args(remove_ros_args(argv)[1:])
    rosmsg.register_all(messages or {})
    rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
    return (ProfiledProcess if settings.profile else NodeProcess)(plan, settings, messages).run()


class NodeProcess(driver.Transport):
    """One lkbuild Node: its components' rclpy nodes, their topics, and the host loop that drives them."""

    def __init__(self, plan: Dict[str, Any], settings: Settings, messages: Optional[Dict[str, Any]] = None):
        self.plan = plan
        self.messages = dict(messages or {})
        self.ros = plan["ros2"]
        self.name = plan["node"]
        self.settings = settings
        self.recorder = record.recorder(settings.record_dir, self.name, plan_tick_hz(plan), settings.realtime)
        run = plan.get("run") or {"nodes": [self.name], "leader": self.name, "clocked": [self.name], "edges": []}
        self.ending = ending.Ending(self.name, run, ending=settings.iterations is not None, run_id=settings.run_id)
        self.plane = self.ros.get("plane") or {"status_to": [], "status_from": [], "leader": None}
        self.failure: Optional[ComponentFailure] = None
        self.host: Optional[Host] = None
        self.nodes: Dict[str, Any] = {}
        self.publishers: Dict[tuple, Any] = {}
        self.subscriptions: List[Any] = []
        self.control: Dict[str, Any] = {}  # status / control publishers and subscriptions
        self.timers: List[Any] = []
        self.heard_done = False  # the leader's last decision has arrived
        self.foreign_feeds: Dict[str, int] = {}  # input key -> messages taken from a RosTopic

    # -- the run ------------------------------------------------------------------------------------------
    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._request_stop)
        try:
            self._start()
            self.host.run_with(self._drive)
        except ComponentFailure as exc:
            self.failure = exc
        finally:
            self._close()
        if self.failure is not None:
            return report.EXIT_COMPONENT
        report.profile(getattr(self, "profiler", None))
        report.summary(self.name, self.host, self.ending.counts(),
                       stopped_by=self.ending.failed_peer)
        return report.EXIT_OK

    def _request_stop(self, signum, frame) -> None:
        self.stop_requested = True

    def _start(self) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.executor = SingleThreadedExecutor()
        for entry in self.plan["components"]:
            node = rclpy.create_node(entry["name"], namespace=self.ros["namespace"])
            self.nodes[entry["name"]] = node
            self.executor.add_node(node)
        self._create_control_topics()  # first: a component that fails to build must still tell its peers
        # Wakes the loop to check for a stop request and the end of the run. (A timeout on spin_once would
        # do the same, but rclpy then creates a timer for nearly every message: a tenth of the throughput.)
        self.timers.append(self._first_node().create_timer(STATUS_PERIOD, _nothing))
        instances = {entry["name"]: self._build(entry) for entry in self.plan["components"]}
        logs.capture(self.plan, instances)  # what components print, prefixed node/component
        self.host = Host(self.plan, instances, send=self._send, record=self.recorder, strict=True,
                         iterations=self.settings.iterations, logical_time=self.settings.logical_time,
                         send_parts=self._send_parts if self.sends_parts else None)
        self._create_topics()

    def _drive(self) -> None:
        self._wait_for_peers()
        if not self.stop_requested and not self.ending.done:
            driver.drive(self.host, self.ending, self, self.settings.realtime)
        if self.ending.done and self.ending.is_leader:
            self._flush()  # the last decision reaches every Node before this process ends

    def _close(self) -> None:
        import rclpy

        if self.failure is not None:
            report.failure(self.plan, self.failure)
            status, control = self.ending.failure()
            self.publish(status)
            self.broadcast(control)
            self._flush()
        if self.recorder is not None:
            self.recorder.close()
        for pub, topic, _ in (p for pubs in self.publishers.values() for p in pubs):
            if topic.get("foreign"):  # a RosTopic's subscribers are not in the end-of-run protocol
                ros2_wire.wait_for_acks(pub, lambda: self.executor.spin_once(timeout_sec=0.01))
        for node in self.nodes.values():
            node.destroy_node()
        rclpy.try_shutdown()

    def _flush(self) -> None:
        """Stay up (bounded) until the other Nodes have this Node's last word.

        The leader waits until every other Node has left the control topic (each leaves only once it
        has the decision); a failing Node until the leader has answered its failure. (Fast DDS's
        ``wait_for_all_acked`` can block for good when a reader leaves during the wait: not used.)
        """
        deadline = time.monotonic() + ACK_TIMEOUT
        leading = self.control.get("control_pub")
        listening = "control_sub" in self.control
        while time.monotonic() < deadline:
            if leading is not None and leading.get_subscription_count() == 0:
                return
            if leading is None and (not listening or self.heard_done):
                return
            self.executor.spin_once(timeout_sec=0.05)

    # -- the Transport of driver.drive --------------------------------------------------------------------
    def wait(self, timeout: Optional[float]) -> None:
        if timeout is None:
            self.executor.spin_once()
        else:
            self.executor.spin_once(timeout_sec=timeout)

    def poll(self) -> None:
        self.executor.spin_once(timeout_sec=0)

    def publish(self, status: Optional[Dict[str, Any]]) -> None:
        if status is not None and "status_pub" in self.control:
            self.control["status_pub"].publish(self._string(status))

    def broadcast(self, control: Optional[Dict[str, Any]]) -> None:
        if control is not None and "control_pub" in self.control:
            self.control["control_pub"].publish(self._string(control))

    # -- building -----------------------------------------------------------------------------------------
    def _build(self, entry: Dict[str, Any]):
        """The component, rebuilt as compiled, with its parameters' current values as its config."""
        overrides = self._parameters(entry["name"])
        entry = dict(entry)
        if "rate_hz" in overrides and isinstance(overrides["rate_hz"], (int, float)):
            entry["rate_hz"] = float(overrides["rate_hz"])
        entry["construction"], found = ros2_wire.patch_config(entry["construction"], overrides)
        obj = build.build_entry(self.plan, entry)
        if overrides and not found:
            obj.config = ros2_wire.with_fields(obj.config, overrides)
        return obj

    def _parameters(self, component: str) -> Dict[str, Any]:
        """Declare the component's config fields as parameters; return those whose value was overridden."""
        from rcl_interfaces.msg import ParameterDescriptor

        node = self.nodes[component]
        changed = {}
        for key, default in self.ros["parameters"].get(component, {}).items():
            value = node.declare_parameter(key, default, ParameterDescriptor(dynamic_typing=True)).value
            if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if isinstance(value, array.array):
                value = value.tolist()
            if value != default:
                changed[key] = list(value) if isinstance(value, tuple) else value
        return changed

    def _create_topics(self) -> None:
        for topic in self.ros["topics"]:
            cls = self.messages.get(topic["type"]) or ros2_wire.message_class(topic["type"])
            foreign = topic.get("foreign")  # a RosTopic: its own QoS, and nobody to wait for
            if topic["node"] == self.name:
                node = self.nodes[topic["src"]]
                own_qos = "qos" in topic  # a RosTopic's or ros_topics': QoS event handlers stay (they log mismatches)
                qos = ros2_wire.topic_qos(topic["qos"]) if own_qos else ros2_wire.qos(topic["depth"], topic["keep_all"])
                pub = node.create_publisher(cls, topic["name"], qos, **({} if own_qos else ros2_wire.publisher_events()))
                self.publishers.setdefault((topic["src"], topic["output"]), []).append((pub, topic, cls))
            for sub in topic["subscribers"]:
                if sub["node"] != self.name:
                    continue
                node = self.nodes[sub["dst"]]
                callback = self._receiver(sub["dst"], sub["input"], sub["key"], topic["kind"], topic["type"])
                # Codec bytes arrive serialized and are read in place: rclpy's own deserialization of a
                # uint8[] field costs ~5 ms per MB. A ROS message arrives serialized too, as the codec holds it.
                own = sub.get("qos") or (topic["qos"] if foreign else None)
                qos = ros2_wire.topic_qos(own) if own else ros2_wire.qos(sub["depth"], sub["keep_all"])
                subscription = node.create_subscription(cls, topic["name"], callback, qos,
                                                        raw=topic["kind"] in ("bytes", "ros"),
                                                        **({} if own else ros2_wire.subscription_events()))
                if foreign:
                    self.foreign_feeds[sub["key"]] = 0
                else:
                    self.subscriptions.append(subscription)

    def _create_control_topics(self) -> None:
        from std_msgs.msg import String

        node, plane, base = self._first_node(), self.plane, self.ros["status_topic"]
        depth = max(100, 4 * len(self.ros["nodes"]))
        if plane["status_to"]:
            self.control["status_pub"] = node.create_publisher(String, f"{base}/{self.name}",
                                                               ros2_wire.control_qos(depth),
                                                               **ros2_wire.publisher_events())
        self.control["status_subs"] = [
            node.create_subscription(String, f"{base}/{peer}", self._on_status, ros2_wire.control_qos(depth),
                                     **ros2_wire.subscription_events())
            for peer in plane["status_from"]]
        if plane["leader"] == self.name:
            self.control["control_pub"] = node.create_publisher(String, self.ros["control_topic"],
                                                                ros2_wire.control_qos(10),
                                                                **ros2_wire.publisher_events())
        elif plane["leader"] is not None:
            self.control["control_sub"] = node.create_subscription(
                String, self.ros["control_topic"], self._on_control, ros2_wire.control_qos(10),
                **ros2_wire.subscription_events())

    def _wait_for_peers(self) -> None:
        """Spin until every publisher and subscription of this process has matched its peers."""
        started = last_log = time.monotonic()
        while not self.stop_requested and not self.ending.done:
            missing = self._unmatched()
            if time.monotonic() - started < ros2_wire.FOREIGN_WAIT_S:
                # a RosTopic publication: its subscribers are not ours to count, but one that is already
                # there should not miss the first messages while discovery completes
                missing += [f"{topic['full_name']} (a subscriber)" for pubs in self.publishers.values()
                            for pub, topic, _ in pubs if topic.get("foreign") and pub.get_subscription_count() == 0]
            if not missing:
                return
            if time.monotonic() - last_log >= WAIT_LOG_PERIOD:
                last_log = time.monotonic()
                self._log().info(f"waiting {last_log - started:.0f} s for peers on: {', '.join(missing)}")
            self.executor.spin_once(timeout_sec=0.01)

    def _unmatched(self) -> List[str]:
        missing = []
        for pub, topic, _ in (p for pubs in self.publishers.values() for p in pubs if not p[1].get("foreign")):
            if pub.get_subscription_count() < self._subscribers_expected(pub, topic):
                missing.append(f"{topic['full_name']} (subscribers)")
        subs = self.subscriptions + self.control["status_subs"] + [self.control.get("control_sub")]
        for sub in filter(None, subs):
            if sub.get_publisher_count() < 1:
                missing.append(f"{sub.topic_name} (publisher)")
        expected = {"status_pub": len(self.plane["status_to"]), "control_pub": len(self.ros["nodes"]) - 1}
        for key, count in expected.items():
            if key in self.control and self.control[key].get_subscription_count() < count:
                missing.append(f"{self.control[key].topic_name} (subscribers)")
        return missing

    def _subscribers_expected(self, pub, topic: Dict[str, Any]) -> int:
        """How many subscriptions this publisher must have matched before its first message goes out.

        The match count alone cannot tell ours from a foreign subscriber (`ros2 topic echo`, rviz, a robot
        on a topic renamed by ``ros_topics``): with one of those matched first, the count was already
        reached and a component's first messages went where its own subscriber had not matched yet. So
        every subscription the ROS graph shows on the topic with a QoS that can connect must have matched,
        and the graph must show each of ours (an unseen one counts as one more to wait for).
        """
        from rclpy.qos import QoSCompatibility, qos_check_compatible

        infos = self.nodes[topic["src"]].get_subscriptions_info_by_topic(topic["full_name"])
        seen = {(info.node_namespace, info.node_name) for info in infos}
        ours = {(self.ros["namespace"], sub["dst"]) for sub in topic["subscribers"]}
        others = sum(1 for info in infos if (info.node_namespace, info.node_name) not in ours
                     and qos_check_compatible(pub.qos_profile, info.qos_profile)[0] != QoSCompatibility.ERROR)
        return len(topic["subscribers"]) + len(ours - seen) + others

    # -- messages -----------------------------------------------------------------------------------------
    def _send(self, component: str, output: str, frame: bytes) -> None:
        for pub, topic, cls in self.publishers[(component, output)]:
            self._publish_one(component, output, frame, pub, topic, cls)

    def _send_parts(self, component: str, output: str, header: bytes, parts, size: int) -> None:
        """A large frame in pieces (``Host``): on lkbuild's own topics, serialized with one copy of them."""
        frame = None
        for pub, topic, cls in self.publishers[(component, output)]:
            if topic["kind"] == "bytes":
                pub.publish(ros2_wire.uint8_multiarray_cdr(header, *parts))
                self.ending.sent(f"{component}.{output}")
            else:  # a typed topic (a RosTopic of images): made from the frame, as any other
                frame = b"".join((header, *parts)) if frame is None else frame
                self._publish_one(component, output, frame, pub, topic, cls)

    def _publish_one(self, component: str, output: str, frame: bytes, pub, topic, cls) -> None:
        kind = topic["kind"]
        if kind == "bytes":
            pub.publish(self._frame(frame))  # already serialized: no per-byte work or copy
            self.ending.sent(f"{component}.{output}")
            return
        # A typed topic has no room for the stamp (``stamp``): its value goes alone, a watermark not at all.
        flags, _, _, payload = stamp.unpack(frame)
        if flags & stamp.WATERMARK_ONLY:
            return
        if kind == "image":  # a RosTopic of images: an (H, W, C) array becomes a sensor_msgs/msg/Image
            try:
                pub.publish(images.to_ros(codec.decode(payload), cls))
            except images.ImageError as exc:
                raise ComponentFailure(component, self.name, self.plan.get("machine") or "local", "forward",
                                       f"ImageError: output '{output}' -> topic {topic['name']}: {exc}\n") from None
            self.ending.sent(f"{component}.{output}")
            return
        if kind == "ros":
            external = codec.external_data(payload)
            if external is None or external[0] != topic["type"]:
                value = codec.decode(payload)
                raise ComponentFailure(
                    component, self.name, self.plan.get("machine") or "local", "forward",
                    f"TypeError: output '{output}' is annotated {topic['type']} (a ROS message topic) but "
                    f"forward() returned {value!r:.200} (of type {type(value).__name__})\n")
            pub.publish(bytes(external[1]))  # the codec holds it as serialize_message made it
        else:
            msg = cls()
            msg.data = self._scalar(component, output, kind, codec.decode(payload))
            pub.publish(msg)
        self.ending.sent(f"{component}.{output}")

    def _scalar(self, component: str, output: str, kind: str, value):
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):
            value = value.item()  # numpy scalars
        ok = {"str": isinstance(value, str),
              "bool": isinstance(value, bool),
              "int": isinstance(value, int),
              "float": isinstance(value, (int, float)) and not isinstance(value, bool)}[kind]
        if not ok:
            raise ComponentFailure(
                component, self.name, self.plan.get("machine") or "local", "forward",
                f"TypeError: output '{output}' is annotated {kind} (a std_msgs topic) but forward() returned "
                f"{value!r} (of type {type(value).__name__})\n")
        return float(value) if kind == "float" else int(value) if kind == "int" else value

    _frame = staticmethod(ros2_wire.uint8_multiarray_cdr)  # codec bytes -> a serialized UInt8MultiArray
    sends_parts = True  # a large frame reaches ``_send_parts`` in pieces (``Host``)

    def _receiver(self, dst: str, port: str, key: str, kind: str, type_name: str):
        host, control = self.host, self.ending
        read = self._reader(key, kind, type_name)
        receive = host.receive if kind == "bytes" else host.receive_unstamped
        limit = self.settings.iterations
        feeds = self.foreign_feeds

        def deliver(read, message) -> None:
            if key in feeds:  # a RosTopic counts as a source: with iterations=N it gives N messages
                if limit is not None and feeds[key] >= limit:
                    return
                feeds[key] += 1
            self.publish(control.received(key, time.monotonic()))  # before handling: see ending
            try:
                if kind == "image":
                    host.deliver(dst, port, read(message))
                else:
                    receive(dst, port, read(message))
            except (codec.CodecError, images.ImageError) as exc:  # from a foreign publisher: drop it, keep running
                self._log().error(f"dropped a message for {dst}.{port}: {exc}")
                return
            finally:
                if key in feeds and limit is not None and feeds[key] >= limit:
                    control.on_feed_closed(key)
            host.drain()

        return lambda message: deliver(read, message)

    @staticmethod
    def _reader(key: str, kind: str, type_name: str):
        """What turns a received message into codec bytes (an ``image`` RosTopic's: into the array itself)."""
        if kind == "image":
            return images.from_ros
        if kind == "ros":
            return lambda raw: codec.external_frame(type_name, raw)
        if kind == "bytes":
            return ros2_wire.uint8_multiarray_data  # decoded as a view: no copy
        return lambda msg: codec.encode(msg.data)

    # -- the control plane --------------------------------------------------------------------------------
    def _on_status(self, msg) -> None:
        status = ending.parse(msg.data.encode())
        if status is not None and "idle" in status:
            self.ending.on_status(status, time.monotonic())
            if self.ending.failed_peer:
                self._log().error(f"stopping: node '{self.ending.failed_peer}' failed")

    def _on_control(self, msg) -> None:
        control = ending.parse(msg.data.encode())
        if control is not None:
            self.ending.on_control(control, time.monotonic())
            self.heard_done = self.heard_done or (self.ending.done and bool(control.get("done")))
            if control.get("failed") and self.ending.done:
                self._log().error(f"stopping: node '{control['failed']}' failed")

    @staticmethod
    def _string(message: Dict[str, Any]):
        from std_msgs.msg import String

        return String(data=ending.dumps(message).decode())

    def _first_node(self):
        return next(iter(self.nodes.values()))

    def _log(self):
        return self._first_node().get_logger()


class ProfiledProcess(NodeProcess):
    """``--profile`` (chosen once, at start): codec bytes leave with a stamp in their layout's label, inputs' are read.

    Topics of std_msgs scalars and of ROS message types carry no stamp: their edges have no transport
    latency, and paths through them are not measured past them (docs/profile.md).
    """

    profiler = None
    sends_parts = False  # every frame through ``_frame``, which labels it with its stamp

    def _profiler(self) -> profile.Profiler:
        if self.profiler is None:
            self.profiler = profile.Profiler(self.host).install()
        return self.profiler

    def _start(self) -> None:
        super()._start()
        self._profiler()

    def _frame(self, payload: bytes) -> bytes:
        return ros2_wire.labelled_uint8_multiarray_cdr(payload, self.profiler.outgoing())

    def _reader(self, key: str, kind: str, type_name: str):
        read, profiler = NodeProcess._reader(key, kind, type_name), self._profiler()
        if kind != "bytes":
            return lambda message: (profiler.received(key, None), read(message))[1]
        return lambda raw: (profiler.received(key, ros2_wire.uint8_multiarray_label(raw)), read(raw))[1]


def _nothing() -> None:
    pass
