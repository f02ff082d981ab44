"""The rclpy adapter: runs one lkbuild Node as a ROS 2 process, one rclpy node per component.

The shared host loop (``host.Host``) does the firing; this module maps it onto ROS 2: source timers,
one publisher per output that leaves the Node, one subscription per input fed from another Node,
component configs as ROS parameters, and the end of a run.

How a run with ``--iterations N`` ends, across processes. Every process publishes, on the hidden topic
``/<system>/_lk/status`` (reliable, transient-local), its status whenever it is idle — all its sources
and loop starters have fired N times and nothing is queued — with how many messages it has sent on each
topic and received on each subscription. A process ends when every Node has reported idle and, for each
topic, every subscriber has received exactly what the publisher sent. Counts travel with the statuses,
so no process has to predict how many messages it will get; a message still in flight always shows as
sent-but-not-received (topics are FIFO per publisher), so nobody ends early, loops between Nodes
included. Before its clocks start, each process waits until its publishers and subscriptions have
matched their peers, so no message is sent into the void. A component that raises publishes a failed
status, so the other processes stop too (under ``ros2 launch`` as well as under lkbuild). If every Node
stays idle with counts that do not add up for ``LOSS_TIMEOUT`` seconds, messages were lost to a full
keep-last queue: the run ends with a warning that names the topic.

Codec bytes travel in ``std_msgs/UInt8MultiArray`` written and read in serialized form (no per-byte
Python work, no copy on receipt); ``str``/``int``/``float``/``bool`` ports use std_msgs scalars. Ports
annotated with a ROS message class publish that message type: the codec already holds it serialized
(``rosmsg``), so those bytes are published and received as they are.
"""
from __future__ import annotations

import argparse
import array
import dataclasses
import json
import signal
import struct
import sys
import time
import traceback
from typing import Any, Dict, List, Optional

from . import build, codec, record, rosmsg
from .errors import ComponentFailure
from .host import Host

FAILURE_MARK = "LKBUILD-FAILURE "
SUMMARY_MARK = "LKBUILD-SUMMARY "
STATUS_PERIOD = 0.05     # s between two status messages of one process, at most; also the loop's wake-up
WAIT_LOG_PERIOD = 5.0    # s between two "waiting for peers" log lines
ACK_TIMEOUT = 5.0        # s to wait for peers to acknowledge the last status before exiting
# s that every Node may stay idle with a message sent but not received before it counts as lost (a
# keep-last queue overflowed): reliable delivery takes milliseconds, so nothing is still in flight then.
LOSS_TIMEOUT = 5.0
EXIT_FAILED = 3          # the exit code of a process whose component raised (lkbuild's ComponentError)


def parse_options(argv: List[str]) -> argparse.Namespace:
    """The lkbuild options (those before ``--ros-args``); an empty value means "not set"."""
    parser = argparse.ArgumentParser(description="Run one lkbuild Node as a ROS 2 process.")
    parser.add_argument("--iterations", default="", help="each source fires N times, then the run ends")
    parser.add_argument("--record", default="", help="record every message sent into this directory")
    parser.add_argument("--realtime", default="true", help="false: fire sources as fast as possible")
    options = parser.parse_args(argv)
    if options.iterations.strip():
        try:
            options.iterations = int(options.iterations)
        except ValueError:
            parser.error(f"--iterations must be a whole number. Received: {options.iterations!r}")
        if options.iterations < 0:
            parser.error("--iterations must be 0 or more")
    else:
        options.iterations = None
    flag = options.realtime.strip().lower()
    if flag not in ("true", "false", "1", "0", "yes", "no"):
        parser.error(f"--realtime must be true or false. Received: {options.realtime!r}")
    options.realtime = flag in ("true", "1", "yes")
    options.record = options.record or None
    return options


def main(plan: Dict[str, Any], argv: Optional[List[str]] = None, messages: Optional[Dict[str, Any]] = None) -> int:
    """Entry point of a generated node executable.

    ``messages``: ``{pkg/msg/Name: class}``, the ROS message types the Node's ports carry, imported by the
    generated entrypoint.
    """
    import rclpy
    from rclpy.signals import SignalHandlerOptions
    from rclpy.utilities import remove_ros_args

    argv = list(sys.argv if argv is None else argv)
    options = parse_options(remove_ros_args(argv)[1:])
    rosmsg.register_all(messages or {})
    rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
    return NodeProcess(plan, options, messages).run()


