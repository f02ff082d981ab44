"""The message codec: round trips, zero-copy arrays, determinism, refusals, and decoding hostile bytes."""
from __future__ import annotations

import dataclasses
import math
import os
import random
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lkbuild import message
from lkbuild.runtime_stubs.lk_runtime import codec, rosmsg
from lkbuild.runtime_stubs.lk_runtime.errors import CodecError


@message(name="test_codec.Pose")
@dataclasses.dataclass
class Pose:
    x: float
    y: float
    label: str = ""


@message(name="test_codec.Scan")
@dataclasses.dataclass
class Scan:
    ranges: object
    pose: object = None


@dataclasses.dataclass
class Unregistered:
    x: int = 1


@message(name="test_codec.Positive")
@dataclasses.dataclass
class Positive:
    value: int

    def __post_init__(self):
        if self.value <= 0:
            raise ValueError("value must be positive")


class Blob:
    """An external message type with a serializer of its own (as ROS messages have)."""

    def __init__(self, data: bytes):
        self.data = data

    def __eq__(self, other):
        return type(other) is Blob and other.data == self.data


def _load_blob(raw: bytes) -> Blob:
    if raw[:1] != b"B":
        raise RuntimeError("not a blob")  # what a foreign deserializer raises: anything
    return Blob(raw[1:])


codec.register_external(Blob, "test_codec/Blob", lambda blob: b"B" + blob.data, _load_blob)


def ros_pose(x=1.5, w=0.5):
    from geometry_msgs.msg import Pose as RosPose

    rosmsg.register(RosPose)
    pose = RosPose()
    pose.position.x, pose.orientation.w = x, w
    return pose


def ros_string(text):
    from std_msgs.msg import String

    rosmsg.register(String)
    return String(data=text)


# -- comparing decoded values exactly ---------------------------------------------------------------------
def assert_same(got, want, where="value"):
    """Equal, with the same types, float bits (nan, -0.0), array dtype/shape/bytes."""
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray), where
        assert got.dtype == want.dtype, where
        assert got.shape == want.shape, where
        assert got.tobytes() == np.ascontiguousarray(want).tobytes(), where
        return
    if isinstance(want, (bytearray, memoryview)):
        assert type(got) is bytes and got == bytes(want), where
        return
    assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, float):
        assert struct.pack("<d", got) == struct.pack("<d", want), f"{where}: {got!r} != {want!r}"
    elif isinstance(want, np.generic):
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), where
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, dict):
        assert list(got) == list(want), where  # same keys in the same order
        for key in want:
            assert_same(got[key], want[key], f"{where}[{key!r}]")
    elif dataclasses.is_dataclass(want):
        for f in dataclasses.fields(want):
            assert_same(getattr(got, f.name), getattr(want, f.name), f"{where}.{f.name}")
    else:
        assert got == want, where


# -- strategies ----------------------------------------------------------------------------------------------
any_text = st.text(st.characters(exclude_categories=()), max_size=20)  # lone surrogates included
scalars = (
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2 ** 200), max_value=2 ** 200)
    | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([-0.0, 0.0, math.inf, -math.inf])
    | any_text | st.binary(max_size=40)
)
keys = st.none() | st.booleans() | st.integers() | any_text | st.binary(max_size=8) | st.tuples(st.integers(), any_text)
numeric_dtypes = (
    hnp.boolean_dtypes() | hnp.integer_dtypes(endianness="?") | hnp.unsigned_integer_dtypes(endianness="?")
    | hnp.floating_dtypes(endianness="?", sizes=(16, 32, 64, 128))
    | hnp.complex_number_dtypes(endianness="?", sizes=(64, 128, 256))
)
arrays = hnp.arrays(numeric_dtypes, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4))
numpy_scalars = arrays.filter(lambda a: a.size > 0).map(lambda a: a.reshape(-1)[0])


def _noncontiguous(array):
    """A view of ``array`` that is not C-contiguous (transposed or strided) when it can be."""
    if array.ndim >= 2:
        return array.T
    if array.ndim == 1:
        return np.repeat(array, 2)[::2]
    return array


values = st.recursive(
    scalars | arrays | arrays.map(_noncontiguous) | numpy_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.lists(children, max_size=4).map(tuple)
        | st.dictionaries(keys, children, max_size=4)
        | st.builds(Pose, st.floats(), st.floats(), any_text)
        | st.builds(Scan, children, children)
    ),
    max_leaves=12,
)

