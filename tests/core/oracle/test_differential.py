"""Differential testing of the engine against PyTorch with random programs.

A *program* is a list of :class:`Step`\\ s, each a line of PyTorch code
(``v3 = torch.matmul(v1, v2)``, ``v5.backward(g6, retain_graph=True)``, …).
One :class:`Interpreter`, given the library module, runs a program and
records what every step produced: values, dtype, shape, ``requires_grad``,
``grad_fn.name()`` and the names of its ``next_functions`` — or the exception
raised, as type and message — and, after every backward step, each leaf's
``.grad`` (and each retained non-leaf ``.grad``).

The generator draws, from a seed, 1–3 leaf tensors (float32 or float64,
0-d to 3-d, broadcasting-compatible shapes with size-1 dims), a chain of ops
from the whole public API, then backward calls: implicit scalar roots,
``gradient=`` vectors, a non-scalar root without gradient, retain_graph and
second backwards, ``autograd.grad`` with and without ``create_graph``, a
tensor that does not require grad, ``inputs=``, a mis-shaped ``gradient=``.
It runs each step under torch as it goes, which tells it the shapes and
values to pick the next op from (avoiding domain errors and ties where the
choice of the tied element is unspecified); the same program then runs under
GradStudio and every record must agree. A mismatch prints the seed and the
program as runnable code.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest

import gradstudio
from gradstudio.ops import BY_ID

pytestmark = pytest.mark.oracle

N_PROGRAMS = 1000
SEEDS = range(N_PROGRAMS)

TOLERANCES = {"torch.float32": (2e-4, 2e-5), "torch.float64": (1e-9, 1e-11)}


# --------------------------------------------------------------------------- programs
@dataclass
class Step:
    code: str                      # Python code; `torch` is the library, `_data` the step's array
    target: str | None = None      # the variable the step binds (recorded after it runs)
    kind: str = "op"               # "leaf" | "op" | "backward" | "grad"
    data: np.ndarray | None = None
    watch: str | None = None       # from this step on, record this tensor's .grad after backwards

    def source(self) -> str:
        if self.data is None:
            return self.code
        return self.code.replace("_data", _literal(self.data))


def _literal(array: np.ndarray) -> str:
    return repr(array.tolist()) if array.dtype != np.bool_ else repr(array.tolist())


def render(seed: int, steps: list[Step]) -> str:
    lines = [f"# random program, seed {seed}", "import torch  # or: import gradstudio as torch",
             "F = torch.nn.functional"]
    return "\n".join(lines + [s.source() for s in steps])


# --------------------------------------------------------------------------- interpreter
_code_cache: dict = {}


def _compiled(code: str):
    compiled = _code_cache.get(code)
    if compiled is None:
        compiled = _code_cache[code] = compile(code, "<step>", "exec")
    return compiled


def _array(t) -> np.ndarray:
    return np.array(t.detach().numpy(), copy=True)


def _names(fn) -> tuple:
    """The nodes feeding ``fn`` (the edges a graph view draws). Empty slots (``None``,
    for inputs that need no gradient) are left out: torch keeps one per tensor input
    and none for a Python scalar or a where-condition, GradStudio one per input."""
    return tuple(_name_with_cast_source(n) for n, _ in fn.next_functions if n is not None)


def _name_with_cast_source(node) -> str:
    if node.name() == "ToCopyBackward0":  # say what was cast (see _same_edges)
        return "ToCopyBackward0>" + ",".join(_names(node))
    return node.name()


def _same_edges(expected: tuple, actual: tuple) -> bool:
    """Known difference: with operands of different dtypes GradStudio records the cast
    of the promoted operand as a ToCopyBackward0 node of its own; torch casts inside
    the op. Accepted only where torch has no cast and the cast's source is torch's edge
    (an explicit .to()/.double() is a ToCopyBackward0 in both graphs)."""
    if expected == actual:
        return True
    return len(expected) == len(actual) and all(
        e == a or a == f"ToCopyBackward0>{e}" for e, a in zip(expected, actual))


def snapshot(value):
    """What a step produced, as plain data comparable across the two libraries."""
    if isinstance(value, (tuple, list)):
        return ("seq", type(value).__name__, tuple(snapshot(v) for v in value))
    if value is None:
        return None
    if hasattr(value, "grad_fn"):
        fn = value.grad_fn
        return {"shape": tuple(value.shape), "dtype": str(value.dtype),
                "requires_grad": value.requires_grad, "is_leaf": value.is_leaf,
                "grad_fn": None if fn is None else fn.name(),
                "next": None if fn is None else _names(fn), "values": _array(value)}
    return ("py", value)


class Interpreter:
    """Runs steps with ``torch`` bound to ``lib``, recording every outcome."""

    def __init__(self, lib):
        self.lib = lib
        self.namespace = {"torch": lib, "F": lib.nn.functional}
        self.watched: list[str] = []   # leaves that require grad, and retained non-leaves
        self.records: list = []

    def run(self, step: Step):
        ns = self.namespace
        ns["_data"] = step.data
        if step.watch is not None and step.watch not in self.watched:
            self.watched.append(step.watch)
        if step.target is not None:
            ns.pop(step.target, None)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(_compiled(step.code), ns)
        except Exception as error:  # noqa: BLE001 — errors are part of the behaviour compared
            record = ("raise", type(error).__name__, str(error))
        else:
            if step.kind in ("backward", "grad"):
                grads = {name: self.grad_of(name) for name in self.watched}
                record = ("ok", snapshot(ns.get(step.target)) if step.target else None, grads)
            else:
                record = ("ok", snapshot(ns.get(step.target)) if step.target else None)
        self.records.append(record)
        return record

    def grad_of(self, name):
        t = self.namespace.get(name)
        return None if t is None else snapshot(t.grad)


# --------------------------------------------------------------------------- comparison
class Mismatch(AssertionError):
    pass


def _compare(expected, actual, where: str, structure: bool = True, loose: bool = False):
    """``structure``: also compare grad_fn names and edges. Off for gradients made with
    create_graph=True: torch records its hand-written double-backward nodes
    (``TanhBackwardBackward0``), GradStudio the tensor ops its rules are written with.
    ``loose``: float32 tolerances for float64 values too (the program went through float32)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = ("shape", "dtype", "requires_grad", "is_leaf") + (("grad_fn", "next") if structure else ())
        for key in keys:
            if key == "next" and expected[key] is not None and actual[key] is not None and \
                    _same_edges(expected[key], actual[key]):
                continue
            if expected[key] != actual[key]:
                raise Mismatch(f"{where}: {key} torch={expected[key]!r} gradstudio={actual[key]!r}")
        e, a = expected["values"], actual["values"]
        rtol, atol = TOLERANCES.get("torch.float32" if loose else expected["dtype"], (0, 0))
        if e.dtype.kind == "f":
            finite = np.abs(e[np.isfinite(e)])
            scale = max(1.0, float(finite.max())) if finite.size else 1.0
            try:
                np.testing.assert_allclose(a, e, rtol=rtol, atol=atol * scale, equal_nan=True)
            except AssertionError as error:
                raise Mismatch(f"{where}: values differ\n{error}") from None
        elif not np.array_equal(a, e):
            raise Mismatch(f"{where}: values torch={e!r} gradstudio={a!r}")
        return
    if isinstance(expected, tuple) and isinstance(actual, tuple) and len(expected) == len(actual) \
            and expected[:1] == actual[:1] == ("seq",):
        if expected[1] != actual[1] or len(expected[2]) != len(actual[2]):
            raise Mismatch(f"{where}: torch={expected[:2]} gradstudio={actual[:2]}")
        for i, (e, a) in enumerate(zip(expected[2], actual[2])):
            _compare(e, a, f"{where}[{i}]", structure, loose)
        return
    if isinstance(expected, dict) or isinstance(actual, dict) or expected != actual:
        raise Mismatch(f"{where}: torch={_short(expected)} gradstudio={_short(actual)}")


