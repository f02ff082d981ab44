"""Images as numpy arrays: ``(height, width, channels)`` from a flat buffer plus encoding, and back.

The one place that knows image encodings. dora node-hub camera nodes send a flat ``uint8`` Arrow array
with ``encoding``/``width``/``height`` metadata; ROS 2 sends ``sensor_msgs/msg/Image``. Both arrive in a
component as an ``(H, W, C)`` array (``C`` is 1 for single-channel encodings), a view of the received
buffer when its rows are packed (no copy), and both are made from such an array.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

# encoding -> (channels, numpy dtype name)
ENCODINGS: Dict[str, Tuple[int, str]] = {
    "mono8": (1, "uint8"), "8UC1": (1, "uint8"),
    "bgr8": (3, "uint8"), "rgb8": (3, "uint8"), "8UC3": (3, "uint8"),
    "bgra8": (4, "uint8"), "rgba8": (4, "uint8"), "8UC4": (4, "uint8"),
    "mono16": (1, "uint16"), "16UC1": (1, "uint16"),
    "32FC1": (1, "float32"),
}
# An array's channel count -> the encoding it is sent with when the port names none.
DEFAULT_ENCODING = {(1, "uint8"): "mono8", (3, "uint8"): "bgr8", (4, "uint8"): "bgra8",
                    (1, "uint16"): "mono16", (1, "float32"): "32FC1"}


class ImageError(ValueError):
    """A buffer or an array that is not an image of a known encoding."""


def shape_of(encoding: str, width: Any, height: Any) -> Tuple[int, int, int, str]:
    """(height, width, channels, dtype) of an image, every field checked."""
    if encoding not in ENCODINGS:
        raise ImageError(f"unknown image encoding {encoding!r}; known: {', '.join(sorted(ENCODINGS))}")
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ImageError(f"image {name} must be a whole number of pixels. Received: {name}={value!r}")
    channels, dtype = ENCODINGS[encoding]
    return height, width, channels, dtype


def from_flat(buffer, encoding: str, width: int, height: int, step: Optional[int] = None):
    """An ``(H, W, C)`` array over ``buffer`` (bytes-like or 1-D array), without a copy when rows are packed."""
    import numpy as np

    h, w, c, dtype = shape_of(encoding, width, height)
    flat = buffer if isinstance(buffer, np.ndarray) else np.frombuffer(buffer, dtype=np.uint8)
    if flat.dtype != np.uint8:
        if flat.dtype != np.dtype(dtype):
            raise ImageError(f"a {encoding} image needs {dtype} or uint8 data; received {flat.dtype}")
        flat = flat.view(np.uint8)
    item = np.dtype(dtype).itemsize
    row = w * c * item
    step = row if step is None else step
    if step < row:
        raise ImageError(f"image step {step} is shorter than a row of {w} {encoding} pixels ({row} bytes)")
    if flat.size != step * h:
        raise ImageError(f"a {w}x{h} {encoding} image is {step * h} bytes; received {flat.size}")
    if step == row:
        return flat.view(dtype).reshape(h, w, c)
    return flat.reshape(h, step)[:, :row].copy().view(dtype).reshape(h, w, c)


def encoding_for(array, encoding: Optional[str] = None) -> str:
    """The encoding an array is sent with: the one asked for (checked against its shape), else by channels."""
    import numpy as np

    if not isinstance(array, np.ndarray) or array.ndim not in (2, 3):
        raise ImageError("an image must be a numpy array of shape (H, W) or (H, W, C). Received: "
                         f"{type(array).__name__}{getattr(array, 'shape', '')}")
    channels = 1 if array.ndim == 2 else array.shape[2]
    if encoding is None:
        encoding = DEFAULT_ENCODING.get((channels, array.dtype.name))
        if encoding is None:
            raise ImageError(f"no image encoding has {channels} channels of {array.dtype}; send uint8 with 1, 3 "
                             "or 4 channels, uint16 or float32 with 1")
    want = ENCODINGS.get(encoding)
    if want is None:
        raise ImageError(f"unknown image encoding {encoding!r}; known: {', '.join(sorted(ENCODINGS))}")
    if want != (channels, array.dtype.name):
        raise ImageError(f"a {encoding} image has {want[0]} channel(s) of {want[1]}; received {channels} of "
                         f"{array.dtype}")
    return encoding


def to_flat(array, encoding: Optional[str] = None):
    """(flat uint8 array, encoding, width, height) of an image array (a view when it is contiguous)."""
    import numpy as np

    encoding = encoding_for(array, encoding)
    height, width = array.shape[:2]
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8), encoding, width, height


def to_ros(array, message_class, encoding: Optional[str] = None, header=None):
    """A ``sensor_msgs/msg/Image`` of ``message_class`` holding ``array`` (one copy, into the message)."""
    import array as pyarray

    flat, encoding, width, height = to_flat(array, encoding)
    msg = message_class()
    if header is not None:
        msg.header = header
    msg.height, msg.width, msg.encoding = int(height), int(width), encoding
    msg.is_bigendian = 0
    msg.step = int(flat.size // height) if height else 0
    data = pyarray.array("B")
    data.frombytes(flat.data)  # array.array skips rclpy's per-element checks (bytes are ~200x slower)
    msg.data = data
    return msg


def from_ros(msg):
    """The ``(H, W, C)`` array of a ``sensor_msgs/msg/Image`` (a view of its data when rows are packed)."""
    if getattr(msg, "is_bigendian", 0) and ENCODINGS.get(msg.encoding, (1, "uint8"))[1] != "uint8":
        raise ImageError(f"big-endian {msg.encoding} images are not supported")
    return from_flat(memoryview(msg.data).cast("B"), msg.encoding, msg.width, msg.height, msg.step)
