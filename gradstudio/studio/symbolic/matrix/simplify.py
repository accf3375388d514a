"""The simplification a person would do to a derived matrix expression.

Local rewrites, applied bottom-up over the DAG (each node once per pass) until
nothing changes: transposes pushed inward ((AB)ᵀ = BᵀAᵀ, (Aᵀ)ᵀ = A) and stopped at
a symbol or an inverse (X⁻ᵀ); ⊙𝟙, ×1, I·A and +0 dropped; numeric factors
pulled to the front and multiplied out; X⁻¹X = I; 𝟙ᵀa and Σ(a ⊙ b) written as
sums and inner products (𝟙ᵀe_y = 1); like terms collected and a common factor
taken out of a sum (½Ax + ½Aᵀx = ½(A + Aᵀ)x); for Hessians of matrix leaves, the
commutation matrix cancelled (KKᵀ = I, K vec Y = vec Yᵀ) and 𝟙ᵀdiag(v) = vᵀ, so
∇² tr(XᵀX)² reads 4 tr(XᵀX) I + 8 vec(X) vec(X)ᵀ. Every rule is an identity, and
the caller still checks the result numerically.
"""
from __future__ import annotations

import math

from . import expr as M
from .expr import Expr

MAX_PASSES = 12


def simplify(e: Expr) -> Expr:
    for _ in range(MAX_PASSES):
        done = _pass(e)
        if done is e:
            return e
        e = done
    return e


def _pass(root: Expr) -> Expr:
    new: dict = {}
    for e in M.postorder(root):
        args = tuple(new[id(a)] for a in e.args)
        rebuilt = e if all(a is b for a, b in zip(args, e.args)) else M.node(e.op, args, e.shape, e.data)
        new[id(e)] = _rewrite(rebuilt)
    return new[id(root)]


def _is_num(e: Expr, value=None) -> bool:
    return e.op == "num" and (value is None or e.data == value)


def _is_one(e: Expr) -> bool:
    return _is_num(e, 1.0) or e.op == "ones"


def _split(e: Expr):
    """(coefficient, rest) of a term."""
    if e.op == "scale":
        return e.data, e.args[0]
    if e.op == "num":
        return e.data, M.num(1.0)
    return 1.0, e


def _scaled(c: float, e: Expr) -> Expr:
    if c == 0.0:
        return M.zero(e.shape)
    if c == 1.0:
        return e
    if _is_num(e):
        return M.num(c * e.data)
    return M.scale(c, e)


def _chain(e: Expr) -> list:
    """The factors of a product chain A·B·C (matrix products only)."""
    if e.op != "mm":
        return [e]
    return _chain(e.args[0]) + _chain(e.args[1])


def _product(factors: list) -> Expr:
    out = factors[0]
    for f in factors[1:]:
        out = M.mm(out, f)
    return out


def _inverse_pair(a: Expr, b: Expr) -> bool:
    if a.op == "inv" and a.args[0] is b or b.op == "inv" and b.args[0] is a:
        return True
    if a.op == "T" and b.op == "T":
        return _inverse_pair(a.args[0], b.args[0])
    return False


def _ones_row(e: Expr) -> bool:
    return (e.op == "ones" or e.op == "T" and e.args[0].op == "ones") and e.shape[:1] == (1,)


def _atomic(e: Expr) -> bool:
    return e.op in ("var", "onehot", "ones") or e.op == "T" and e.args[0].op == "var"


def _rewrite(e: Expr) -> Expr:
    mixed = _mixed_product(e)
    if mixed is not None:
        return mixed
    rule = _RULES.get(e.op)
    return e if rule is None else rule(e, *e.args)


def _mixed_product(e: Expr) -> Expr | None:
    """(A ⊗ B)(C ⊗ D) = AC ⊗ BD, and vec(A) ⊙ vec(B) = vec(A ⊙ B) (Hessians of matrices)."""
    if len(e.args) != 2 or e.args[0].op != e.args[1].op or e.args[0].op not in ("kron", "vec"):
        return None
    if e.op == "mm" and e.args[0].op == "kron":
        (a, b), (c, d) = e.args[0].args, e.args[1].args
        if M.matrix_shape(a.shape)[1] == M.matrix_shape(c.shape)[0] and \
                M.matrix_shape(b.shape)[1] == M.matrix_shape(d.shape)[0]:
            return M.kron(M.mm(a, c), M.mm(b, d))
    if e.op == "mul" and e.args[0].op == "vec" and e.args[0].args[0].shape == e.args[1].args[0].shape:
        return M.vec(M.mul(e.args[0].args[0], e.args[1].args[0]))
    return None


