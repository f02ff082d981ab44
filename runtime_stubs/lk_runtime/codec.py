"""The message codec shared by every engine: safe, deterministic, zero-copy for arrays on decode.

Wire format (little endian): ``b"LK\\x01"`` then one value. A value is a one-byte tag and its body:

    N None · T True · F False · i int64 · I big int (u32 length + signed bytes) · f float64
    s str (u32 length + UTF-8) · b bytes (u32 length + data) · l list / t tuple (u32 count + values)
    d dict (u32 count + key value pairs) · a ndarray · x numpy scalar · D registered dataclass
    R registered external message (u32 length + name, u32 length + the bytes its own serializer made)

An ndarray is its dtype (u8 length + ASCII, numeric kinds only), ndim (u8), shape (u64 each), the
byte count (u64), zero padding to an 8-byte boundary, and the data in C order. Decoding returns a
read-only view into the buffer it was given: no copy. Nothing is ever unpickled, evaluated or imported
by name: a dataclass travels under the name it was registered with, and only registered names decode.
The same holds for external message types (ROS messages, see ``rosmsg``): ``register_external`` gives
the codec a class, its name and its own serializer; a message naming anything else does not decode.
"""
from __future__ import annotations

import dataclasses
import re
import struct
import sys
from typing import Any, List, Optional, Tuple

from .errors import CodecError

MAGIC = b"LK\x01"
MAX_DEPTH = 64
_DTYPE = re.compile(r"^[<>|=]?[biufc][1-9][0-9]?$")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1

_INT_MESSAGE = MAGIC + b"i"
_FLOAT_MESSAGE = MAGIC + b"f"

# Which types may travel, by name: ``registry`` (dataclasses, external message types).
from .registry import (  # noqa: E402,F401  (re-exported: codec.register is the public name)
    _external_by_name, _external_by_type, _registry_by_name, _registry_by_type, register, register_external,
    register_marked,
)


def external_frame(name: str, data) -> bytes:
    """The encoding of an external message from its already serialized bytes (no load/dump round trip)."""
    raw = name.encode("utf-8")
    return b"".join((MAGIC, b"R", _U32.pack(len(raw)), raw, _U32.pack(len(data)), data))


def external_data(payload) -> Optional[Tuple[str, memoryview]]:
    """``(name, serialized bytes)`` of an encoded external message; None for any other encoded value."""
    view = memoryview(payload) if type(payload) is bytes else _byte_view(payload)
    if len(view) < 12 or bytes(view[:4]) != MAGIC + b"R":
        return None
    n = _U32.unpack_from(view, 4)[0]
    if 8 + n + 4 > len(view):
        return None
    name = bytes(view[8:8 + n]).decode("utf-8", "replace")
    size = _U32.unpack_from(view, 8 + n)[0]
    start = 12 + n
    if start + size != len(view):
        return None
    return name, view[start:start + size]


# -- encoding -----------------------------------------------------------------------------------------------
def encode(value: Any) -> bytes:
    """Encode a value into bytes. Raises CodecError for a value the codec does not carry."""
    t = type(value)
    # A bare number is the most common small message: the same bytes as the general path, built directly.
    if t is float:
        return _FLOAT_MESSAGE + _F64.pack(value)
    if t is int and _INT64_MIN <= value <= _INT64_MAX:
        return _INT_MESSAGE + _I64.pack(value)
    parts = [MAGIC]
    _encode(value, parts, 0, [len(MAGIC)])
    return b"".join(parts)


def encode_parts(value: Any) -> Tuple[List[Any], int]:
    """``encode(value)`` before its pieces are joined: (the pieces, their total size). An array's data is a
    view of the array: whoever writes the pieces into a buffer of their own copies it once."""
    parts, size = [MAGIC], [len(MAGIC)]
    _encode(value, parts, 0, size)
    return parts, size[0]


def _is_numpy(value) -> bool:
    return type(value).__module__ == "numpy"