class NodeProcess:
    """One lkbuild Node: its components' rclpy nodes, their topics, and the host loop that drives them."""

    def __init__(self, plan: Dict[str, Any], options: argparse.Namespace, messages: Optional[Dict[str, Any]] = None):
        self.plan = plan
        self.messages = dict(messages or {})
        self.ros = plan["ros2"]
        self.name = plan["node"]
        self.machine = plan.get("machine") or "local"
        self.iterations = options.iterations
        self.realtime = options.realtime
        self.recorder = record.Recorder(options.record) if options.record else None
        self.stop_requested = False
        self.sources: List[str] = []
        self.peer_failed: Optional[str] = None
        self.failure: Optional[ComponentFailure] = None
        self.host: Optional[Host] = None
        self.nodes: Dict[str, Any] = {}
        self.publishers: Dict[tuple, Any] = {}
        self.subscriptions: List[Any] = []
        self.timers: List[Any] = []
        self.sent: Dict[str, int] = {}
        self.received: Dict[str, int] = {}
        self.statuses: Dict[str, Dict[str, Any]] = {}
        self.status_pub = self.status_sub = None
        self.last_status = ""
        self.last_status_at = 0.0
        self.distributed = len(self.ros["nodes"]) > 1
        self.unbalanced: Optional[tuple] = None  # (what was last seen unbalanced, since when)

    # -- the run ------------------------------------------------------------------------------------------
    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._request_stop)
        try:
            self._start()
            self._loop()
        except ComponentFailure as exc:
            self.failure = exc
        finally:
            self._close()
        if self.failure is not None:
            return EXIT_FAILED
        self._print(sys.stdout, SUMMARY_MARK, {
            "node": self.name, "messages": self.host.messages if self.host else 0,
            "fired": {s.name: s.fired for s in self.host.slots} if self.host else {},
            "stopped_by": self.peer_failed,
        })
        return 0

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
        self._create_status_topic()  # first: a component that fails to build must still tell its peers
        # Wakes the loop to check for a stop request and the end of the run. (A timeout on spin_once would
        # do the same, but rclpy then creates a timer for nearly every message: a tenth of the throughput.)
        self.timers.append(next(iter(self.nodes.values())).create_timer(STATUS_PERIOD, _nothing))
        instances = {entry["name"]: self._build(entry) for entry in self.plan["components"]}
        self.host = Host(self.plan, instances, send=self._send, record=self.recorder, strict=True,
                         iterations=self.iterations)
        self._create_topics()
        self.host.setup()
        self._wait_for_peers()
        if self.stop_requested or self.peer_failed:
            return
        self.host.start_loops()
        self.host.drain()
        self.sources = [s.name for s in self.host.sources()]
        for name in list(self.sources):  # a source fires at t=0, as on every engine, then at its rate
            if not self.host.fire_source(name):
                self.sources.remove(name)
        if self.realtime:
            for name in self.sources:
                self._add_timer(name)

    def _loop(self) -> None:
        fast = not self.realtime
        while not self.stop_requested and self.peer_failed is None:
            if fast and self.sources:
                self.sources = [name for name in self.sources if self.host.fire_source(name)]
                self.executor.spin_once(timeout_sec=0)
            else:
                self.executor.spin_once()
            if self.iterations is not None and self.host.done():
                self._publish_status()
                if self._finished():
                    self._publish_status(force=True)
                    return

    def _close(self) -> None:
        import rclpy

        if self.failure is not None:
            self._print(sys.stderr, FAILURE_MARK, {
                "component": self.failure.component, "node": self.failure.node, "machine": self.failure.machine,
                "phase": self.failure.phase, "traceback": self.failure.traceback_text})
            self._publish_status(force=True)
        if self.status_pub is not None:
            self.status_pub.wait_for_all_acked(_duration(ACK_TIMEOUT))
        if self.host is not None:
            try:
                self.host.teardown()
            except ComponentFailure as exc:
                if self.failure is None:
                    self.failure = exc
                    self._print(sys.stderr, FAILURE_MARK, {
                        "component": exc.component, "node": exc.node, "machine": exc.machine,
                        "phase": exc.phase, "traceback": exc.traceback_text})
        if self.recorder is not None:
            self.recorder.close()
        for node in self.nodes.values():
            node.destroy_node()
        rclpy.try_shutdown()

    # -- building -----------------------------------------------------------------------------------------
    def _build(self, entry: Dict[str, Any]):
        """The component, rebuilt as compiled, with its parameters' current values as its config."""
        overrides = self._parameters(entry["name"])
        entry = dict(entry)
        if "rate_hz" in overrides and isinstance(overrides["rate_hz"], (int, float)):
            entry["rate_hz"] = float(overrides["rate_hz"])
        construction = entry["construction"]
        patched, found = _patch_config(construction, overrides)
        entry["construction"] = patched
        try:
            obj = build.build_component(entry)
            if overrides and not found:
                obj.config = _with_fields(obj.config, overrides)
        except Exception:
            raise ComponentFailure(entry["name"], self.name, self.machine, "__init__",
                                   traceback.format_exc()) from None
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
            cls = self.messages.get(topic["type"]) or _message_class(topic["type"])
            if topic["node"] == self.name:
                node = self.nodes[topic["src"]]
                pub = node.create_publisher(cls, topic["name"], _qos(topic["depth"], topic["keep_all"]))
                self.publishers[(topic["src"], topic["output"])] = (pub, topic, cls)
                self.sent[topic["name"]] = 0
            for sub in topic["subscribers"]:
                if sub["node"] != self.name:
                    continue
                node = self.nodes[sub["dst"]]
                callback = self._receiver(sub["dst"], sub["input"], sub["key"], topic["kind"], topic["type"])
                # Codec bytes arrive serialized and are read in place: rclpy's own deserialization of a
                # uint8[] field costs ~5 ms per MB. A ROS message arrives serialized too, as the codec holds it.
                qos = _qos(sub["depth"], sub["keep_all"])
                self.subscriptions.append(node.create_subscription(
                    cls, topic["name"], callback, qos, raw=topic["kind"] in ("bytes", "ros")))
                self.received[sub["key"]] = 0

    def _create_status_topic(self) -> None:
        if self.distributed:
            from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
            from std_msgs.msg import String

            node = self.nodes[self.plan["components"][0]["name"]]
            latched = dict(reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                           history=HistoryPolicy.KEEP_LAST)
            # One writer per process keeps only its latest status; the reader holds one per peer and more.
            self.status_pub = node.create_publisher(String, self.ros["status_topic"], QoSProfile(depth=1, **latched))
            self.status_sub = node.create_subscription(
                String, self.ros["status_topic"], self._on_status,
                QoSProfile(depth=max(100, 4 * len(self.ros["nodes"])), **latched))

    def _add_timer(self, name: str) -> None:
        def tick():
            if not self.host.fire_source(name):
                timer.cancel()

        timer = self.nodes[name].create_timer(1.0 / self.host.by_name[name].rate_hz, tick)
        self.timers.append(timer)

    def _wait_for_peers(self) -> None:
        """Spin until every publisher and subscription of this process has matched its peers."""
        started = last_log = time.monotonic()
        while not self.stop_requested and self.peer_failed is None:
            missing = self._unmatched()
            if not missing:
                return
            if time.monotonic() - last_log >= WAIT_LOG_PERIOD:
                last_log = time.monotonic()
                self._log().info(f"waiting {last_log - started:.0f} s for peers on: {', '.join(missing)}")
            self.executor.spin_once(timeout_sec=0.01)

    def _unmatched(self) -> List[str]:
        missing = []
        for pub, topic, _ in self.publishers.values():
            # A foreign subscriber (`ros2 topic echo`, rviz) counts too: also look for our subscribers by name.
            if pub.get_subscription_count() < len(topic["subscribers"]) or not self._subscribers_seen(topic):
                missing.append(f"{topic['full_name']} (subscribers)")
        for sub in self.subscriptions:
            if sub.get_publisher_count() < 1:
                missing.append(f"{sub.topic_name} (publisher)")
        if self.distributed:
            expected = len(self.ros["nodes"])
            if self.status_pub.get_subscription_count() < expected or self.status_sub.get_publisher_count() < expected:
                missing.append("the other nodes' status")
        return missing

    def _subscribers_seen(self, topic: Dict[str, Any]) -> bool:
        """Whether the ROS graph shows the subscription of every component this topic feeds."""
        node = self.nodes[topic["src"]]
        seen = {(info.node_namespace, info.node_name)
                for info in node.get_subscriptions_info_by_topic(topic["full_name"])}
        return all((self.ros["namespace"], sub["dst"]) in seen for sub in topic["subscribers"])

    # -- messages -----------------------------------------------------------------------------------------
    def _send(self, component: str, output: str, payload: bytes) -> None:
        pub, topic, cls = self.publishers[(component, output)]
        kind = topic["kind"]
        if kind == "bytes":
            pub.publish(uint8_multiarray_cdr(payload))  # already serialized: no per-byte field check or copy
        elif kind == "ros":
            frame = codec.external_data(payload)
            if frame is None or frame[0] != topic["type"]:
                value = codec.decode(payload)
                raise ComponentFailure(
                    component, self.name, self.machine, "forward",
                    f"TypeError: output '{output}' is annotated {topic['type']} (a ROS message topic) but "
                    f"forward() returned {value!r:.200} (of type {type(value).__name__})\n")
            pub.publish(bytes(frame[1]))  # the codec holds it as serialize_message made it
        else:
            msg = cls()
            msg.data = self._scalar(component, output, kind, codec.decode(payload))
            pub.publish(msg)
        self.sent[topic["name"]] += 1

    def _scalar(self, component: str, output: str, kind: str, value):
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):
            value = value.item()  # numpy scalars
        ok = {"str": isinstance(value, str),
              "bool": isinstance(value, bool),
              "int": isinstance(value, int),
              "float": isinstance(value, (int, float)) and not isinstance(value, bool)}[kind]
        if not ok:
            raise ComponentFailure(
                component, self.name, self.machine, "forward",
                f"TypeError: output '{output}' is annotated {kind} (a std_msgs topic) but forward() returned "
                f"{value!r} (of type {type(value).__name__})\n")
        return float(value) if kind == "float" else int(value) if kind == "int" else value

    def _receiver(self, dst: str, port: str, key: str, kind: str, type_name: str):
        host, received = self.host, self.received
        if kind in ("bytes", "ros"):
            def on_message(raw):
                received[key] += 1
                try:
                    if kind == "ros":
                        host.receive(dst, port, codec.external_frame(type_name, raw))
                    else:
                        host.receive(dst, port, uint8_multiarray_data(raw))  # decoded as a view: no copy
                except codec.CodecError as exc:  # from a foreign publisher: drop it, keep running
                    self._log().error(f"dropped a message for {dst}.{port}: {exc}")
                    return
                host.drain()
        else:
            def on_message(msg):
                received[key] += 1
                host.receive(dst, port, codec.encode(msg.data))
                host.drain()
        return on_message

    # -- the end of a run ---------------------------------------------------------------------------------
    def _status(self) -> Dict[str, Any]:
        return {"node": self.name, "idle": self.host is not None and self.host.done(),
                "sent": self.sent, "received": self.received,
                "failed": str(self.failure) if self.failure is not None else None}

    def _publish_status(self, force: bool = False) -> None:
        if self.status_pub is None:
            return
        now = time.monotonic()
        if not force and now - self.last_status_at < STATUS_PERIOD:
            return
        text = json.dumps(self._status(), sort_keys=True)
        if text != self.last_status:
            from std_msgs.msg import String

            self.status_pub.publish(String(data=text))
            self.last_status, self.last_status_at = text, now

    def _on_status(self, msg) -> None:
        try:
            status = json.loads(msg.data)
            node = status["node"]
        except (ValueError, KeyError, TypeError):
            return  # not one of ours
        if node not in self.ros["nodes"] or node == self.name:
            return
        self.statuses[node] = status
        if status.get("failed"):
            self.peer_failed = node
            self._log().error(f"stopping: node '{node}' failed")

    def _finished(self) -> bool:
        """Every Node idle, and every message sent on a topic received by each of its subscribers."""
        if not self.distributed:
            return True
        statuses = dict(self.statuses)
        statuses[self.name] = self._status()
        if any(n not in statuses or not statuses[n].get("idle") for n in self.ros["nodes"]):
            return False
        missing = []
        for topic in self.ros["topics"]:
            sent = statuses[topic["node"]]["sent"].get(topic["name"], 0)
            for sub in topic["subscribers"]:
                received = statuses[sub["node"]]["received"].get(sub["key"], 0)
                if received != sent:
                    missing.append(f"{sent - received} of {sent} on {topic['full_name']} for {sub['key']}")
        if not missing:
            return True
        state = json.dumps(statuses, sort_keys=True)
        if self.unbalanced is None or self.unbalanced[0] != state:
            self.unbalanced = (state, time.monotonic())
            return False
        if time.monotonic() - self.unbalanced[1] < LOSS_TIMEOUT:
            return False
        self._log().warning(f"ending the run with messages lost (a receiving queue overflowed; raise the "
                            f"input's queue size): {'; '.join(missing)}")
        return True

    # -- helpers ------------------------------------------------------------------------------------------
    def _log(self):
        return next(iter(self.nodes.values())).get_logger()

    @staticmethod
    def _print(stream, mark: str, data: Dict[str, Any]) -> None:
        stream.write(mark + json.dumps(data, sort_keys=True) + "\n")
        stream.flush()


