"""Recording every message a host sends, to compare runs across engines and to replay them.

Two forms:

* a directory (``--record DIR``): one JSON Lines file per component, ``<dir>/<component>.jsonl``; each
  line holds the output name, the message's sequence number on that output, the sha256 of its encoded
  bytes and a short preview. Cheap, and enough to prove two runs sent the same messages.
* an MCAP file (``--record FILE.mcap``): every Node's process writes its part,
  ``FILE.mcap.parts/<node>.mcap``, with the codec's bytes of every message, its logical time (as the
  message's log time) and its wall-clock time (publish time; the logical time again with ``--fast``,
  where the wall clock means nothing, so that the same run gives the same file). When the run ends,
  lkbuild merges the parts into FILE.mcap (``lkbuild.recording``), in the formats Foxglove reads.

A part is also what a replayed component plays (``Player``): the messages of one component, in order.
"""
from __future__ import annotations

import json
import os
import time
from typing import Dict, List, Tuple

from . import codec

CODEC_ENCODING = "lkbuild.codec"  # a message encoding: the bytes of lk_runtime.codec
PARTS = ".parts"                  # FILE.mcap's parts are in FILE.mcap.parts/


def preview(payload) -> str:
    value = codec.decode(payload)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"array{tuple(value.shape)} {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def logical_ns(tick: int, tick_hz: int) -> int:
    """A logical time in nanoseconds (rounded down); ``tick_of`` gives the tick back exactly."""
    return tick * 1_000_000_000 // tick_hz


def tick_of(ns: int, tick_hz: int) -> int:
    """The tick whose ``logical_ns`` is ``ns`` (exact while ``tick_hz`` is at most 1e9)."""
    return -((-ns * tick_hz) // 1_000_000_000)


def is_mcap(path) -> bool:
    return str(path).endswith(".mcap")


def part_path(recording: str, node: str) -> str:
    return os.path.join(recording + PARTS, f"{node}.mcap")


class Recorder:
    """Callable a Host records through: ``Recorder(dir)(component, output, payload, tick)``."""

    def __init__(self, directory: str):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.files: Dict[str, object] = {}
        self.seq: Dict[Tuple[str, str], int] = {}

    def __call__(self, component: str, output: str, payload: bytes, tick: int = 0) -> None:
        f = self.files.get(component)
        if f is None:
            f = self.files[component] = open(os.path.join(self.directory, f"{component}.jsonl"), "w")
        n = self.seq.get((component, output), 0)
        self.seq[(component, output)] = n + 1
        line = {"output": output, "seq": n, "sha256": _sha256(payload),
                "value": preview(payload)}
        f.write(json.dumps(line, sort_keys=True) + "\n")

    def close(self) -> None:
        for f in self.files.values():
            f.close()
        self.files.clear()


class PartWriter:
    """Callable a Host records through into one process's MCAP part: codec bytes, logical and wall time."""

    def __init__(self, path: str, node: str, tick_hz: int, realtime: bool):
        from mcap.writer import CompressionType, Writer

        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.file = open(path, "wb")
        self.writer = Writer(self.file, compression=CompressionType.NONE)
        self.writer.start(profile="", library="lkbuild")
        self.writer.add_metadata("lkbuild.part", {"node": node, "tick_hz": str(tick_hz)})
        self.tick_hz = tick_hz
        self.realtime = realtime
        self.channels: Dict[Tuple[str, str], int] = {}
        self.seq: Dict[int, int] = {}

    def __call__(self, component: str, output: str, payload, tick: int = 0) -> None:
        key = (component, output)
        channel = self.channels.get(key)
        if channel is None:
            channel = self.channels[key] = self.writer.register_channel(
                f"/{component}/{output}", CODEC_ENCODING, 0, {"component": component, "output": output})
            self.seq[channel] = 0
        at = logical_ns(tick, self.tick_hz)
        self.writer.add_message(channel, at, bytes(payload), time.time_ns() if self.realtime else at,
                                self.seq[channel])
        self.seq[channel] += 1

    def close(self) -> None:
        if self.file is not None:
            self.writer.finish()
            self.file.close()
            self.file = None


def recorder(path, node: str, tick_hz: int, realtime: bool):
    """What a Node's process records through for ``--record path`` (None: not recording)."""
    if not path:
        return None
    if is_mcap(path):
        return PartWriter(part_path(str(path), node), node, tick_hz, realtime)
    return Recorder(str(path))


def read_part(path: str) -> List[Tuple[int, str, str, int, int, bytes]]:
    """A part's messages as (tick, component, output, sequence, wall ns, codec bytes), in the order written."""
    from mcap.reader import make_reader

    with open(path, "rb") as f:
        reader = make_reader(f)
        tick_hz = next(int(m.metadata["tick_hz"]) for m in reader.iter_metadata() if m.name == "lkbuild.part")
        out = []
        for _, channel, message in reader.iter_messages(log_time_order=False):
            if channel.message_encoding != CODEC_ENCODING:
                continue
            out.append((tick_of(message.log_time, tick_hz), channel.metadata["component"],
                        channel.metadata["output"], message.sequence, message.publish_time, bytes(message.data)))
    return out


def schedule(path: str, component: str) -> List[Tuple[int, str, bytes]]:
    """What a replayed component sends: its recorded (tick, output, codec bytes), in logical-time order."""
    rows = [(tick, seq, output, data) for tick, c, output, seq, _, data in read_part(path) if c == component]
    rows.sort(key=lambda r: (r[0], r[2], r[1]))
    return [(tick, output, data) for tick, _, output, data in rows]


class Player:
    """Stands in for a replayed component: the Host sends its recorded outputs (``Slot.schedule``)."""

    def __init__(self, name: str, part: str):
        self.name = name
        self.schedule = schedule(part, name)

    def setup(self) -> None:
        pass

    def forward(self):
        return None

    def teardown(self) -> None:
        pass


def load(directory: str) -> Dict[Tuple[str, str], List[str]]:
    """A recording directory as {(component, output): [sha256, ...]} in send order."""
    result: Dict[Tuple[str, str], List[str]] = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(directory, name)) as f:
            for line in f:
                entry = json.loads(line)
                result.setdefault((name[:-6], entry["output"]), []).append(entry["sha256"])
    return result


def _sha256(payload) -> str:
    import hashlib  # only a recording run needs it (~5 ms to import)

    return hashlib.sha256(payload).hexdigest()