def _encode(value, parts, depth, size):
    if depth > MAX_DEPTH:
        raise CodecError(f"value nested deeper than {MAX_DEPTH} levels")
    t = type(value)
    if value is None:
        parts.append(b"N"); size[0] += 1
    elif t is bool:
        parts.append(b"T" if value else b"F"); size[0] += 1
    elif t is int:
        if _INT64_MIN <= value <= _INT64_MAX:
            parts.append(b"i" + _I64.pack(value)); size[0] += 9
        else:
            raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
            parts.append(b"I" + _U32.pack(len(raw)) + raw); size[0] += 5 + len(raw)
    elif t is float:
        parts.append(b"f" + _F64.pack(value)); size[0] += 9
    elif t is str:
        raw = value.encode("utf-8", "surrogatepass")
        parts.append(b"s" + _U32.pack(len(raw))); parts.append(raw); size[0] += 5 + len(raw)
    elif t is bytes or t is bytearray or t is memoryview:
        raw = bytes(value) if t is not bytes else value
        parts.append(b"b" + _U32.pack(len(raw))); parts.append(raw); size[0] += 5 + len(raw)
    elif t is list or t is tuple:
        parts.append((b"l" if t is list else b"t") + _U32.pack(len(value))); size[0] += 5
        for item in value:
            _encode(item, parts, depth + 1, size)
    elif t is dict:
        parts.append(b"d" + _U32.pack(len(value))); size[0] += 5
        for key, item in value.items():
            _encode(key, parts, depth + 1, size)
            _encode(item, parts, depth + 1, size)
    elif _is_numpy(value) and t.__name__ == "ndarray":
        _encode_array(value, parts, size)
    elif _is_numpy(value) and hasattr(value, "dtype") and hasattr(value, "tobytes"):
        dtype = _dtype_text(value.dtype)
        raw = value.tobytes()
        parts.append(b"x" + bytes([len(dtype)]) + dtype.encode() + _U32.pack(len(raw)) + raw)
        size[0] += 6 + len(dtype) + len(raw)
    elif t in _external_by_type:
        name, dump = _external_by_type[t]
        try:
            raw = dump(value)
        except Exception as exc:  # the type's own serializer refused the value
            raise CodecError(f"cannot serialize a {name.decode()} message: {exc}") from None
        parts.append(b"R" + _U32.pack(len(name)) + name + _U32.pack(len(raw))); parts.append(raw)
        size[0] += 9 + len(name) + len(raw)
    elif t in _registry_by_type:
        name = _registry_by_type[t].encode()
        fields = dataclasses.fields(value)
        parts.append(b"D" + _U32.pack(len(name)) + name + _U32.pack(len(fields))); size[0] += 9 + len(name)
        for f in fields:
            _encode(f.name, parts, depth + 1, size)
            _encode(getattr(value, f.name), parts, depth + 1, size)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        raise CodecError(
            f"dataclass {t.__qualname__} is not registered with the codec; decorate it with "
            "@lkbuild.message (or lk_runtime.codec.register) so it can travel between processes."
        )
    else:
        raise CodecError(
            f"the codec cannot carry a value of type {t.__module__}.{t.__qualname__}: use numbers, str, bytes, "
            "None, numpy arrays, lists/tuples/dicts of those, or a registered dataclass"
            + (" (a ROS message travels when the port is annotated with its class, e.g. "
               "`-> geometry_msgs.msg.Pose`)." if ".msg._" in t.__module__ else ".")
        )


def _dtype_text(dtype) -> str:
    text = dtype.str
    if not _DTYPE.match(text):
        raise CodecError(f"numpy dtype {dtype!r} cannot travel; use a numeric or bool dtype.")
    return text


def _encode_array(array, parts, size):
    import numpy as np

    dtype = _dtype_text(array.dtype)
    if array.ndim > 32:
        raise CodecError("arrays with more than 32 dimensions cannot travel")
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    head = b"a" + bytes([len(dtype)]) + dtype.encode() + bytes([array.ndim])
    head += b"".join(_U64.pack(n) for n in array.shape) + _U64.pack(array.nbytes)
    pad = (-(size[0] + len(head))) % 8
    parts.append(head + b"\0" * pad)
    # A uint8 view, not memoryview(array): the buffer protocol refuses some dtypes (big-endian long double).
    parts.append(memoryview(array.reshape(-1).view(np.uint8)) if array.nbytes else b"")
    size[0] += len(head) + pad + array.nbytes


# -- decoding -----------------------------------------------------------------------------------------------
def decode(data) -> Any:
    """Decode bytes made by ``encode``. Malformed input raises CodecError, never anything else."""
    if type(data) is bytes:
        if len(data) == 12:  # a bare number, encode's fast path
            head = data[:4]
            if head == _INT_MESSAGE:
                return _I64.unpack_from(data, 4)[0]
            if head == _FLOAT_MESSAGE:
                return _F64.unpack_from(data, 4)[0]
        # bytes are always one contiguous run of unsigned bytes: the buffer checks are for everything else.
        view = memoryview(data)
    else:
        view = _byte_view(data)
    if bytes(view[:3]) != MAGIC:
        raise CodecError("not an lkbuild message (bad magic); was it encoded by a different codec?")
    try:
        value, end = _decode(view, 3, 0)
    except CodecError:
        raise
    except (struct.error, IndexError, ValueError, TypeError, OverflowError, UnicodeDecodeError, MemoryError) as exc:
        raise CodecError(f"malformed message: {exc}") from None
    if end != len(view):
        raise CodecError(f"malformed message: {len(view) - end} trailing bytes")
    return value