def _transpose(e, a):
    if a.is_scalar:
        return a
    op = a.op
    if op == "T":
        return a.args[0]
    if op == "mm":
        return M.mm(M.T(a.args[1]), M.T(a.args[0]))
    if op == "scale":
        return M.scale(a.data, M.T(a.args[0]))
    if op == "add" and all(_transposes_cleanly(x) for x in a.args):
        pushed = [_push(x) for x in a.args]
        if {id(x) for x in pushed} == {id(x) for x in a.args}:
            return a                                  # (A + Aᵀ)ᵀ = A + Aᵀ
        return M.add(*pushed)
    # not into ⊙, ⊘ or functions: tanh(W₁x)ᵀ keeps its name h, where tanh(xᵀW₁ᵀ) would not
    if op == "ones":
        return M.ones(e.shape)
    if op == "zero":
        return M.zero(e.shape)
    if op in ("eye", "diag"):
        return a
    return e


def _transposes_cleanly(x: Expr) -> bool:
    """A term whose transpose is as short: A, Aᵀ, c·A, I, 𝟙."""
    if x.op == "scale":
        x = x.args[0]
    return x.op in ("var", "eye", "ones", "zero") or x.op == "T" and x.args[0].op == "var"


def _push(x: Expr) -> Expr:
    if x.op == "scale":
        return M.scale(x.data, _push(x.args[0]))
    if x.op == "T":
        return x.args[0]
    if x.op in ("eye",):
        return x
    return M.T(x) if x.op == "var" else _transpose(M.T(x), x)


def _scale(e, a):
    if e.data == 1.0:
        return a
    if a.op == "add" and all(x.op == "scale" for x in a.args) and len({x.data for x in a.args}) > 1:
        return M.add(*[_scaled(e.data * x.data, x.args[0]) for x in a.args])   # 2(2a + 4b) = 4a + 8b
    if e.data == 0.0 or a.op == "zero":
        return M.zero(e.shape)
    if a.op == "scale":
        return _scaled(e.data * a.data, a.args[0])
    if _is_num(a):
        return M.num(e.data * a.data)
    return e


def _mul(e, a, b):
    if a.op == "zero" or b.op == "zero" or _is_num(a, 0.0) or _is_num(b, 0.0):
        return M.zero(e.shape)
    if _is_num(a) and _is_num(b):
        return M.num(a.data * b.data)
    if _is_num(a):
        return _scaled(a.data, b) if b.shape == e.shape else e
    if _is_num(b):
        return _scaled(b.data, a) if a.shape == e.shape else e
    if a.op == "ones" and b.shape == e.shape:
        return b
    if b.op == "ones" and a.shape == e.shape:
        return a
    if a.op == "scale":
        return M.scale(a.data, M.mul(a.args[0], b))
    if b.op == "scale":
        return M.scale(b.data, M.mul(a, b.args[0]))
    if b.is_scalar and not a.is_scalar:
        return M.mul(b, a)   # a scalar factor first: y·v
    if _atomic(b) and not _atomic(a) and not a.is_scalar:
        return M.mul(b, a)   # a symbol first: y ⊙ (…)
    if a is b:
        return M.power(a, 2.0)
    if b.op == "pow" and b.data == -1.0:
        return M.div(a, b.args[0])
    if a.op == "pow" and a.data == -1.0:
        return M.div(b, a.args[0])
    if a.op == "div" and _is_one(a.args[0]) and b.shape == e.shape:
        return M.div(b, a.args[1])
    if b.op == "div" and _is_one(b.args[0]) and a.shape == e.shape:
        return M.div(a, b.args[1])
    if a.is_scalar and b.op == "mul" and b.args[0].is_scalar:
        return M.mul(M.mul(a, b.args[0]), b.args[1])
    return e


def _div(e, a, b):
    if a.op == "zero":
        return M.zero(e.shape)
    if _is_num(b):
        return _scaled(1.0 / b.data, a)
    if b.op == "ones" and a.shape == e.shape:
        return a
    if a.op == "scale":
        return M.scale(a.data, M.div(a.args[0], b))
    if b.op == "scale":
        return M.scale(1.0 / b.data, M.div(a, b.args[0]))
    return e