def _short(record) -> str:
    if isinstance(record, dict):
        return f"tensor(shape={record['shape']}, grad_fn={record['grad_fn']})"
    return repr(record)


def compare_step(step: Step, expected, actual, loose: bool = False):
    if expected[0] == "raise" or actual[0] == "raise":
        if expected[0] != actual[0]:
            raise Mismatch(f"torch {_outcome(expected)}, gradstudio {_outcome(actual)}")
        if expected[1] != actual[1]:
            raise Mismatch(f"exception type: torch {_outcome(expected)}, gradstudio {_outcome(actual)}")
        if expected[2] != actual[2]:  # every message, not only autograd's
            raise Mismatch(f"message: torch {expected[2]!r}\n gradstudio {actual[2]!r}")
        return
    _compare(expected[1], actual[1], "result", step.kind != "grad", loose)
    if len(expected) > 2:
        assert expected[2].keys() == actual[2].keys()
        for name in expected[2]:
            _compare(expected[2][name], actual[2][name], f"{name}.grad", False, loose)


def _outcome(record) -> str:
    return f"raised {record[1]}: {record[2]}" if record[0] == "raise" else "succeeded"


# --------------------------------------------------------------------------- generator
def _domain(row_id):
    """The inputs a row is defined and well-conditioned on: its ``domain``."""
    return BY_ID[row_id].domain.contains


_positive = _domain("elementwise.LOG")
_away_from_zero = _domain("elementwise.RECIPROCAL")


def _bounded(limit):
    """Not a domain: keeps values moderate where a chain of ops would overflow float32."""
    return lambda v: v.size > 0 and np.all(np.abs(v) < limit)


# (code template, domain predicate or None, transformed input when the predicate fails);
# the domains are the rows' (log1p keeps to log's, which is inside its own)
_POS = "({0} * {0} + 0.25)"
UNARY = [
    ("-{0}", None, None), ("{0}.neg()", None, None),
    ("{0}.exp()", _domain("elementwise.EXP"), "torch.tanh({0})"),
    ("torch.exp({0})", _domain("elementwise.EXP"), "{0}.sigmoid()"),
    ("{0}.log()", _positive, _POS), ("torch.log({0})", _positive, _POS),
    ("{0}.sqrt()", _domain("elementwise.SQRT"), _POS), ("torch.sqrt({0})", _domain("elementwise.SQRT"), _POS),
    ("{0}.sin()", None, None), ("torch.cos({0})", None, None),
    ("{0}.tanh()", None, None), ("torch.tanh({0})", None, None),
    ("{0}.sigmoid()", None, None), ("torch.sigmoid({0})", None, None),
    ("{0}.relu()", None, None), ("torch.relu({0})", None, None), ("F.relu({0})", None, None),
    ("{0}.abs()", None, None), ("torch.abs({0})", None, None), ("abs({0})", None, None),
    ("{0}.clamp(-0.5, 0.8)", None, None), ("torch.clamp({0}, min=0.1)", None, None),
    ("{0}.clamp(max=0.3)", None, None), ("{0}.clamp_min(0.0)", None, None),
    ("{0}.clamp_max(0.5)", None, None), ("torch.clip({0}, -1, 1)", None, None),
    ("{0}.square()", _bounded(50), "torch.tanh({0})"), ("torch.square({0})", _bounded(50), "{0}.sin()"),
    ("{0}.reciprocal()", _domain("elementwise.RECIPROCAL"), _POS), ("{0}.rsqrt()", _domain("elementwise.RSQRT"), _POS),
    ("{0}.log1p()", _domain("elementwise.LOG"), _POS), ("{0}.expm1()", _domain("elementwise.EXPM1"), "torch.tanh({0})"),
    ("{0}.atan()", None, None), ("{0}.sinh()", _domain("elementwise.SINH"), "{0}.sin()"),
    ("{0}.cosh()", _domain("elementwise.COSH"), "{0}.cos()"),
    ("{0}.asin()", _domain("elementwise.ASIN"), "{0}.tanh() * 0.9"),
    ("{0}.acos()", _domain("elementwise.ACOS"), "{0}.sigmoid() * 0.9"),
    ("{0}.tan()", _domain("elementwise.TAN"), "{0}.tanh()"),
    ("F.leaky_relu({0}, 0.1)", None, None), ("F.softplus({0})", _domain("elementwise.SOFTPLUS"), "{0}.tanh()"),
    ("F.silu({0})", _domain("elementwise.SILU"), "{0}.tanh()"), ("{0}.sign()", None, None),
    ("{0}.floor()", None, None), ("{0}.log2()", _domain("elementwise.LOG2"), _POS),
    ("{0}.log10()", _domain("elementwise.LOG10"), _POS),
]

SCALARS = [2, 3, -1, 0, 1, 0.5, -1.5, 2.0, 0.25]