# -- std_msgs/UInt8MultiArray in its serialized form (CDR, little endian) ---------------------------------
_CDR_LE = b"\x00\x01\x00\x00"
_U32 = struct.Struct("<I")
# encapsulation header, an empty layout (no dims, data_offset 0), then the data sequence's length
_EMPTY_LAYOUT = _CDR_LE + b"\x00" * 8


def uint8_multiarray_cdr(payload: bytes) -> bytes:
    """A serialized UInt8MultiArray whose data is ``payload`` (what ``serialize_message`` would give)."""
    return b"".join((_EMPTY_LAYOUT, _U32.pack(len(payload)), payload))


def uint8_multiarray_data(raw: bytes) -> memoryview:
    """The data field of a serialized UInt8MultiArray, as a view into ``raw`` (any layout is skipped)."""
    view = memoryview(raw)
    if bytes(view[:2]) != _CDR_LE[:2]:  # big endian, from another DDS vendor: let rclpy read it
        from rclpy.serialization import deserialize_message
        from std_msgs.msg import UInt8MultiArray

        return memoryview(deserialize_message(raw, UInt8MultiArray).data)
    pos = 4
    try:
        (dims,) = _U32.unpack_from(view, pos)
        pos += 4
        for _ in range(dims):  # MultiArrayDimension: string label, uint32 size, uint32 stride
            (length,) = _U32.unpack_from(view, pos)
            pos += 4 + length
            pos += (-(pos - 4)) % 4
            pos += 8
        pos += 4  # data_offset
        (length,) = _U32.unpack_from(view, pos)
        pos += 4
    except struct.error:
        raise codec.CodecError("malformed UInt8MultiArray message") from None
    if pos + length > len(view):
        raise codec.CodecError("malformed UInt8MultiArray message: data runs past its end")
    return view[pos:pos + length]


