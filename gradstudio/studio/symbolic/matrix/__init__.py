"""The matrix form of a gradient: ``½(A + Aᵀ)x``, ``(softmax(Wx + b) − e_y)xᵀ``, ``−X⁻ᵀ``.

:func:`derive` turns a recorded graph into a matrix expression (:mod:`.build`,
one matrix forward per op, in its row's ``matrix`` field), differentiates it in reverse mode
(:mod:`.diff`), simplifies (:mod:`.simplify`), writes it as text, LaTeX and
NumPy code (:mod:`.render`) and evaluates it with numpy on the recorded values
(:mod:`.evaluate`) so the caller can compare it with the engine and finite
differences. :func:`hessian` gives the Hessian of a scalar function of one
leaf — scalar, vector or matrix (:mod:`.hessians`). Shapes stay symbolic throughout: the work is
proportional to the number of ops, not to the tensors' sizes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import expr as M
from .build import Builder, NoMatrixForm, language_shape
from .diff import NoMatrixRule, gradients
from .evaluate import evaluate
from .render import definitions, latex, numpy_code, text
from .simplify import simplify

__all__ = ["MatrixForm", "NoMatrixForm", "derive", "function_of", "gradients", "hessian", "simplify"]


MAX_SHOWN_NODES = 600   # a larger gradient is not read by anyone: its size is reported instead


def written(e: M.Expr, names: dict) -> tuple | None:
    """(text, LaTeX, [(name, definition)]) of ``e``, or None when it is too large to show."""
    if M.size(e) > MAX_SHOWN_NODES:
        return None
    return text(e, names, keep_named=True), latex(e, names, keep_named=True), definitions(e, names)


@dataclass
class MatrixForm:
    expression: M.Expr              # the simplified gradient
    function: M.Expr                # the scalar f it is the gradient of
    leaf: str                       # the leaf's symbol name
    text: str | None                # None when too large to show (see ``size``)
    latex: str | None
    values: np.ndarray              # evaluated, in the leaf's torch shape
    bindings: dict                  # symbol name -> array (the language's shapes)
    names: dict                     # expression -> script name of an intermediate
    intermediates: list = field(default_factory=list)   # [(name, text of its definition)]
    size: int = 0                   # nodes of the expression

    def numpy_code(self) -> str | None:
        """``fAndG(...)`` computing f and this gradient with numpy (None when too large)."""
        if self.text is None:
            return None
        inputs = {name: value.shape for name, value in self.bindings.items()}
        args = {(n if n in _vars(self.function) else f"onehot_{n}"): s for n, s in inputs.items()}
        return numpy_code(simplify(self.function), {self.leaf: self.expression}, args, self.names)


def _vars(e) -> set:
    return {x.data for x in M.leaves(e)}


def function_of(graph, gradient) -> tuple:
    """(f, builder): the scalar the backward call differentiates, Σ root or vᵀroot."""
    builder = Builder(graph)
    root = builder.expression(graph.root)
    if gradient is None or np.ndim(gradient) == 0 and not np.shape(graph[graph.root].value):
        c = 1.0 if gradient is None else float(np.asarray(gradient))
        if not root.is_scalar:
            raise NoMatrixForm("backward() of a non-scalar without gradient=")
        return (root if c == 1.0 else M.scale(c, root)), builder
    v = np.broadcast_to(np.asarray(gradient, dtype=np.float64), graph[graph.root].shape)
    seed = builder.symbol("v", v)
    return M.total(M.mul(seed, root)), builder


def derive(graph, gradient, leaf_id: int) -> MatrixForm:
    """The matrix form of ∂f/∂leaf, or NoMatrixForm saying why there is none."""
    leaf = graph[leaf_id]
    if len(leaf.shape) > 2:
        raise NoMatrixForm(f"the leaf is a {len(leaf.shape)}-d tensor")
    f, builder = function_of(graph, gradient)
    x = builder.exprs.get(leaf_id)
    if x is None or x.op != "var":
        raise NoMatrixForm("the leaf is not a tensor of the expression")
    try:
        g = simplify(gradients(f, [x])[x])
    except NoMatrixRule as why:
        raise NoMatrixForm(str(why)) from None
    values = np.broadcast_to(evaluate(g, builder.bindings), language_shape(leaf.shape) or ())
    shown = written(g, builder.names) or (None, None, [])
    return MatrixForm(expression=g, function=f, leaf=x.data, text=shown[0], latex=shown[1],
                      values=np.array(values, dtype=np.float64).reshape(leaf.shape),
                      bindings=builder.bindings, names=builder.names, intermediates=shown[2],
                      size=M.size(g))


def hessian(graph, gradient, leaf_id: int):
    """(expression, text, latex, values) of ∇²f for a scalar, vector or matrix leaf (values
    as ``hessian(f, X).reshape(X.numel(), X.numel())``, vec taking rows first)."""
    from .hessians import hessian_of
    f, builder = function_of(graph, gradient)
    x = builder.exprs.get(leaf_id)
    if x is None or x.op != "var":
        raise NoMatrixForm("the leaf is not a tensor of the expression")
    try:
        h = hessian_of(f, x)
    except NoMatrixRule as why:
        raise NoMatrixForm(str(why)) from None
    n = int(np.prod(graph[leaf_id].shape)) if graph[leaf_id].shape else 1
    values = np.asarray(evaluate(h, builder.bindings), dtype=np.float64).reshape(n, n)
    return h, text(h, builder.names, keep_named=True), latex(h, builder.names, keep_named=True), values


MAX_HESSIAN_SAMPLES = 64


def hessian_report(graph, gradient, leaf_id: int, *, rng=None) -> dict:
    """The Hessian of a backward call's f in a leaf, for ``gradstudio check --hessian``:
    ``{"formula", "latex", "values", "max_abs_error", "agree", "note"}``, the values
    checked against second central differences of the recorded graph (up to 64
    sampled entries)."""
    try:
        _, formula, formula_latex, values = hessian(graph, gradient, leaf_id)
    except NoMatrixForm as why:
        return {"formula": None, "latex": None, "values": None, "max_abs_error": None,
                "agree": None, "note": f"no Hessian in matrix form: {why}"}
    rng = rng or np.random.default_rng(0)
    f = graph.objective(gradient)
    x = np.asarray(graph[leaf_id].value, dtype=np.float64)
    n = values.shape[0]
    pairs = [(i, j) for i in range(n) for j in range(n)]
    if len(pairs) > MAX_HESSIAN_SAMPLES:
        pairs = [pairs[k] for k in rng.choice(len(pairs), MAX_HESSIAN_SAMPLES, replace=False)]
    h = 1e-4 * max(1.0, float(np.max(np.abs(x))) if x.size else 1.0)
    worst = 0.0
    for i, j in pairs:
        def shifted(di, dj):
            y = x.reshape(-1).copy()
            y[i] += di
            y[j] += dj
            return f({leaf_id: y.reshape(x.shape)})
        fd = (shifted(h, h) - shifted(h, -h) - shifted(-h, h) + shifted(-h, -h)) / (4 * h * h)
        worst = max(worst, abs(fd - values[i, j]) / max(1.0, abs(fd)))
    return {"formula": formula, "latex": formula_latex, "values": values.tolist(),
            "max_abs_error": worst, "agree": bool(worst <= 1e-4),
            "note": f"checked {len(pairs)} of {n * n} entries against second differences"}
