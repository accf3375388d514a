"""Closed-form gradients, derived by sympy independently of the engine.

For each leaf of a recorded backward call, :func:`derive_leaf` tries the
forms best first:

1. **elementwise** — where the path from leaf to root is elementwise: one
   formula for the generic element, as a chain of local derivatives
   (``3*2*x/4``) and simplified (``3*x/2``);
2. **matrix** — otherwise, the gradient as a textbook writes it
   (``0.5*(A.T + A)*x``, ``2*A.T*(A*W - Y)``), from GradStudio's own matrix
   calculus (:mod:`.matrix`), for any size, kept only if it agrees with finite
   differences of the recorded graph;
3. **per_element** — an exact formula per entry (``x_0_1`` symbols), for
   leaves up to 256 elements — kept as ``alternative`` beside a matrix form;

and otherwise says why there is none. Only the ops' symbolic *forwards* are
used; the VJP rules never are, so agreement with the engine means something.
Simplification is a separate step (:func:`simplify_formula`), so the worker
can give it its own time limit and still return the unsimplified form.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from gradstudio.studio.trace import Graph
from gradstudio.ops._sympy import sp
from gradstudio.studio.symbolic import elementwise as _elementwise
from gradstudio.studio.symbolic import long_chain as _long_chain
from gradstudio.studio.symbolic import matrix as _matrix
from gradstudio.studio.symbolic import per_element as _per_element
from gradstudio.studio.symbolic import render
from gradstudio.studio.symbolic.evaluate import evaluate
from gradstudio.studio.symbolic.exact import symbol_name

SIMPLIFY_MAX_OPS = 24   # larger formulas get a cheap normal form instead of simplify()
MAX_ALTERNATIVE_OPS = 20       # beside a matrix form, the per-element form only for graphs
MAX_ALTERNATIVE_ELEMENTS = 24  # this small (sympy per element costs seconds beyond that: 5 s a leaf for
                               # the two-layer MLP example, 42 elements)
MAX_MATRIX_ALTERNATIVE_OPS = 200   # beside a generic-element form, the matrix form up to this many ops
RECURSION_LIMIT = 12000  # enough for graphs a few thousand ops deep


@dataclass
class LeafFormula:
    kind: str = "none"                 # "elementwise" | "matrix" | "per_element" | "none"
    formula: str | None = None         # sympy-parsable; the chain form for "elementwise"
    simplified: str | None = None
    latex: str | None = None           # of the simplified form (of the formula until simplified)
    chain_latex: str | None = None
    element_symbol: str | None = None
    symbols: list = field(default_factory=list)    # [(name, what it stands for)]
    values: np.ndarray | None = None
    note: str | None = None
    size: int | None = None            # operations after cse, when too large to show
    seconds: float = 0.0
    expression: object = None          # the evaluated sympy expression (for simplify_formula);
                                       # for "matrix", the matrix-language expression
    numpy_code: str | None = None      # "matrix": fAndG(...) computing f and this gradient
    alternative: "LeafFormula | None" = None   # the form one click away: beside "matrix" the per-element
                                               # form (small leaves), beside "elementwise" the matrix form


def derive_call(graph: Graph, gradient, leaf_ids, *, simplify: bool = True) -> dict:
    return {leaf_id: derive_leaf(graph, gradient, leaf_id, simplify=simplify) for leaf_id in leaf_ids}


def derive_leaf(graph: Graph, gradient, leaf_id: int, *, simplify: bool = True) -> LeafFormula:
    """The best closed form for one leaf's gradient (never raises)."""
    start = time.perf_counter()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, RECURSION_LIMIT))  # sympy recurses once per nesting level
    try:
        result = _derive(graph, gradient, leaf_id)
        if simplify and result.expression is not None:
            result = simplify_formula(result)
    except RecursionError:
        result = LeafFormula(note="the formula is nested too deeply for sympy")
    except Exception as error:  # sympy can fail in many ways; the numbers are still compared
        result = LeafFormula(note=f"symbolic derivation failed: {type(error).__name__}: {error}")
    finally:
        sys.setrecursionlimit(limit)
    result.seconds = time.perf_counter() - start
    return result