class Generator:
    """Builds one random program, running each step under torch as it goes."""

    def __init__(self, seed: int, torch):
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.torch = torch
        self.oracle = Interpreter(torch)
        self.steps: list[Step] = []
        self.pool: list[str] = []       # float tensors, finite, non-empty, moderate
        self.leaves: list[str] = []     # leaves that require grad
        self.roots: list = []           # backward calls so far: (code, gradient constant or None)
        self.constants: dict = {}       # name -> (values, dtype) of constant tensors
        self.counter = 0

    # ------------------------------------------------------------ helpers
    def name(self, prefix="v"):
        self.counter += 1
        return f"{prefix}{self.counter}"

    def value(self, name):
        return self.oracle.namespace[name]

    def array(self, name) -> np.ndarray:
        return self.value(name).detach().numpy()

    def shape(self, name) -> tuple:
        return tuple(self.value(name).shape)

    def dtype_name(self, name) -> str:
        return str(self.value(name).dtype)

    def choice(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def emit(self, step: Step, pool=True):
        self.steps.append(step)
        record = self.oracle.run(step)
        if record[0] == "ok" and step.target and pool:
            t = self.oracle.namespace.get(step.target)
            if t is not None and hasattr(t, "grad_fn") and t.dtype.is_floating_point:
                a = t.detach().numpy()
                if a.size and np.all(np.isfinite(a)) and np.abs(a).max() < 1e4:
                    self.pool.append(step.target)
        return record

    def op(self, template: str, *args, pool=True):
        target = self.name()
        code = f"{target} = " + template.format(*args)
        return target, self.emit(Step(code, target, "op"), pool=pool)

    def const(self, array: np.ndarray, dtype: str | None = None, requires_grad=False, prefix="c"):
        target = self.name(prefix)
        self.constants[target] = (array, dtype)
        options = (f", dtype=torch.{dtype}" if dtype else "") + \
            (", requires_grad=True" if requires_grad else "")
        self.emit(Step(f"{target} = torch.tensor(_data{options})", target, "leaf", data=array,
                       watch=target if requires_grad else None),
                  pool=requires_grad or (dtype or "").startswith("float"))
        if requires_grad:
            self.leaves.append(target)
        return target

    def random_values(self, shape, dtype="float32"):
        values = self.rng.standard_normal(shape) * self.choice([1.0, 1.0, 2.0, 0.5])
        return values.astype(np.float32 if dtype == "float32" else np.float64)

    def new_leaf(self, shape, dtype, requires_grad=None):
        dtype = dtype.replace("torch.", "")
        if requires_grad is None:
            requires_grad = bool(self.rng.random() < 0.7)
        return self.const(self.random_values(shape, dtype), dtype, requires_grad,
                          prefix="x" if requires_grad else "c")

    def pick(self, predicate=lambda name: True):
        candidates = [n for n in self.pool if predicate(n)]
        if not candidates:
            return None
        # prefer recent results, so chains grow deep
        weights = np.arange(1, len(candidates) + 1, dtype=float) ** 2
        return candidates[int(self.rng.choice(len(candidates), p=weights / weights.sum()))]

    # ------------------------------------------------------------ the program
    def build(self) -> list[Step]:
        rng = self.rng
        dtype = self.choice(["float32", "float64"])
        base = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(0, 4))))
        for i in range(int(rng.integers(1, 4))):
            shape = tuple(1 if rng.random() < 0.25 else s for s in base)
            shape = shape[int(rng.integers(0, len(shape) + 1)) if rng.random() < 0.3 else 0:]
            leaf_dtype = dtype if rng.random() < 0.85 else self.choice(["float32", "float64"])
            self.new_leaf(shape, leaf_dtype, requires_grad=True if i == 0 else None)
        generators = [(self.g_binary, 6), (self.g_unary, 5), (self.g_reduce, 4), (self.g_matmul, 3),
                      (self.g_shape, 4), (self.g_index, 3), (self.g_combine, 2), (self.g_where, 2),
                      (self.g_special, 1)]
        functions = [g for g, _ in generators]
        weights = np.array([w for _, w in generators], dtype=float)
        for _ in range(int(rng.integers(3, 13))):
            functions[int(rng.choice(len(functions), p=weights / weights.sum()))]()
            if rng.random() < 0.08 and self.pool:
                candidate = self.pool[-1]
                if self.value(candidate).grad_fn is not None:
                    self.emit(Step(f"{candidate}.retain_grad()", None, "op", watch=candidate))
        events = [self.e_scalar, self.e_vector, self.e_implicit_non_scalar, self.e_again,
                  self.e_grad, self.e_no_grad_root, self.e_inputs, self.e_bad_gradient,
                  self.e_create_graph, self.e_zero_grad]
        event_weights = np.array([6, 4, 1, 3, 3, 1, 1, 1, 2, 1], dtype=float)
        self.e_scalar() if rng.random() < 0.6 else self.e_vector()
        for _ in range(int(rng.integers(0, 4))):
            events[int(rng.choice(len(events), p=event_weights / event_weights.sum()))]()
        return self.steps

    # ------------------------------------------------------------ ops
    def scalar_text(self):
        s = self.choice(SCALARS)
        return repr(s)

    def g_binary(self):
        rng = self.rng
        a = self.pick()
        if a is None:
            return
        op = self.choice(["+", "-", "*", "/", "**", "add", "sub", "mul", "div"])
        form = rng.random()
        if form < 0.45:  # tensor ∘ tensor
            if rng.random() < 0.04:  # an incompatible pair: must fail like torch
                b = self.pick(lambda n: not _broadcastable(self.shape(a), self.shape(n)))
            else:
                b = self.pick(lambda n: _broadcastable(self.shape(a), self.shape(n)))
            if b is None:
                b = self.new_leaf(_compatible_shape(self.shape(a), rng), self.dtype_name(a))
            if op in ("/", "div") and not _away_from_zero(self.array(b)):
                b = self.op(_POS, b)[0]
            if op == "**":
                if not _positive(self.array(a)):
                    a = self.op(_POS, a)[0]
                if not _bounded(3)(self.array(b)):
                    b = self.op("torch.tanh({0}) * 2", b)[0]
            template = {"add": "torch.add({0}, {1})", "sub": "torch.sub({0}, {1})",
                        "mul": "torch.mul({0}, {1})", "div": "torch.div({0}, {1})"}.get(op, "{0} %s {1}" % op)
            if op == "add" and rng.random() < 0.3:
                template = "torch.add({0}, {1}, alpha=2)"
            self.op(template, a, b)
        elif form < 0.75:  # tensor ∘ scalar
            s = self.choice(SCALARS)
            if op in ("/", "div") and s == 0:
                s = 2
            if op == "**":
                if isinstance(s, float) and not _positive(self.array(a)):
                    a = self.op(_POS, a)[0]
                if (s < 0) and not _away_from_zero(self.array(a)):
                    a = self.op(_POS, a)[0]
                if not _bounded(30)(self.array(a)):
                    a = self.op("{0}.tanh()", a)[0]
            symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/"}.get(op, op)
            self.op("{0} %s {1}" % symbol, a, repr(s))
        else:  # scalar ∘ tensor
            s = self.choice([2, 3, -1, 0.5, 1.5, 2.0])
            symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/"}.get(op, op)
            if symbol == "/" and not _away_from_zero(self.array(a)):
                a = self.op(_POS, a)[0]
            if symbol == "**":
                s = abs(s) if s != 1 else 2
                if not _bounded(6)(self.array(a)):
                    a = self.op("{0}.tanh()", a)[0]
            self.op("{1} %s {0}" % symbol, a, repr(s))

    def g_unary(self):
        a = self.pick()
        if a is None:
            return
        template, predicate, fallback = self.choice(UNARY)
        if predicate is not None and not predicate(self.array(a)):
            a = self.op(fallback, a)[0]
        self.op(template, a)

    def g_reduce(self):
        rng = self.rng
        a = self.pick()
        if a is None:
            return
        shape = self.shape(a)
        ndim = len(shape)
        dim = int(rng.integers(-max(ndim, 1), max(ndim, 1)))
        keep = bool(rng.random() < 0.4)
        kind = self.choice(["sum", "mean", "max", "min", "prod", "norm", "softmax", "log_softmax",
                            "sum_dims", "max_dim", "logsumexp", "cumsum", "amax"])
        values = self.array(a)
        if kind in ("sum", "mean"):
            if rng.random() < 0.5:
                self.op(self.choice(["{0}.%s()", "torch.%s({0})"]) % kind, a)
            else:
                self.op("{0}.%s(dim=%d, keepdim=%s)" % (kind, dim, keep), a)
        elif kind == "sum_dims":
            if ndim >= 2:
                dims = tuple(sorted(rng.choice(ndim, size=2, replace=False).tolist()))
                self.op("{0}.%s(%r, keepdim=%s)" % (self.choice(["sum", "mean"]), dims, keep), a)
            else:
                self.op("{0}.sum(0)", a)
        elif kind in ("max", "min"):
            self.op(self.choice(["{0}.%s()", "torch.%s({0})"]) % kind, a)
        elif kind == "amax":
            self.op("{0}.%s(dim=%d, keepdim=%s)" % (self.choice(["amax", "amin"]), dim, keep), a)
        elif kind == "max_dim":
            along = np.sort(np.moveaxis(values, dim, -1) if ndim else values.reshape(1), axis=-1)
            if ndim and np.any(np.diff(along, axis=-1) == 0):
                return self.op("{0}.sum(%d)" % dim, a)  # tied: which index torch picks is unspecified
            fn = self.choice(["max", "min"])
            if rng.random() < 0.3:  # the whole named tuple: values and indices
                self.op("torch.%s({0}, %d, keepdim=%s)" % (fn, dim, keep), a, pool=False)
            self.op(self.choice(["{0}.%s(dim=%d, keepdim=%s).values" % (fn, dim, keep),
                                 "torch.%s({0}, %d)[0]" % (fn, dim)]), a)
        elif kind == "prod":
            if values.size > 12 or not _bounded(4)(values):
                a = self.op("{0}.tanh() * 1.5", a)[0] if values.size <= 12 else self.op("{0}[..., :1]", a)[0]
            if rng.random() < 0.5 or ndim == 0:
                self.op("{0}.prod()", a)
            else:
                self.op("{0}.prod(%d, keepdim=%s)" % (dim, keep), a)
        elif kind == "norm":
            self.op(self.choice(["{0}.norm()", "torch.norm({0})", "{0}.norm(p=1)",
                                 "{0}.norm(dim=%d, keepdim=%s)" % (dim, keep),
                                 "torch.linalg.vector_norm({0}, ord=3)",
                                 "torch.linalg.norm({0}, dim=%d)" % dim]), a)
        elif kind in ("softmax", "log_softmax"):
            self.op(self.choice(["{0}.%s(%d)", "torch.%s({0}, dim=%d)", "F.%s({0}, dim=%d)"])
                    % (kind, dim), a)
        elif kind == "logsumexp":
            self.op("{0}.logsumexp(%d, keepdim=%s)" % (dim, keep), a)
        else:
            self.op("{0}.cumsum(%d)" % dim, a)

    def g_matmul(self):
        rng = self.rng
        a = self.pick(lambda n: 1 <= len(self.shape(n)) <= 3)
        if a is None:
            return
        sa = self.shape(a)
        if rng.random() < 0.2:  # a product of a tensor with itself
            self.op("{0} @ {0}" if len(sa) == 1 else "{0} @ {0}.transpose(-1, -2)", a)
            return
        k = sa[-1]
        right_ndim = int(rng.integers(1, 4))
        batch = sa[0] if len(sa) == 3 else int(rng.integers(1, 4))
        m = int(rng.integers(1, 4))
        shape = {1: (k,), 2: (k, m), 3: (self.choice([batch, 1]) if len(sa) == 3 else batch, k, m)}[right_ndim]
        if rng.random() < 0.05:
            shape = shape[:-2] + (k + 1,) + shape[-1:] if right_ndim > 1 else (k + 1,)  # must fail
        dtype = self.dtype_name(a).split(".")[1]
        if rng.random() < 0.04:
            dtype = "float64" if dtype == "float32" else "float32"  # must fail: mixed dtypes
        b = self.pick(lambda n: self.shape(n) == shape and self.dtype_name(n) == self.dtype_name(a))
        if b is None or rng.random() < 0.3:
            b = self.new_leaf(shape, dtype)
        forms = ["{0} @ {1}", "torch.matmul({0}, {1})"]
        if len(sa) == 2 and right_ndim == 2:
            forms.append("torch.mm({0}, {1})")
        if len(sa) == 2 and right_ndim == 1:
            forms.append("torch.mv({0}, {1})")
        if len(sa) == 1 and right_ndim == 1:
            forms.append("torch.dot({0}, {1})")
        if len(sa) == 3 and right_ndim == 3 and shape[0] == sa[0]:
            forms.append("torch.bmm({0}, {1})")
        if rng.random() < 0.35:  # the tensor on the right: transpose the other operand's role
            if right_ndim == 1:
                self.op("{1} @ {0}", self.op("{0}.transpose(-1, -2)", a)[0] if len(sa) > 1 else a, b)
                return
            self.op(self.choice(["{1}.transpose(-1, -2) @ {0}.transpose(-1, -2)",
                                 "torch.matmul({1}.mT, {0}.mT)"]), a, b)
            return
        self.op(self.choice(forms), a, b)

    def g_shape(self):
        rng = self.rng
        a = self.pick()
        if a is None:
            return
        shape = self.shape(a)
        ndim = len(shape)
        numel = int(np.prod(shape))
        kind = self.choice(["reshape", "view", "transpose", "permute", "squeeze", "unsqueeze",
                            "expand", "flatten", "t", "clone", "dtype", "detach", "contiguous"])
        if kind in ("reshape", "view"):
            target = _factorise(numel, rng)
            if target and rng.random() < 0.3:
                target[int(rng.integers(len(target)))] = -1
            if not target:
                target = [] if rng.random() < 0.5 else [1]
            self.op("{0}.%s(%s)" % (kind, ", ".join(map(str, target)) or "()"), a)
        elif kind == "transpose" and ndim >= 1:
            d0, d1 = (int(d) for d in rng.integers(-ndim, ndim, size=2))
            self.op(self.choice(["{0}.transpose(%d, %d)", "torch.transpose({0}, %d, %d)"]) % (d0, d1), a)
        elif kind == "permute" and ndim >= 1:
            perm = [int(p) - (ndim if rng.random() < 0.2 else 0) for p in rng.permutation(ndim)]
            self.op("{0}.permute(%s)" % ", ".join(map(str, perm)), a)
        elif kind == "squeeze":
            if ndim and rng.random() < 0.6:
                self.op("{0}.squeeze(%d)" % int(rng.integers(-ndim, ndim)), a)
            else:
                self.op("{0}.squeeze()", a)
        elif kind == "unsqueeze" and ndim < 3:
            self.op("{0}.unsqueeze(%d)" % int(rng.integers(-ndim - 1, ndim + 1)), a)
        elif kind == "expand" and ndim <= 2:
            sizes = [int(rng.integers(2, 4)) if s == 1 else (-1 if rng.random() < 0.3 else s) for s in shape]
            if rng.random() < 0.5:
                sizes = [int(rng.integers(1, 4))] + sizes
            self.op("{0}.expand(%s)" % ", ".join(map(str, sizes)) if sizes else "{0}.expand(())", a)
        elif kind == "flatten":
            if ndim >= 2 and rng.random() < 0.5:
                self.op("{0}.flatten(%d, %d)" % tuple(sorted(rng.choice(ndim, 2, replace=False).tolist())), a)
            else:
                self.op(self.choice(["{0}.flatten()", "torch.flatten({0})"]), a)
        elif kind == "t" and ndim <= 2:
            self.op(self.choice(["{0}.t()", "{0}.T"]) if ndim == 2 else "{0}.t()", a)
        elif kind == "clone":
            self.op("{0}.clone()", a)
        elif kind == "dtype":
            self.op(self.choice(["{0}.double()", "{0}.float()", "{0}.to(torch.float64)"]), a)
        elif kind == "detach":
            self.op(self.choice(["{0}.detach()", "{0}.detach() * 2"]), a)
        else:
            self.op("{0}.contiguous()", self.op("{0}.transpose(0, -1)", a)[0] if ndim else a)

    def g_index(self):
        rng = self.rng
        a = self.pick()
        if a is None:
            return
        shape = self.shape(a)
        items: list[str] = []
        dims = list(range(len(shape)))
        advanced = None      # "index" or "mask": one kind per key (torch and numpy agree then)
        index_length = int(rng.integers(1, 4))
        ellipsis_at = int(rng.integers(0, len(dims) + 1)) if rng.random() < 0.2 else None
        stop_after = int(rng.integers(1, len(dims) + 1)) if dims else 0
        d = 0
        while d < len(shape):
            if ellipsis_at is not None and d == ellipsis_at:
                items.append("...")
                d = max(d, len(shape) - int(rng.integers(0, len(shape) - d + 1)))
                ellipsis_at = None
                continue
            if ellipsis_at is None and len(items) >= stop_after and "..." not in items:
                break
            if rng.random() < 0.1:
                items.append("None")
            n = shape[d]
            r = rng.random()
            if r < 0.3 and n:
                items.append(str(int(rng.integers(-n, n))))
            elif r < 0.55:
                start = self.choice([None, 0, 1, -1, -2])
                stop = self.choice([None, n, -1, 2])
                step = self.choice([None, None, 1, 2])
                items.append(f"{'' if start is None else start}:{'' if stop is None else stop}"
                             + ("" if step is None else f":{step}"))
            elif r < 0.65:
                items.append(":")
            elif r < 0.85 and n and advanced != "mask":
                advanced = "index"
                items.append(self.const(rng.integers(-n, n, size=index_length).astype(np.int64)))
            elif advanced is None and n:
                advanced = "mask"
                span = 2 if d + 1 < len(shape) and rng.random() < 0.3 else 1
                mask = rng.random(shape[d:d + span]) < 0.6
                items.append(self.const(mask))
                d += span
                continue
            else:
                items.append(":")
            d += 1
        if not items or rng.random() < 0.1:
            items.append(self.choice(["None", "..."]))
        self.op("{0}[%s]" % ", ".join(items), a)

    def g_combine(self):
        rng = self.rng
        a = self.pick()
        if a is None:
            return
        shape = self.shape(a)
        if rng.random() < 0.5 and shape:  # cat along a dim: the other may differ there
            dim = int(rng.integers(-len(shape), len(shape)))
            others = self.pick(lambda n: len(self.shape(n)) == len(shape) and all(
                s == t for i, (s, t) in enumerate(zip(self.shape(n), shape)) if i != dim % len(shape)))
            if others is None or rng.random() < 0.3:
                other_shape = list(shape)
                other_shape[dim] = int(rng.integers(1, 4))
                others = self.new_leaf(tuple(other_shape), self.dtype_name(a).split(".")[1])
            self.op(self.choice(["torch.cat([{0}, {1}], dim=%d)" % dim, "torch.cat(({1}, {0}, {1}), %d)" % dim]),
                    a, others)
        else:
            dim = int(rng.integers(-len(shape) - 1, len(shape) + 1))
            b = self.pick(lambda n: self.shape(n) == shape)
            if b is None or rng.random() < 0.2:
                b = self.new_leaf(shape, self.dtype_name(a).split(".")[1])
            self.op(self.choice(["torch.stack([{0}, {1}], dim=%d)" % dim, "torch.stack(({0}, {1}, {0}))"]), a, b)

    def g_where(self):
        rng = self.rng
        a = self.pick()
        if a is None:
            return
        b = self.pick(lambda n: _broadcastable(self.shape(a), self.shape(n)))
        kind = self.choice(["where", "where_scalar", "maximum", "minimum", "max_binary", "masked"])
        if kind == "where":
            self.op("torch.where({0} > 0, {0}, {1})" if rng.random() < 0.5 else "torch.where({1} < 0.5, {0}, {1})", a, b)
        elif kind == "where_scalar":
            self.op(self.choice(["torch.where({0} > 0, {0}, 0.0)", "torch.where({0} > 0, 1.0, {0})",
                                 "{0}.where({0} < 0, {1})"]), a, b)
        elif kind in ("maximum", "minimum"):
            self.op("torch.%s({0}, {1})" % kind, a, b)
        elif kind == "max_binary":
            self.op(self.choice(["torch.max({0}, {1})", "torch.min({0}, {1})"]), a, b)
        else:
            self.op("{0}.masked_fill({0} > 0.5, 0.5)", a)

    def g_special(self):
        """Grad-mode switches, detached branches and in-place changes of non-leaves."""
        a = self.pick()
        if a is None:
            return
        kind = self.choice(["no_grad", "enable", "set_grad", "inplace", "inplace_saved"])
        target = self.name()
        if kind == "no_grad":
            code = f"with torch.no_grad():\n    {target} = {a} * 2 + 1"
        elif kind == "enable":
            code = f"with torch.no_grad():\n    with torch.enable_grad():\n        {target} = {a} * {a}"
        elif kind == "set_grad":
            code = f"with torch.set_grad_enabled(False):\n    {target} = {a}.exp() if False else {a} - 1"
        elif kind == "inplace":  # in place on a fresh non-leaf: allowed, recorded
            code = f"{target} = {a} * 1.5\n{target}.add_(1.0)\n{target}.mul_(2)"
        else:  # change a tensor a node saved: backward through it must fail like torch
            root = self.name()
            code = f"{target} = {a} + 0\n{root} = ({target} * {target}).sum()\n{target}.add_(1)"
            self.emit(Step(code, root, "op"))
            return
        self.emit(Step(code, target, "op"))

    # ------------------------------------------------------------ backward events
    def grad_roots(self):
        return [n for n in self.pool if self.value(n).requires_grad]

    def _backward(self, code: str, gradient: str | None = None):
        self.roots.append((code, gradient))
        self.emit(Step(code, None, "backward"))

    def e_scalar(self):
        roots = self.grad_roots()
        if not roots:
            return self.e_no_grad_root()
        root = roots[-1] if self.rng.random() < 0.7 else self.choice(roots)
        if self.value(root).numel() != 1:
            root = self.op(self.choice(["{0}.sum()", "{0}.mean()", "({0} * {0}).sum()"]), root)[0]
        elif self.rng.random() < 0.3:
            root = self.op("{0}.reshape(())", root)[0] if self.value(root).dim() else root
        retain = self.choice(["", "", ", retain_graph=True", ", retain_graph=False"])
        self._backward(f"{root}.backward({retain.lstrip(', ')})")

    def e_vector(self):
        roots = self.grad_roots()
        if not roots:
            return self.e_no_grad_root()
        root = roots[-1] if self.rng.random() < 0.7 else self.choice(roots)
        g = self.const(self.random_values(self.shape(root), self.dtype_name(root).split(".")[1]),
                       self.dtype_name(root).split(".")[1])
        retain = self.choice(["", "", ", retain_graph=True"])
        form = self.choice(["{0}.backward({1}%s)", "{0}.backward(gradient={1}%s)",
                            "torch.autograd.backward({0}, {1}%s)"])
        self._backward(form.format(root, g) % retain, gradient=g)

    def e_implicit_non_scalar(self):
        roots = [n for n in self.grad_roots() if self.value(n).numel() != 1]
        if roots:
            self._backward(f"{self.choice(roots)}.backward()")

    def e_again(self):
        if self.roots:  # a second backward, retain_graph or not
            code, gradient = self.choice(self.roots)
            if gradient is not None:
                # A fresh copy of the gradient: torch may hand a tensor it was given to a leaf
                # as its .grad (a view of it, "stolen") and later add into it in place.
                # GradStudio never aliases .grad, by design; reusing it would test that quirk.
                values, dtype = self.constants[gradient]
                fresh = self.const(values.copy(), dtype)
                code, gradient = re.sub(rf"\b{gradient}\b", fresh, code), fresh
            self._backward(code, gradient)
        else:
            self.e_scalar()

    def e_grad(self):
        roots = self.grad_roots()
        if not roots or not self.leaves:
            return
        root = roots[-1]
        if self.value(root).numel() != 1:
            root = self.op("{0}.sum()", root)[0]
        inputs = list(dict.fromkeys(self.choice(self.leaves) for _ in range(2)))
        if self.rng.random() < 0.3:
            inputs.append(self.choice(roots[:-1] or roots))  # a non-leaf input
        create = self.rng.random() < 0.4
        options = ", create_graph=True" if create else self.choice(["", ", retain_graph=True"])
        if self.rng.random() < 0.5:
            options += ", allow_unused=True"
        target = self.name("gr")
        self.roots.append((f"{root}.backward(retain_graph=True)", None))
        self.emit(Step(f"{target} = torch.autograd.grad({root}, ({', '.join(inputs)},){options})",
                       target, "grad"), pool=False)
        if create:  # differentiate the gradient again
            record = self.oracle.records[-1]
            if record[0] == "ok":
                first = record[1][2][0]
                if first is not None:
                    second = self.op(f"({target}[0] * {target}[0]).sum()" if self.rng.random() < 0.5
                                     else f"({target}[0].sin()).sum()")[0]
                    self._backward(f"{second}.backward()")

    def e_no_grad_root(self):
        a = self.pick() or self.new_leaf((2,), "float32", requires_grad=False)
        self._backward(self.choice([f"{a}.detach().sum().backward()", f"torch.ones(3).sum().backward()",
                                    f"torch.autograd.grad({a}.detach().sum(), [{self.leaves[0] if self.leaves else a}])"]))

    def e_inputs(self):
        roots = self.grad_roots()
        if not roots or not self.leaves:
            return
        root = roots[-1]
        if self.value(root).numel() != 1:
            root = self.op("{0}.sum()", root)[0]
        inputs = self.choice(self.leaves)
        self._backward(f"{root}.backward(inputs=[{inputs}], retain_graph=True)")

    def e_bad_gradient(self):
        roots = self.grad_roots()
        if not roots:
            return
        root = self.choice(roots)
        shape = self.shape(root) + (2,)
        g = self.const(self.random_values(shape, "float32"), "float32")
        self._backward(f"{root}.backward({g})")

    def e_create_graph(self):
        roots = self.grad_roots()
        if not roots or not self.leaves:
            return self.e_scalar()
        root = roots[-1]
        if self.value(root).numel() != 1:
            root = self.op("{0}.sum()", root)[0]
        self._backward(f"{root}.backward(create_graph=True)")
        leaf = self.choice(self.leaves)
        second = self.name()
        self.emit(Step(f"{second} = ({leaf}.grad * {leaf}.grad).sum() if {leaf}.grad is not None else None",
                       second, "op"), pool=False)
        self._backward(f"{second}.backward()")

    def e_zero_grad(self):
        if self.leaves:
            self.emit(Step(f"{self.choice(self.leaves)}.grad = None", None, "backward"))


