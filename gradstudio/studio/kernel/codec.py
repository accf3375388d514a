"""The one place where a comm message becomes bytes and back.

Kernel → window: the typed :class:`~gradstudio.studio.kernel.schema.Message`
records, through :func:`gradstudio.studio.kernel.schema.encode` /
:func:`~gradstudio.studio.kernel.schema.decode`. Window → kernel: requests are
plain dicts with a ``"type"`` (their fields: :mod:`gradstudio.studio.kernel.service`),
through :func:`gradstudio.studio.wire.pack` / ``unpack``. Both are strict JSON plus one binary buffer per array — never a pickle.
The comm's ``data`` carries the JSON as text, so the functions here take and give
``str``; anything malformed raises :class:`CodecError` (a ``ValueError``), and only that.
"""
from __future__ import annotations

from gradstudio.studio import wire
from gradstudio.studio.kernel import schema

CodecError = schema.RecordError


def _text(text) -> bytes:
    if isinstance(text, str):
        return text.encode("utf-8")
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    raise CodecError(f"a message is JSON text, not {type(text).__name__}")


def encode(message: schema.Message) -> tuple:
    """``(json_text, [bytes, …])`` for one kernel message (a schema Message record)."""
    text, buffers = schema.encode(message)
    return bytes(text).decode("ascii"), [bytes(b) for b in buffers]


def decode(text, buffers=()) -> schema.Message:
    """The Message :func:`encode` made; CodecError for anything else."""
    return schema.decode(_text(text), list(buffers))


def encode_request(request: dict) -> tuple:
    """``(json_text, [bytes, …])`` for one request of the window (a dict with a str ``"type"``)."""
    if not isinstance(request, dict) or not isinstance(request.get("type"), str):
        raise CodecError("a request is an object with a string \"type\"")
    try:
        text, buffers = wire.pack(request)
    except wire.WireError as error:
        raise CodecError(f"cannot send this request: {error}") from None
    return bytes(text).decode("ascii"), [bytes(b) for b in buffers]


def decode_request(text, buffers=()) -> dict:
    """The request :func:`encode_request` made; CodecError unless it is a dict with a str ``"type"``."""
    try:
        request = wire.unpack(_text(text), list(buffers))
    except wire.WireError as error:
        raise CodecError(f"an unreadable request: {error}") from None
    if not isinstance(request, dict) or not isinstance(request.get("type"), str):
        raise CodecError("a request is an object with a string \"type\"")
    return request
