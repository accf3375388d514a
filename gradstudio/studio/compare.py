"""The three-way check of one backward call: engine vs symbolic vs finite
differences, per leaf and per element.

For a backward call on root ``r`` with ``gradient=`` v (1 for a scalar), the
gradient a leaf receives is ∂(Σ r·v)/∂leaf. Three independent numbers for it:

* **engine** — what the call added to ``leaf.grad`` (float32 usually);
* **symbolic** — the closed form sympy derives from the ops' symbolic
  forwards (:mod:`gradstudio.studio.symbolic`), evaluated in float64;
* **finite difference** — central differences of Σ r·v, re-evaluating the
  recorded graph in float64 (every element up to 256, otherwise a random
  sample of 256 plus one random-direction check).

A check can be *provisional* (``check_call(..., provisional=True)``): engine
against finite differences only, made before the closed form is back so that
the window has its first numbers sooner (a node editor's edit). Its finite
differences are the spot check a closed form over every element makes them
(:func:`fd_elements` elements plus one random direction); the full check that
follows reuses them when the closed form does cover every element, and samples
as many elements as ever when it does not.

Tolerances suit the engine's dtype. At a kink (relu at 0, a tie in max, a
clamp bound) torch picks one side and finite differences average both: such
a disagreement is explained in the note, not reported as a failure.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only: the window reads these records without the engine
    from gradstudio.studio.trace import Graph
    from gradstudio.studio.session import BackwardCall

MAX_DENSE_ELEMENTS = 256
FD_SECONDS = 2.0   # time for finite differences of one leaf, beyond which fewer elements are sampled
# With a closed form whose values cover every element, finite differences are a spot
# check: about this many op evaluations (sampled elements × ops in the graph), at least
# 8 elements. A node-editor edit on a 100-op chain of 1,000-element tensors spent ~1 s
# here re-running the graph 515 times (256 elements) while the closed form had checked
# all 1,000 elements; graphs of up to 4 ops keep all 256.
FD_SPOT_CHECK_OPS = 1024


@dataclass
class Tolerance:
    rtol: float
    atol: float

    @staticmethod
    def for_dtype(dtype, scale: float) -> "Tolerance":
        scale = max(1.0, scale)
        if np.dtype(dtype) == np.float64:
            return Tolerance(1e-6, 1e-8 * scale)
        return Tolerance(2e-3, 2e-5 * scale)

    def close(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Elementwise agreement; NaN agrees with NaN and inf with the same inf."""
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            ok = np.abs(a - b) <= self.atol + self.rtol * np.abs(b)
        both_nan = np.isnan(a) & np.isnan(b)
        same_inf = np.isinf(a) & np.isinf(b) & (np.sign(a) == np.sign(b))
        return ok | both_nan | same_inf


@dataclass
class FiniteDifferences:
    """One leaf's central differences (what :func:`finite_differences` answers) and how
    many elements they were asked for: a later check of the same call that wants as
    many reuses them."""
    values: np.ndarray
    sampled: np.ndarray
    direction: tuple | None
    max_elements: int


@dataclass
class LeafCheck:
    name: str
    vertex: int
    shape: tuple
    numeric: np.ndarray
    symbolic: np.ndarray | None = None
    finite_difference: np.ndarray | None = None   # NaN where not sampled
    unsampled: np.ndarray | None = None           # bool mask: elements finite differences skipped
    formula: object = None                         # gradstudio.studio.symbolic.LeafFormula or None
    max_abs_error: float | None = None
    agree: bool = True
    note: str | None = None
    mismatch: np.ndarray | None = None             # bool mask of disagreeing elements
    direction_check: tuple | None = None           # (engine·u, fd along u) for big leaves
    abs_error: np.ndarray | None = None            # |engine − reference| per element
    rel_error: np.ndarray | None = None            # the same, relative to |reference|
    torch: np.ndarray | None = None                # PyTorch's gradient, when available
    finite: FiniteDifferences | None = None        # the finite differences behind finite_difference


@dataclass
class CallCheck:
    call: BackwardCall
    leaves: list = field(default_factory=list)
    symbolic_error: str | None = None
    provisional: bool = False      # engine vs finite differences only: the full check follows

    @property
    def agree(self) -> bool:
        return all(leaf.agree for leaf in self.leaves)