def _mm(e, a, b):
    if a.op == "zero" or b.op == "zero":
        return M.zero(e.shape)
    if a.op == "eye":
        return b
    if b.op == "eye":
        return a
    if a.op == "scale":
        return M.scale(a.data, M.mm(a.args[0], b))
    if b.op == "scale":
        return M.scale(b.data, M.mm(a, b.args[0]))
    for x, y, left in ((a, b, True), (b, a, False)):
        if x.op == "mul" and x.args[0].is_scalar:   # (s·A)B = s·(AB)
            inner = M.mm(x.args[1], y) if left else M.mm(y, x.args[1])
            return M.mul(x.args[0], inner)
    if a.op == "ones" and b.op == "ones":
        return M.ones(e.shape)
    if _ones_row(a) and b.shape[1:] == (1,):
        return M.num(1.0) if b.op == "onehot" else M.total(b)     # 𝟙ᵀb = Σ b
    if b.op == "ones" and b.shape[1:] == (1,) and a.op == "onehot":
        return M.ones(e.shape)                                    # each one-hot row sums to 1
    if a.op == "T" and b.op == "ones" and a.shape[:1] == (1,) and b.shape[1:] == (1,):
        return M.total(a.args[0])                                 # bᵀ𝟙 = Σ b
    factors = _chain(e)
    for i in range(len(factors) - 1):
        paired = _hessian_pair(factors[i], factors[i + 1])
        if paired is not None:
            rest = factors[:i] + [paired] + factors[i + 2:]
            return _product(rest)
        if _inverse_pair(factors[i], factors[i + 1]):
            rest = factors[:i] + factors[i + 2:]
            return _product(rest) if rest else M.eye(e.shape[0])
        if factors[i].op == "diag" and factors[i + 1].op == "diag":   # diag(a) diag(b) = diag(a ⊙ b)
            merged = M.diag(M.mul(factors[i].args[0], factors[i + 1].args[0]))
            return _product(factors[:i] + [merged] + factors[i + 2:])
    return e


def _hessian_pair(a: Expr, b: Expr) -> Expr | None:
    """Two neighbouring factors of a product that a Hessian of a matrix leaf leaves
    behind, written the short way: K(r,c)K(c,r) = I; K(r,c) vec(Y) = vec(Yᵀ) for Y r×c
    (and vec(Y)ᵀK(r,c) = vec(Yᵀ)ᵀ for Y c×r); K distributed over a sum, where those
    rules then apply; 𝟙ᵀ diag(v) = vᵀ, also over a sum of such terms."""
    if a.op == "commutation":
        rows, cols = a.data
        if b.op == "commutation" and b.data == (cols, rows):
            return M.eye(rows * cols)
        if b.op == "vec" and M.matrix_shape(b.args[0].shape) == (rows, cols):
            return M.vec(M.T(b.args[0]))
        if b.op == "add":
            return M.add(*[M.mm(a, x) for x in b.args])
    if b.op == "commutation" and a.op == "T" and a.args[0].op == "vec":
        rows, cols = b.data
        inner = a.args[0].args[0]
        if M.matrix_shape(inner.shape) == (cols, rows):
            return M.T(M.vec(M.T(inner)))
    if _ones_row(a):
        return _ones_times(b)
    return None


def _ones_times(b: Expr) -> Expr | None:
    """𝟙ᵀb when b is diag(v)·R (vᵀR), c·(…), or a sum of those; else None."""
    if b.op == "diag":
        return M.T(b.args[0])
    if b.op == "scale":
        inner = _ones_times(b.args[0])
        return None if inner is None else M.scale(b.data, inner)
    if b.op == "mm":
        chain = _chain(b)
        return _product([M.T(chain[0].args[0])] + chain[1:]) if chain[0].op == "diag" else None
    if b.op == "add":
        parts = [_ones_times(x) for x in b.args]
        return None if any(p is None for p in parts) else M.add(*parts)
    return None


def _total(e, a):
    if a.is_scalar:
        return a
    if a.op == "scale":
        return M.scale(a.data, M.total(a.args[0]))
    if a.op == "ones":
        return M.num(math.prod(a.shape))
    if a.op == "onehot":                                          # one 1 per row
        return M.num(M.matrix_shape(a.shape)[0] if a.shape[1:] != (1,) else 1)
    if a.op == "zero":
        return M.num(0.0)
    if a.op == "mul":
        x, y = a.args
        if x.is_scalar:
            return M.mul(x, M.total(y))
        if x.shape[1:] == (1,):                                   # Σ (x ⊙ y) = xᵀy
            return M.mm(M.T(x), y)
    return e


