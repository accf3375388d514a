"""The one place where a kernel message becomes bytes and back, on the comm.

``encode(message) -> (json_text, buffers)`` and ``decode(json_text, buffers) ->
message`` carry the window's messages (:mod:`gradstudio.studio.kernel.records`
dicts today) as strict JSON plus one binary buffer per array, through
:mod:`gradstudio.studio.wire` — never a pickle. Both sides of the comm
(:mod:`gradstudio.studio.kernel.bridge` in the kernel, the window's Jupyter
client) call only these two functions, so switching to typed records is one edit
here. Anything malformed raises :class:`CodecError` (a ``ValueError``), and only that.
"""
from __future__ import annotations

from gradstudio.studio import wire

CodecError = wire.WireError


def encode(message: dict) -> tuple:
    """``(json_text, [bytes, …])`` for a message dict with a ``"type"``."""
    text, buffers = wire.pack(message)
    return text.decode("ascii"), [bytes(b) for b in buffers]


def decode(text, buffers=()) -> dict:
    """The message :func:`encode` made; CodecError unless it is a dict with a str ``"type"``."""
    if not isinstance(text, (str, bytes, bytearray, memoryview)):
        raise CodecError(f"a message is JSON text, not {type(text).__name__}")
    message = wire.unpack(text, list(buffers))
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise CodecError("a message is an object with a string \"type\"")
    return message
