"""Values typed by a person — into a leaf or constant node, a sweep range, a
predicted gradient — read without ``eval``.

:func:`parse_value` accepts numbers, nested lists, ``+ - * / **``, unary minus,
``pi``/``e``/``inf``/``nan`` and a few constructors: ``ones(2, 2)``,
``zeros(3)``, ``full((2, 3), 0.5)``, ``eye(3)``, ``arange(0, 1, 0.25)``,
``linspace(-1, 1, 5)``, ``rand(2, 3, seed=0)``, ``randn(4, seed=1)``, and
``tensor([…])`` (what a tutorial line looks like). The text is parsed by
``ast`` and walked with a whitelist: any other name, attribute, call,
subscript, comprehension or keyword is refused with a message that says what
is allowed. Every intermediate value is bounded — the text's length, the
nesting depth, the number of elements a constructor may make, the size of an
exponent — so ``2**2**2**999`` or ``ones(10**9)`` are refused, not computed.
"""
from __future__ import annotations

import ast
import math

import numpy as np

MAX_TEXT = 20_000           # characters
MAX_ELEMENTS = 1_000_000    # of any intermediate array
MAX_DEPTH = 32              # of nested lists and expressions
MAX_EXPONENT = 1_000        # |b| in a ** b
MAX_MAGNITUDE = 1e300       # a ** b may not exceed this in magnitude

CONSTANTS = {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan}
CONSTRUCTORS = ("ones", "zeros", "full", "eye", "arange", "linspace", "rand", "randn", "tensor")


class ValueParseError(ValueError):
    """The text is not a value this parser accepts; the message says why."""


def parse_value(text: str, *, dtype=np.float64) -> np.ndarray:
    """The array ``text`` describes (0-d for a number), as ``dtype``."""
    if not isinstance(text, str):
        raise ValueParseError("expected text")
    if len(text) > MAX_TEXT:
        raise ValueParseError(f"the value is longer than {MAX_TEXT:,} characters")
    stripped = text.strip()
    if not stripped:
        raise ValueParseError("empty value: type a number, a list like [1, 2], or ones(2, 2)")
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as error:
        raise ValueParseError(f"not a value: {error.msg}") from None
    value = _Walker().eval(tree.body, 0)
    array = np.asarray(value, dtype=np.float64)
    return array.astype(dtype, copy=False)


