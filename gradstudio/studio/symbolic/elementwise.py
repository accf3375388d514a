"""The generic-element form: one formula for ∂f/∂x[i,j], whatever the size.

It applies when the path from the leaf to the root is elementwise ops (with
broadcasting of the *other* operands), full reductions (sum, mean, mse…) and
scalar ops on their results — or the root is elementwise and backward got a
``gradient=`` vector. Then the gradient of element ``x`` depends only on the
elements at the same position.

The graph is first turned into sympy expressions for one element, from the
ops' symbolic forwards (never the engine's VJP rules); sympy tidies them as it
builds them (``3*x*x`` and ``x*x*3`` both become ``3*x**2``). Then a
differentiator that keeps every local derivative as a factor — the constant
factor, the power rule, the function's own derivative — writes the chain
rule the way a person does: ``3*2*x/4`` for the mean of ``3*x*x`` over four
elements. Beside it go the simplified form and its values.

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

from gradstudio.studio.trace import Graph, GraphNode
from gradstudio.ops._sympy import sp
from gradstudio.studio.symbolic import long_chain, render
from gradstudio.studio.symbolic.exact import exact, exact_params, real_symbol, symbol_name

MAX_TERMS = 64       # beyond this many chain-rule paths, the terms are merged into one factor
MAX_INLINE_OPS = 6   # a longer intermediate expression is given a name (u1, u2, …)


class NotElementwise(Exception):
    """The generic-element form does not apply (the reason is the message)."""


@dataclass
class Chain:
    """A derivative as a sum of products of factors, kept unevaluated."""

    terms: list = field(default_factory=list)   # each term: a list of factors

    @staticmethod
    def one() -> "Chain":
        return Chain([[]])

    def times(self, factor) -> "Chain":
        return Chain([[factor] + term for term in self.terms])

    def then(self, factor) -> "Chain":
        """The factor written last (``/4`` in ``3*2*x/4``)."""
        return Chain([term + [factor] for term in self.terms])

    def prefixed(self, factors: list) -> "Chain":
        return Chain([list(factors) + term for term in self.terms])

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
    terms: list                   # the chain as terms (lists of factors), for LaTeX
    symbols: list                 # [(sympy Symbol, what it stands for, value array)]
    leaf_symbol: str


class _Differentiator:
    """∂/∂x of element expressions, keeping local derivatives as separate factors."""

    def __init__(self, leaf_symbol):
        self.known = {leaf_symbol: Chain.one()}   # symbol -> its chain (leaf, intermediates, reductions)

    def depends(self, expression) -> bool:
        return any(s in self.known for s in expression.free_symbols)

    def define(self, symbol, chain: Chain):
        if chain.terms:
            self.known[symbol] = chain

    def chain(self, expression) -> Chain:
        S = sp()
        if expression in self.known:
            return self.known[expression]
        if not self.depends(expression):
            return Chain()
        if isinstance(expression, S.Add):
            total = Chain()
            for term in expression.args:
                total = total.plus(self.chain(term))
            return total
        if isinstance(expression, S.Mul):
            return self._product(expression.args)
        if isinstance(expression, S.Pow) and not self.depends(expression.exp):
            n, base = expression.exp, expression.base
            if n.is_Integer and n > 0:  # the power rule as written by hand: 2*x, 3*x**2
                local = [n, base] if n == 2 else [n, base ** (n - 1)]
            else:
                d = S.Dummy("d", real=True)
                local = [S.diff(d ** n, d).xreplace({d: base})]
            return self.chain(base).prefixed(local)
        if isinstance(expression, S.Function) and len(expression.args) == 1:
            (inner,) = expression.args
            d = S.Dummy("d", real=True)
            local = render.zero_step_derivatives(S.diff(expression.func(d), d)).xreplace({d: inner})
            return self.chain(inner).prefixed([] if local == 1 else [local]) if local != 0 else Chain()
        return self._general(expression)

    def _product(self, factors) -> Chain:
        constant = [f for f in factors if not self.depends(f)]
        varying = [f for f in factors if self.depends(f)]
        total = Chain()
        for i, f in enumerate(varying):
            others = varying[:i] + varying[i + 1:]
            total = total.plus(self.chain(f).prefixed(others))
        return total.prefixed(constant)

    def _general(self, expression) -> Chain:
        """Anything else (Piecewise, Max, x**y, two-argument functions): sympy's
        derivative with respect to each dependent symbol, times that symbol's chain."""
        S = sp()
        total = Chain()
        for symbol in sorted(expression.free_symbols, key=str):
            if symbol in self.known:
                local = render.zero_step_derivatives(S.diff(expression, symbol))
                if local != 0:
                    total = total.plus(self.known[symbol].prefixed([] if local == 1 else [local]))
        return total


