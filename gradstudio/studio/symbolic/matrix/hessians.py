"""Hessians in matrix form, for a scalar function of one leaf: a scalar, a vector
or a matrix.

∇²f is the Jacobian of ∇f. With a fresh direction U shaped like the leaf,
∂⟨U, ∇f⟩/∂X = ∇²f[U] (the Hessian is symmetric), which reverse mode gives as an
expression linear in U; :func:`linear_map` then reads off the matrix H with
vec(∇²f[U]) = H vec(U) — ``½(A + Aᵀ)`` for ½xᵀAx, ``Xᵀ diag(σ(Xw) ⊙ (1 − σ(Xw))) X``
for logistic regression, ``Aᵀ ⊗ I + A ⊗ I`` for tr(XᵀAX). vec takes a matrix's
elements row by row, as torch flattens, so H is
``autograd.functional.hessian(f, X).reshape(X.numel(), X.numel())``; the
identities are vec(LY) = (L ⊗ I) vec Y, vec(YR) = (I ⊗ Rᵀ) vec Y,
vec(Yᵀ) = K vec Y and vec(F ⊙ Y) = diag(vec F) vec Y.
"""
from __future__ import annotations

from . import expr as M
from .diff import NoMatrixRule, gradients
from .simplify import simplify


def hessian_of(f: M.Expr, x: M.Expr) -> M.Expr:
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
    """The matrix H with ``vec(e) = H vec(u)``, for ``e`` linear in ``u`` (H is a
    row when ``e`` is a scalar)."""
    memo = {} if memo is None else memo
    if e is u:
        return M.eye(_count(u))
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
    if op == "T":
        rows, cols = M.matrix_shape(a[0].shape)
        return _times(M.commutation(rows, cols), linear_map(a[0], u, memo))
    if op == "mm":
        left, right = a
        if _contains(left, u, memo) and _contains(right, u, memo):
            raise NoMatrixRule("u on both sides of a product")
        if not _contains(left, u, memo):               # vec(L Y) = (L ⊗ I) vec Y
            cols = M.matrix_shape(right.shape)[1]
            return _times(M.kron(left, M.eye(cols)), linear_map(right, u, memo))
        rows = M.matrix_shape(left.shape)[0]           # vec(Y R) = (I ⊗ Rᵀ) vec Y
        return _times(M.kron(M.eye(rows), M.T(right)), linear_map(left, u, memo))
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
        if linear.is_scalar:                       # F (sᵀu): an outer product
            return M.mm(M.vec(factor), inner)
        return M.mm(M.diag(M.vec(factor)), inner)  # vec(F ⊙ Y) = diag(vec F) vec Y
    if op == "sum":
        inner = a[0]
        return M.mm(M.T(M.ones((_count(inner), 1))), linear_map(inner, u, memo)) if not inner.is_scalar \
            else linear_map(inner, u, memo)
    if op == "tr":
        n = M.matrix_shape(a[0].shape)[0]
        return M.mm(M.T(M.vec(M.eye(n))), linear_map(a[0], u, memo))
    raise NoMatrixRule(f"cannot read a matrix off {op}")


def _count(e: M.Expr) -> int:
    rows, cols = M.matrix_shape(e.shape)
    return rows * cols


def _times(left: M.Expr, right: M.Expr) -> M.Expr:
    """left · right, dropping an identity factor."""
    if left.op == "eye" or left.op == "num" and left.data == 1.0:
        return right
    return M.mm(left, right)
