"""Reverse-mode differentiation of matrix expressions.

For a scalar expression f, :func:`gradients` gives ∂f/∂X for every requested
node X as another expression of the language, in the way of Laue, Mitterreiter
& Giesen (NeurIPS 2018, the engine of matrixcalculus.org): one pass over the
DAG in reverse topological order, each node's adjoint Ḡ (shaped like the node)
the sum of what its users send it, each rule the matrix-calculus identity of
its node (Ḡ_A = Ḡ Bᵀ for AB, Ḡ_X = ḡ·det X·X⁻ᵀ for det X, …). These rules are
written here, independently of the engine's numeric VJP rules.
"""
from __future__ import annotations

from . import expr as M
from .expr import Expr


class NoMatrixRule(ValueError):
    """A node this module cannot differentiate (named in the message)."""


def gradients(f: Expr, wrt) -> dict:
    """{X: ∂f/∂X} for each X in ``wrt`` (a zero expression where f does not depend on X)."""
    if not f.is_scalar:
        raise M.MatrixError("the function to differentiate must be a scalar")
    order = M.postorder(f)
    contributions: dict = {id(f): [M.num(1.0)]}
    adjoint: dict = {}
    for current in reversed(order):
        parts = contributions.pop(id(current), None)
        if not parts:
            continue
        g = parts[0] if len(parts) == 1 else M.add(*parts)
        adjoint[id(current)] = g
        for operand, contribution in _pullback(current, g):
            if contribution is not None:
                contributions.setdefault(id(operand), []).append(contribution)
    return {x: adjoint.get(id(x), M.zero(x.shape)) for x in wrt}


def _unbroadcast(g: Expr, operand: Expr) -> Expr:
    """An elementwise operand that was a scalar receives the sum of its adjoint."""
    return M.total(g) if operand.is_scalar and not g.is_scalar else g


def _derivative(name: str, a: Expr, result: Expr) -> Expr | None:
    """f'(a) for an elementwise function (None where it is zero)."""
    one = M.num(1.0)
    return {
        "exp": lambda: result,
        "log": lambda: M.power(a, -1.0),
        "tanh": lambda: M.add(one, M.scale(-1.0, M.power(result, 2.0))),
        "sigmoid": lambda: M.mul(result, M.add(one, M.scale(-1.0, result))),
        "sin": lambda: M.fn("cos", a),
        "cos": lambda: M.scale(-1.0, M.fn("sin", a)),
        "relu": lambda: M.fn("step", a),
        "abs": lambda: M.fn("sign", a),
        "sqrt": lambda: M.scale(0.5, M.power(result, -1.0)),
        "step": lambda: None,
        "sign": lambda: None,
    }[name]()


def _pullback(c: Expr, g: Expr):
    """(operand, its share of the adjoint) for each operand of ``c``."""
    op, args = c.op, c.args
    if op in ("var", "num", "ones", "eye", "zero", "onehot"):
        return ()
    if op == "T":
        return ((args[0], M.T(g)),)
    if op == "mm":
        a, b = args
        return ((a, M.mm(g, M.T(b))), (b, M.mm(M.T(a), g)))
    if op == "add":
        return tuple((a, _unbroadcast(g, a)) for a in args)
    if op == "scale":
        return ((args[0], M.scale(c.data, g)),)
    if op == "mul":
        a, b = args
        return ((a, _unbroadcast(M.mul(g, b), a)), (b, _unbroadcast(M.mul(g, a), b)))
    if op == "div":
        a, b = args
        return ((a, _unbroadcast(M.div(g, b), a)),
                (b, _unbroadcast(M.scale(-1.0, M.div(M.mul(g, a), M.power(b, 2.0))), b)))
    if op == "fn":
        d = _derivative(c.data, args[0], c)
        if d is None:
            return ()
        if c.data == "log":
            return ((args[0], M.div(g, args[0])),)
        return ((args[0], M.mul(g, d)),)
    if op == "pow":
        p = c.data
        base = args[0] if p == 2.0 else M.power(args[0], p - 1.0)
        return ((args[0], M.mul(g, M.scale(p, base))),)
    if op == "tr":
        return ((args[0], M.mul(g, M.eye(M.matrix_shape(args[0].shape)[0]))),)
    if op == "det":
        return ((args[0], M.mul(M.mul(g, c), M.T(M.inv(args[0])))),)
    if op == "logdet":
        return ((args[0], M.mul(g, M.T(M.inv(args[0])))),)
    if op == "inv":
        return ((args[0], M.scale(-1.0, M.mm(M.mm(M.T(c), g), M.T(c)))),)
    if op == "diag":
        return ((args[0], M.diagonal(g)),)
    if op == "diagonal":
        return ((args[0], M.diag(g)),)
    if op == "sum":
        return ((args[0], M.mul(g, M.ones(args[0].shape))),)
    if op == "softmax":
        s = c
        if c.data is None:   # s ⊙ ḡ − s (sᵀḡ)
            return ((args[0], M.add(M.mul(s, g), M.scale(-1.0, M.mul(M.mm(M.T(s), g), s)))),)
        cols = M.matrix_shape(s.shape)[1]   # each row: S ⊙ (Ḡ − ((S ⊙ Ḡ)𝟙)𝟙ᵀ)
        row_sums = M.mm(M.mul(s, g), M.ones((cols, 1)))
        return ((args[0], M.mul(s, M.add(g, M.scale(-1.0, M.mm(row_sums, M.ones((1, cols))))))),)
    if op == "lse":
        a = args[0]
        if c.data is None:
            return ((a, M.mul(g, M.softmax(a))),)
        cols = M.matrix_shape(a.shape)[1]
        return ((a, M.mul(M.mm(g, M.ones((1, cols))), M.softmax(a, rows=True))),)
    raise NoMatrixRule(f"no derivative rule for {op}")