def _is_identity(op) -> bool:
    """clone, alias, a cast: the row's element form passes the element through."""
    return op.kind == "shape" and op.element is not None


def _is_elementwise_loss(op) -> bool:
    """mse, l1, bce: one element of the loss (the row's ``element``), then a reduction."""
    return op.category == "loss" and op.element is not None


def _is_elementwise(vertex: GraphNode) -> bool:
    return vertex.kind == "op" and (vertex.op.kind == "elementwise" or _is_identity(vertex.op))


def _is_full_reduction(vertex: GraphNode, graph: Graph) -> bool:
    if vertex.kind != "op":
        return False
    key = vertex.op.id
    if key in ("reduction.SUM", "reduction.MEAN"):
        return True
    if key in ("reduction.SUM_DIM", "reduction.MEAN_DIM"):
        ndim = len(graph[vertex.inputs[0]].shape)
        return len(vertex.params["dim"]) == ndim and not vertex.params["keepdim"]
    if _is_elementwise_loss(vertex.op):
        return vertex.params.get("reduction") in ("mean", "sum")
    return False


def derive(graph: Graph, gradient, leaf_id: int) -> ElementFormula:
    """The generic-element formula for ``leaf_id`` (a :class:`.long_chain.LongChain`,
    values without text, past that module's limits), or :class:`NotElementwise`."""
    builder = _Builder(graph, leaf_id)
    if long_chain.is_long(graph, builder.depends, leaf_id):
        # Too many ops or paths to write out: accumulated in reverse, op by op.
        for vertex in graph.nodes:
            if vertex.id in builder.depends and vertex.kind == "op":
                builder.check(vertex)
            else:
                builder.add(vertex)
        builder.check_root(gradient)
        return long_chain.derive(builder, gradient)
    for vertex in graph.nodes:
        builder.add(vertex)
    return builder.finish(gradient)


