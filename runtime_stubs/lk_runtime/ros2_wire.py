"""ROS 2 wire helpers for the rclpy adapter: codec bytes as ``UInt8MultiArray`` CDR, QoS, parameters.

Nothing here starts a node; ``ros2_node`` uses these to map lkbuild messages onto ROS 2 topics.
"""
from __future__ import annotations

import dataclasses
import struct
import time
from typing import Any, Dict

from . import codec

# -- std_msgs/UInt8MultiArray in its serialized form (CDR, little endian) ---------------------------------
_CDR_LE = b"\x00\x01\x00\x00"
_U32 = struct.Struct("<I")
# encapsulation header, an empty layout (no dims, data_offset 0), then the data sequence's length
_EMPTY_LAYOUT = _CDR_LE + b"\x00" * 8


def uint8_multiarray_cdr(*pieces) -> bytes:
    """A serialized UInt8MultiArray whose data is the ``pieces`` one after the other (what
    ``serialize_message`` would give for their bytes joined), made with one copy of each."""
    return b"".join((_EMPTY_LAYOUT, _U32.pack(sum(map(len, pieces))), *pieces))


def labelled_uint8_multiarray_cdr(payload: bytes, label: str) -> bytes:
    """The same with one layout dimension labelled ``label`` (size and stride: the data's length).

    ``lkbuild launch --profile`` carries a message's stamp this way (``lk_runtime.profile``).
    """
    text = label.encode("utf-8") + b"\x00"
    pad = b"\x00" * ((-len(text)) % 4)
    size = _U32.pack(len(payload))
    return b"".join((_CDR_LE, _U32.pack(1), _U32.pack(len(text)), text, pad, size, size, _U32.pack(0), size,
                     payload))


def uint8_multiarray_label(raw) -> str:
    """The label of the first layout dimension of a serialized UInt8MultiArray ("" when there is none)."""
    view = memoryview(raw)
    if len(view) < 12 or bytes(view[:2]) != _CDR_LE[:2] or _U32.unpack_from(view, 4)[0] < 1:
        return ""
    (length,) = _U32.unpack_from(view, 8)
    if length < 1 or 12 + length > len(view):
        return ""
    return bytes(view[12:12 + length - 1]).decode("utf-8", "replace")


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


def message_class(type_name: str):
    """The message class of ``pkg/msg/Name``; the name comes from the generated plan, never from a message."""
    import importlib

    package, kind, name = type_name.split("/")
    if kind != "msg" or not package.isidentifier() or not name.isidentifier():
        raise ValueError(f"not a ROS message type: {type_name!r}")
    return getattr(importlib.import_module(f"{package}.msg"), name)


def qos(depth: int, keep_all: bool):
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(history=HistoryPolicy.KEEP_ALL if keep_all else HistoryPolicy.KEEP_LAST, depth=depth,
                      reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


FOREIGN_WAIT_S = 2.0  # s to wait for a first subscriber of a RosTopic publication before publishing (both engines)
ACK_WAIT_S = 3.0      # s a RosTopic publisher that is about to end waits for its subscribers' acknowledgements


def wait_for_acks(publisher, spin, timeout: float = ACK_WAIT_S) -> bool:
    """Whether every (reliable) subscriber acknowledged what ``publisher`` sent, asked until ``timeout``.

    A process that ends right after publishing takes what it had not delivered with it. Asked without a
    wait each time (Fast DDS's own wait can block past its timeout when a reader leaves meanwhile);
    ``spin`` runs the process's callbacks in between. Best-effort publishers never wait.
    """
    from rclpy.duration import Duration

    deadline = time.monotonic() + timeout
    while not publisher.wait_for_all_acked(Duration(seconds=0)):
        if time.monotonic() >= deadline:
            return False
        spin()
    return True


def topic_qos(fields: Dict[str, Any]):
    """The QoS of a RosTopic, from its resolved fields (``lkbuild.foreign.resolve_qos``)."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    policy = {"reliable": ReliabilityPolicy.RELIABLE, "best_effort": ReliabilityPolicy.BEST_EFFORT,
              "volatile": DurabilityPolicy.VOLATILE, "transient_local": DurabilityPolicy.TRANSIENT_LOCAL,
              "keep_last": HistoryPolicy.KEEP_LAST, "keep_all": HistoryPolicy.KEEP_ALL}
    reliability = policy.get(fields["reliability"], ReliabilityPolicy.SYSTEM_DEFAULT)
    durability = policy.get(fields["durability"], DurabilityPolicy.SYSTEM_DEFAULT)
    history = policy.get(fields["history"], HistoryPolicy.SYSTEM_DEFAULT)
    return QoSProfile(history=history, depth=int(fields["depth"]), reliability=reliability, durability=durability)


def publisher_events():
    """For lkbuild's own topics: no QoS event handlers. rclpy adds one per endpoint by default (it logs
    incompatible QoS); lkbuild makes both ends' QoS itself, and every handler makes each wait of the
    executor slower (about twice as slow for a Node with a few topics)."""
    from rclpy.event_handler import PublisherEventCallbacks

    return {"event_callbacks": PublisherEventCallbacks(use_default_callbacks=False)}


def subscription_events():
    """See ``publisher_events``."""
    from rclpy.event_handler import SubscriptionEventCallbacks

    return {"event_callbacks": SubscriptionEventCallbacks(use_default_callbacks=False)}


def control_qos(depth: int):
    """Statuses and decisions: reliable and transient-local, so a late subscriber still gets the latest."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.TRANSIENT_LOCAL)


def duration(seconds: float):
    from rclpy.duration import Duration

    return Duration(nanoseconds=int(seconds * 1e9))


def patch_config(construction: Dict[str, Any], overrides: Dict[str, Any]):
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


def with_fields(config, overrides: Dict[str, Any]):
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.replace(config, **overrides)
    if isinstance(config, dict):
        return {**config, **overrides}
    return config