def _byte_view(data) -> memoryview:
    """A flat view of unsigned bytes over any buffer (a pyarrow buffer, a memoryview...)."""
    try:
        view = memoryview(data)
    except TypeError:
        raise CodecError(f"cannot decode a value of type {type(data).__name__}; expected bytes") from None
    if not view.c_contiguous:
        raise CodecError("cannot decode a non-contiguous buffer; pass the message's bytes")
    if view.ndim != 1 or view.format != "B":
        try:
            view = view.cast("B")
        except (TypeError, ValueError):
            raise CodecError(f"cannot decode a buffer of format {view.format!r}; pass the message's bytes") from None
    return view


def _need(view, pos, n):
    if n < 0 or pos + n > len(view):
        raise CodecError(f"malformed message: truncated at byte {pos} (needs {n} more)")


def _decode(view, pos, depth) -> Tuple[Any, int]:
    if depth > MAX_DEPTH:
        raise CodecError(f"malformed message: nested deeper than {MAX_DEPTH} levels")
    _need(view, pos, 1)
    tag = view[pos]
    pos += 1
    if tag == 0x4E:  # N
        return None, pos
    if tag == 0x54:  # T
        return True, pos
    if tag == 0x46:  # F
        return False, pos
    if tag == 0x69:  # i
        _need(view, pos, 8)
        return _I64.unpack_from(view, pos)[0], pos + 8
    if tag == 0x66:  # f
        _need(view, pos, 8)
        return _F64.unpack_from(view, pos)[0], pos + 8
    if tag in (0x73, 0x62, 0x49):  # s b I
        _need(view, pos, 4)
        n = _U32.unpack_from(view, pos)[0]
        pos += 4
        _need(view, pos, n)
        raw = bytes(view[pos:pos + n])
        if tag == 0x73:
            return raw.decode("utf-8", "surrogatepass"), pos + n
        if tag == 0x49:
            return int.from_bytes(raw, "little", signed=True), pos + n
        return raw, pos + n
    if tag in (0x6C, 0x74):  # l t
        _need(view, pos, 4)
        n = _U32.unpack_from(view, pos)[0]
        pos += 4
        _need(view, pos, n)  # every item takes at least one byte
        items = []
        for _ in range(n):
            item, pos = _decode(view, pos, depth + 1)
            items.append(item)
        return (items if tag == 0x6C else tuple(items)), pos
    if tag == 0x64:  # d
        _need(view, pos, 4)
        n = _U32.unpack_from(view, pos)[0]
        pos += 4
        _need(view, pos, 2 * n)
        out = {}
        for _ in range(n):
            key, pos = _decode(view, pos, depth + 1)
            try:
                hash(key)
            except TypeError:
                raise CodecError(f"malformed message: unhashable dict key of type {type(key).__name__}") from None
            out[key], pos = _decode(view, pos, depth + 1)
        return out, pos
    if tag == 0x61:  # a
        return _decode_array(view, pos)
    if tag == 0x78:  # x
        return _decode_scalar(view, pos)
    if tag == 0x44:  # D
        return _decode_dataclass(view, pos, depth)
    if tag == 0x52:  # R
        return _decode_external(view, pos)
    raise CodecError(f"malformed message: unknown tag {tag:#04x} at byte {pos - 1}")


def _read_dtype(view, pos):
    import numpy as np

    _need(view, pos, 1)
    n = view[pos]
    pos += 1
    _need(view, pos, n)
    text = bytes(view[pos:pos + n]).decode("ascii", "replace")
    if not _DTYPE.match(text):
        raise CodecError(f"malformed message: dtype {text!r} is not allowed")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise CodecError(f"malformed message: unknown dtype {text!r}") from None
    return dtype, pos + n


def _decode_array(view, pos):
    import numpy as np

    dtype, pos = _read_dtype(view, pos)
    _need(view, pos, 1)
    ndim = view[pos]
    pos += 1
    if ndim > 32:
        raise CodecError("malformed message: more than 32 dimensions")
    _need(view, pos, 8 * ndim + 8)
    shape = tuple(_U64.unpack_from(view, pos + 8 * i)[0] for i in range(ndim))
    pos += 8 * ndim
    nbytes = _U64.unpack_from(view, pos)[0]
    pos += 8
    count = 1
    for n in shape:
        count *= n
    if count * dtype.itemsize != nbytes:
        raise CodecError(f"malformed message: array of shape {shape} and dtype {dtype} is not {nbytes} bytes")
    pos += (-pos) % 8
    _need(view, pos, nbytes)
    array = np.frombuffer(view[pos:pos + nbytes], dtype=dtype, count=count).reshape(shape)
    if array.flags.writeable:
        array.flags.writeable = False
    return array, pos + nbytes


