"""Evaluating formulas numerically, for formulas of any depth.

``lambdify`` writes the formula out as Python source, which the parser
refuses past ~200 nested parentheses — a derivative through a 200-op chain
is that deep. :func:`evaluate` falls back to walking the expression tree
(each distinct subexpression once, without recursion) with numpy functions.
"""
from __future__ import annotations

import numpy as np

from gradstudio.ops._sympy import NUMPY_FUNCTIONS, sp


def evaluate(expressions: list, symbols: list, values: list) -> list:
    """``expressions`` evaluated with ``symbols`` bound to ``values`` (numpy arrays)."""
    S = sp()
    try:
        function = S.lambdify(symbols, expressions, [NUMPY_FUNCTIONS, "numpy"], cse=True)
        return list(function(*values))
    except (SyntaxError, RecursionError, MemoryError):
        bound = dict(zip(symbols, values))
        return [walk(e, bound) for e in expressions]


def _functions():
    S = sp()
    table = {
        S.sin: np.sin, S.cos: np.cos, S.tan: np.tan, S.exp: np.exp, S.log: np.log,
        S.tanh: np.tanh, S.sinh: np.sinh, S.cosh: np.cosh, S.asin: np.arcsin, S.acos: np.arccos,
        S.atan: np.arctan, S.Abs: np.abs, S.sign: np.sign, S.floor: np.floor, S.ceiling: np.ceil,
    }
    return table


def walk(expression, bound: dict):
    """Iterative post-order evaluation of a sympy expression."""
    S = sp()
    functions = _functions()
    done: dict = {}
    stack = [(expression, False)]
    while stack:
        node, expanded = stack.pop()
        if node in done:
            continue
        if node in bound:
            done[node] = bound[node]
            continue
        if node.is_Number or node in (S.pi, S.E, S.oo, -S.oo, S.nan):
            done[node] = float(node)
            continue
        if node is S.true or node is S.false:
            done[node] = bool(node)
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((arg, False) for arg in _operands(node) if arg not in done)
            continue
        done[node] = _apply(node, [done[a] for a in _operands(node)], functions)
    return done[expression]


def _operands(node):
    S = sp()
    if isinstance(node, S.Piecewise):
        return [part for pair in node.args for part in pair]
    return list(node.args)


def _apply(node, args, functions):
    S = sp()
    if isinstance(node, S.Add):
        return sum(args[1:], args[0])
    if isinstance(node, S.Mul):
        result = args[0]
        for a in args[1:]:
            result = result * a
        return result
    if isinstance(node, S.Pow):
        return np.power(np.asarray(args[0], dtype=np.float64), args[1])
    if isinstance(node, S.Piecewise):
        values, conditions = args[0::2], args[1::2]
        conditions = [np.broadcast_to(np.asarray(c, dtype=bool), np.shape(values[0])) for c in conditions]
        return np.select(conditions, values)
    relations = {S.Eq: np.equal, S.Ne: np.not_equal, S.StrictGreaterThan: np.greater,
                 S.GreaterThan: np.greater_equal, S.StrictLessThan: np.less, S.LessThan: np.less_equal}
    for kind, ufunc in relations.items():
        if isinstance(node, kind):
            return ufunc(*args)
    if isinstance(node, S.Heaviside):
        return np.heaviside(args[0], args[1] if len(args) > 1 else 0.5)
    if isinstance(node, (S.Max, S.Min)):
        return (np.maximum if isinstance(node, S.Max) else np.minimum).reduce(np.broadcast_arrays(*args))
    name = type(node).__name__
    if name in NUMPY_FUNCTIONS:
        return NUMPY_FUNCTIONS[name](*args)
    function = functions.get(type(node))
    if function is None:
        raise ValueError(f"cannot evaluate {name} numerically")
    return function(*args)
