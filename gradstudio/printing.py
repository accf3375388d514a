"""PyTorch-identical ``repr``/``str`` of tensors.

This module owns the textual representation of GradStudio tensors.  It is a
faithful port of ``torch/_tensor_str.py`` (PyTorch 2.13) that works on plain
numpy arrays, so that ``format_tensor(arr)`` prints exactly what
``repr(torch.from_numpy(arr))`` prints -- number formatting (``int_mode`` /
``sci_mode`` / precision / column width), summarisation with ``...``,
line-width wrapping, nested bracket indentation, nan/inf/-0., bool tensors, 0-d and empty tensors, and the ``size=``/``dtype=``/``requires_grad=``
/``grad_fn=`` suffixes including their wrapping onto a new line.

The module deliberately imports nothing from :mod:`gradstudio`; the tensor
class simply calls :func:`format_tensor` with its data, ``requires_grad`` flag
and the name of its ``grad_fn`` node.

Public API::

    format_tensor(data, *, requires_grad=False, grad_fn_name=None) -> str
    set_printoptions(precision=None, threshold=None, edgeitems=None,
                     linewidth=None, profile=None, sci_mode=None) -> None
    get_printoptions() -> dict
    printoptions(**kwargs)          # context manager
    DTYPE_NAMES                     # numpy dtype -> "torch.float32", ...
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, Iterator

import numpy as np

__all__ = [
    "DEFAULT_DTYPE",
    "DTYPE_NAMES",
    "format_tensor",
    "get_printoptions",
    "printoptions",
    "set_printoptions",
]

inf = math.inf

# ---------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------

#: numpy dtype -> the name torch prints for the corresponding torch dtype.
DTYPE_NAMES: dict[np.dtype, str] = {
    np.dtype(np.float16): "torch.float16",
    np.dtype(np.float32): "torch.float32",
    np.dtype(np.float64): "torch.float64",
    np.dtype(np.int8): "torch.int8",
    np.dtype(np.int16): "torch.int16",
    np.dtype(np.int32): "torch.int32",
    np.dtype(np.int64): "torch.int64",
    np.dtype(np.uint8): "torch.uint8",
    np.dtype(np.uint16): "torch.uint16",
    np.dtype(np.uint32): "torch.uint32",
    np.dtype(np.uint64): "torch.uint64",
    np.dtype(np.bool_): "torch.bool",
}

#: torch's default dtype (``torch.get_default_dtype()``); tensors of this dtype
#: print without a ``dtype=`` suffix.  Kept as a module-level constant so that
#: a ``set_default_dtype`` could rebind it.
DEFAULT_DTYPE: np.dtype = np.dtype(np.float32)


def _dtype_name(dtype: np.dtype) -> str:
    try:
        return DTYPE_NAMES[np.dtype(dtype)]
    except KeyError:
        raise TypeError(f"cannot format a tensor of numpy dtype {dtype!r}: no torch equivalent") from None


def _is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


# ---------------------------------------------------------------------------
# print options (torch._tensor_str.PRINT_OPTS)
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()


def set_printoptions(
    precision=None,
    threshold=None,
    edgeitems=None,
    linewidth=None,
    profile=None,
    sci_mode=None,
) -> None:
    """Set options for printing; same semantics as ``torch.set_printoptions``.

    Args:
        precision: digits of precision for floating point output (default 4).
        threshold: total number of elements which triggers summarisation
            (default 1000).
        edgeitems: items shown at the beginning and end of each summarised
            dimension (default 3).
        linewidth: characters per line for inserting line breaks (default 80).
        profile: ``"default"``, ``"short"`` or ``"full"``; applied first, then
            overridden by any explicit option.
        sci_mode: ``True``/``False`` forces/forbids scientific notation;
            ``None`` lets the formatter decide.  Like torch, every call resets
            it (omitting it means ``None``).
    """
    if profile is not None:
        if profile == "default":
            PRINT_OPTS.precision = 4
            PRINT_OPTS.threshold = 1000
            PRINT_OPTS.edgeitems = 3
            PRINT_OPTS.linewidth = 80
        elif profile == "short":
            PRINT_OPTS.precision = 2
            PRINT_OPTS.threshold = 1000
            PRINT_OPTS.edgeitems = 2
            PRINT_OPTS.linewidth = 80
        elif profile == "full":
            PRINT_OPTS.precision = 4
            PRINT_OPTS.threshold = inf
            PRINT_OPTS.edgeitems = 3
            PRINT_OPTS.linewidth = 80

    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current print options, as a dict usable as ``**kwargs`` to
    :func:`set_printoptions`."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs) -> Iterator[None]:
    """Context manager that temporarily changes the print options.  Accepts
    the same arguments as :func:`set_printoptions`."""
    old_kwargs = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old_kwargs)


# ---------------------------------------------------------------------------
# element formatting (torch._tensor_str._Formatter)
# ---------------------------------------------------------------------------


class _Formatter:
    """Decides a common format (int_mode / sci_mode / width) for all elements
    of ``array`` (a real-valued numpy array, possibly the summarised data)."""

    def __init__(self, array: np.ndarray):
        self.floating_dtype = _is_floating(array.dtype)
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1

        view = array.reshape(-1)

        if not self.floating_dtype:
            # f"{value}" of a 0-d tensor == format of its Python scalar.  The
            # widest string is that of one of the extreme values.
            if view.size:
                candidates = [view.min(), view.max()]
                for value in (np.asarray(candidates, dtype=view.dtype)).tolist():
                    self.max_width = max(self.max_width, len(f"{value}"))
            return

        nonzero_finite_vals = view[np.isfinite(view) & (view != 0)]
        if nonzero_finite_vals.size == 0:
            # no valid number, do nothing
            return

        # abs() in the tensor's dtype, then min/max converted to double.
        nonzero_finite_abs = np.abs(nonzero_finite_vals)
        nonzero_finite_min = np.float64(nonzero_finite_abs.min())
        nonzero_finite_max = np.float64(nonzero_finite_abs.max())

        if np.any(nonzero_finite_vals != np.ceil(nonzero_finite_vals)):
            self.int_mode = False

        if PRINT_OPTS.sci_mode is None:
            with np.errstate(over="ignore"):  # e.g. 1e300 / 1e-300 -> inf, as in torch
                ratio = nonzero_finite_max / nonzero_finite_min
            self.sci_mode = bool(ratio > 1000.0 or nonzero_finite_max > 1.0e8 or nonzero_finite_min < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode

        # The widest text is that of an extreme value of either sign: a fixed-point
        # or integral text widens with |value|, a scientific one with |exponent|,
        # which is largest at the smallest or the largest |value|.
        positive, negative = nonzero_finite_vals[nonzero_finite_vals > 0], nonzero_finite_vals[nonzero_finite_vals < 0]
        values = [v for part in (positive, negative) if part.size for v in (part.min(), part.max())]
        values = np.asarray(values, dtype=view.dtype).tolist()
        precision = PRINT_OPTS.precision
        if self.sci_mode:
            fmt = f"{{:.{precision}e}}"
            extra = 0
        elif self.int_mode:
            # in int_mode for floats, all numbers are integers, and a decimal
            # point is appended; add 1 to the len to account for this.
            fmt = "{:.0f}"
            extra = 1
        else:
            fmt = f"{{:.{precision}f}}"
            extra = 0
        for value in values:
            self.max_width = max(self.max_width, len(fmt.format(value)) + extra)

    def width(self) -> int:
        return self.max_width

    @property
    def spec(self):
        """The ``%`` conversion that formats one element as :attr:`format` does, or
        None (integral floats: a point follows each finite value)."""
        if not self.floating_dtype:
            return f"%{self.max_width}s"
        if self.int_mode and not self.sci_mode:
            return None
        return f"%{self.max_width}.{PRINT_OPTS.precision}{'e' if self.sci_mode else 'f'}"

    @property
    def format(self):
        """``format(value) -> str``: the value right-aligned in the common width. One
        format spec chosen per formatter (a tensor's repr formats every element)."""
        width, precision = self.max_width, PRINT_OPTS.precision
        if not self.floating_dtype:
            return lambda value: f"{value}".rjust(width)     # bools print as True/False
        if self.sci_mode:
            return f"{{:>{width}.{precision}e}}".format
        if self.int_mode:
            def integral(value):
                text = f"{value:.0f}"
                return (text if math.isinf(value) or math.isnan(value) else text + ".").rjust(width)
            return integral
        return f"{{:>{width}.{precision}f}}".format


# ---------------------------------------------------------------------------
# layout (torch._tensor_str._scalar_str / _vector_str / _tensor_str...)
# ---------------------------------------------------------------------------


def _scalar_str(array: np.ndarray, formatter: _Formatter) -> str:
    return formatter.format(array.item())


def _vector_str(
    array: np.ndarray,
    indent: int,
    summarize: bool,
    formatter: _Formatter,
) -> str:
    # length includes spaces and comma between elements
    element_length = formatter.width() + 2
    elements_per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    _val_formatter = formatter.format

    edgeitems = PRINT_OPTS.edgeitems
    if summarize and not edgeitems:
        data = ["..."]
    elif summarize and array.shape[0] > 2 * edgeitems:
        data = (
            [_val_formatter(val) for val in array[:edgeitems].tolist()]
            + [" ..."]
            + [_val_formatter(val) for val in array[-edgeitems:].tolist()]
        )
    elif formatter.spec is not None and array.size:
        # every element through one % conversion of a template of the whole layout
        n = array.shape[0]
        line = ", ".join([formatter.spec] * elements_per_line)
        last = ", ".join([formatter.spec] * (n % elements_per_line or elements_per_line))
        rows = [line] * ((n - 1) // elements_per_line) + [last]
        template = ("," + "\n" + " " * (indent + 1)).join(rows)
        return "[" + template % tuple(array.tolist()) + "]"
    else:
        data = [_val_formatter(val) for val in array.tolist()]

    data_lines = [data[i : i + elements_per_line] for i in range(0, len(data), elements_per_line)]
    lines = [", ".join(line) for line in data_lines]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(
    array: np.ndarray,
    indent: int,
    summarize: bool,
    formatter: _Formatter,
) -> str:
    dim = array.ndim

    if dim == 0:
        return _scalar_str(array, formatter)

    if dim == 1:
        return _vector_str(array, indent, summarize, formatter)

    edgeitems = PRINT_OPTS.edgeitems
    if summarize and array.shape[0] > 2 * edgeitems:
        slices = (
            [
                _tensor_str_with_formatter(array[i], indent + 1, summarize, formatter)
                for i in range(edgeitems)
            ]
            + ["..."]
            + [
                _tensor_str_with_formatter(array[i], indent + 1, summarize, formatter)
                for i in range(len(array) - edgeitems, len(array))
            ]
        )
    else:
        slices = [
            _tensor_str_with_formatter(array[i], indent + 1, summarize, formatter)
            for i in range(array.shape[0])
        ]

    tensor_str = ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices)
    return "[" + tensor_str + "]"


def _get_summarized_data(array: np.ndarray) -> np.ndarray:
    """The elements that remain visible after summarisation (same shape rank)."""
    dim = array.ndim
    edgeitems = PRINT_OPTS.edgeitems
    if dim == 0:
        return array
    if dim == 1:
        if array.shape[0] > 2 * edgeitems:
            # NB: like torch, edgeitems == 0 gives array[-0:], i.e. everything.
            return np.concatenate((array[:edgeitems], array[-edgeitems:]))
        return array
    if not edgeitems:
        return np.empty([0] * dim, dtype=array.dtype)
    if array.shape[0] > 2 * edgeitems:
        start = [array[i] for i in range(edgeitems)]
        end = [array[i] for i in range(len(array) - edgeitems, len(array))]
        return np.stack([_get_summarized_data(x) for x in (start + end)])
    return np.stack([_get_summarized_data(x) for x in array])


def _tensor_str(array: np.ndarray, indent: int) -> str:
    if array.size == 0:
        return "[]"

    summarize = array.size > PRINT_OPTS.threshold

    formatter = _Formatter(_get_summarized_data(array) if summarize else array)
    return _tensor_str_with_formatter(array, indent, summarize, formatter)


def _add_suffixes(tensor_str: str, suffixes: list[str], indent: int, force_newline: bool) -> str:
    tensor_strs = [tensor_str]
    # NB: torch's arithmetic, quirks included (+1 rather than -1).
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        suffix_len = len(suffix)
        if force_newline or last_line_len + suffix_len + 2 > PRINT_OPTS.linewidth:
            tensor_strs.append(",\n" + " " * indent + suffix)
            last_line_len = indent + suffix_len
            force_newline = False
        else:
            tensor_strs.append(", " + suffix)
            last_line_len += suffix_len + 2
    tensor_strs.append(")")
    return "".join(tensor_strs)


# ---------------------------------------------------------------------------
# public entry point (torch._tensor_str._str_intern for dense CPU tensors)
# ---------------------------------------------------------------------------


def format_tensor(data: np.ndarray, *, requires_grad: bool = False, grad_fn_name: str | None = None) -> str:
    """What ``repr(t)`` / ``str(t)`` of a torch tensor with these values prints.

    The dtype is taken from ``data.dtype``: float32 is torch's default dtype
    (no suffix), float64 -> ``torch.float64``, float16 -> ``torch.float16``,
    int64 -> ``torch.int64`` (no suffix unless empty), int32, int16, int8,
    uint8 (also uint16/32/64) and bool (GradStudio has no complex dtypes, so
    neither has its printer).  A 0-d numpy array is a
    0-d tensor.  ``grad_fn_name`` (e.g. ``"MulBackward0"``) takes precedence
    over ``requires_grad``, exactly as in torch.
    """
    array = np.asarray(data)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    dtype = array.dtype
    dtype_name = _dtype_name(dtype)

    prefix = "tensor("
    indent = len(prefix)
    suffixes: list[str] = []

    has_default_dtype = dtype in (DEFAULT_DTYPE, np.dtype(np.int64), np.dtype(np.bool_))

    if array.size == 0:
        # Explicitly print the shape if it is not (0,), to match NumPy behavior
        if array.ndim != 1:
            suffixes.append("size=" + str(tuple(array.shape)))
        # In an empty tensor there are no elements to infer whether the dtype
        # should be int64, so it must be shown explicitly.
        if dtype != DEFAULT_DTYPE:
            suffixes.append("dtype=" + dtype_name)
        tensor_str = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(array.shape)))
        if not has_default_dtype:
            suffixes.append("dtype=" + dtype_name)
        tensor_str = _tensor_str(array, indent)

    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")

    return _add_suffixes(prefix + tensor_str, suffixes, indent, force_newline=False)