def _power(e, a):
    if e.data == 1.0:
        return a
    if _is_num(a):
        return M.num(a.data ** e.data)
    if a.op == "pow" and float(e.data).is_integer():
        return M.power(a.args[0], a.data * e.data)
    if a.op == "scale" and float(e.data).is_integer():
        return M.scale(a.data ** e.data, M.power(a.args[0], e.data))
    return e


def _fn(e, a):
    if _is_num(a):
        from .evaluate import evaluate
        return M.num(float(evaluate(e, {})))
    if e.data == "log" and a.op == "fn" and a.data == "exp":
        return a.args[0]
    if e.data == "exp" and a.op == "fn" and a.data == "log":
        return a.args[0]
    return e


def _inv(e, a):
    if a.op == "inv":
        return a.args[0]
    if a.op == "eye":
        return a
    return e


def _logdet(e, a):
    if a.op == "inv":
        return M.scale(-1.0, M.logdet(a.args[0]))
    return e


def _add(e, *args):
    terms: list = []                       # [coefficient, base] in first-seen order
    where: dict = {}
    number = 0.0
    for x in _flatten_add(args):
        if x.op == "zero":
            continue
        c, base = _split(x)
        if _is_num(base, 1.0) and x.op in ("num", "scale") and base.is_scalar:
            number += c
            continue
        if id(base) in where:
            terms[where[id(base)]][0] += c
        else:
            where[id(base)] = len(terms)
            terms.append([c, base])
    terms = [(c, b) for c, b in terms if c != 0.0]
    if len(terms) > 1 and all(b.op == "diag" for _, b in terms):  # Σ cᵢ diag(aᵢ) = diag(Σ cᵢ aᵢ)
        return M.diag(M.add(*[_scaled(c, b.args[0]) for c, b in terms]))
    terms = _factor(terms)
    if number:
        terms.append((1.0, M.num(number)))
    if not terms:
        return M.zero(e.shape)
    terms.sort(key=lambda t: t[0] < 0)     # a − b rather than −b + a (the sort is stable)
    sizes = {abs(c) for c, _ in terms}
    if len(terms) > 1 and len(sizes) == 1 and sizes != {1.0}:
        c = sizes.pop()                    # c·a − c·b = c·(a − b)
        return M.scale(c, M.add(*[_scaled(1.0 if k > 0 else -1.0, b) for k, b in terms]))
    out = M.add(*[_scaled(c, b) for c, b in terms])
    if out.shape != e.shape:                # only scalars were left: keep the broadcast shape
        return e if out is not e and len(terms) == len(e.args) else out
    return out


def _flatten_add(args):
    for x in args:
        if x.op == "add":
            yield from _flatten_add(x.args)
        else:
            yield x


def _factor(terms: list) -> list:
    """Take a common first or last factor of a product out of a sum:
    c·Ax + d·Bx = (c·A + d·B)x (and the numbers come out again later: ½(A + Aᵀ)x)."""
    for side in (-1, 0):
        changed = True
        while changed:
            changed = False
            groups: dict = {}
            for i, (c, b) in enumerate(terms):
                chain = _chain(b)
                if len(chain) > 1:
                    groups.setdefault(id(chain[side]), []).append(i)
            for members in groups.values():
                if len(members) < 2:
                    continue
                chains = [_chain(terms[i][1]) for i in members]
                shared = chains[0][side]
                rests = [_scaled(terms[i][0], _product(ch[:-1] if side == -1 else ch[1:]))
                         for i, ch in zip(members, chains)]
                if len({r.shape for r in rests}) != 1:
                    continue
                inner = M.add(*rests)
                combined = M.mm(inner, shared) if side == -1 else M.mm(shared, inner)
                first = members[0]
                terms = [(1.0, combined) if i == first else t for i, t in enumerate(terms)
                         if i == first or i not in members]
                changed = True
                break
    return terms


def _diag(e, a):
    return M.eye(e.shape[0]) if a.op == "ones" else e


_RULES = {"diag": _diag, "T": _transpose, "scale": _scale, "mul": _mul, "div": _div, "mm": _mm, "sum": _total,
          "pow": _power, "fn": _fn, "inv": _inv, "logdet": _logdet, "add": _add}
