"""MCAP recordings: merging a run's parts into one file, reading it back, comparing two, preparing a replay.

Every Node's process writes its part with the codec's bytes of each message (``lk_runtime.record``).
When the run ends, ``merge`` writes FILE.mcap: one channel per component output and format, the messages
sorted by logical time (then topic, then sequence), so that the same run gives the same bytes however
its components were placed. A message is stored in the first of these formats that gives its codec
bytes back exactly:

* a value of a ROS-typed port: ``ros2msg`` (CDR) with the message definition as its schema;
* an image (``uint8`` array, height x width, or x 3 channels): JSON in the ``foxglove.RawImage`` schema;
* a dict: JSON (``lkbuild.Object``); a number, string, list, bool or None: JSON ``{"value": ...}``
  (``lkbuild.Value``), so that Foxglove can plot it;
* anything else: the codec's bytes, message encoding ``lkbuild.codec``, the schema naming the value's type.

The file's ``lkbuild`` metadata holds the IR's hash (``digest``), the port schemas, the run's clock
(``tick_hz``) and its iterations: what ``lkbuild replay`` checks before it plays a recording.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .errors import ConfigError
from .runtime_stubs.lk_runtime import codec, record
from .runtime_stubs.lk_runtime.errors import CodecError

META = "lkbuild"
# IR fields that say where files are, not what the system is: a recording made in another checkout fits.
WHERE = frozenset({"root", "file", "import_root", "created_at", "class_at", "forward_at", "line", "where",
                   "replay"})
RAW_IMAGE = {
    "title": "foxglove.RawImage",
    "type": "object",
    "properties": {
        "timestamp": {"type": "object", "properties": {"sec": {"type": "integer"}, "nsec": {"type": "integer"}}},
        "frame_id": {"type": "string"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "encoding": {"type": "string"},
        "step": {"type": "integer"},
        "data": {"type": "string", "contentEncoding": "base64"},
    },
}
VALUE = {"title": "lkbuild.Value", "type": "object", "properties": {"value": {}}}
OBJECT = {"title": "lkbuild.Object", "type": "object"}


@dataclass(frozen=True)
class Message:
    tick: int
    component: str
    output: str
    sequence: int
    wall_ns: int
    payload: bytes  # the codec's bytes, as the component sent them

    @property
    def key(self) -> Tuple[str, str]:
        return self.component, self.output


@dataclass
class Recording:
    path: Path
    meta: Dict[str, Any]
    messages: List[Message]

    @property
    def tick_hz(self) -> int:
        return int(self.meta["tick_hz"])

    def streams(self) -> Dict[Tuple[str, str], List[Message]]:
        out: Dict[Tuple[str, str], List[Message]] = {}
        for m in self.messages:
            out.setdefault(m.key, []).append(m)
        for stream in out.values():
            stream.sort(key=lambda m: m.sequence)
        return out


# -- what a recording is tied to -----------------------------------------------------------------------------
def what(spec) -> Dict[str, Any]:
    """The IR without where its files are: what a recording was made with."""
    return _what(spec.to_dict())


def digest(spec) -> str:
    """sha256 of ``what``: the IR's hash a recording carries."""
    return hashlib.sha256(json.dumps(what(spec), sort_keys=True).encode()).hexdigest()


def _what(data):
    if isinstance(data, dict):
        return {k: _what(v) for k, v in data.items() if k not in WHERE}
    if isinstance(data, (list, tuple)):
        return [_what(v) for v in data]
    return data


def port_schemas(spec) -> Dict[str, Dict[str, Any]]:
    """Per component: its rate, and the annotation of every input and output (None: not annotated)."""
    return {c.name: {"rate_hz": c.rate_hz,
                     "inputs": {p.name: p.annotation for p in c.inputs},
                     "outputs": {p.name: p.annotation for p in c.outputs}} for c in spec.components}