# --------------------------------------------------------------------------- finite differences
def finite_differences(graph: Graph, vertex: int, gradient, *, rng=None,
                       max_elements: int = MAX_DENSE_ELEMENTS, seconds: float = FD_SECONDS):
    """Central differences of Σ root·gradient w.r.t. one leaf, in float64.

    Every element up to ``max_elements``, else a random sample of that many —
    fewer if re-evaluating the graph is so slow that they would take more than
    ``seconds`` (at least 8). Returns (values, sampled mask, direction): values
    are NaN where not sampled; direction is (fd along a random unit vector u, u)
    for leaves with unsampled elements, else None."""
    from gradstudio.studio.element_objective import element_objective
    rng = rng if rng is not None else np.random.default_rng(0)
    start = time.perf_counter()
    f, at = element_objective(graph, gradient)   # evaluates the whole graph once: that is its cost
    per_evaluation = time.perf_counter() - start
    x0 = np.asarray(graph[vertex].value, dtype=np.float64)
    x = x0.copy()
    flat = x.reshape(-1)
    result = np.full(flat.shape, np.nan)
    sampled = np.zeros(flat.shape, dtype=bool)
    count = min(flat.size, max_elements, max(8, int(seconds / max(2 * per_evaluation, 1e-9))))
    if count == flat.size:
        sample = np.arange(flat.size)
    else:
        sample = np.sort(rng.choice(flat.size, size=count, replace=False))
    if count:
        steps = 1e-6 * np.maximum(1.0, np.abs(flat[sample]))
        # every sampled element's f(x ± h) at once, each change alone (element_objective)
        changed = at.many(vertex, np.repeat(sample, 2), np.stack([flat[sample] + steps, flat[sample] - steps], 1))
        plus, minus = changed[0::2], changed[1::2]
        # the first element's f(x + h·e_i) also on whole arrays: they must agree (up to
        # rounding), or all go on whole arrays (its f(x − h·e_i) is made by the same plan)
        if not _same_value(plus[0], _whole_value(f, vertex, x, flat, sample[0], steps[0])):
            whole = np.array([_whole_difference(f, vertex, x, flat, i, h) for i, h in zip(sample, steps)])
            plus, minus = whole[:, 0], whole[:, 1]
        result[sample] = (plus - minus) / (2 * steps)
        sampled[sample] = True
    direction = None
    if count < flat.size:
        u = rng.standard_normal(flat.size)
        u /= np.linalg.norm(u)
        direction = (graph.central_difference(vertex, gradient, u.reshape(x0.shape), f), u)
    return result.reshape(x0.shape), sampled.reshape(x0.shape), direction


def _whole_value(f, vertex: int, x: np.ndarray, flat: np.ndarray, i: int, h: float) -> float:
    """f(x + h·e_i) on whole arrays (``flat`` is ``x`` flat; restored after)."""
    original = flat[i]
    flat[i] = original + h
    try:
        return f({vertex: x})
    finally:
        flat[i] = original


def _same_value(a: float, b: float) -> bool:
    """Two evaluations of f equal up to rounding (a ufunc on one element and on a whole
    array may round its last bit differently)."""
    return abs(a - b) <= 64 * np.finfo(np.float64).eps * max(abs(a), abs(b), 1.0) or (np.isnan(a) and np.isnan(b))


def _whole_difference(f, vertex: int, x: np.ndarray, flat: np.ndarray, i: int, h: float) -> tuple:
    """(f(x + h·e_i), f(x − h·e_i)) on whole arrays (``flat`` is ``x`` flat; restored after)."""
    original = flat[i]
    flat[i] = original + h
    plus = f({vertex: x})
    flat[i] = original - h
    minus = f({vertex: x})
    flat[i] = original
    return plus, minus


# --------------------------------------------------------------------------- kinks
def kink_present(graph: Graph) -> bool:
    """Whether some op in the graph is evaluated exactly at a point where it is
    not differentiable (torch then picks a one-sided value); each row's ``kink``
    says where its kinks are."""
    for node in graph.nodes:
        if node.kind != "op" or node.op.kink is None:
            continue
        if node.op.kink(*[np.asarray(graph[i].value) for i in node.inputs], **node.params):
            return True
    return False