# LKBUILD_FUZZ_SCALE=50 runs fifty times more examples, for a deeper search than CI has time for.
SCALE = int(os.environ.get("LKBUILD_FUZZ_SCALE", "1"))
fast = settings(max_examples=100 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- round trips ----------------------------------------------------------------------------------------------
@fast
@given(values)
def test_every_supported_value_survives_a_round_trip(value):
    assert_same(codec.decode(codec.encode(value)), value)


@fast
@given(values)
def test_encoding_is_deterministic_and_stable_across_hops(value):
    once = codec.encode(value)
    assert codec.encode(value) == once
    # A value forwarded by another process re-encodes to the same bytes: recordings compare across engines.
    assert codec.encode(codec.decode(once)) == once


@pytest.mark.parametrize("value", [
    2 ** 63 - 1, -(2 ** 63), 2 ** 63, -(2 ** 63) - 1, 10 ** 100, -(10 ** 100),
    float("nan"), -0.0, math.inf, -math.inf, "", b"", "\ud800", (), [], {},
])
def test_edge_values_round_trip(value):
    assert_same(codec.roundtrip(value), value)


def test_big_ints_and_small_ints_use_different_tags():
    assert codec.encode(1) == b"LK\x01i" + (1).to_bytes(8, "little")
    assert codec.encode(2 ** 64) == b"LK\x01I" + struct.pack("<I", 9) + (2 ** 64).to_bytes(9, "little")


def test_wire_format_of_simple_values_is_fixed():
    # The generated dora and ROS 2 entrypoints ship this codec: the bytes are a contract between builds.
    assert codec.encode(None) == b"LK\x01N"
    assert codec.encode([True, False]) == b"LK\x01l\x02\x00\x00\x00TF"
    assert codec.encode({"a": 1.5}) == b"LK\x01d\x01\x00\x00\x00s\x01\x00\x00\x00af" + struct.pack("<d", 1.5)


def test_bytearray_and_memoryview_travel_as_bytes():
    assert codec.roundtrip(bytearray(b"ab")) == b"ab"
    assert codec.roundtrip(memoryview(b"cd")) == b"cd"


def test_numpy_scalars_keep_their_type():
    for value in (np.float32(1.5), np.int8(-3), np.uint64(2 ** 64 - 1), np.bool_(True), np.complex64(1 + 2j)):
        assert_same(codec.roundtrip(value), value)


def test_registered_dataclass_round_trips_with_nested_array():
    scan = Scan(ranges=np.arange(6, dtype=np.float32).reshape(2, 3), pose=Pose(1.0, 2.0, "base"))
    got = codec.roundtrip(scan)
    assert type(got) is Scan and type(got.pose) is Pose
    assert_same(got, scan)


# -- zero copy ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("buffer_type", [bytes, bytearray, memoryview])
def test_decoded_arrays_are_read_only_views_of_the_message(buffer_type):
    image = np.arange(24, dtype=np.uint16).reshape(2, 3, 4)
    raw = buffer_type(codec.encode({"image": image, "other": [np.ones(3)]}))
    got = codec.decode(raw)
    whole = np.frombuffer(raw, dtype=np.uint8)
    for array in (got["image"], got["other"][0]):
        assert np.shares_memory(array, whole)
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[...] = 0
    np.testing.assert_array_equal(got["image"], image)


def test_array_data_is_aligned_to_eight_bytes_in_the_message():
    # A reader can use the data in place (no copy) at any nesting depth: its offset is a multiple of 8.
    for value in (np.arange(3.0), ["x", np.arange(3.0)], {"abc": (1, np.arange(3.0))}):
        raw = codec.encode(value)
        array = codec.decode(raw)
        while not isinstance(array, np.ndarray):
            array = array[-1] if isinstance(array, list) else (array["abc"][1] if isinstance(array, dict) else array)
        offset = array.__array_interface__["data"][0] - np.frombuffer(raw, np.uint8).__array_interface__["data"][0]
        assert offset % 8 == 0


def test_non_contiguous_input_arrays_decode_in_c_order():
    base = np.arange(12, dtype=np.int32).reshape(3, 4)
    for view in (base.T, base[:, ::2], base[::-1]):
        got = codec.roundtrip(view)
        assert got.flags.c_contiguous
        np.testing.assert_array_equal(got, view)


# -- refusals (encode) --------------------------------------------------------------------------------------------
def test_unregistered_dataclass_is_refused_with_how_to_fix():
    with pytest.raises(CodecError) as err:
        codec.encode({"pose": Unregistered()})
    assert str(err.value) == (
        "dataclass Unregistered is not registered with the codec; decorate it with @lkbuild.message "
        "(or lk_runtime.codec.register) so it can travel between processes."
    )


@pytest.mark.parametrize("array", [
    np.array([object(), 1], dtype=object), np.array(["a", "b"]), np.zeros(2, dtype="datetime64[s]"),
    np.zeros(2, dtype=[("x", "<f4"), ("y", "<f4")]),
])
def test_non_numeric_arrays_are_refused(array):
    with pytest.raises(CodecError) as err:
        codec.encode([array])
    assert str(err.value) == f"numpy dtype {array.dtype!r} cannot travel; use a numeric or bool dtype."


@pytest.mark.parametrize("value, type_name", [
    (object(), "builtins.object"), ({1, 2}, "builtins.set"), (lambda: 0, "builtins.function"),
    (Pose, "builtins.type"), (1 + 2j, "builtins.complex"),
])
def test_arbitrary_objects_are_refused_naming_their_type(value, type_name):
    with pytest.raises(CodecError) as err:
        codec.encode({"x": [value]})
    assert str(err.value) == (
        f"the codec cannot carry a value of type {type_name}: use numbers, str, bytes, None, numpy arrays, "
        "lists/tuples/dicts of those, or a registered dataclass."
    )


def test_too_deep_nesting_is_refused():
    value = []
    for _ in range(codec.MAX_DEPTH + 2):
        value = [value]
    with pytest.raises(CodecError, match="nested deeper than 64 levels"):
        codec.encode(value)


def test_only_dataclasses_can_be_registered():
    with pytest.raises(CodecError, match="only dataclasses can be registered"):
        message(int)


def test_a_name_cannot_be_registered_for_two_classes():
    @dataclasses.dataclass
    class Other:
        x: int = 0

    with pytest.raises(CodecError) as err:
        message(Other, name="test_codec.Pose")
    assert str(err.value).startswith("codec name 'test_codec.Pose' is already registered for ")


# -- refusals (decode) ---------------------------------------------------------------------------------------------
def test_bytes_from_another_codec_are_refused():
    with pytest.raises(CodecError) as err:
        codec.decode(b"\x80\x04K\x01.")  # a pickle
    assert str(err.value) == "not an lkbuild message (bad magic); was it encoded by a different codec?"


def test_trailing_bytes_are_refused():
    with pytest.raises(CodecError, match="malformed message: 1 trailing bytes"):
        codec.decode(codec.encode(1) + b"N")


def test_unknown_dataclass_name_is_refused_without_importing_it():
    raw = codec.encode(Pose(1.0, 2.0)).replace(b"test_codec.Pose", b"os.system_Pose_")
    with pytest.raises(CodecError) as err:
        codec.decode(raw)
    assert str(err.value) == "message carries dataclass 'os.system_Pose_', which is not registered in this process"


def test_dataclass_validation_failure_is_a_codec_error():
    raw = codec.encode(Positive(5)).replace(struct.pack("<q", 5), struct.pack("<q", -5))
    with pytest.raises(CodecError, match="dataclass 'test_codec.Positive' refused the decoded fields: "
                                         "value must be positive"):
        codec.decode(raw)


@pytest.mark.parametrize("data", ["LK\x01N", 42, None, np.arange(10)[::2]])
def test_non_bytes_input_is_a_codec_error(data):
    with pytest.raises(CodecError):
        codec.decode(data)


# -- fuzzing: hostile bytes only ever raise CodecError --------------------------------------------------------------
def _decode_or_codec_error(data):
    try:
        codec.decode(data)
    except CodecError:
        pass  # the only acceptable failure


SAMPLES = [
    codec.encode(v) for v in (
        None, -5, 2 ** 80, 1.5, "héllo", b"\x00\xff", [1, (2, "x")], {"k": [None, True], 3: b"v"},
        np.arange(6, dtype="<f4").reshape(2, 3), np.array(7, dtype=">i2"), np.zeros((0, 2)), np.float32(2.5),
        Pose(1.0, 2.0, "p"), Scan(np.arange(3), Pose(0.0, 0.0)),
        Blob(b"xyz"), ros_pose(), [ros_string("héllo"), {"pose": ros_pose(-2.0)}],
        {"image": np.ones((2, 2), dtype=np.uint8), "meta": {"ts": 1.0, "tags": ("a", "b")}},
    )
]


def test_every_truncation_and_single_byte_change_of_valid_messages():
    rng = random.Random(1234)
    for raw in SAMPLES:
        for end in range(len(raw)):
            _decode_or_codec_error(raw[:end])
        for i in range(len(raw)):
            for byte in {0x00, 0xFF, 0x7F, 0x80, raw[i] ^ 0x01, rng.randrange(256)}:
                _decode_or_codec_error(raw[:i] + bytes([byte]) + raw[i + 1:])


@settings(max_examples=300 * SCALE, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_after_the_magic_only_raise_codec_errors(tail):
    _decode_or_codec_error(codec.MAGIC + tail)
    _decode_or_codec_error(tail)


TAGS = b"NTFiIfsbltdaxDR"


@settings(max_examples=250 * SCALE, deadline=None)
@given(st.sampled_from(SAMPLES), st.lists(st.tuples(st.integers(0, 10 ** 6), st.binary(min_size=1, max_size=9),
                                                    st.sampled_from(["set", "insert", "delete"])), max_size=4),
       st.data())
def test_mutated_valid_messages_only_raise_codec_errors(raw, edits, data):
    raw = bytearray(raw)
    for position, chunk, kind in edits:
        at = 3 + position % max(1, len(raw) - 3)
        if kind == "set":
            raw[at:at + len(chunk)] = chunk
        elif kind == "insert":
            raw[at:at] = chunk
        else:
            del raw[at:at + len(chunk)]
    if data.draw(st.booleans()):  # aim at the structure: a valid tag or a huge length where one was
        at = data.draw(st.integers(3, max(3, len(raw) - 1)))
        raw[at:at + 5] = data.draw(st.sampled_from([bytes([t]) for t in TAGS] + [b"\xff\xff\xff\xff", b"l\xff\xff\xff\x7f"]))
    _decode_or_codec_error(bytes(raw))


def test_hostile_lengths_shapes_and_keys_are_refused():
    hostile = [
        b"LK\x01l\xff\xff\xff\xff",                             # a list of 4 billion items
        b"LK\x01d\xff\xff\xff\x7f" + b"N" * 8,                   # a dict claiming 2 billion entries
        b"LK\x01s\xff\xff\xff\xff" + b"a",                       # a 4 GB string
        b"LK\x01a\x03<f8\x02" + struct.pack("<QQQ", 2 ** 62, 2 ** 62, 2 ** 64 - 1),  # an exabyte array
        b"LK\x01a\x03<f8\x02" + struct.pack("<QQQ", 0, 2 ** 64 - 1, 0),              # empty, absurd shape
        b"LK\x01a\x02|O\x01" + struct.pack("<QQ", 1, 8) + b"\0" * 8,                  # object dtype
        b"LK\x01" + b"l\x01\x00\x00\x00" * 100 + b"N",                                # nested 100 deep
        b"LK\x01d\x01\x00\x00\x00l\x00\x00\x00\x00N",                                 # unhashable key
    ]
    for raw in hostile:
        with pytest.raises(CodecError):
            codec.decode(raw)


# -- external message types (ROS messages) ------------------------------------------------------------------
def test_a_registered_ros_message_round_trips_as_its_serialized_bytes():
    from rclpy.serialization import serialize_message

    pose = ros_pose(3.25, -1.0)
    raw = codec.encode({"goal": pose, "poses": [pose, ros_pose(0.0)]})
    got = codec.decode(raw)
    assert got == {"goal": pose, "poses": [pose, ros_pose(0.0)]}
    assert type(got["goal"]) is type(pose)
    name, data = codec.external_data(codec.encode(pose))
    assert name == "geometry_msgs/msg/Pose" and bytes(data) == serialize_message(pose)
    assert codec.external_frame(name, bytes(data)) == codec.encode(pose)  # what the ROS 2 adapter rebuilds


def test_external_data_is_none_for_any_other_value():
    assert codec.external_data(codec.encode({"x": 1.0})) is None
    assert codec.external_data(codec.encode(Blob(b"a"))[:-1]) is None


def test_an_external_message_whose_name_is_not_registered_is_refused_without_importing_it():
    import builtins
    import importlib

    imported = []

    def no_import(name, *args, **kwargs):
        imported.append(name)
        raise ImportError(name)

    raw = codec.external_frame("lifecycle_msgs/msg/State", b"\x00\x01\x00\x00\x00\x00\x00\x00")
    real = builtins.__import__, importlib.import_module
    builtins.__import__ = importlib.import_module = no_import
    try:
        with pytest.raises(CodecError) as caught:
            codec.decode(raw)
    finally:
        builtins.__import__, importlib.import_module = real
    assert imported == []
    assert "'lifecycle_msgs/msg/State' message, a type not registered" in str(caught.value)


def test_bytes_its_deserializer_refuses_are_a_codec_error():
    with pytest.raises(CodecError, match="malformed 'test_codec/Blob' message: not a blob"):
        codec.decode(codec.external_frame("test_codec/Blob", b"X"))
    ros_pose()
    with pytest.raises(CodecError, match="malformed 'geometry_msgs/msg/Pose' message"):
        codec.decode(codec.external_frame("geometry_msgs/msg/Pose", b"\x00\x01\x00\x00\x01"))


def test_an_external_name_cannot_be_registered_for_two_classes():
    class Other:
        pass

    with pytest.raises(CodecError, match="already registered"):
        codec.register_external(Other, "test_codec/Blob", bytes, Other)
    codec.register_external(Blob, "test_codec/Blob", lambda blob: b"B" + blob.data, _load_blob)  # again: fine


def test_an_unannotated_ros_message_is_refused_with_how_to_fix():
    from geometry_msgs.msg import AccelStamped  # registered nowhere in the tests

    with pytest.raises(CodecError, match="annotated with its class"):
        codec.encode(AccelStamped())


# -- carrying within one process (the native engine's hop) ---------------------------------------------------
def _assert_same_carry(got, want, where="value"):
    """``carry`` gives what a round trip gives: equal, same types, arrays read-only and C-ordered."""
    assert_same(got, want, where)
    if isinstance(want, np.ndarray):
        assert not got.flags.writeable and got.flags.c_contiguous, where
        with pytest.raises(ValueError):
            got.flags.writeable = True  # a view of immutable bytes, as a received array is
    elif isinstance(want, (list, tuple)):
        for i, (g, w) in enumerate(zip(got, want)):
            _assert_same_carry(g, w, f"{where}[{i}]")
    elif isinstance(want, dict):
        for key in want:
            _assert_same_carry(got[key], want[key], f"{where}[{key!r}]")


@fast
@given(values)
def test_carry_gives_what_a_round_trip_gives(value):
    _assert_same_carry(codec.carry(value), codec.roundtrip(value))


@fast
@given(values)
def test_a_carried_value_shares_nothing_mutable_with_the_sender(value):
    carried = codec.carry([value])
    assert carried is not value
    pending = [(carried, [value])]
    while pending:
        got, sent = pending.pop()
        if isinstance(sent, (list, dict, np.ndarray)):
            assert got is not sent
        if isinstance(sent, (list, tuple)):
            pending += zip(got, sent)
        elif isinstance(sent, dict):
            pending += [(got[k], sent[k]) for k in sent]


@pytest.mark.parametrize("value", [
    {"x": [object()]}, [np.array(["a", "b"])], [np.zeros(2, dtype="datetime64[s]")], {1, 2}, [1 + 2j],
    [np.zeros((1,) * 33)],
])
def test_carry_refuses_what_cannot_travel_with_the_codecs_message(value):
    with pytest.raises(CodecError) as carried:
        codec.carry(value)
    with pytest.raises(CodecError) as encoded:
        codec.encode(value)
    assert str(carried.value) == str(encoded.value)


def test_carry_refuses_values_nested_too_deep_like_the_codec():
    value: list = []
    for _ in range(codec.MAX_DEPTH + 2):
        value = [value]
    with pytest.raises(CodecError) as carried:
        codec.carry(value)
    with pytest.raises(CodecError) as encoded:
        codec.encode(value)
    assert str(carried.value) == str(encoded.value)
