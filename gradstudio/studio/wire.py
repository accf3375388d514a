"""A strict, data-only message format for talking to a process that runs user code.

A process that runs a user's script is not trusted by the one that started it:
the script can write anything on any pipe it inherited. So what crosses the
boundary is plain data — never a pickle, which runs code when it is read —
and the reader checks every byte before it believes any of it. This module
owns that format and nothing else; it knows nothing about who speaks it
(``gradstudio check``'s child today, the Jupyter kernel's comm buffers later:
:func:`pack` / :func:`unpack` give the JSON text and the binary buffers
separately for that).

A message is built from ``None``, ``bool``, ``int``, ``float``, ``str``,
lists (tuples are sent as lists), dicts with ``str`` keys, and numpy arrays
(numpy scalars are sent as Python numbers). It travels as JSON written with
``allow_nan=False``, plus one binary buffer per array:

- a non-finite float is the object ``{"$float": "nan" | "inf" | "-inf"}``;
- an array is ``{"$array": i, "dtype": "float64", "shape": [2, 2]}`` where
  ``i`` indexes the buffers, the dtype is one of :data:`DTYPES` (always
  little-endian, C order), and the buffer's length must be exactly
  ``prod(shape) * itemsize``; every buffer is used exactly once;
- a dict key that starts with ``$`` is sent with one more ``$`` in front, so no
  user key can pose as one of the two special objects above.

A frame on a byte stream is a 12-byte header — the magic ``b"GSWI"``, the
version byte, a zero byte, the number of buffers (u16) and the JSON length
(u32), all big-endian — then one u64 length per buffer, the JSON text (UTF-8)
and the buffers. Sizes are checked against :class:`Limits` as soon as the header
arrives, before anything is allocated. Anything malformed — wrong magic or
version, too big, truncated, trailing bytes, invalid UTF-8, a ``NaN`` token, a
duplicate key, an unknown ``$`` key, a dtype not allowed, a shape that does not
match its buffer, nesting too deep — raises :class:`WireError`, and only that.
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass

import numpy as np

MAGIC = b"GSWI"
VERSION = 1
_HEADER = struct.Struct("!4sBxHI")
_LENGTH = struct.Struct("!Q")
HEADER_SIZE = _HEADER.size

# Names a dtype may have on the wire, and the exact numpy dtype each stands for.
DTYPES = {name: np.dtype(name).newbyteorder("<") for name in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128")}
_NAME_OF = {np.dtype(name).newbyteorder("<"): name for name in DTYPES}

_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_SCALARS = frozenset((type(None), bool, int, float, str))     # what json.loads makes besides lists and dicts
_ARRAY_KEYS = frozenset(("$array", "dtype", "shape"))


class WireError(ValueError):
    """A message that cannot be sent, or bytes that are not a valid message."""


@dataclass(frozen=True)
class Limits:
    """The most a single message may hold (checked on both sides)."""

    json_bytes: int = 64 * 1024 ** 2
    buffers: int = 4096
    buffer_bytes: int = 2 * 1024 ** 3      # all buffers of one message together
    depth: int = 64
    ndim: int = 32


DEFAULT_LIMITS = Limits()


# --------------------------------------------------------------------------- values <-> JSON + buffers
def pack(value, *, limits: Limits = DEFAULT_LIMITS) -> tuple:
    """``(json_bytes, [buffer, …])`` for ``value``; raises WireError if it holds
    anything but the types listed in the module docstring, or is too big."""
    buffers: list = []
    tree = _to_json(value, buffers, 0, limits)
    try:
        text = json.dumps(tree, allow_nan=False, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    except (ValueError, RecursionError) as error:
        raise WireError(f"cannot send this value: {error}") from None
    _check_sizes(len(text), [len(b) for b in buffers], limits)
    return text, buffers


def unpack(text, buffers, *, limits: Limits = DEFAULT_LIMITS):
    """The value that :func:`pack` made ``(text, buffers)`` from; WireError if malformed."""
    buffers = [memoryview(b).cast("B") for b in buffers]
    _check_sizes(len(text), [b.nbytes for b in buffers], limits)
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise WireError(f"the message is not UTF-8: {error}") from None
    try:
        tree = json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except WireError:
        raise
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise WireError(f"the message is not valid JSON: {error}") from None
    used = [False] * len(buffers)
    value = _from_json(tree, buffers, used, 0, limits)
    if not all(used):
        raise WireError(f"buffer {used.index(False)} is not used by the message")
    return value


def _check_sizes(json_bytes: int, buffer_sizes: list, limits: Limits):
    if json_bytes > limits.json_bytes:
        raise WireError(f"the message is too big ({json_bytes} bytes of JSON, at most {limits.json_bytes})")
    if len(buffer_sizes) > limits.buffers:
        raise WireError(f"too many buffers ({len(buffer_sizes)}, at most {limits.buffers})")
    total = sum(buffer_sizes)
    if total > limits.buffer_bytes:
        raise WireError(f"the buffers are too big ({total} bytes, at most {limits.buffer_bytes})")


_PLAIN = frozenset({type(None), bool, str, int})   # sent as they are (exact types: not np.bool_ …)


def _to_json(value, buffers: list, depth: int, limits: Limits):
    if depth > limits.depth:
        raise WireError(f"the value is nested more than {limits.depth} levels deep")
    kind = type(value)                  # the exact common types first: a message is mostly these
    if kind in _PLAIN:
        return value
    if kind is float:
        return value if math.isfinite(value) else _to_json(np.float64(value), buffers, depth, limits)
    if kind is np.ndarray:              # (a graph's values: hundreds per message)
        return _array_to_json(value, buffers, limits)
    inline = depth < limits.depth       # a plain item one level down is within the limit
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise WireError(f"dict keys must be str, not {type(key).__name__}")
            item_kind = type(item)
            if inline and (item_kind in _PLAIN or (item_kind is float and math.isfinite(item))):
                out["$" + key if key[:1] == "$" else key] = item
            else:
                out["$" + key if key[:1] == "$" else key] = _to_json(item, buffers, depth + 1, limits)
        return out
    if kind is list or kind is tuple:
        return [item if inline and (type(item) in _PLAIN or (type(item) is float and math.isfinite(item)))
                else _to_json(item, buffers, depth + 1, limits) for item in value]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isfinite(value):
            return value
        return {"$float": "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"}
    if isinstance(value, (list, tuple)):
        return [_to_json(item, buffers, depth + 1, limits) for item in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise WireError(f"dict keys must be str, not {type(key).__name__}")
            out["$" + key if key.startswith("$") else key] = _to_json(item, buffers, depth + 1, limits)
        return out
    if isinstance(value, np.ndarray):
        return _array_to_json(value, buffers, limits)
    raise WireError(f"cannot send a value of type {type(value).__name__}")


def _array_to_json(value: np.ndarray, buffers: list, limits: Limits) -> dict:
    dtype = value.dtype
    name = _NAME_OF.get(dtype) if dtype.byteorder != ">" else None    # (a native dtype: no new one made)
    if name is None:
        name = _NAME_OF.get(dtype.newbyteorder("<"))
    if name is None:
        raise WireError(f"cannot send an array of dtype {value.dtype}")
    if value.ndim > limits.ndim:
        raise WireError(f"cannot send an array with {value.ndim} dimensions (at most {limits.ndim})")
    data = np.asarray(value, dtype=DTYPES[name], order="C")
    buffers.append(memoryview(data.reshape(-1).view(np.uint8)))
    return {"$array": len(buffers) - 1, "dtype": name, "shape": list(data.shape)}


def _from_json(tree, buffers: list, used: list, depth: int, limits: Limits):
    if depth > limits.depth:
        raise WireError(f"the message is nested more than {limits.depth} levels deep")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, list):
        if depth < limits.depth and all(type(item) in _SCALARS for item in tree):
            return tree          # numbers and strings come back as json.loads made them
        return [_from_json(item, buffers, used, depth + 1, limits) for item in tree]
    # json.loads makes only the types above and dicts
    if "$float" in tree:
        if len(tree) != 1 or not isinstance(tree["$float"], str) or tree["$float"] not in _FLOATS:
            raise WireError(f"a malformed $float object: {_preview(tree)}")
        return _FLOATS[tree["$float"]]
    if "$array" in tree:
        return _array(tree, buffers, used, limits)
    out = {}
    for key, item in tree.items():
        if key.startswith("$"):
            if not key.startswith("$$"):
                raise WireError(f"unknown special key {_preview(key)}")
            key = key[1:]
        out[key] = _from_json(item, buffers, used, depth + 1, limits)
    return out


def _array(tree: dict, buffers: list, used: list, limits: Limits) -> np.ndarray:
    if set(tree) != _ARRAY_KEYS:
        raise WireError(f"a malformed $array object: {_preview(tree)}")
    index, name, shape = tree["$array"], tree["dtype"], tree["shape"]
    if type(index) is not int or not 0 <= index < len(buffers):
        raise WireError(f"an array refers to buffer {_preview(index)}, which does not exist")
    if used[index]:
        raise WireError(f"buffer {index} is used twice")
    used[index] = True
    if not isinstance(name, str) or name not in DTYPES:
        raise WireError(f"dtype {_preview(name)} is not allowed")
    if (not isinstance(shape, list) or len(shape) > limits.ndim
            or not all(type(n) is int and n >= 0 for n in shape)):
        raise WireError(f"a malformed array shape: {_preview(shape)}")
    dtype = DTYPES[name]
    buffer = buffers[index]
    if math.prod(shape) * dtype.itemsize != buffer.nbytes:
        raise WireError(f"an array of shape {tuple(shape)} and dtype {name} does not fit "
                        f"its buffer of {buffer.nbytes} bytes")
    # a copy: the array owns its memory, is writable, and is in native byte order
    return np.frombuffer(buffer, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _no_constant(name):
    raise WireError(f"the message holds {name}, which is not JSON")


def _no_duplicates(pairs):
    out = dict(pairs)
    if len(out) != len(pairs):
        raise WireError("the message has a duplicate key")
    return out


def _preview(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


# --------------------------------------------------------------------------- frames on a byte stream
def encode_frame(value, *, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """One frame (header, buffer lengths, JSON, buffers) holding ``value``."""
    text, buffers = pack(value, limits=limits)
    parts = [_HEADER.pack(MAGIC, VERSION, len(buffers), len(text))]
    parts += [_LENGTH.pack(len(b)) for b in buffers]
    parts.append(text)
    parts += buffers
    return b"".join(parts)


def decode_frame(frame, *, limits: Limits = DEFAULT_LIMITS):
    """The value in ``frame``, which must be exactly one whole frame."""
    reader = FrameReader(limits=limits)
    values = reader.feed(frame)
    if reader.pending or len(values) != 1:
        raise WireError("not exactly one whole frame" if not reader.pending
                        else f"the frame is cut short ({reader.pending} bytes of an unfinished frame)")
    return values[0]


class FrameReader:
    """Turns a byte stream, fed in pieces of any size, into values.

    ``feed`` returns the values whose frames are now complete and keeps the
    rest; a header that is malformed or announces more than the limits allow
    raises WireError at once, without waiting for (or allocating) the body.
    After a WireError the stream is unusable: frames have no resync point."""

    def __init__(self, *, limits: Limits = DEFAULT_LIMITS):
        self.limits = limits
        self._data = bytearray()
        self._need: tuple | None = None    # (header+lengths size, json size, buffer sizes) once known
        self._broken = False

    @property
    def pending(self) -> int:
        """Bytes received that do not yet make a whole frame."""
        return len(self._data)

    def feed(self, data) -> list:
        if self._broken:
            raise WireError("the stream already held something unreadable")
        self._data += data
        values = []
        try:
            while True:
                value = self._next()
                if value is _INCOMPLETE:
                    return values
                values.append(value)
        except WireError:
            self._broken = True
            raise

    def _next(self):
        data = self._data
        if self._need is None:
            if len(data) < HEADER_SIZE:
                if data and not MAGIC.startswith(bytes(data[:len(MAGIC)])):
                    raise WireError(f"not a frame (it starts with {_preview(bytes(data[:8]))})")
                return _INCOMPLETE
            magic, version, count, json_size = _HEADER.unpack_from(data)
            if magic != MAGIC:
                raise WireError(f"not a frame (it starts with {_preview(bytes(data[:8]))})")
            if version != VERSION:
                raise WireError(f"frame version {version}, this reader knows {VERSION}")
            if data[5] != 0:
                raise WireError("a malformed frame header")
            if count > self.limits.buffers:
                _check_sizes(json_size, [0] * count, self.limits)
            head = HEADER_SIZE + count * _LENGTH.size
            if len(data) < head:
                _check_sizes(json_size, [], self.limits)
                return _INCOMPLETE
            sizes = [_LENGTH.unpack_from(data, HEADER_SIZE + i * _LENGTH.size)[0] for i in range(count)]
            _check_sizes(json_size, sizes, self.limits)
            self._need = (head, json_size, sizes)
        head, json_size, sizes = self._need
        end = head + json_size + sum(sizes)
        if len(data) < end:
            return _INCOMPLETE
        frame = memoryview(bytes(data[:end]))
        del data[:end]
        self._need = None
        text = frame[head:head + json_size]
        buffers, offset = [], head + json_size
        for size in sizes:
            buffers.append(frame[offset:offset + size])
            offset += size
        return unpack(bytes(text), buffers, limits=self.limits)


_INCOMPLETE = object()
