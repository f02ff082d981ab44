"""Values at the boundary with foreign dora nodes, both ways, exactly; misfits named by their port."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from lkbuild.runtime_stubs.lk_runtime import boundary, images
from lkbuild.runtime_stubs.lk_runtime.boundary import BoundaryError, Raw, from_arrow, to_arrow

PORT = "cam.out -> echo.x"


@pytest.mark.parametrize("value, fmt, arrow, metadata", [
    (np.array([1, 2, 3], dtype=np.int32), "array", pa.array([1, 2, 3], pa.int32()), {}),
    (np.arange(6, dtype=np.float32).reshape(2, 3), "array", pa.array(np.arange(6, dtype=np.float32)), {"shape": [2, 3]}),
    ([1.5, 2.5], "array", pa.array([1.5, 2.5]), {}),
    (7, "number", pa.array([7]), {}),
    (True, "number", pa.array([True]), {}),
    (np.float32(0.5), "number", pa.array(np.array([0.5], dtype=np.float32)), {}),
    ("hi", "string", pa.array(["hi"]), {}),
    (b"\x00\xff", "bytes", pa.array([0, 255], pa.uint8()), {}),
    (np.array([1, 2]), "auto", pa.array([1, 2]), {}),
    (3.0, "auto", pa.array([3.0]), {}),
    ("x", "auto", pa.array(["x"]), {}),
])
def test_values_become_plain_arrow_arrays(value, fmt, arrow, metadata):
    got, meta = to_arrow(value, fmt, PORT)
    assert got.equals(arrow) and meta == metadata


def test_an_image_is_a_flat_uint8_array_with_encoding_width_height_and_comes_back_as_hwc():
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    flat, meta = to_arrow(image, "image", PORT)
    assert flat.type == pa.uint8() and flat.to_pylist() == list(range(18))
    assert meta == {"encoding": "bgr8", "width": 3, "height": 2}
    back = from_arrow(flat, meta, "image", PORT)
    assert back.shape == (2, 3, 3) and back.dtype == np.uint8 and np.array_equal(back, image)


def test_what_comes_back_has_the_type_and_shape_it_was_sent_with():
    for value in (np.arange(12, dtype=np.int16).reshape(3, 4), np.array([0.25, 1.0])):
        arrow, meta = to_arrow(value, "array", PORT)
        back = from_arrow(arrow, meta, "array", PORT)
        assert back.dtype == value.dtype and np.array_equal(back, value)
    assert from_arrow(*to_arrow(5, "number", PORT), "number", PORT) == 5
    assert from_arrow(*to_arrow("hé", "string", PORT), "string", PORT) == "hé"
    assert from_arrow(*to_arrow(b"ab", "bytes", PORT), "bytes", PORT) == b"ab"


def test_a_received_array_is_a_view_of_the_arrow_buffer():
    arrow = pa.array(np.arange(1000, dtype=np.float64))
    array = from_arrow(arrow, {}, "array", PORT)
    assert np.shares_memory(array, np.frombuffer(arrow.buffers()[1], dtype=np.float64))


def test_raw_gives_the_arrow_value_and_its_metadata():
    arrow = pa.array(["a", "b"])
    assert from_arrow(arrow, {"k": 1}, "raw", PORT) == Raw(arrow, {"k": 1})


@pytest.mark.parametrize("value, fmt, says", [
    ("text", "number", "expected an int, float or bool; received a str"),
    (np.array(["a"]), "array", "expected a numpy array of numbers or bools"),
    (np.zeros((2, 2, 2), dtype=np.uint8), "image", "no image encoding has 2 channels of uint8"),
    ({"a": 1}, "auto", "a dict has no Arrow form"),
    (5, "string", "expected a str; received an int"),
])
def test_a_value_that_does_not_fit_is_refused_naming_the_port(value, fmt, says):
    with pytest.raises(BoundaryError) as err:
        to_arrow(value, fmt, PORT)
    assert str(err.value).startswith(f"port {PORT} (format {fmt}): ")
    assert says in str(err.value)


@pytest.mark.parametrize("arrow, metadata, fmt, says", [
    (pa.array(["a"]), {}, "array", "numbers or bools; received one of string"),
    (pa.array([1, 2]), {}, "number", "expected one value; received an array of 2"),
    (pa.array([1, None]), {}, "array", "1 null value"),
    (pa.array([1, 2, 3]), {"shape": [2, 2]}, "array", "holds 4 values; the array has 3"),
    (pa.array([0] * 12, pa.uint8()), {"encoding": "bgr8", "width": 2}, "image", "no height in its metadata"),
    (pa.array([0] * 11, pa.uint8()), {"encoding": "bgr8", "width": 2, "height": 2}, "image", "is 12 bytes; received 11"),
    (pa.array([0] * 4, pa.uint8()), {"encoding": "yuv9", "width": 2, "height": 2}, "image", "unknown image encoding"),
    (pa.array([1], pa.int64()), {}, "string", "expected an Arrow string array"),
])
def test_a_received_value_that_does_not_fit_is_refused_naming_the_port(arrow, metadata, fmt, says):
    with pytest.raises(BoundaryError) as err:
        from_arrow(arrow, metadata, fmt, PORT)
    assert str(err.value).startswith(f"port {PORT} (format {fmt}): ") and says in str(err.value)


def test_images_with_padded_rows_and_16_bit_depth():
    padded = np.zeros((2, 8), dtype=np.uint8)  # 2 rows of 2 rgb8 pixels (6 bytes) + 2 bytes padding
    padded[:, :6] = np.arange(12, dtype=np.uint8).reshape(2, 6)
    image = images.from_flat(padded.tobytes(), "rgb8", 2, 2, step=8)
    assert image.shape == (2, 2, 3) and image.reshape(-1).tolist() == list(range(12))
    depth = np.array([[1, 2], [3, 65535]], dtype=np.uint16)
    flat, encoding, width, height = images.to_flat(depth)
    assert (encoding, width, height) == ("mono16", 2, 2)
    assert np.array_equal(images.from_flat(flat, encoding, width, height)[..., 0], depth)


def test_formats_are_the_ones_documented():
    assert boundary.INPUT_FORMATS == ("auto", "array", "number", "string", "bytes", "image")
    assert boundary.OUTPUT_FORMATS == ("raw", "array", "number", "string", "bytes", "image")
