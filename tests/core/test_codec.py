"""The comm's message format: typed records one way, request dicts the other; strict
JSON and array buffers, never a pickle."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from gradstudio.studio.kernel import codec, schema


def test_a_message_with_arrays_round_trips_as_the_same_record():
    sent = schema.JacobianResult(call=3, leaf="x", m=2, n=3, root_shape=(2,), leaf_shape=(3,),
                                 jacobian=np.arange(6.0).reshape(2, 3), agree=True)
    text, buffers = codec.encode(sent)
    assert isinstance(text, str) and len(buffers) == 1 and isinstance(buffers[0], bytes)
    received = codec.decode(text, buffers)
    assert isinstance(received, schema.JacobianResult) and received == sent
    assert np.array_equal(received.jacobian, np.arange(6.0).reshape(2, 3))


def test_the_comm_carries_what_the_pipe_carries():
    sent = schema.Done(id=4, request="check", interrupted=True)
    assert codec.decode(*codec.encode(sent)) == schema.decode_frame(schema.encode_frame(sent))


def test_only_message_records_are_sent():
    with pytest.raises(codec.CodecError):
        codec.encode({"type": "done", "id": 1})
    with pytest.raises(codec.CodecError):
        codec.encode(schema.OutputData("stdout", "a record, not a message"))


def test_a_request_round_trips_as_a_dict():
    text, buffers = codec.encode_request({"type": "jacobian", "call": 1, "v": np.ones(2), "nan": float("nan")})
    request = codec.decode_request(text, buffers)
    assert request["type"] == "jacobian" and np.array_equal(request["v"], np.ones(2)) and np.isnan(request["nan"])


@pytest.mark.parametrize("text, buffers", [
    ("[1, 2]", []),                                   # not an object
    ('{"no_type": 1}', []),
    ('{"type": 3}', []),
    ('{"type": "x", "a": {"$array": 0, "dtype": "float64", "shape": [2]}}', [b"\0" * 8]),  # short buffer
    (pickle.dumps({"type": "x"}), []),                # a pickle is not JSON
    (None, []),
    ('{"type": "x"}', [b"unused"]),
])
def test_anything_else_is_a_codec_error(text, buffers):
    with pytest.raises(codec.CodecError):
        codec.decode_request(text, buffers)
    with pytest.raises(codec.CodecError):
        codec.decode(text, buffers)


@pytest.mark.parametrize("text", ['{"type": "x"}', '{"type": "done"}', '{"type": "done", "id": 1, "extra": 2}',
                                  '{"type": "output", "stream": "stdout", "text": "a record, not a message"}'])
def test_a_message_must_be_exactly_one_known_message_record(text):
    with pytest.raises(codec.CodecError):
        codec.decode(text, [])