class _Walker:
    def eval(self, node, depth: int):
        if depth > MAX_DEPTH:
            raise ValueParseError(f"nested more than {MAX_DEPTH} levels deep")
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise ValueParseError(f"{_describe(node)} is not allowed here; allowed: numbers, lists, "
                              f"+ - * / **, {', '.join(c + '(…)' for c in CONSTRUCTORS)}")
        return method(node, depth + 1)

    # -- leaves --------------------------------------------------------------------
    def _Constant(self, node, depth):
        value = node.value
        if isinstance(value, bool):
            return float(value)
        if isinstance(value, (int, float)):
            if isinstance(value, int) and abs(value) > 10 ** 308:
                raise ValueParseError("number too large")
            return float(value)
        raise ValueParseError(f"{type(value).__name__} values are not allowed, only numbers")

    def _Name(self, node, depth):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise ValueParseError(f"unknown name {node.id!r} (known: {', '.join(CONSTANTS)})")

    def _List(self, node, depth):
        items = [self.eval(e, depth) for e in node.elts]
        return _stack(items)

    _Tuple = _List

    # -- arithmetic ----------------------------------------------------------------
    def _UnaryOp(self, node, depth):
        value = self.eval(node.operand, depth)
        if isinstance(node.op, ast.USub):
            return -np.asarray(value)
        if isinstance(node.op, ast.UAdd):
            return value
        raise ValueParseError(f"the operator {type(node.op).__name__} is not allowed")

    def _BinOp(self, node, depth):
        left, right = self.eval(node.left, depth), self.eval(node.right, depth)
        left, right = np.asarray(left, dtype=np.float64), np.asarray(right, dtype=np.float64)
        shape = _broadcast_shape(left, right)
        if math.prod(shape) > MAX_ELEMENTS:
            raise ValueParseError(f"the result would have more than {MAX_ELEMENTS:,} elements")
        with np.errstate(all="ignore"):
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                return left / right
            if isinstance(node.op, ast.Pow):
                finite = right[np.isfinite(right)]
                if finite.size and np.max(np.abs(finite)) > MAX_EXPONENT:
                    raise ValueParseError(f"exponents are limited to ±{MAX_EXPONENT}")
                base = left[np.isfinite(left)]
                if base.size and finite.size:
                    biggest = np.max(np.abs(base)) if base.size else 0.0
                    top = np.max(finite)
                    if biggest > 1 and top > 0 and top * math.log10(biggest) > math.log10(MAX_MAGNITUDE):
                        raise ValueParseError("the power is too large")
                return np.power(left, right)
        raise ValueParseError(f"the operator {type(node.op).__name__} is not allowed")

    # -- constructors ---------------------------------------------------------------
    def _Call(self, node, depth):
        if not isinstance(node.func, ast.Name):
            # torch.ones(2) and np.ones(2) are fine: only the last name counts
            if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
                    and node.func.value.id in ("torch", "np", "numpy"):
                name = node.func.attr
            else:
                raise ValueParseError(f"{_describe(node.func)} cannot be called here")
        else:
            name = node.func.id
        if name not in CONSTRUCTORS:
            raise ValueParseError(f"unknown function {name!r} (allowed: {', '.join(CONSTRUCTORS)})")
        args = [self.eval(a, depth) for a in node.args]
        keywords = {}
        for keyword in node.keywords:
            if keyword.arg not in ("seed", "requires_grad", "dtype"):
                raise ValueParseError(f"{name}() takes no keyword {keyword.arg!r}")
            if keyword.arg == "seed":
                keywords["seed"] = self.eval(keyword.value, depth)
        return getattr(self, f"_make_{name}")(args, **keywords)

    def _make_tensor(self, args, **_):
        if len(args) != 1:
            raise ValueParseError("tensor() takes one value, e.g. tensor([1., 2.])")
        return np.asarray(args[0], dtype=np.float64)

    def _make_ones(self, args, **_):
        return np.ones(_shape_of(args, "ones"))

    def _make_zeros(self, args, **_):
        return np.zeros(_shape_of(args, "zeros"))

    def _make_full(self, args, **_):
        if len(args) != 2:
            raise ValueParseError("full() takes a shape and a value, e.g. full((2, 3), 0.5)")
        return np.full(_shape_of([args[0]], "full"), _scalar(args[1], "full"))

    def _make_eye(self, args, **_):
        if len(args) not in (1, 2):
            raise ValueParseError("eye() takes one or two sizes, e.g. eye(3)")
        n = _count(args[0], "eye")
        m = _count(args[1], "eye") if len(args) == 2 else n
        _check_size(n * m)
        return np.eye(n, m)

    def _make_arange(self, args, **_):
        if not 1 <= len(args) <= 3:
            raise ValueParseError("arange() takes end, or start, end[, step]")
        start, end, step = (0.0, _scalar(args[0], "arange"), 1.0) if len(args) == 1 else (
            _scalar(args[0], "arange"), _scalar(args[1], "arange"),
            _scalar(args[2], "arange") if len(args) == 3 else 1.0)
        if step == 0 or not all(math.isfinite(v) for v in (start, end, step)):
            raise ValueParseError("arange() needs finite bounds and a step that is not 0")
        _check_size(max(0, math.ceil((end - start) / step)))
        return np.arange(start, end, step)

    def _make_linspace(self, args, **_):
        if len(args) != 3:
            raise ValueParseError("linspace() takes start, end, steps")
        steps = _count(args[2], "linspace")
        _check_size(steps)
        return np.linspace(_scalar(args[0], "linspace"), _scalar(args[1], "linspace"), steps)

    def _make_rand(self, args, seed=0.0):
        return np.random.default_rng(_seed(seed)).random(_shape_of(args, "rand"))

    def _make_randn(self, args, seed=0.0):
        return np.random.default_rng(_seed(seed)).standard_normal(_shape_of(args, "randn"))


# --------------------------------------------------------------------------- helpers
def _describe(node) -> str:
    names = {"Attribute": "an attribute", "Subscript": "indexing", "Lambda": "a lambda",
             "ListComp": "a comprehension", "GeneratorExp": "a comprehension", "Dict": "a dict",
             "Set": "a set", "Compare": "a comparison", "BoolOp": "and/or", "IfExp": "if/else",
             "JoinedStr": "an f-string", "Starred": "*unpacking", "NamedExpr": ":="}
    return names.get(type(node).__name__, type(node).__name__)


def _stack(items: list):
    arrays = [np.asarray(i, dtype=np.float64) for i in items]
    if arrays and any(a.shape != arrays[0].shape for a in arrays):
        raise ValueParseError("the rows of a list must have the same shape: "
                          + ", ".join(str(a.shape) for a in arrays[:4]))
    _check_size(sum(a.size for a in arrays))
    return np.array(arrays, dtype=np.float64) if arrays else np.zeros((0,))


def _broadcast_shape(a, b) -> tuple:
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueParseError(f"shapes {a.shape} and {b.shape} do not broadcast") from None


def _count(value, name: str) -> int:
    v = np.asarray(value)
    if v.ndim != 0 or not math.isfinite(float(v)) or float(v) != int(float(v)) or float(v) < 0:
        raise ValueParseError(f"{name}() needs whole, non-negative sizes")
    return int(float(v))


def _scalar(value, name: str) -> float:
    v = np.asarray(value)
    if v.ndim != 0:
        raise ValueParseError(f"{name}() needs a number here, not an array of shape {v.shape}")
    return float(v)


def _shape_of(args, name: str) -> tuple:
    if len(args) == 1 and np.ndim(args[0]) == 1:
        sizes = [_count(s, name) for s in np.asarray(args[0])]
    else:
        sizes = [_count(a, name) for a in args]
    _check_size(math.prod(sizes))
    return tuple(sizes)


def _seed(value) -> int:
    return _count(value, "seed")


def _check_size(n: int):
    if n > MAX_ELEMENTS:
        raise ValueParseError(f"more than {MAX_ELEMENTS:,} elements")