# --------------------------------------------------------------------------- the check
def check_call(call: BackwardCall, formulas: dict | None = None, *, symbolic_error: str | None = None,
               rng=None, torch_gradients: dict | None = None, provisional: bool = False,
               finite: dict | None = None) -> CallCheck:
    """Compare, for every leaf of ``call``, engine, symbolic and finite differences.

    ``formulas`` maps a leaf's graph vertex to its :class:`LeafFormula` (from
    :mod:`gradstudio.studio.symbolic`); ``torch_gradients`` maps a vertex to PyTorch's value.
    ``provisional``: engine against finite differences only (see the module docstring; no
    formulas are given). ``finite`` maps a vertex to the :class:`FiniteDifferences` of an
    earlier check of this call (its ``LeafCheck.finite``), reused when they sampled as many
    elements as this check samples."""
    check = CallCheck(call, symbolic_error=symbolic_error, provisional=provisional)
    if call.status != "ok" or call.graph is None:
        return check
    formulas = {} if provisional else formulas or {}
    at_kink = kink_present(call.graph)
    rng = rng if rng is not None else np.random.default_rng(call.index)
    for leaf in call.leaves:
        check.leaves.append(_check_leaf(call, leaf, formulas.get(leaf.vertex), at_kink, rng,
                                        (torch_gradients or {}).get(leaf.vertex), provisional,
                                        (finite or {}).get(leaf.vertex)))
    return check


def _check_leaf(call, leaf, formula, at_kink, rng, torch_value, provisional=False, earlier=None) -> "LeafCheck":
    numeric = np.asarray(leaf.grad)
    result = LeafCheck(leaf.name, leaf.vertex, leaf.shape, numeric, formula=formula, torch=torch_value)
    # a provisional check samples as the full one will when the closed form covers every element
    spot_check = provisional or (formula is not None and _covers(formula.values, numeric.shape))
    max_elements = fd_elements(call.graph) if spot_check else MAX_DENSE_ELEMENTS
    try:
        if earlier is not None and earlier.max_elements == max_elements:
            found = earlier
        else:
            found = FiniteDifferences(*finite_differences(call.graph, leaf.vertex, call.gradient,
                                                          rng=rng, max_elements=max_elements), max_elements)
        result.finite = found
        fd, sampled_mask, direction = found.values, found.sampled, found.direction
        result.unsampled = ~sampled_mask
        checked = int(sampled_mask.sum())
        if checked < min(sampled_mask.size, max_elements):
            result.note = (f"finite differences checked {checked} of {sampled_mask.size} elements "
                           "(re-running this graph is slow) plus one random direction.")
        elif checked < min(sampled_mask.size, MAX_DENSE_ELEMENTS):
            closed_form = ("the closed form, on its way, checks every element" if provisional
                           else "the closed form checks every element")
            result.note = (f"finite differences spot-checked {checked} of {sampled_mask.size} elements "
                           f"plus one random direction ({closed_form}).")
    except Exception as error:  # an op the graph cannot re-run (e.g. a custom Function)
        fd, direction = None, None
        result.note = f"finite differences unavailable: {error}"
    result.finite_difference = fd
    if formula is not None and formula.values is not None:
        result.symbolic = np.asarray(formula.values, dtype=np.float64).reshape(numeric.shape)
    references = [r for r in (result.symbolic, fd) if r is not None]
    scale = max([float(np.nanmax(np.abs(r[np.isfinite(r)]))) if np.any(np.isfinite(r)) else 0.0
                 for r in references] + [0.0])
    tolerance = Tolerance.for_dtype(numeric.dtype, scale)
    mismatch = np.zeros(numeric.shape, dtype=bool)
    errors = []
    symbolic_ok = None
    if result.symbolic is not None:
        ok = tolerance.close(numeric, result.symbolic)
        symbolic_ok = bool(ok.all())
        mismatch |= ~ok
        errors.append(_max_abs(numeric, result.symbolic))
    fd_ok = None
    if fd is not None:
        sampled = ~result.unsampled
        ok = tolerance.close(numeric, fd) | ~sampled
        fd_ok = bool(ok.all())
        fd_mismatch = ~ok
        errors.append(_max_abs(numeric[sampled], fd[sampled]))
        if direction is not None:
            along, u = direction
            engine_along = float(np.sum(numeric.astype(np.float64).reshape(-1) * u))
            result.direction_check = (engine_along, along)
            if not Tolerance.for_dtype(numeric.dtype, abs(along)).close(engine_along, along):
                fd_ok = False
        if not fd_ok and at_kink and symbolic_ok is not False:
            result.note = _join(result.note, "At a kink (e.g. relu or abs at 0, a tie in max/min, a "
                                "clamp bound) torch uses a one-sided derivative, while finite "
                                "differences average both sides; the difference is expected there.")
        else:
            mismatch |= fd_mismatch
    if torch_value is not None:
        ok = tolerance.close(numeric, torch_value)
        if not ok.all():
            mismatch |= ~ok
            result.note = _join(result.note, "PyTorch computes a different gradient (the engine should "
                                "match it: please report this).")
    errors = [e for e in errors if e is not None]
    result.max_abs_error = max(errors) if errors else None
    reference = result.symbolic if result.symbolic is not None else fd  # NaN where unsampled
    if reference is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            result.abs_error = np.abs(numeric.astype(np.float64) - reference)
            result.rel_error = result.abs_error / np.maximum(np.abs(reference), np.finfo(np.float64).tiny)
    nonfinite = ~np.isfinite(numeric)
    if nonfinite.any():
        result.note = _join(result.note, f"{int(nonfinite.sum())} element(s) of the gradient are "
                            "NaN or infinite.")
    if formula is not None and formula.note:
        result.note = _join(result.note, formula.note)
    result.mismatch = mismatch
    result.agree = not mismatch.any() and symbolic_ok is not False and (
        fd_ok is not False or (at_kink and symbolic_ok is not False))
    if symbolic_ok is None and fd_ok is None and not provisional:
        result.agree = False
        result.note = _join(result.note, "nothing to compare the engine's gradient with")
    elif symbolic_ok is None and fd_ok is None:
        result.agree = False          # (the closed form may still give something to compare with)
    return result