def _derive(graph, gradient, leaf_id) -> LeafFormula:
    leaf = graph[leaf_id]
    reasons = []
    try:
        element_form = _elementwise.derive(graph, gradient, leaf_id)
        if isinstance(element_form, _long_chain.LongChain):
            return _from_long_chain(element_form, graph, leaf)
        result = _from_elementwise(element_form, leaf)
        result.alternative = _matrix_alternative(graph, gradient, leaf_id, leaf)
        return result
    except _elementwise.NotElementwise as why:
        reasons.append(str(why))
    try:
        form = _matrix.derive(graph, gradient, leaf_id)
        if _agrees_with_graph(graph, gradient, leaf_id, form.values):
            result = _from_matrix(form, graph, leaf)
            result.alternative = _per_element_form(graph, gradient, leaf_id, leaf)
            return result
        reasons.append("the matrix form disagreed with finite differences")
    except _matrix.NoMatrixForm as why:
        reasons.append(f"no matrix form ({why})")
    except RecursionError:
        raise
    except Exception as why:  # a gap in the matrix side must not hide the other forms
        reasons.append(f"the matrix form failed ({type(why).__name__}: {why})")
    size = int(np.prod(leaf.shape))
    if size > _per_element.MAX_ELEMENTS:
        return LeafFormula(note=f"no closed form shown: {'; '.join(reasons) if reasons else 'not elementwise'}, "
                                f"and {size} elements is over the per-element limit "
                                f"({_per_element.MAX_ELEMENTS})")
    try:
        grads, symbolic = _per_element.derive(graph, gradient, leaf_id)
    except _per_element.NoSymbolicRule as why:
        return LeafFormula(note=str(why))
    return _from_per_element(grads, symbolic, graph, leaf)


def _matrix_alternative(graph, gradient, leaf_id, leaf) -> LeafFormula | None:
    """The matrix form one click away from a generic-element one (``2 x ⊙ cos(x²)``
    beside ``2*a*cos(a**2)``), for graphs small enough that it costs next to nothing."""
    if sum(1 for v in graph.nodes if v.kind == "op") > MAX_MATRIX_ALTERNATIVE_OPS:
        return None
    try:
        form = _matrix.derive(graph, gradient, leaf_id)
    except Exception:  # the generic-element form stands on its own
        return None
    if form.text is None or not _agrees_with_graph(graph, gradient, leaf_id, form.values):
        return None
    return _from_matrix(form, graph, leaf)


def _per_element_form(graph, gradient, leaf_id, leaf) -> LeafFormula | None:
    """The per-element form one click away from a matrix form (small leaves of small
    graphs only: it must not cost the matrix form its time limit)."""
    ops = sum(1 for v in graph.nodes if v.kind == "op")
    elements = sum(int(np.size(v.value)) for v in graph.nodes if v.kind != "op")
    if ops > MAX_ALTERNATIVE_OPS or elements > MAX_ALTERNATIVE_ELEMENTS:
        return None
    try:
        grads, symbolic = _per_element.derive(graph, gradient, leaf_id)
        return _from_per_element(grads, symbolic, graph, leaf)
    except Exception:  # the matrix form stands on its own
        return None


def _from_matrix(form, graph, leaf) -> LeafFormula:
    def meaning(name, value):
        kind = "scalar" if value.ndim == 0 else ("vector" if value.shape[1:] == (1,) else "matrix")
        return f"the {kind} {name}"
    used = {x.data for x in _matrix.M.leaves(form.expression)}
    onehots = {x.data: x for x in _matrix.M.leaves(form.expression, "onehot")}
    legend = [(name, meaning(name, value)) for name, value in form.bindings.items() if name in used]
    legend += [(f"e_{name}" if e.shape[1:] == (1,) else f"onehot({name})",
                f"one-hot {'vector' if e.shape[1:] == (1,) else 'rows'} of the class indices {name}")
               for name, e in onehots.items()]
    legend += [(name, definition) for name, definition in form.intermediates]
    result = LeafFormula("matrix", formula=form.text, simplified=form.text, latex=form.latex,
                         values=form.values, symbols=legend, expression=form.expression,
                         numpy_code=form.numpy_code())
    if form.text is None:
        result.size = form.size
        result.note = f"the matrix form is too large to show ({form.size} operations)"
    return result


def _from_elementwise(ef, leaf) -> LeafFormula:
    S = sp()
    symbols = [s for s, _, _ in ef.symbols]
    (values,) = evaluate([ef.evaluated], symbols, [_numeric(v) for _, _, v in ef.symbols])
    values = np.broadcast_to(np.asarray(values, dtype=np.float64), leaf.shape).copy()
    # the legend names the leaf's own symbol and whatever else the formula uses
    used = ef.chain.free_symbols | ef.evaluated.free_symbols
    legend = [(str(s), meaning) for s, meaning, _ in ef.symbols
              if s in used or str(s) == ef.leaf_symbol]
    result = LeafFormula("elementwise", element_symbol=ef.leaf_symbol, values=values,
                         symbols=legend, expression=ef.evaluated)
    size = render.too_large(ef.chain)
    if size is None:
        result.formula = render.formula_text(ef.chain)
        result.chain_latex = render.chain_latex(ef.terms)
        result.latex = S.latex(ef.evaluated)
    else:
        result.size = size
        result.note = f"the formula is too large to show ({size} operations after cse)"
    return result


