"""The data-only message format: what round-trips, and every malformed input is one WireError."""
from __future__ import annotations

import json
import math
import pickle
import struct

import numpy as np
import pytest

from gradstudio.studio import wire
from gradstudio.studio.wire import WireError


def roundtrip(value):
    return wire.decode_frame(wire.encode_frame(value))


def test_plain_values_round_trip_and_non_finite_floats_are_explicit():
    value = {"a": [1, -2, 3.5, None, True, False, "é\u2028x"], "nested": {"k": [[]]},
             "big": 10 ** 30, "nan": math.nan, "inf": math.inf, "-inf": -math.inf}
    back = roundtrip(value)
    assert back["a"] == value["a"] and back["nested"] == {"k": [[]]} and back["big"] == 10 ** 30
    assert math.isnan(back["nan"]) and back["inf"] == math.inf and back["-inf"] == -math.inf
    text, buffers = wire.pack({"x": math.nan})
    assert buffers == [] and json.loads(text, parse_constant=pytest.fail) == {"x": {"$float": "nan"}}


def test_tuples_become_lists_and_numpy_scalars_numbers():
    assert roundtrip((1, (2, 3))) == [1, [2, 3]]
    back = roundtrip([np.float32(1.5), np.int64(7), np.bool_(True)])
    assert back == [1.5, 7, True] and [type(v) for v in back] == [float, int, bool]


def test_dollar_keys_of_user_dicts_cannot_pose_as_special_objects():
    value = {"$float": "nan", "$array": 0, "$$x": 1}
    assert roundtrip(value) == value


@pytest.mark.parametrize("name", sorted(wire.DTYPES))
@pytest.mark.parametrize("shape", [(), (0, 3), (2, 3)])
def test_arrays_of_every_allowed_dtype_round_trip(name, shape):
    array = (np.arange(math.prod(shape)) % 2 == 1 if name == "bool"
             else np.arange(math.prod(shape)).astype(name)).reshape(shape)
    back = roundtrip({"a": array})["a"]
    assert back.dtype == array.dtype and back.shape == shape and np.array_equal(back, array)
    assert back.flags.writeable


def test_big_endian_and_strided_arrays_arrive_as_native_c_order():
    array = np.arange(12, dtype=">f8").reshape(3, 4)[:, ::2]
    back = roundtrip(array)
    assert back.dtype == np.float64 and back.dtype.isnative and np.array_equal(back, array)


@pytest.mark.parametrize("value", [object(), {1: "int key"}, np.array(["text"]), np.array([{}], dtype=object),
                                   b"bytes", {1.5}])
def test_values_outside_the_format_cannot_be_sent(value):
    with pytest.raises(WireError):
        wire.encode_frame(value)


def test_nesting_is_limited_on_both_sides():
    deep = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(WireError):
        wire.encode_frame(deep)
    frame = _frame(b"[" * 100000 + b"]" * 100000)
    with pytest.raises(WireError):
        wire.decode_frame(frame)


def _frame(text: bytes, buffers=(), version=wire.VERSION, magic=wire.MAGIC) -> bytes:
    head = struct.pack("!4sBxHI", magic, version, len(buffers), len(text))
    return head + b"".join(struct.pack("!Q", len(b)) for b in buffers) + text + b"".join(buffers)


F8 = np.arange(4, dtype="<f8").tobytes()


