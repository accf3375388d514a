"""The matrix expression of a recorded graph (:class:`~gradstudio.studio.trace.Graph`).

Each vertex becomes an expression: a leaf or constant tensor a named symbol
(its script name, so formulas read ``W1``, ``x``), a Python number a number,
an op its row's matrix forward (the row's ``matrix`` field) applied to its operands. Torch
shapes map to the textbook's: 0-d → scalar, (n,) → column vector, (n, m) →
matrix; more dims → no matrix form. Broadcasting is made explicit here, in one
place (a bias b added to each row of XW is 𝟙bᵀ), and so are the reshapes that
only turn a vector into a row or back (torch's ``x @ A`` is ``(xᵀA)ᵀ``).
"""
from __future__ import annotations

import numpy as np

import re

from . import expr as M

# reshapes that keep the elements in order: a vector as a row, a column, or itself
_RESHAPES = {"shape.VIEW", "shape.RESHAPE_ALIAS", "shape.UNSAFE_VIEW", "shape.SQUEEZE",
             "shape.SQUEEZE_DIM", "shape.SQUEEZE_DIMS", "shape.UNSQUEEZE", "shape.CLONE",
             "shape.ALIAS", "shape.TO_COPY", "linalg.SQUEEZE_INPLACE"}
_BROADCAST_FIRST = {"linalg.ADDMM"}          # the bias broadcasts to the product's shape


# names the notation itself uses (I is the identity, 𝟙 the ones, the functions)
_RESERVED = {"I", "inv", "tr", "det", "diag", "diagonal", "sum", "softmax", "logsumexp", "onehot",
             "np", "f", "u_hessian"} | set(M.FUNCTIONS)


def unique_name(name: str, taken: set) -> str:
    """An identifier for a script variable, distinct from ``taken`` (which it joins)."""
    cleaned = re.sub(r"\W+", "_", name).strip("_") or "t"
    if cleaned[0].isdigit():
        cleaned = "t" + cleaned
    candidate, n = cleaned, 1
    while candidate in taken or candidate in _RESERVED:
        candidate = f"{cleaned}{n}"
        n += 1
    taken.add(candidate)
    return candidate


class NoMatrixForm(ValueError):
    """The graph has no matrix form; the message says which op or shape stopped it."""


def language_shape(shape: tuple) -> tuple:
    if len(shape) > 2:
        raise NoMatrixForm(f"a {len(shape)}-d tensor")
    if len(shape) == 1:
        return M.normal_shape(shape[0], 1)
    return M.normal_shape(*shape) if shape else ()


def _as_language(value: np.ndarray) -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    shape = language_shape(value.shape)
    return value.reshape(shape) if shape else value.reshape(())


def _orient(e: M.Expr, want: tuple, what: str) -> M.Expr:
    if e.shape == want:
        return e
    if e.shape and want and e.shape == want[::-1] and 1 in want:
        return M.T(e)
    raise NoMatrixForm(f"{what}: a {e.shape} expression where {want} was expected")


def _broadcast(e: M.Expr, source: tuple, target: tuple) -> M.Expr:
    """``e`` (of torch shape ``source``) broadcast to torch shape ``target``."""
    if e.is_scalar or tuple(source) == tuple(target) or len(target) < 2:
        return e
    padded = (1,) * (len(target) - len(source)) + tuple(source)
    if len(source) == 1:
        e = M.T(e)                                   # a torch vector broadcasts as a row
    rows, cols = target
    r, c = padded
    if r == 1 and rows != 1:
        e = M.mm(M.ones((rows, 1)), e)               # 𝟙bᵀ: the row repeated down
    if c == 1 and cols != 1:
        e = M.mm(e, M.ones((1, cols)))               # b𝟙ᵀ: the column repeated across
    return e