def _decode_scalar(view, pos):
    import numpy as np

    dtype, pos = _read_dtype(view, pos)
    _need(view, pos, 4)
    n = _U32.unpack_from(view, pos)[0]
    pos += 4
    if n != dtype.itemsize:
        raise CodecError("malformed message: scalar size does not match its dtype")
    _need(view, pos, n)
    return np.frombuffer(bytes(view[pos:pos + n]), dtype=dtype)[0], pos + n


def _name_and_count(view, pos):
    """A registered type's name (u32 length + UTF-8) and the u32 that follows it."""
    _need(view, pos, 4)
    n = _U32.unpack_from(view, pos)[0]
    pos += 4
    _need(view, pos, n + 4)
    name = bytes(view[pos:pos + n]).decode("utf-8", "replace")
    pos += n
    return name, _U32.unpack_from(view, pos)[0], pos + 4


def _decode_dataclass(view, pos, depth):
    name, count, pos = _name_and_count(view, pos)
    cls = _registry_by_name.get(name)
    if cls is None:
        raise CodecError(f"message carries dataclass '{name}', which is not registered in this process")
    expected = [f.name for f in dataclasses.fields(cls)]
    if count != len(expected):
        raise CodecError(f"malformed message: dataclass '{name}' has {len(expected)} fields, message has {count}")
    values = {}
    for _ in range(count):
        key, pos = _decode(view, pos, depth + 1)
        if key not in expected or key in values:
            raise CodecError(f"malformed message: unexpected field {key!r} for dataclass '{name}'")
        values[key], pos = _decode(view, pos, depth + 1)
    try:
        return cls(**values), pos
    except Exception as exc:  # the dataclass's own validation refused the values
        raise CodecError(f"dataclass '{name}' refused the decoded fields: {exc}") from None


def _decode_external(view, pos):
    name, size, pos = _name_and_count(view, pos)
    _need(view, pos, size)
    known = _external_by_name.get(name)
    if known is None:
        raise CodecError(f"message carries a '{name}' message, a type not registered in this process")
    try:
        return known[1](bytes(view[pos:pos + size])), pos + size
    except Exception as exc:  # the type's own deserializer refused the bytes
        raise CodecError(f"malformed '{name}' message: {exc}") from None


def roundtrip(value: Any) -> Any:
    """``decode(encode(value))``: what a receiver in another process would see."""
    return decode(encode(value))


# -- carrying a value within one process ----------------------------------------------------------------------
SHARED = frozenset((type(None), bool, int, float, str, bytes))  # immutable: the receiver may share them


def carry(value: Any, depth: int = 0) -> Any:
    """What ``roundtrip(value)`` returns, made without the bytes (the native engine's in-process hop).

    The receiver gets what it would get from another process: an equal value of the same types, its
    own copy of every list, dict and tuple, arrays read-only and C-ordered (one copy), and the same
    CodecError for a value that could not travel. Immutable values are shared as they are; anything
    else (numpy scalars, dataclasses, external messages) takes the codec's own round trip.
    """
    if depth > MAX_DEPTH:
        raise CodecError(f"value nested deeper than {MAX_DEPTH} levels")
    t = type(value)
    if t in SHARED:
        return value
    if t is list:
        return [carry(item, depth + 1) for item in value]
    if t is tuple:
        return tuple([carry(item, depth + 1) for item in value])
    if t is dict:
        shared, depth = SHARED, depth + 1
        return {key if type(key) in shared else carry(key, depth): item if type(item) in shared else carry(item, depth)
                for key, item in value.items()}
    if t is bytearray or t is memoryview:
        return bytes(value)
    if t.__name__ == "ndarray" and _is_numpy(value):
        return _carry_array(value)
    parts = [MAGIC]
    _encode(value, parts, depth, [len(MAGIC)])  # from this depth: the same limit as the whole message's
    return decode(b"".join(parts))


def _carry_array(array):
    numpy = sys.modules["numpy"]  # an ndarray exists: numpy is loaded
    dtype = _CARRIED_DTYPES.get(array.dtype)
    if dtype is None:
        dtype = _CARRIED_DTYPES[array.dtype] = numpy.dtype(_dtype_text(array.dtype))
    if array.ndim > 32:
        raise CodecError("arrays with more than 32 dimensions cannot travel")
    # a view of immutable bytes: read-only, and it can't be made writeable
    return numpy.frombuffer(array.tobytes(), dtype).reshape(array.shape)


_CARRIED_DTYPES: dict = {}  # an array's dtype -> the dtype it arrives with (checked once per dtype)


if sys.byteorder != "little":  # pragma: no cover
    raise ImportError("lk_runtime.codec supports little-endian machines only")


__all__ = ["CodecError", "decode", "encode", "external_data", "external_frame", "register", "register_external",
           "register_marked", "roundtrip"]