def _from_long_chain(chain, graph, leaf) -> LeafFormula:
    """Values without text: the chain is too long (or branches too often) to write out."""
    name = symbol_name(leaf.name or "x", set())
    paths = f"more than {_long_chain.MAX_PATHS}" if chain.paths > _long_chain.MAX_PATHS else str(chain.paths)
    note = (f"too long to write out: {chain.ops} ops and {paths} paths from {leaf.name or 'the leaf'} "
            f"to the root ({chain.operations} operations in the local derivatives); the values "
            "multiply sympy's derivative of each op along the graph")
    return LeafFormula("elementwise", element_symbol=name, values=chain.values, note=note,
                       size=chain.operations,
                       symbols=[(name, f"an element of {leaf.name or 'the leaf'}")] + chain.legend)


def _numeric(value):
    value = np.asarray(value)
    return value if value.dtype.kind == "b" else value.astype(np.float64)


def _from_per_element(grads, symbolic, graph, leaf) -> LeafFormula:
    S = sp()
    matrix = render.matrix_of(grads)
    symbols = [s for vertex_id in symbolic for s in symbolic[vertex_id].reshape(-1)]
    inputs = [float(v) for vertex_id in symbolic
              for v in np.asarray(graph[vertex_id].value, dtype=np.float64).reshape(-1)]
    entries = evaluate(list(grads.reshape(-1)), symbols, inputs)
    values = np.asarray([np.broadcast_to(np.asarray(x, dtype=np.float64), ()) for x in entries],
                        dtype=np.float64).reshape(leaf.shape)
    own = symbolic[leaf.id].reshape(-1)
    result = LeafFormula("per_element", values=values, expression=matrix,
                         element_symbol=str(own[0]) if own.size else None,
                         symbols=[(f"{graph[v].name or 'leaf'}_i_j",
                                   f"the element (i, j) of {graph[v].name or 'a leaf'}")
                                  for v in symbolic])
    size = render.too_large(matrix)
    if size is None:
        result.formula = render.formula_text(matrix)
        result.latex = S.latex(matrix)  # shown an entry at a time; render.too_large bounds it
    else:
        result.size = size
        result.note = f"the formulas are too large to show ({size} operations after cse)"
    return result


def _agrees_with_graph(graph, gradient, leaf_id, numbers, samples: int = 3) -> bool:
    """Check a few directional derivatives against central differences."""
    rng = np.random.default_rng(0)
    for _ in range(samples):
        u = rng.standard_normal(graph[leaf_id].shape)
        fd = graph.central_difference(leaf_id, gradient, u)
        claimed = float(np.sum(numbers * u))
        if not abs(claimed - fd) <= 1e-5 * max(1.0, abs(fd)):
            return False
    return True


def values_along(graph: Graph, gradient, leaf_id: int, element: tuple, xs) -> np.ndarray:
    """∂f/∂leaf[element] at the points ``xs``, from one closed form in that element
    (see :func:`gradstudio.studio.symbolic.per_element.derivative_along`)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
    try:
        derivative, a = _per_element.derivative_along(graph, gradient, leaf_id, element)
        (values,) = evaluate([derivative], [a], [np.asarray(xs, dtype=np.float64)])
    finally:
        sys.setrecursionlimit(limit)
    return np.broadcast_to(np.asarray(values, dtype=np.float64), np.shape(xs)).copy()


def simplify_formula(result: LeafFormula) -> LeafFormula:
    """Add the simplified form (may be slow; the worker bounds its time)."""
    S = sp()
    expression = result.expression
    if expression is None or result.size is not None or result.kind == "matrix":
        return result  # a matrix form is simplified as it is derived
    if isinstance(expression, S.MatrixBase):
        simplified = expression.applyfunc(_simplify_one)
    else:
        simplified = _simplify_one(expression)
    if render.too_large(simplified) is not None:
        return result
    text = render.formula_text(simplified)
    result.simplified = text
    if len(text) <= render.MAX_LATEX_CHARS or isinstance(simplified, S.MatrixBase):
        result.latex = S.latex(simplified)
    return result


def _simplify_one(expression):
    """sympy's simplify, unless that is not simpler (``1 - tanh(x)**2`` stays, rather
    than becoming ``cosh(x)**(-2)``)."""
    S = sp()
    size = S.count_ops(expression)
    if size > SIMPLIFY_MAX_OPS:
        return S.cancel(expression)
    candidate = S.simplify(expression)
    return candidate if S.count_ops(candidate) < size else expression