def _nothing() -> None:
    pass


def _message_class(type_name: str):
    """The message class of ``pkg/msg/Name``; the name comes from the generated plan, never from a message."""
    import importlib

    package, kind, name = type_name.split("/")
    if kind != "msg" or not package.isidentifier() or not name.isidentifier():
        raise ValueError(f"not a ROS message type: {type_name!r}")
    return getattr(importlib.import_module(f"{package}.msg"), name)


def _qos(depth: int, keep_all: bool):
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(history=HistoryPolicy.KEEP_ALL if keep_all else HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


def _duration(seconds: float):
    from rclpy.duration import Duration

    return Duration(nanoseconds=int(seconds * 1e9))


def _patch_config(construction: Dict[str, Any], overrides: Dict[str, Any]):
    """The recorded construction with ``overrides`` applied to its Config argument; (construction, found)."""
    found = [False]

    def walk(value):
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            if len(value) == 1 and "$config" in value:
                found[0] = True
                return {"$config": {**value["$config"], **overrides}}
            return {k: walk(v) for k, v in value.items()}
        return value

    if not overrides:
        return construction, False
    return walk(construction), found[0]


def _with_fields(config, overrides: Dict[str, Any]):
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.replace(config, **overrides)
    if isinstance(config, dict):
        return {**config, **overrides}
    return config
