"""The generic-element form: one formula for ∂f/∂x[i,j], whatever the size.

It applies when the path from the leaf to the root is elementwise ops (with
broadcasting of the *other* operands), full reductions (sum, mean, mse…) and
scalar ops on their results — or the root is elementwise and backward got a
``gradient=`` vector. Then the gradient of element ``x`` depends only on the
elements at the same position, and a forward-mode pass over the graph
collects the chain rule as a sum of products of local derivatives, each
derived by sympy from the op's symbolic forward (never from the engine's VJP
rules). The chain form keeps those factors as a person writes them
(``3*2*x/4``); beside it go the simplified form and its values.

Symbols: the leaf's own name stands for its element; another leaf ``w`` for
its element at the same position; a non-uniform constant for its element
(``c0`` when it has no name); ``v`` for the ``gradient=`` element; a reduced
value (``z = mean(...)``) for that scalar; and in a deep chain, an intermediate
result longer than six operations gets a name (``u1 = sin(x/2)``), so the
formula grows linearly with the depth of the graph instead of quadratically.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..graph import Graph, GraphNode
from ..ops._sympy import sp
from . import render
from .exact import exact, exact_params, real_symbol, symbol_name

IDENTITY_OPS = {"shape.CLONE", "shape.ALIAS", "shape.TO_COPY"}
FULL_REDUCTIONS = {"reduction.SUM", "reduction.MEAN", "reduction.SUM_DIM", "reduction.MEAN_DIM"}
ELEMENTWISE_LOSSES = {"losses.MSE_LOSS", "losses.L1_LOSS", "losses.BCE", "losses.BCE_LOGITS"}
MAX_TERMS = 64   # beyond this many chain-rule paths into one vertex, its terms are merged
MAX_INLINE_OPS = 6  # a longer intermediate expression is given a name (u1, u2, …)


class NotElementwise(Exception):
    """The generic-element form does not apply (the reason is the message)."""


@dataclass
class Chain:
    """Derivative of one vertex w.r.t. the leaf element: a sum of products."""

    terms: list = field(default_factory=list)   # each term: a list of factors

    def times(self, factor) -> "Chain":
        return Chain([[factor] + term for term in self.terms])

    def plus(self, other: "Chain") -> "Chain":
        merged = Chain(self.terms + other.terms)
        if len(merged.terms) > MAX_TERMS:
            merged = Chain([[merged.evaluated()]])
        return merged

    def evaluated(self):
        S = sp()
        return S.Add(*[S.Mul(*term) for term in self.terms])

    def expression(self):
        return render.chain_sum([render.chain_product(term) for term in self.terms])


@dataclass
class ElementFormula:
    chain: object                 # unevaluated sympy expression
    evaluated: object             # the same, evaluated
    symbols: list                 # [(sympy Symbol, what it stands for, value array)]
    leaf_symbol: str


def _is_elementwise(vertex: GraphNode) -> bool:
    return vertex.kind == "op" and (vertex.op.kind == "elementwise" or vertex.op.key in IDENTITY_OPS)


def _is_full_reduction(vertex: GraphNode, graph: Graph) -> bool:
    if vertex.kind != "op":
        return False
    key = vertex.op.key
    if key in ("reduction.SUM", "reduction.MEAN"):
        return True
    if key in ("reduction.SUM_DIM", "reduction.MEAN_DIM"):
        ndim = len(graph[vertex.inputs[0]].shape)
        return len(vertex.params["dim"]) == ndim and not vertex.params["keepdim"]
    if key in ELEMENTWISE_LOSSES:
        return vertex.params.get("reduction") in ("mean", "sum")
    return False


def derive(graph: Graph, gradient, leaf_id: int) -> ElementFormula:
    """The generic-element formula for ``leaf_id``, or :class:`NotElementwise`."""
    S = sp()
    leaf_shape = graph[leaf_id].shape
    depends = _depends_on(graph, leaf_id)
    taken: set = set()
    symbols: list = []
    intermediates: list = []
    exprs: dict = {}
    chains: dict = {}
    leaf_symbol_name = symbol_name(graph[leaf_id].name or "x", taken)

    def intermediate_symbol(vertex: GraphNode, expression):
        name = symbol_name(vertex.name or f"u{len(intermediates) + 1}", taken)
        intermediates.append(name)
        symbol = real_symbol(name)
        symbols.append((symbol, f"= {render.formula_text(expression)}", vertex.value))
        return symbol

    def operand_symbol(vertex: GraphNode, description: str, boolean: bool = False):
        name = symbol_name(vertex.name or f"c{len(symbols)}", taken)
        symbol = S.Symbol(name) if boolean else real_symbol(name)
        symbols.append((symbol, description, vertex.value))
        return symbol

    for vertex in graph.nodes:
        vid = vertex.id
        if vid == leaf_id:
            symbol = real_symbol(leaf_symbol_name)
            symbols.insert(0, (symbol, f"an element of {vertex.name or 'the leaf'}", vertex.value))
            exprs[vid], chains[vid] = symbol, Chain([[]])
            continue
        if vertex.kind in ("leaf", "const"):
            exprs[vid] = _constant_expression(vertex, operand_symbol)
            chains[vid] = Chain()
            continue
        if vid not in depends:
            # Not on a path from the leaf: its value enters only through local derivatives.
            exprs[vid] = _opaque(vertex, graph, exprs, operand_symbol)
            chains[vid] = Chain()
            continue
        if _is_full_reduction(vertex, graph):
            exprs[vid], chains[vid] = _reduction(vertex, graph, exprs, chains, leaf_shape, operand_symbol)
            continue
        if not _is_elementwise(vertex):
            raise NotElementwise(f"{vertex.op.name} is not elementwise")
        scalar_of_reductions = vertex.shape == () and all(graph[i].shape == () for i in vertex.inputs)
        if vertex.shape != leaf_shape and not scalar_of_reductions:
            raise NotElementwise("the leaf is broadcast to a larger shape")
        if vertex.op.sympy is None:
            raise NotElementwise(f"no symbolic rule for {vertex.op.name}")
        expression, chains[vid] = _elementwise_step(vertex, exprs, chains)
        if vid != graph.root and S.count_ops(expression) > MAX_INLINE_OPS:
            # Deep chains stay readable (and linear in size): name the intermediate.
            expression = intermediate_symbol(vertex, expression)
        exprs[vid] = expression

    root = graph[graph.root]
    chain = chains[graph.root]
    if gradient is not None and root.shape == ():
        weight = np.asarray(gradient)
        chain = chain.times(exact(weight.dtype.type(weight.item()))) if weight.item() != 1 else chain
    elif gradient is not None:
        if root.shape != leaf_shape:
            raise NotElementwise("gradient= is not shaped like the leaf")
        v = real_symbol("v")
        symbols.append((v, "the gradient= element", np.asarray(gradient)))
        chain = chain.times(v)
    elif root.shape != () and root.shape != leaf_shape:
        raise NotElementwise("the root is not a scalar")
    if not chain.terms:
        chain = Chain([[S.Integer(0)]])
    expression = chain.expression()
    return ElementFormula(expression, render.zero_step_derivatives(expression.doit()),
                          symbols, leaf_symbol_name)


def _depends_on(graph: Graph, leaf_id: int) -> set:
    depends = {leaf_id}
    for vertex in graph.nodes:
        if any(i in depends for i in vertex.inputs):
            depends.add(vertex.id)
    return depends


def _constant_expression(vertex: GraphNode, operand_symbol):
    value = vertex.value
    if not isinstance(value, np.ndarray):
        return exact(value)
    if value.dtype.kind == "b":  # a condition (where, masks)
        if value.size and np.all(value == value.reshape(-1)[0]):
            return sp().true if value.reshape(-1)[0] else sp().false
        return operand_symbol(vertex, f"an element of the condition {vertex.name or ''}".strip(),
                              boolean=True)
    if value.size and np.all(value == value.reshape(-1)[0]):
        return exact(value.reshape(-1)[0].item() if value.dtype.kind != "f"
                     else value.dtype.type(value.reshape(-1)[0]))
    description = f"an element of {vertex.name}" if vertex.name else "an element of a constant tensor"
    if vertex.kind == "leaf":
        description = f"the element of {vertex.name or 'another leaf'} at the same position"
    return operand_symbol(vertex, description)


def _opaque(vertex, graph, exprs, operand_symbol):
    """A vertex that does not depend on the leaf: its elementwise expression if it
    has one, else a symbol for its (known) value."""
    if _is_elementwise(vertex) and vertex.op.sympy is not None:
        try:
            return vertex.op.sympy(*[exprs[i] for i in vertex.inputs], **exact_params(vertex.params))
        except Exception:  # a sympy forward that cannot take these operands
            pass
    return operand_symbol(vertex, f"the value of {vertex.name or vertex.op.name}")


def _elementwise_step(vertex, exprs, chains):
    """expr and chain of an elementwise op from those of its inputs."""
    S = sp()
    distinct = list(dict.fromkeys(vertex.inputs))
    dummies = {i: S.Dummy(f"d{n}", real=True) for n, i in enumerate(distinct)}
    params = exact_params(vertex.params)
    if vertex.op.key in IDENTITY_OPS:
        F = dummies[vertex.inputs[0]]
    else:
        F = vertex.op.sympy(*[dummies[i] for i in vertex.inputs], **params)
    back = {dummies[i]: exprs[i] for i in distinct}
    chain = Chain()
    for i in distinct:
        if not chains[i].terms:
            continue
        local = render.zero_step_derivatives(S.diff(F, dummies[i])).xreplace(back)
        if local == 0:
            continue
        chain = chain.plus(chains[i].times(local) if local != 1 else chains[i])
    return F.xreplace(back), chain


def _reduction(vertex, graph, exprs, chains, leaf_shape, operand_symbol):
    """A full reduction: its chain is the element chain times 1 (sum) or 1/N (mean).
    Its own value is a scalar symbol (named after its variable)."""
    key = vertex.op.key
    source = graph[vertex.inputs[0]]
    if key in ELEMENTWISE_LOSSES:
        element, chain = _loss_element(vertex, graph, exprs, chains)
        n = int(np.prod(np.broadcast_shapes(*(graph[i].shape for i in vertex.inputs))))
    else:
        element, chain = exprs[source.id], chains[source.id]
        n = int(np.prod(source.shape))
    if source.shape != leaf_shape and chain.terms and key not in ELEMENTWISE_LOSSES:
        raise NotElementwise("the leaf is broadcast before the reduction")
    mean = key in ("reduction.MEAN", "reduction.MEAN_DIM") or vertex.params.get("reduction") == "mean"
    if mean and n != 1:  # 1/N goes last, as a person writes it: 3*2*x/4
        chain = Chain([term + [render.reciprocal(n)] for term in chain.terms])
    value_symbol = operand_symbol(vertex, f"the value of {vertex.name or vertex.op.name}")
    return value_symbol, chain


def _loss_element(vertex, graph, exprs, chains):
    """mse / l1 / bce as an elementwise expression of (input, target) elements."""
    S = sp()
    a, b = vertex.inputs[:2]
    if graph[a].shape != graph[b].shape:
        raise NotElementwise("loss over broadcast shapes")
    x, t = S.Dummy("x", real=True), S.Dummy("t", real=True)
    forms = {"losses.MSE_LOSS": (x - t) ** 2, "losses.L1_LOSS": S.Abs(x - t),
             "losses.BCE": -(t * S.log(x) + (1 - t) * S.log(1 - x)),
             "losses.BCE_LOGITS": S.log(1 + S.exp(x)) - x * t}
    F = forms[vertex.op.key]
    back = {x: exprs[a], t: exprs[b]}
    chain = Chain()
    for dummy, i in ((x, a), (t, b)):
        if chains[i].terms:
            local = render.zero_step_derivatives(S.diff(F, dummy)).xreplace(back)
            if local != 0:
                chain = chain.plus(chains[i].times(local))
    return F.xreplace(back), chain