# -- writing -------------------------------------------------------------------------------------------------
def prepare(path: Optional[Path]) -> None:
    """Before a run that records into ``path``: no parts of an earlier run may be merged into this one."""
    if path is not None and record.is_mcap(path):
        shutil.rmtree(str(path) + record.PARTS, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    elif path is not None:
        path.mkdir(parents=True, exist_ok=True)


def finish(path: Optional[Path], spec, iterations: Optional[int]) -> None:
    """After a run: merge its parts into ``path`` (an MCAP recording); a directory needs nothing."""
    if path is None or not record.is_mcap(path):
        return
    parts_dir = Path(str(path) + record.PARTS)
    parts = sorted(parts_dir.glob("*.mcap")) if parts_dir.is_dir() else []
    messages = [Message(*row) for part in parts for row in record.read_part(str(part))]
    write(path, spec, messages, iterations)
    shutil.rmtree(parts_dir, ignore_errors=True)


def write(path: Path, spec, messages: Iterable[Message], iterations: Optional[int]) -> None:
    """Write one MCAP recording (atomically: a temporary file beside it, then renamed)."""
    from mcap.writer import CompressionType, Writer

    from .graph.plan import system_tick_hz

    tick_hz = system_tick_hz(spec)
    rows = sorted(((m.tick, f"/{m.component}/{m.output}", m.sequence, m) for m in messages),
                  key=lambda r: r[:3])
    converted = [(r, *as_mcap(r[3].payload)) for r in rows]
    kinds = sorted({(r[1], enc, name, schema_enc) for r, enc, name, schema_enc, _, _ in converted})
    schema_data = {(name, schema_enc): data for _, _, name, schema_enc, data, _ in converted}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        writer = Writer(f, compression=CompressionType.ZSTD)
        writer.start(profile="", library="lkbuild")
        writer.add_metadata(META, {"ir_sha256": digest(spec), "system": spec.name, "tick_hz": str(tick_hz),
                                   "iterations": "" if iterations is None else str(iterations),
                                   "schemas": json.dumps(port_schemas(spec), sort_keys=True),
                                   "ir": json.dumps(what(spec), sort_keys=True)})
        schemas: Dict[Tuple[str, str], int] = {}
        channels: Dict[Tuple[str, str, str, str], int] = {}
        for topic, enc, name, schema_enc in kinds:
            if (name, schema_enc) not in schemas:
                schemas[(name, schema_enc)] = writer.register_schema(name, schema_enc, schema_data[(name, schema_enc)])
            component, output = topic[1:].split("/", 1)
            channels[(topic, enc, name, schema_enc)] = writer.register_channel(
                topic, enc, schemas[(name, schema_enc)], {"component": component, "output": output})
        for (tick, topic, seq, m), enc, name, schema_enc, _, data in converted:
            at = record.logical_ns(tick, tick_hz)
            writer.add_message(channels[(topic, enc, name, schema_enc)], at, data, m.wall_ns, seq)
        writer.finish()
    os.replace(tmp, path)


def as_mcap(payload: bytes) -> Tuple[str, str, str, bytes, bytes]:
    """(message encoding, schema name, schema encoding, schema data, message data) of one message."""
    external = codec.external_data(payload)
    if external is not None:
        name, cdr = external
        return "cdr", name, "ros2msg", ros_definition(name).encode(), bytes(cdr)
    value = codec.decode(payload)
    image = _image(value)
    if image is not None and to_payload("json", "foxglove.RawImage", image) == payload:
        return "json", "foxglove.RawImage", "jsonschema", _schema(RAW_IMAGE), image
    if isinstance(value, dict):
        text = _json(value)
        if text is not None and to_payload("json", "lkbuild.Object", text) == payload:
            return "json", "lkbuild.Object", "jsonschema", _schema(OBJECT), text
    else:
        text = _json({"value": value})
        if text is not None and to_payload("json", "lkbuild.Value", text) == payload:
            return "json", "lkbuild.Value", "jsonschema", _schema(VALUE), text
    return record.CODEC_ENCODING, f"lkbuild.codec/{type(value).__name__}", record.CODEC_ENCODING, b"", payload


def to_payload(encoding: str, schema: str, data: bytes) -> bytes:
    """The codec's bytes of a stored message (the inverse of ``as_mcap``)."""
    if encoding == record.CODEC_ENCODING:
        return bytes(data)
    if encoding == "cdr":
        return codec.external_frame(schema, bytes(data))
    value = json.loads(data)
    if schema == "foxglove.RawImage":
        import numpy as np

        pixels = np.frombuffer(base64.b64decode(value["data"]), dtype=np.uint8)
        shape = (value["height"], value["width"]) if value["encoding"] == "mono8" else (value["height"], value["width"], 3)
        return codec.encode(pixels.reshape(shape))
    if schema == "lkbuild.Value":
        return codec.encode(value["value"])
    return codec.encode(value)


def _image(value) -> Optional[bytes]:
    import numpy as np

    if not isinstance(value, np.ndarray) or value.dtype != np.uint8 or not value.flags.c_contiguous:
        return None
    if value.ndim == 2:
        encoding, step = "mono8", value.shape[1]
    elif value.ndim == 3 and value.shape[2] == 3:
        encoding, step = "rgb8", value.shape[1] * 3
    else:
        return None
    return json.dumps({"timestamp": {"sec": 0, "nsec": 0}, "frame_id": "", "width": int(value.shape[1]),
                       "height": int(value.shape[0]), "encoding": encoding, "step": int(step),
                       "data": base64.b64encode(value.tobytes()).decode()}).encode()


def _json(value) -> Optional[bytes]:
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError):
        return None