class _Builder:
    def __init__(self, graph: Graph, leaf_id: int):
        self.graph, self.leaf_id = graph, leaf_id
        self.leaf_shape = graph[leaf_id].shape
        self.depends = _depends_on(graph, leaf_id)
        self.taken: set = set()
        self.symbols: list = []
        self.exprs: dict = {}
        self.intermediates = 0
        self.leaf_symbol_name = symbol_name(graph[leaf_id].name or "x", self.taken)
        leaf_symbol = real_symbol(self.leaf_symbol_name)
        self.symbols.append((leaf_symbol, f"an element of {graph[leaf_id].name or 'the leaf'}",
                             graph[leaf_id].value))
        self.d = _Differentiator(leaf_symbol)

    def symbol(self, vertex: GraphNode, description: str, prefix: str = "c", boolean: bool = False):
        S = sp()
        name = symbol_name(vertex.name or f"{prefix}{len(self.symbols)}", self.taken)
        symbol = S.Symbol(name) if boolean else real_symbol(name)
        self.symbols.append((symbol, description, vertex.value))
        return symbol

    def add(self, vertex: GraphNode):
        S = sp()
        vid, graph = vertex.id, self.graph
        if vid == self.leaf_id:
            self.exprs[vid] = self.symbols[0][0]
        elif vertex.kind in ("leaf", "const"):
            self.exprs[vid] = self._constant(vertex)
        elif vid not in self.depends:
            # Off the path from the leaf: its value enters only through local derivatives.
            self.exprs[vid] = self._opaque(vertex)
        elif _is_full_reduction(vertex, graph):
            self.exprs[vid] = self._reduction(vertex)
        else:
            self.check(vertex)
            expression = self._forward(vertex)
            if vid != graph.root and S.count_ops(expression) > MAX_INLINE_OPS:
                # Deep chains stay readable (and linear in size): name the intermediate.
                self.intermediates += 1
                name = symbol_name(vertex.name or f"u{self.intermediates}", self.taken)
                symbol = real_symbol(name)
                self.symbols.append((symbol, f"= {render.formula_text(expression)}", vertex.value))
                self.d.define(symbol, self.d.chain(expression))
                expression = symbol
            self.exprs[vid] = expression

    def check(self, vertex: GraphNode):
        """Raise NotElementwise unless this op on the leaf's path keeps the form generic."""
        graph = self.graph
        if _is_full_reduction(vertex, graph):
            if _is_elementwise_loss(vertex.op) and \
                    graph[vertex.inputs[0]].shape != graph[vertex.inputs[1]].shape:
                raise NotElementwise("loss over broadcast shapes")
            if graph[vertex.inputs[0]].shape != self.leaf_shape:
                raise NotElementwise("the leaf is broadcast before the reduction")
            return
        if not _is_elementwise(vertex):
            raise NotElementwise(f"{vertex.op.name} is not elementwise")
        scalar_of_reductions = vertex.shape == () and all(graph[i].shape == () for i in vertex.inputs)
        if vertex.shape != self.leaf_shape and not scalar_of_reductions:
            raise NotElementwise("the leaf is broadcast to a larger shape")
        if vertex.op.sympy is None:
            raise NotElementwise(f"no symbolic rule for {vertex.op.name}")

    def check_root(self, gradient):
        root = self.graph[self.graph.root]
        if gradient is not None and root.shape != () and root.shape != self.leaf_shape:
            raise NotElementwise("gradient= is not shaped like the leaf")
        if gradient is None and root.shape != () and root.shape != self.leaf_shape:
            raise NotElementwise("the root is not a scalar")

    def _forward(self, vertex):
        args = [self.exprs[i] for i in vertex.inputs]
        if _is_identity(vertex.op):
            return vertex.op.element(args[0])
        return vertex.op.sympy(*args, **exact_params(vertex.params))

    def _constant(self, vertex: GraphNode):
        S = sp()
        value = vertex.value
        if not isinstance(value, np.ndarray):
            return exact(value)
        first = value.reshape(-1)[0] if value.size else None
        uniform = value.size and np.all(value == first)
        if value.dtype.kind == "b":  # a condition (where, masks)
            if uniform:
                return S.true if first else S.false
            return self.symbol(vertex, f"an element of the condition {vertex.name or ''}".strip(),
                               boolean=True)
        if uniform:
            return exact(value.dtype.type(first) if value.dtype.kind == "f" else first.item())
        if vertex.kind == "leaf":
            return self.symbol(vertex, f"the element of {vertex.name or 'another leaf'} at the same position")
        return self.symbol(vertex, f"an element of {vertex.name or 'a constant tensor'}")

    def _opaque(self, vertex):
        """Its elementwise expression if it has one, else a symbol for its (known) value."""
        if _is_elementwise(vertex) and vertex.op.sympy is not None:
            try:
                return self._forward(vertex)
            except Exception:  # a symbolic forward that cannot take these operands
                pass
        return self.symbol(vertex, f"the value of {vertex.name or vertex.op.name}")

    def _reduction(self, vertex):
        """A full reduction: its chain is the element chain, then /N for a mean.
        Its own value becomes a scalar symbol (named after its variable)."""
        graph = self.graph
        key = vertex.op.id
        if _is_elementwise_loss(vertex.op):
            a, b = vertex.inputs[:2]
            if graph[a].shape != graph[b].shape:
                raise NotElementwise("loss over broadcast shapes")
            element = vertex.op.element(self.exprs[a], self.exprs[b])
            n = int(np.prod(graph[a].shape))
            source_shape = graph[a].shape
        else:
            source = graph[vertex.inputs[0]]
            element, n, source_shape = self.exprs[source.id], int(np.prod(source.shape)), source.shape
        chain = self.d.chain(element)
        if source_shape != self.leaf_shape and chain.terms:
            raise NotElementwise("the leaf is broadcast before the reduction")
        mean = key in ("reduction.MEAN", "reduction.MEAN_DIM") or vertex.params.get("reduction") == "mean"
        if mean and n != 1:  # 1/N goes last, as a person writes it: 3*2*x/4
            chain = chain.then(render.reciprocal(n))
        symbol = self.symbol(vertex, f"the value of {vertex.name or vertex.op.name}", prefix="s")
        self.d.define(symbol, chain)
        self.root_chain = chain if vertex.id == graph.root else None
        return symbol

    def finish(self, gradient) -> ElementFormula:
        graph = self.graph
        root = graph[graph.root]
        self.check_root(gradient)
        root_expression = self.exprs[graph.root]
        chain = self.d.chain(root_expression)
        if gradient is not None and root.shape == ():
            weight = np.asarray(gradient)
            if weight.item() != 1:
                chain = chain.times(exact(weight.dtype.type(weight.item())))
        elif gradient is not None:
            v = real_symbol("v")
            self.symbols.append((v, "the gradient= element", np.asarray(gradient)))
            chain = chain.times(v)
        if not chain.terms:
            chain = Chain([[sp().Integer(0)]])
        expression = chain.expression()
        return ElementFormula(expression, render.zero_step_derivatives(expression.doit()),
                              chain.terms, self.symbols, self.leaf_symbol_name)


def _depends_on(graph: Graph, leaf_id: int) -> set:
    depends = {leaf_id}
    for vertex in graph.nodes:
        if any(i in depends for i in vertex.inputs):
            depends.add(vertex.id)
    return depends
