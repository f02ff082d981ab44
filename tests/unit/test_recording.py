"""MCAP recordings: each value in the first format that gives its codec bytes back, and read back exactly."""
from __future__ import annotations

import numpy as np
import pytest

from lkbuild import Component, System
from lkbuild.recording import Message, as_mcap, read, to_payload, write
from lkbuild.runtime_stubs.lk_runtime import codec


@pytest.mark.parametrize("value, encoding, schema", [
    (3, "json", "lkbuild.Value"),
    ("text", "json", "lkbuild.Value"),
    ([1, 2.5, None, True], "json", "lkbuild.Value"),
    ({"x": 0.25, "area": 12}, "json", "lkbuild.Object"),
    (np.zeros((4, 6), dtype=np.uint8), "json", "foxglove.RawImage"),
    (np.full((2, 3, 3), 7, dtype=np.uint8), "json", "foxglove.RawImage"),
    ((1, 2), "lkbuild.codec", "lkbuild.codec/tuple"),            # JSON would make it a list
    (float("nan"), "lkbuild.codec", "lkbuild.codec/float"),      # JSON has no NaN
    (np.zeros(4, dtype=np.float32), "lkbuild.codec", "lkbuild.codec/ndarray"),
    ({1: "a"}, "lkbuild.codec", "lkbuild.codec/dict"),           # JSON keys are strings
    (codec.external_frame("geometry_msgs/msg/Point", b"\x00\x01\x00\x00" + bytes(24)), "cdr",
     "geometry_msgs/msg/Point"),                                 # a ROS message, as the codec holds it
])
def test_a_value_is_stored_in_the_first_format_that_gives_its_bytes_back(value, encoding, schema):
    payload = value if isinstance(value, bytes) else codec.encode(value)
    stored, name, _, _, data = as_mcap(payload)
    assert (stored, name) == (encoding, schema)
    assert to_payload(stored, name, data) == payload


class Two(Component):
    def __init__(self, node=None):
        super().__init__("two", node=node, rate_hz=3)

    def forward(self):
        return 2


class Keep(Component):
    outputs = ()

    def forward(self, x):
        pass


def test_a_written_recording_reads_back_with_its_times_and_metadata(tmp_path):
    from mcap.reader import make_reader

    two, keep = Two(), Keep("keep")
    spec = System(components=[two, keep], name="r").spec()
    messages = [Message(n, "two", "out", n, 0, codec.encode(2)) for n in (2, 0, 1)]
    path = tmp_path / "r.mcap"
    write(path, spec, messages, iterations=3)
    with open(path, "rb") as f:
        times = [m.log_time for _, _, m in make_reader(f).iter_messages()]
    assert times == [0, 333_333_333, 666_666_666]  # 3 Hz: ticks of 1/3 s, in nanoseconds (rounded down)
    rec = read(path)
    assert [(m.tick, m.sequence) for m in rec.messages] == [(0, 0), (1, 1), (2, 2)]  # ticks back exactly
    assert rec.meta["tick_hz"] == "3" and rec.meta["iterations"] == "3" and rec.meta["system"] == "r"
    assert rec.meta["schemas"]["two"] == {"rate_hz": 3.0, "inputs": {}, "outputs": {"out": None}}


def test_a_ros_schema_is_the_message_definition_with_the_types_it_uses():
    from lkbuild.recording import ros_definition

    text = ros_definition("geometry_msgs/msg/Pose")  # the ros2 extra installs the .msg files
    assert text.startswith("# A representation of pose") and "Point position" in text
    assert "MSG: geometry_msgs/Point\n" in text and "MSG: geometry_msgs/Quaternion\n" in text