def _broadcastable(a: tuple, b: tuple) -> bool:
    return all(x == y or x == 1 or y == 1 for x, y in zip(reversed(a), reversed(b)))


def _compatible_shape(shape: tuple, rng) -> tuple:
    out = tuple(1 if rng.random() < 0.3 else s for s in shape)
    return out[int(rng.integers(0, len(out) + 1)):] if rng.random() < 0.4 else out


def _factorise(n: int, rng) -> list[int]:
    """A random shape of up to 3 dims with ``n`` elements."""
    if n == 0:
        return [0]
    dims = []
    while n > 1 and len(dims) < 2:
        divisors = [d for d in range(1, n + 1) if n % d == 0]
        d = divisors[int(rng.integers(len(divisors)))]
        dims.append(d)
        n //= d
    dims.append(n)
    if rng.random() < 0.3:
        dims.insert(int(rng.integers(len(dims) + 1)), 1)
    return dims[:4]


# --------------------------------------------------------------------------- running
def run_program(seed: int, torch):
    """Generate program ``seed`` (recording torch as it goes), run it under GradStudio
    and compare. Returns the steps; raises AssertionError with the program on a mismatch."""
    generator = Generator(seed, torch)
    steps = generator.build()
    subject = Interpreter(gradstudio)
    loose = any("float32" in s.code or ".float()" in s.code for s in steps)
    for i, (step, expected) in enumerate(zip(steps, generator.oracle.records)):
        actual = subject.run(step)
        try:
            compare_step(step, expected, actual, loose)
        except Mismatch as mismatch:
            raise AssertionError(f"seed {seed}, step {i}: {step.source()}\n{mismatch}\n\n"
                                 f"{render(seed, steps)}") from None
    _programs[seed] = (steps, generator.oracle.records)
    return steps, generator.oracle.records


