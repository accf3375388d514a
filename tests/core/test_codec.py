"""The comm's message format: strict JSON and array buffers, one pair of functions."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from gradstudio.studio.kernel import codec


def test_a_message_with_arrays_round_trips_with_its_buffers():
    text, buffers = codec.encode({"type": "tensors", "value": np.arange(6.0).reshape(2, 3), "nan": float("nan")})
    assert isinstance(text, str) and len(buffers) == 1 and isinstance(buffers[0], bytes)
    message = codec.decode(text, buffers)
    assert message["type"] == "tensors" and np.array_equal(message["value"], np.arange(6.0).reshape(2, 3))
    assert np.isnan(message["nan"])


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
        codec.decode(text, buffers)
