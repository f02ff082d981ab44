"""The header every message between Nodes carries: its logical time and its sender's watermark.

A frame is ``HEADER`` (fixed size, little endian) followed by the codec's bytes of the value:

* ``version`` (u8): ``VERSION``; a frame of another version is refused, never guessed at.
* ``flags`` (u8): ``WATERMARK_ONLY`` when the frame carries no value, only a new watermark;
  ``BATCH`` when it carries other frames (``batch``); then 6 bytes of padding.
* ``time`` (i64): the logical time of the message, in ticks of the run's clock (``tick_hz`` in the plan).
* ``watermark`` (i64): every later message on this edge has a time of at least this many ticks
  (``NEVER``: none will come).

A batch is the header (``BATCH``, time and watermark 0) followed by frames, each after its length (u32):
one transport message for several frames of the same edge, in order (``frames`` reads them back).

To add a field: append it to ``FIELDS`` and ``HEADER``, bump ``VERSION``, and accept the old version in
``unpack`` for as long as old recordings or peers must be read.
"""
from __future__ import annotations

import struct
from typing import List, Sequence, Tuple

from .errors import CodecError

VERSION = 1
FIELDS = ("version", "flags", "time", "watermark")
HEADER = struct.Struct("<BB6xqq")  # 24 bytes: the payload after it stays 8-byte aligned (zero-copy arrays)
SIZE = HEADER.size
WATERMARK_ONLY = 1
BATCH = 2
_LENGTH = struct.Struct("<I")
NEVER = (1 << 63) - 1


def pack(time: int, watermark: int, payload: bytes = b"", flags: int = 0) -> bytes:
    """A frame: the header, then ``payload`` (the codec's bytes)."""
    return HEADER.pack(VERSION, flags, time, watermark) + payload


def header(time: int, watermark: int) -> bytes:
    """The header of a frame whose payload follows in pieces (``Host``'s ``send_parts``)."""
    return HEADER.pack(VERSION, 0, time, watermark)


def watermark_frame(watermark: int) -> bytes:
    """A frame with no value: later messages on this edge have a time of at least ``watermark``."""
    return HEADER.pack(VERSION, WATERMARK_ONLY, watermark, watermark)


SMALL = 4096  # a frame of ``bytes`` shorter than this gives its payload as ``bytes``: the codec's fastest input


def unpack(frame) -> Tuple[int, int, int, memoryview]:
    """``(flags, time, watermark, payload)`` of a frame; raises CodecError for anything malformed.

    The payload is a view of the frame (no copy), or ``bytes`` when the frame is small ``bytes``.
    """
    small = type(frame) is bytes and len(frame) < SMALL
    view = frame if small else memoryview(frame)
    if len(view) < SIZE:
        raise CodecError(f"a message frame is {SIZE} bytes or more; received {len(view)}")
    version, flags, time, watermark = HEADER.unpack_from(view)
    if version != VERSION:
        raise CodecError(f"message frame version {version}; this runtime reads version {VERSION}")
    if time < 0 or watermark < time:
        raise CodecError(f"message frame with time {time} and watermark {watermark}: not a valid stamp")
    return flags, time, watermark, view[SIZE:]


def batch(frames: Sequence[bytes]) -> bytes:
    """One frame that carries ``frames``, in order."""
    parts = [HEADER.pack(VERSION, BATCH, 0, 0)]
    for frame in frames:
        parts.append(_LENGTH.pack(len(frame)))
        parts.append(frame)
    return b"".join(parts)


def frames(frame) -> Sequence:
    """The frames a received frame carries: the frame itself, or the frames of a batch (slices of it);
    raises CodecError for a malformed batch."""
    if len(frame) < SIZE or frame[0] != VERSION or not frame[1] & BATCH:
        return (frame,)  # (a frame of another version is refused by ``unpack``)
    end = len(frame)
    out: List = []
    pos = SIZE
    while pos < end:
        if pos + 4 > end:
            raise CodecError(f"a batch of frames is truncated at byte {pos}")
        size = _LENGTH.unpack_from(frame, pos)[0]
        pos += 4
        if pos + size > end:
            raise CodecError(f"a batch of frames is truncated at byte {pos} (a frame of {size} bytes)")
        one = frame[pos:pos + size]
        if size >= SIZE and one[0] == VERSION and one[1] & BATCH:
            raise CodecError("a batch of frames holds another batch")
        out.append(one)
        pos += size
    return out