def _schema(schema: Dict[str, Any]) -> bytes:
    return json.dumps(schema, sort_keys=True).encode()


def ros_definition(type_name: str) -> str:
    """The ``ros2msg`` schema of a ROS message type: its .msg text, then every type it uses (as rosbag2 does)."""
    seen, out, todo = set(), [], [type_name]
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        text = _msg_file(name)
        if text is None:
            continue
        if name != type_name:
            out.append("=" * 80 + f"\nMSG: {name.replace('/msg/', '/')}\n")
        out.append(text if text.endswith("\n") else text + "\n")
        package = name.split("/")[0]
        for line in text.splitlines():
            field_type = line.split("#")[0].strip().split(" ")[0].split("[")[0]
            if "/" in field_type:
                todo.append(field_type if "/msg/" in field_type else field_type.replace("/", "/msg/"))
            elif field_type[:1].isupper():
                todo.append(f"{package}/msg/{field_type}")
    return "".join(out)


def _msg_file(type_name: str) -> Optional[str]:
    """The .msg text of ``pkg/msg/Name`` from a ROS install (AMENT_PREFIX_PATH) or this environment's share/."""
    package, _, name = type_name.split("/")
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p] + [sys.prefix]
    for prefix in prefixes:
        path = Path(prefix) / "share" / package / "msg" / f"{name}.msg"
        if path.is_file():
            return path.read_text()
    return None  # not installed here: the schema stays empty, the CDR bytes are still exact


# -- reading -------------------------------------------------------------------------------------------------
def read(path) -> Recording:
    """A recording written by ``write``; raises ConfigError saying what is wrong with the file."""
    path = Path(path)
    try:
        from mcap.reader import make_reader

        with open(path, "rb") as f:
            reader = make_reader(f)
            meta = next((dict(m.metadata) for m in reader.iter_metadata() if m.name == META), None)
            if meta is None:
                raise ConfigError(f"{path}: not an lkbuild recording (no '{META}' metadata). "
                                  "Record one with `lkbuild launch SYSTEM --record FILE.mcap`.")
            tick_hz = int(meta["tick_hz"])
            messages = []
            for schema, channel, m in reader.iter_messages(log_time_order=False):
                payload = to_payload(channel.message_encoding, schema.name if schema else "", m.data)
                messages.append(Message(record.tick_of(m.log_time, tick_hz), channel.metadata["component"],
                                        channel.metadata["output"], m.sequence, m.publish_time, payload))
    except OSError as exc:
        raise ConfigError(f"cannot read the recording {path}: {exc.strerror}.") from None
    except ConfigError:
        raise
    except (CodecError, KeyError, ValueError, Exception) as exc:
        raise ConfigError(f"{path}: not a readable MCAP recording ({type(exc).__name__}: {exc}).") from None
    meta["schemas"] = json.loads(meta.get("schemas") or "{}")
    meta["ir"] = json.loads(meta.get("ir") or "{}")
    return Recording(path, meta, messages)