def fd_elements(graph: "Graph") -> int:
    """How many elements finite differences sample when a closed form checks them all:
    :data:`FD_SPOT_CHECK_OPS` op evaluations' worth, 8 to :data:`MAX_DENSE_ELEMENTS`."""
    ops = sum(1 for node in graph.nodes if node.kind == "op")
    return max(8, min(MAX_DENSE_ELEMENTS, FD_SPOT_CHECK_OPS // max(ops, 1)))


def _covers(values, shape) -> bool:
    """Whether a closed form's ``values`` give a finite number for every element."""
    if values is None:
        return False
    values = np.asarray(values, dtype=np.float64)
    return values.size == int(np.prod(shape)) and bool(np.isfinite(values).all())


def _max_abs(a, b) -> float | None:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    finite = np.isfinite(a) & np.isfinite(b)
    if not finite.any():
        return None
    return float(np.max(np.abs(a[finite] - b[finite])))


def _join(a, b):
    return b if not a else f"{a} {b}"


# --------------------------------------------------------------------------- JSON
def _nested(array, missing=None) -> list | None:
    """A nested list of floats; elements in ``missing`` (not sampled) become null.
    NaN and ±inf stay floats (json writes NaN / Infinity, which json.loads reads)."""
    if array is None:
        return None
    array = np.asarray(array, dtype=np.float64)
    if missing is None:
        return array.tolist()
    values = array.astype(object)
    values[missing] = None
    return values.tolist()


def call_to_json(check: CallCheck) -> dict:
    """One backward call in the exact shape ``gradstudio check --json`` prints."""
    call = check.call
    return {
        "index": call.index, "cell": call.cell, "line": call.line,
        "root": {"name": call.root_name, "grad_fn": call.root_grad_fn, "shape": list(call.root_shape)},
        "gradient": _nested(call.gradient),
        "status": call.status, "error": call.error,
        "leaves": [leaf_to_json(leaf) for leaf in check.leaves],
    }


def leaf_to_json(leaf: LeafCheck) -> dict:
    formula = leaf.formula
    return {
        "name": leaf.name, "shape": list(leaf.shape),
        "numeric": _nested(leaf.numeric), "symbolic": _nested(leaf.symbolic),
        "finite_difference": _nested(leaf.finite_difference, leaf.unsampled),
        "formula_kind": formula.kind if formula is not None else "none",
        "formula": formula.formula if formula is not None else None,
        "formula_simplified": formula.simplified if formula is not None else None,
        "formula_latex": formula.latex if formula is not None else None,
        "element_symbol": formula.element_symbol if formula is not None else None,
        "max_abs_error": leaf.max_abs_error, "agree": bool(leaf.agree), "note": leaf.note,
    }


def report_json(script: str, checks: list) -> dict:
    return {"script": script, "backward_calls": [call_to_json(c) for c in checks]}