@pytest.mark.parametrize("frame", [
    pytest.param(b"junk" * 10, id="junk"),
    pytest.param(pickle.dumps({"a": 1}), id="a pickle"),
    pytest.param(_frame(b"{}", version=2), id="another version"),
    pytest.param(_frame(b"{}")[:-1], id="cut short"),
    pytest.param(_frame(b"{}") + b"x", id="trailing bytes"),
    pytest.param(_frame(b"{}")[:5] + b"\x01" + _frame(b"{}")[6:], id="reserved byte set"),
    pytest.param(_frame(b'{"a": NaN}'), id="a NaN token"),
    pytest.param(_frame(b'{"a": Infinity}'), id="an Infinity token"),
    pytest.param(_frame(b'{"a": 1, "a": 2}'), id="a duplicate key"),
    pytest.param(_frame(b'{"a": '), id="invalid JSON"),
    pytest.param(_frame(b'"\xff"'), id="invalid UTF-8"),
    pytest.param(_frame(b'{"$code": "os.system"}'), id="an unknown special key"),
    pytest.param(_frame(b'{"$float": "nan", "x": 1}'), id="a $float with more keys"),
    pytest.param(_frame(b'{"$float": "NaN"}'), id="a $float spelt otherwise"),
    pytest.param(_frame(b'{"$array": 0, "dtype": "object", "shape": [4]}', [F8]), id="dtype object"),
    pytest.param(_frame(b'{"$array": 0, "dtype": ">f8", "shape": [4]}', [F8]), id="a dtype spelt otherwise"),
    pytest.param(_frame(b'{"$array": 0, "dtype": "float64", "shape": [5]}', [F8]), id="shape too big"),
    pytest.param(_frame(b'{"$array": 0, "dtype": "float64", "shape": [-4]}', [F8]), id="negative shape"),
    pytest.param(_frame(b'{"$array": 0, "dtype": "float64", "shape": [4.0]}', [F8]), id="float shape"),
    pytest.param(_frame(b'{"$array": true, "dtype": "float64", "shape": [4]}', [F8]), id="bool index"),
    pytest.param(_frame(b'{"$array": 1, "dtype": "float64", "shape": [4]}', [F8]), id="no such buffer"),
    pytest.param(_frame(b'[{"$array": 0, "dtype": "float64", "shape": [4]},'
                        b'{"$array": 0, "dtype": "float64", "shape": [4]}]', [F8]), id="a buffer used twice"),
    pytest.param(_frame(b'1', [F8]), id="a buffer not used"),
    pytest.param(_frame(b'{"$array": 0, "dtype": "float64", "shape": [4], "x": 1}', [F8]), id="extra key"),
])
def test_malformed_input_is_one_wire_error(frame):
    with pytest.raises(WireError):
        wire.decode_frame(frame)


def test_a_frame_fed_byte_by_byte_gives_each_value_once():
    frames = wire.encode_frame({"x": np.eye(2)}) + wire.encode_frame("second")
    reader = wire.FrameReader()
    values = []
    for i in range(len(frames)):
        values += reader.feed(frames[i:i + 1])
    assert np.array_equal(values[0]["x"], np.eye(2)) and values[1] == "second" and reader.pending == 0


def test_an_announced_size_over_the_limits_is_refused_before_the_body_arrives():
    limits = wire.Limits(json_bytes=1000, buffer_bytes=1000)
    with pytest.raises(WireError, match="too big"):
        wire.FrameReader(limits=limits).feed(struct.pack("!4sBxHI", wire.MAGIC, 1, 0, 1001))
    with pytest.raises(WireError, match="too big"):
        wire.FrameReader(limits=limits).feed(struct.pack("!4sBxHI", wire.MAGIC, 1, 1, 2) + struct.pack("!Q", 2 ** 40))
    with pytest.raises(WireError, match="too many"):
        wire.FrameReader().feed(struct.pack("!4sBxHI", wire.MAGIC, 1, 65535, 2))


def test_a_wrong_start_is_refused_at_once_and_the_reader_stays_broken():
    reader = wire.FrameReader()
    with pytest.raises(WireError):
        reader.feed(b"\x80")
    with pytest.raises(WireError):
        reader.feed(wire.encode_frame(1))


def test_too_big_to_send_is_refused():
    with pytest.raises(WireError, match="too big"):
        wire.encode_frame("x" * 2000, limits=wire.Limits(json_bytes=1000))


@pytest.mark.parametrize("container", ["list", "dict"])
def test_the_depth_limit_counts_a_plain_item_as_a_level(container):
    """Plain items are written without a call of their own; the limit stays where it was."""
    limits = wire.Limits(depth=4)

    def nested(levels):
        value = 1.5
        for _ in range(levels):
            value = [value] if container == "list" else {"k": value}
        return value
    wire.pack(nested(4), limits=limits)                  # the item at depth 4: allowed
    with pytest.raises(WireError, match="nested more than 4"):
        wire.pack(nested(5), limits=limits)
    assert wire.unpack(*wire.pack([1, 2.5, "x", None, True, float("nan")]))[:5] == [1, 2.5, "x", None, True]