_programs: dict = {}  # seed -> (steps, torch records), kept for the census below


@pytest.mark.parametrize("seed", SEEDS)
def test_random_program(seed, torch):
    run_program(seed, torch)


def test_programs_cover_the_api(torch):
    """The generator reaches what it is meant to: a census over a sample of programs."""
    text, outcomes = [], []
    for seed in SEEDS:
        if seed not in _programs:  # run alone: generate (torch only) what the tests ran
            generator = Generator(seed, torch)
            _programs[seed] = (generator.build(), generator.oracle.records)
        steps, records = _programs[seed]
        text += [s.code for s in steps]
        outcomes += list(zip(steps, records))
    code = "\n".join(text)
    for needle in ["@", "torch.matmul", "torch.mm(", "torch.mv(", "torch.dot(", "torch.bmm(",
                   ".reshape(", ".view(", ".permute(", ".expand(", ".squeeze(", ".unsqueeze(",
                   ".flatten(", "torch.cat(", "torch.stack(", "torch.where(", "torch.maximum(",
                   ".softmax(", "log_softmax", ".norm(", ".prod(", ".max(", ".min(", ".mean(",
                   ".sum(", "...", "None]", "retain_graph=True", "create_graph=True",
                   "torch.autograd.grad(", "inputs=[", "**", ".clamp(", ".retain_grad()",
                   "torch.no_grad()", ".add_("]:
        assert needle in code, needle
    names = {r[1]["grad_fn"] for s, r in outcomes if r[0] == "ok" and isinstance(r[1], dict)}
    for name in ["IndexBackward0", "SelectBackward0", "SliceBackward0", "UnsafeViewBackward0",
                 "BmmBackward0", "MvBackward0", "DotBackward0", "MaxBackward0", "MaxBackward1",
                 "ExpandBackward0", "PowBackward0", "PowBackward1", "PowBackward2",
                 "RsubBackward1", "WhereBackward0", "CatBackward0", "StackBackward0",
                 "ToCopyBackward0", "LinalgVectorNormBackward0", "SoftmaxBackward0"]:
        assert name in names, name
    raised = [r for s, r in outcomes if r[0] == "raise"]
    messages = {r[2][:40] for r in raised}
    assert any(m.startswith("Trying to backward through the graph") for m in messages)
    assert any(m.startswith("grad can be implicitly created") for m in messages)
    assert any(m.startswith("element 0 of tensors does not require") for m in messages)
    assert any(m.startswith("Mismatch in shape") for m in messages)
    backward_ok = sum(1 for s, r in outcomes if s.kind == "backward" and r[0] == "ok")
    assert backward_ok > N_PROGRAMS
    # programs mostly run: failing steps are the deliberate ones, not a broken generator
    assert len(raised) < 0.1 * len(outcomes)


