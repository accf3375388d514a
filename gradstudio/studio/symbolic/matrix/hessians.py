"""Hessians in matrix form, for a scalar function of one vector (or scalar) leaf.

∇²f is the Jacobian of ∇f. With a fresh vector u, ∂(uᵀ∇f)/∂x = ∇²f·u (the
Hessian is symmetric), which reverse mode gives as an expression linear in u;
:func:`linear_map` then reads off the matrix H with H u equal to it —
``½(A + Aᵀ)`` for ½xᵀAx, ``Xᵀ diag(σ(Xw) ⊙ (1 − σ(Xw))) X`` for logistic
regression.
"""
from __future__ import annotations

from . import expr as M
from .diff import NoMatrixRule, gradients
from .simplify import simplify


def hessian_of(f: M.Expr, x: M.Expr) -> M.Expr:
    if x.shape[1:] not in ((), (1,)) or (x.shape and x.shape[1] != 1):
        raise NoMatrixRule("Hessians of matrix leaves are 4-d tensors (only vector leaves)")
    g = simplify(gradients(f, [x])[x])
    u = M.var("u_hessian", x.shape)
    hu = simplify(gradients(M.total(M.mul(u, g)), [x])[x])
    return simplify(linear_map(hu, u))


def _contains(e: M.Expr, u: M.Expr, memo: dict) -> bool:
    found = memo.get(id(e))
    if found is None:
        found = e is u or any(_contains(a, u, memo) for a in e.args)
        memo[id(e)] = found
    return found


def linear_map(e: M.Expr, u: M.Expr, memo: dict | None = None) -> M.Expr:
    """The matrix H with ``e = H u``, for ``e`` linear in the column ``u`` (a column
    vector or a scalar, so H is a matrix or a row)."""
    memo = {} if memo is None else memo
    n = M.matrix_shape(u.shape)[0]
    if e is u:
        return M.eye(n)
    if not _contains(e, u, memo):
        raise NoMatrixRule("not linear in the direction")
    op, a = e.op, e.args
    if op == "add":
        parts = [linear_map(x, u, memo) for x in a if _contains(x, u, memo)]
        if len(parts) != len(a):
            raise NoMatrixRule("affine, not linear, in the direction")
        return M.add(*parts)
    if op == "scale":
        return M.scale(e.data, linear_map(a[0], u, memo))
    if op == "T" and e.is_scalar:
        return linear_map(a[0], u, memo)
    if op == "mm":
        left, right = a
        if not _contains(left, u, memo):
            return M.mm(left, linear_map(right, u, memo))
        if e.is_scalar and not _contains(right, u, memo):   # wᵀ(H u) with the u on the left
            return M.mm(M.T(right), linear_map(M.T(left), u, memo) if left.op != "T"
                        else linear_map(left.args[0], u, memo))
        raise NoMatrixRule("u on both sides of a product")
    if op in ("mul", "div"):
        x, y = a
        if op == "div":                            # (H u) ⊘ y = (1 ⊘ y) ⊙ (H u)
            if _contains(y, u, memo):
                raise NoMatrixRule("division by the direction")
            factor, linear = M.div(M.num(1.0), y), x
        else:
            factor, linear = (y, x) if _contains(x, u, memo) else (x, y)
        if _contains(factor, u, memo):
            raise NoMatrixRule("u times u")
        inner = linear_map(linear, u, memo)
        if factor.is_scalar:
            return M.mul(factor, inner)
        if linear.is_scalar:                       # x (sᵀu): an outer product
            return M.mm(factor, inner)
        return M.mm(M.diag(factor), inner)         # x ⊙ (H u) = diag(x) H u
    if op == "sum":
        inner = a[0]
        return M.mm(M.T(M.ones(inner.shape)), linear_map(inner, u, memo)) if not inner.is_scalar \
            else linear_map(inner, u, memo)
    raise NoMatrixRule(f"cannot read a matrix off {op}")
