"""Values at the boundary with foreign dora nodes: Arrow arrays in the ecosystem's conventions.

A port of a ``DoraNode`` has a format that says how a value crosses (docs/foreign.md):

========  ==================================================  ==============================================
format    a component's value                                  on the dora side
========  ==================================================  ==============================================
array     numpy array of numbers or bools (a list of them      a flat Arrow array of the same type; metadata
          is taken as one)                                     ``shape`` (list) when it is not 1-D
number    int, float or bool (numpy scalars too)               a one-element Arrow array
string    str                                                  a one-element Arrow string array
bytes     bytes                                                a ``uint8`` Arrow array
image     ``(H, W, C)`` (or ``(H, W)``) numpy array            a flat ``uint8`` array; metadata ``encoding``,
                                                               ``width``, ``height`` (``lk_runtime.images``)
raw       ``Raw(value, metadata)``: the Arrow array itself     anything (only from a foreign node)
auto      picked by the value's type, as above                 (only into a foreign node)
========  ==================================================  ==============================================

A value that does not fit its format raises ``BoundaryError``, whose message names the port. Nothing
received is ever evaluated or imported: an Arrow array is only read as data.
"""
from __future__ import annotations

from typing import Any, Dict, NamedTuple, Tuple

from . import images
from .errors import CodecError

INPUT_FORMATS = ("auto", "array", "number", "string", "bytes", "image")    # into a foreign node
OUTPUT_FORMATS = ("raw", "array", "number", "string", "bytes", "image")   # out of a foreign node


class BoundaryError(CodecError):
    """A value that does not fit the format of the port it crosses."""


class Raw(NamedTuple):
    """What a ``raw`` port gives a component: the Arrow array as dora delivered it, and its metadata."""

    value: Any
    metadata: Dict[str, Any]


def _fail(port: str, fmt: str, what: str):
    raise BoundaryError(f"port {port} (format {fmt}): {what}")


def _auto(value) -> str:
    import numpy as np

    if isinstance(value, np.ndarray) or (isinstance(value, (list, tuple)) and value
                                         and all(isinstance(v, (bool, int, float)) for v in value)):
        return "array"
    if isinstance(value, (bool, int, float, np.generic)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes"
    return ""


def to_arrow(value, fmt: str, port: str) -> Tuple[Any, Dict[str, Any]]:
    """(Arrow array, metadata) for a component's value sent to a foreign node's port."""
    import numpy as np
    import pyarrow as pa

    if fmt == "auto":
        fmt = _auto(value) or _fail(port, "auto", f"{_kind(value)} has no Arrow form; send a numpy "
                                                  "array, a number, a str or bytes")
    if fmt == "array":
        array = np.asarray(value) if isinstance(value, (list, tuple)) else value
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
            _fail(port, fmt, f"expected a numpy array of numbers or bools; received {_kind(value)}")
        metadata = {} if array.ndim == 1 else {"shape": [int(n) for n in array.shape]}
        return pa.array(np.ascontiguousarray(array).reshape(-1)), metadata
    if fmt == "number":
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return pa.array(np.asarray([value])), {}
        if not isinstance(value, (bool, int, float)):
            _fail(port, fmt, f"expected an int, float or bool; received {_kind(value)}")
        return pa.array([value]), {}
    if fmt == "string":
        if not isinstance(value, str):
            _fail(port, fmt, f"expected a str; received {_kind(value)}")
        return pa.array([value], pa.string()), {}
    if fmt == "bytes":
        if not isinstance(value, (bytes, bytearray, memoryview)):
            _fail(port, fmt, f"expected bytes; received {_kind(value)}")
        data = bytes(value)
        return pa.Array.from_buffers(pa.uint8(), len(data), [None, pa.py_buffer(data)]), {}
    if fmt == "image":
        try:
            flat, encoding, width, height = images.to_flat(value)
        except images.ImageError as exc:
            _fail(port, fmt, str(exc))
        return pa.array(flat), {"encoding": encoding, "width": int(width), "height": int(height)}
    _fail(port, fmt, f"unknown format; use one of {', '.join(INPUT_FORMATS)}")


def from_arrow(value, metadata: Dict[str, Any], fmt: str, port: str):
    """A foreign node's Arrow value as the component's value for ``fmt``."""
    import pyarrow as pa

    metadata = dict(metadata or {})
    if fmt == "raw":
        return Raw(value, metadata)
    if not isinstance(value, pa.Array):
        _fail(port, fmt, f"expected an Arrow array; received {_kind(value)}")
    kind = value.type
    if fmt in ("array", "number") and not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                           or pa.types.is_boolean(kind)):
        _fail(port, fmt, f"expected an Arrow array of numbers or bools; received one of {kind}")
    if value.null_count:
        _fail(port, fmt, f"the array holds {value.null_count} null value(s)")
    if fmt == "array":
        array = value.to_numpy(zero_copy_only=False)
        shape = metadata.get("shape")
        if shape is not None:
            if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
                _fail(port, fmt, f"metadata shape must be a list of sizes; received {shape!r}")
            size = 1
            for n in shape:
                size *= n
            if size != array.size:
                _fail(port, fmt, f"metadata shape {shape} holds {size} values; the array has {array.size}")
            array = array.reshape(shape)
        return array
    if fmt in ("number", "string"):
        if len(value) != 1:
            _fail(port, fmt, f"expected one value; received an array of {len(value)}")
        if fmt == "string" and not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            _fail(port, fmt, f"expected an Arrow string array; received one of {kind}")
        return value[0].as_py()
    if fmt in ("bytes", "image"):
        if kind != pa.uint8():
            _fail(port, fmt, f"expected an Arrow uint8 array; received one of {kind}")
        data = value.buffers()[1]
        view = memoryview(data)[value.offset:value.offset + len(value)] if data is not None else memoryview(b"")
        if fmt == "bytes":
            return bytes(view)
        missing = [k for k in ("encoding", "width", "height") if k not in metadata]
        if missing:
            _fail(port, fmt, f"the image has no {', '.join(missing)} in its metadata")
        try:
            return images.from_flat(view, str(metadata["encoding"]), metadata["width"], metadata["height"])
        except images.ImageError as exc:
            _fail(port, fmt, str(exc))
    _fail(port, fmt, f"unknown format; use one of {', '.join(OUTPUT_FORMATS)}")


def _kind(value) -> str:
    name = type(value).__name__
    article = "an" if name[:1].lower() in "aeiou" else "a"
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"{article} {name} of {dtype} with shape {tuple(shape)}"
    return f"{article} {name}"