# --------------------------------------------------------------------------- kinks
KINK_CASES = {
    "relu at 0": "x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)\ny = x.relu()",
    "abs at 0": "x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)\ny = x.abs()",
    "clamp at its bounds": "x = torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0], requires_grad=True)\n"
                           "y = x.clamp(0.0, 1.0)",
    "clamp_min at its bound": "x = torch.tensor([0.0, 1.0, -1.0], requires_grad=True)\ny = x.clamp(min=0.0)",
    "max ties split evenly": "x = torch.tensor([3.0, 1.0, 3.0, 3.0], requires_grad=True)\ny = x.max()",
    "min ties split evenly": "x = torch.tensor([[1.0, 1.0], [2.0, 5.0]], requires_grad=True)\ny = x.min()",
    "amax ties split evenly": "x = torch.tensor([[1.0, 4.0, 4.0], [2.0, 2.0, 0.0]], requires_grad=True)\n"
                              "y = x.amax(dim=1)",
    "maximum ties half each": "x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
                              "w = torch.tensor([1.0, 0.0, 3.0], requires_grad=True)\ny = torch.maximum(x, w)",
    "minimum ties half each": "x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
                              "w = torch.tensor([1.0, 0.0, 3.0], requires_grad=True)\ny = torch.minimum(x, w)",
    "maximum with itself": "x = torch.tensor([1.0, -2.0], requires_grad=True)\ny = torch.maximum(x, x)",
    "sqrt at 0 is inf": "x = torch.tensor([0.0, 4.0], requires_grad=True)\ny = x.sqrt()",
    "norm at 0": "x = torch.zeros(3, requires_grad=True)\ny = x.norm()",
    "norm over dim at 0": "x = torch.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)\ny = x.norm(dim=1)",
    "norm p=1 at 0": "x = torch.tensor([0.0, -2.0, 1.0], requires_grad=True)\ny = x.norm(p=1)",
    "where NaN trap": "x = torch.tensor([-1.0, 0.0, 4.0], requires_grad=True)\n"
                      "y = torch.where(x > 0, x.sqrt(), torch.zeros(3))",
    "where NaN trap log": "x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)\n"
                          "y = torch.where(x > 0, x.log(), x)",
    "sign at 0": "x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)\ny = x.sign()",
    "pow 0 ** 0": "x = torch.tensor([0.0, 2.0], requires_grad=True)\ny = x ** 0",
    "pow 0 ** 2": "x = torch.tensor([0.0, -3.0], requires_grad=True)\ny = x ** 2",
    "pow 0 ** 0.5": "x = torch.tensor([0.0, 4.0], requires_grad=True)\ny = x ** 0.5",
    "pow tensor exponent at base 0": "x = torch.tensor([0.0, 0.0, 2.0], requires_grad=True)\n"
                                     "e = torch.tensor([2.0, 0.0, -1.0], requires_grad=True)\ny = x ** e",
    "scalar base 0": "x = torch.tensor([0.0, 1.0, 2.0], requires_grad=True)\ny = 0.0 ** x",
    "prod with one zero": "x = torch.tensor([2.0, 0.0, 3.0], requires_grad=True)\ny = x.prod()",
    "prod with two zeros": "x = torch.tensor([0.0, 0.0, 3.0], requires_grad=True)\ny = x.prod()",
    "prod dim with zero": "x = torch.tensor([[2.0, 0.0], [3.0, 4.0]], requires_grad=True)\ny = x.prod(1)",
    "leaky relu at 0": "x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)\n"
                       "y = torch.nn.functional.leaky_relu(x, 0.2)",
    "max dim first of ties": "x = torch.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)\n"
                             "y = x.max(dim=1).values",
    "log at 0": "x = torch.tensor([0.0, 1.0], requires_grad=True)\ny = x.log()",
    "division by 0": "x = torch.tensor([1.0, 0.0, -1.0], requires_grad=True)\ny = x / torch.tensor(0.0)",
    "softmax of -inf": "x = torch.tensor([0.0, -float('inf'), 1.0], requires_grad=True)\ny = x.softmax(0)",
    "relu of nan": "x = torch.tensor([float('nan'), 1.0], requires_grad=True)\ny = x.relu()",
    "max with nan": "x = torch.tensor([1.0, float('nan'), 2.0], requires_grad=True)\ny = x.max()",
    "clamp nan": "x = torch.tensor([float('nan'), 5.0], requires_grad=True)\ny = x.clamp(0, 1)",
}