class Builder:
    """Expressions for the vertices of one graph, with the numbers to evaluate them."""

    def __init__(self, graph):
        self.graph = graph
        self.exprs: dict = {}        # vertex id -> expression
        self.bindings: dict = {}     # symbol name -> array in the language's shape
        self.names: dict = {}        # expression -> script name (an intermediate's)
        self.taken: set = set()

    def symbol(self, name: str, value) -> M.Expr:
        name = unique_name(name, self.taken)
        value = _as_language(value)
        self.bindings[name] = value
        return M.var(name, value.shape)

    def expression(self, vertex_id: int) -> M.Expr:
        for v in self.graph.nodes[:vertex_id + 1]:
            if v.id not in self.exprs:
                self.exprs[v.id] = self._vertex(v)
        return self.exprs[vertex_id]

    def _vertex(self, v) -> M.Expr:
        if v.kind != "op":
            value = v.value
            if not isinstance(value, np.ndarray) or (value.ndim == 0 and v.kind == "const"
                                                     and value.dtype.kind == "f"):
                return M.num(float(np.asarray(value)))
            if value.dtype.kind != "f":
                return None                      # class indices or a mask: read by the op using them
            return self.symbol(v.name or ("C" if v.kind == "const" else "leaf"), value)
        key, params = v.op.id, dict(v.params)
        ins = [self.graph[i] for i in v.inputs]
        for t in [v] + ins:
            language_shape(t.shape)              # more than 2 dims: no matrix form
        if key in _RESHAPES:
            return self._reshape(v, ins[0])
        if key == "shape.EXPAND":
            return _broadcast(self.exprs[ins[0].id], ins[0].shape, v.shape)
        if key == "elementwise.WHERE":
            return self._where(v, ins)
        if key == "losses.NLL_LOSS":
            return self._nll(v, ins, params)
        if key == "indexing.SELECT":
            return self._select(v, ins[0], params)
        if any(self.exprs[i.id] is None for i in ins):
            raise NoMatrixForm(f"{v.op.name} of an integer or boolean tensor")
        rule = v.op.matrix
        if rule is None:
            raise NoMatrixForm(f"{v.op.name} has no matrix rule")
        operands = []
        for position, i in enumerate(ins):
            e = self.exprs[i.id]
            if v.op.kind == "elementwise" or (position == 0 and key in _BROADCAST_FIRST):
                e = _broadcast(e, i.shape, v.shape)
            operands.append(e)
        try:
            out = rule(M, *operands, **params)
        except (M.MatrixError, ValueError, TypeError) as why:
            raise NoMatrixForm(f"{v.op.name}: {why}") from None
        out = _orient(out, language_shape(v.shape), v.op.name)
        if v.name and not out.op == "var":
            self.names.setdefault(out, v.name)
        return out

    def _reshape(self, v, source) -> M.Expr:
        e = self.exprs[source.id]
        return _orient(e, language_shape(v.shape), v.op.name)

    def _where(self, v, ins) -> M.Expr:
        condition = ins[0]
        if condition.kind == "op":
            raise NoMatrixForm("where with a computed condition")
        mask = np.asarray(condition.value, dtype=bool)
        if mask.all() or not mask.any():
            chosen = ins[1] if mask.all() else ins[2]
            return _broadcast(self.exprs[chosen.id], chosen.shape, v.shape)
        raise NoMatrixForm("where picks from both sides")

    def _select(self, v, x, params) -> M.Expr:
        """``x[i]`` of a vector is e_iᵀx; row i of a matrix e_iᵀA, column j Ae_j —
        e a one-hot vector bound to the numbers like a target's (no eye matrix)."""
        e = self.exprs[x.id]
        if e is None:
            raise NoMatrixForm(f"{v.op.name} of an integer or boolean tensor")
        if not x.shape:
            raise NoMatrixForm(f"{v.op.name} of a 0-d tensor")
        dim = int(params["dim"]) % len(x.shape)
        size = x.shape[dim]
        index = int(params["index"])
        index = index + size if index < 0 else index
        onehot = np.zeros((size, 1))
        onehot[index, 0] = 1.0
        name = unique_name(f"i{index}", self.taken)
        self.bindings[name] = onehot
        e_i = M.onehot(name, (size, 1))
        out = M.mm(e, e_i) if dim == 1 else M.mm(M.T(e_i), e)
        return _orient(out, language_shape(v.shape), v.op.name)

    def _nll(self, v, ins, params) -> M.Expr:
        x, target = ins
        if target.kind == "op" or params.get("ignore_index") in np.asarray(target.value):
            raise NoMatrixForm("NllLossBackward0 with ignored or computed targets")
        classes = x.shape[-1]
        labels = np.asarray(target.value).reshape(-1)
        onehot = np.zeros((labels.size, classes))
        onehot[np.arange(labels.size), labels] = 1.0
        name = unique_name(target.name or "y", self.taken)
        if len(x.shape) == 1:
            onehot = onehot.reshape(classes, 1)
        self.bindings[name] = onehot.reshape(language_shape(x.shape))
        e_y = M.onehot(name, language_shape(x.shape))
        out = v.op.matrix(M, self.exprs[x.id], e_y, **params)
        return _orient(out, language_shape(v.shape), v.op.name)
