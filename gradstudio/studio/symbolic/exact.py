"""Numbers and names for formulas.

Values from the engine are floats; formulas should show the number the
script wrote (``0.1``, not ``0.100000001490116``), so a float becomes the
exact rational of its shortest repr *in its own dtype*. Symbol names come
from script variables; a name sympy would read as something else (``E``,
``I``, ``beta``, ``lambda``…) gets a trailing underscore so every formula we
print parses back to itself.
"""
from __future__ import annotations

import keyword
import re

import numpy as np

from gradstudio.ops._sympy import sp


def exact(value):
    """A Python / numpy number as an exact sympy number."""
    S = sp()
    if isinstance(value, (bool, np.bool_)):
        return S.Integer(int(value))
    if isinstance(value, (int, np.integer)):
        return S.Integer(int(value))
    value_f = float(value)
    if value_f != value_f:
        return S.nan
    if value_f in (float("inf"), float("-inf")):
        return S.oo if value_f > 0 else -S.oo
    if value_f.is_integer() and abs(value_f) < 2 ** 53:
        return S.Integer(int(value_f))
    text = repr(np.float32(value)) if isinstance(value, np.float32) else repr(value_f)
    text = text.removeprefix("np.float32(").removesuffix(")")
    return S.Rational(text)


def exact_array(values: np.ndarray) -> np.ndarray:
    """An object array of exact numbers, element by element."""
    values = np.asarray(values)
    out = np.empty(values.shape, dtype=object)
    for index, v in np.ndenumerate(values):
        out[index] = exact(values.dtype.type(v) if values.dtype.kind == "f" else v)
    return out


def exact_params(params: dict) -> dict:
    """Op parameters with float constants (exponents, clamp bounds) made exact."""
    out = {}
    for key, value in (params or {}).items():
        if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)
                                        and key in ("exponent", "min", "max", "base", "alpha",
                                                    "beta", "negative_slope", "value")):
            out[key] = exact(value)
        else:
            out[key] = value
    return out


_RESERVED: set | None = None


def _reserved() -> set:
    global _RESERVED
    if _RESERVED is None:
        import sympy
        _RESERVED = set(dir(sympy)) | set(keyword.kwlist) | {"lambda", "v"}
    return _RESERVED


def symbol_name(name: str, taken: set) -> str:
    """A valid, unambiguous sympy symbol name for a script variable."""
    cleaned = re.sub(r"\W+", "_", name).strip("_") or "t"
    if cleaned[0].isdigit():
        cleaned = "t" + cleaned
    if cleaned in _reserved():
        cleaned += "_"
    candidate, n = cleaned, 1
    while candidate in taken:
        candidate = f"{cleaned}{n}"
        n += 1
    taken.add(candidate)
    return candidate


def real_symbol(name: str):
    return sp().Symbol(name, real=True)