@pytest.mark.parametrize("case", sorted(KINK_CASES))
def test_gradient_at_kinks(case, torch):
    code = KINK_CASES[case] + "\ny.backward(torch.ones_like(y))"
    results = []
    for lib in (torch, gradstudio):
        namespace = {"torch": lib}
        exec(code, namespace)
        results.append((snapshot(namespace["y"]), snapshot(namespace["x"].grad),
                        snapshot(namespace["w"].grad) if "w" in namespace else None))
    for e, a, what in zip(results[0], results[1], ("y", "x.grad", "w.grad")):
        try:
            _compare(e, a, what)
        except Mismatch as mismatch:
            raise AssertionError(f"{case}:\n{KINK_CASES[case]}\n{mismatch}") from None


def test_kink_conventions_explicitly(torch):
    """The conventions themselves, not only agreement (both could be wrong together)."""
    gs = gradstudio
    x = gs.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]
    x = gs.tensor([0.0, 1.0], requires_grad=True)
    x.abs().sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]
    x = gs.tensor([0.0, 0.5, 1.0, 2.0], requires_grad=True)
    x.clamp(0.0, 1.0).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0, 0.0]
    x = gs.tensor([3.0, 3.0, 1.0, 3.0], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == pytest.approx([1 / 3, 1 / 3, 0.0, 1 / 3])
    a = gs.tensor([1.0, 2.0], requires_grad=True)
    b = gs.tensor([1.0, 1.0], requires_grad=True)
    gs.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 1.0] and b.grad.tolist() == [0.5, 0.0]
    x = gs.tensor([0.0], requires_grad=True)
    x.sqrt().sum().backward()
    assert x.grad.tolist() == [math.inf]
    x = gs.zeros(3, requires_grad=True)
    x.norm().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    x = gs.tensor([-1.0, 4.0], requires_grad=True)
    gs.where(x > 0, x.sqrt(), gs.zeros(2)).sum().backward()
    assert math.isnan(x.grad.tolist()[0]) and x.grad.tolist()[1] == 0.25  # the NaN trap, as in torch
