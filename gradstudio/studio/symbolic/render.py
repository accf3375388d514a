"""Turning formulas into text: the chain form as a person writes it, sympy
strings that parse back, LaTeX for the mathtext renderer, size checks."""
from __future__ import annotations

import numpy as np

from gradstudio.ops._sympy import sp

MAX_FORMULA_CHARS = 4000      # longer formulas are reported by size only
MAX_MATRIX_CHARS = 60000      # per-element formulas, all entries together
MAX_LATEX_CHARS = 1500        # mathtext gets slow and unreadable beyond this


def _flat_factors(factors: list) -> list:
    S = sp()
    flat = []
    for factor in factors:
        if factor == 1:
            continue
        if isinstance(factor, S.Mul) and factor.args[0].is_Integer:
            flat.extend(factor.args)  # 2*x from a derivative reads as the factors 2, x
        else:
            flat.append(factor)
    return flat


def chain_product(factors: list):
    """An unevaluated product, factors in order, numbers kept apart (``3*2*x/4``)."""
    S = sp()
    flat = _flat_factors(factors)
    if not flat:
        return S.Integer(1)
    if len(flat) == 1:
        return flat[0]
    return S.Mul(*flat, evaluate=False)


def chain_sum(terms: list):
    S = sp()
    terms = [t for t in terms if t != 0]
    if not terms:
        return S.Integer(0)
    return terms[0] if len(terms) == 1 else S.Add(*terms, evaluate=False)


def reciprocal(n):
    """1/n kept as a division in the chain form."""
    S = sp()
    return S.Pow(S.sympify(n), -1, evaluate=False)


def chain_latex(terms: list) -> str:
    """LaTeX for a chain form given as terms (lists of factors): in each term the
    factors joined by ``\\cdot`` and the divisions gathered into one fraction
    (sympy would write ``\\frac{1}{4}``); the terms joined by +."""
    return " + ".join(_term_latex(_flat_factors(term)) for term in terms) or "0"


def _term_latex(factors: list) -> str:
    S = sp()
    if not factors:
        return "1"
    if len(factors) == 1 and not (isinstance(factors[0], S.Pow) and factors[0].exp == -1):
        return S.latex(factors[0])
    numerator, denominator = [], []
    for factor in factors:
        if isinstance(factor, S.Pow) and factor.exp.is_number and factor.exp < 0:
            base = factor.base if factor.exp == -1 else S.Pow(factor.base, -factor.exp)
            denominator.append(_factor_latex(base))
        else:
            numerator.append(_factor_latex(factor))
    top = " \\cdot ".join(numerator) if numerator else "1"
    if not denominator:
        return top
    return f"\\frac{{{top}}}{{{' '.join(denominator)}}}"


def _factor_latex(factor) -> str:
    S = sp()
    text = S.latex(factor)
    if isinstance(factor, S.Add):
        return f"\\left({text}\\right)"
    return text


def formula_text(expr) -> str:
    """sympy's string form (parses back with sympify)."""
    return sp().sstr(expr)


def too_large(expr) -> int | None:
    """The operation count after common-subexpression elimination when the
    formula is too long to show, else None."""
    S = sp()
    exprs = list(expr) if isinstance(expr, S.MatrixBase) else [expr]
    # a matrix of per-element formulas is shown one entry at a time: judge the entries
    if all(len(formula_text(e)) <= MAX_FORMULA_CHARS for e in exprs) and \
            sum(len(formula_text(e)) for e in exprs) <= MAX_MATRIX_CHARS:
        return None
    replacements, reduced = S.cse(exprs)
    return int(sum(S.count_ops(e) for _, e in replacements) + sum(S.count_ops(e) for e in reduced))


def matrix_of(array: np.ndarray):
    """A leaf-shaped object array as a sympy Matrix (1-d → one row; n-d → rows of the last dim)."""
    S = sp()
    array = np.asarray(array, dtype=object)
    if array.ndim == 0:
        return S.Matrix([[array.item()]])
    if array.ndim == 1:
        return S.Matrix([list(array)])
    return S.Matrix(array.reshape(-1, array.shape[-1]).tolist())


def zero_step_derivatives(expr):
    """torch's derivative of a step function (sign, floor, round…) is 0 everywhere;
    sympy leaves ``Derivative(floor(x), x)`` or writes ``DiracDelta``."""
    S = sp()
    if not expr.has(S.Derivative, S.DiracDelta):
        return expr
    return expr.replace(lambda e: isinstance(e, (S.Derivative, S.DiracDelta)), lambda e: S.Integer(0))
