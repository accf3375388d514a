"""One node's vector-Jacobian product written out, derived from the op's symbolic forward.

The step-through shows, at each node of a backward pass, what the node computes:
the local derivative ∂out/∂input as a formula, the incoming gradient ``g``, their
product, and the numbers. :func:`local_derivative` derives that for one op vertex
of a recorded graph (:class:`~gradstudio.studio.trace.Graph`) from the op row's
symbolic side only — the engine's VJP rules are never read, so the numbers can be
compared with what the engine sent along each edge:

* an **elementwise** row: its ``sympy`` forward on scalar symbols named as the row
  names its arguments (``a``, ``b``), differentiated by sympy — MulBackward0 with
  ``b = 2`` gives ∂out/∂a = b = 2, and the VJP g ⊙ b (summed to the input's shape
  where it was broadcast);
* a row with a **matrix** form (matmul, sums, means, softmax, …): the op alone as a
  matrix expression, f = ⟨g, out⟩ differentiated in reverse mode
  (:mod:`gradstudio.studio.symbolic.matrix`) — a matmul gives g bᵀ and aᵀ g, a mean
  1/n 𝟙; for a scalar output ∂out/∂input itself is shown (g = 1);
* any other row with a symbolic forward, on small inputs (:data:`MAX_ELEMENTS`):
  **per element**, each output element a formula in the input's element symbols,
  the local Jacobian J = ∂out/∂input evaluated, and Jᵀg;
* otherwise the answer says why there is none.

Everything here is plain data (:class:`LocalDerivative`, :class:`LocalInput`) the
kernel sends to the window; sympy is imported only when a derivation runs.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np

from gradstudio.studio.trace import Graph, GraphNode

MAX_ELEMENTS = 36          # per-element local Jacobians for inputs up to this size
MAX_TEXT = 400             # longer formulas are shown by size only


@dataclass
class LocalInput:
    """The VJP towards one input (``slot``: its position among the op's inputs)."""

    slot: int
    symbol: str                        # the row's name for it: a, b, input
    derivative: str | None = None      # ∂out/∂symbol as a formula (None: only the VJP reads)
    derivative_value: np.ndarray | None = None   # that, evaluated (a local Jacobian per element)
    vjp: str = ""                      # the product with g, as a formula: g ⊙ b, g bᵀ
    value: np.ndarray | None = None    # the product evaluated, in the input's shape
    engine: np.ndarray | None = None   # what the engine sent along the edge, when known
    agree: bool | None = None          # value vs engine


@dataclass
class LocalDerivative:
    """The local derivative of one op vertex: ``form`` is 'elementwise', 'matrix',
    'per_element' or 'none' (``note`` says why); ``symbols`` maps each symbol of the
    formulas to what it stands for (the input's script name, its value, its shape)."""

    vertex: int
    op: str
    form: str
    inputs: list = field(default_factory=list)
    symbols: list = field(default_factory=list)       # [(symbol, meaning)]
    note: str | None = None


# --------------------------------------------------------------------------- entry points
def local_derivative(graph: Graph, vertex_id: int, g=None, engine: dict | None = None, *,
                     cache: dict | None = None) -> LocalDerivative:
    """The VJP of op vertex ``vertex_id`` written out. ``g`` is the gradient arriving at
    it (default: the one the recorded call left on the vertex); ``engine`` maps an input
    slot to what the engine sent that input, for the comparison; ``cache`` keeps the
    elementwise formulas by op, params and constants from one node to the next
    (:func:`for_trace` passes one per trace)."""
    vertex = graph[vertex_id]
    if vertex.kind != "op":
        raise ValueError(f"vertex {vertex_id} is a {vertex.kind}, not an op")
    op = vertex.op
    if g is None:
        g = vertex.grad
    if g is None:
        return LocalDerivative(vertex_id, op.name, "none", note="no gradient reached this node")
    g = np.asarray(g, dtype=np.float64).reshape(np.shape(vertex.value))
    try:
        if op.sympy is None:
            result = LocalDerivative(vertex_id, op.name, "none",
                                     note=f"{op.name} has no symbolic forward in its op row")
        elif op.kind == "elementwise":
            result = _elementwise(graph, vertex, g, cache)
        else:
            result = _matrix(graph, vertex, g) or _per_element(graph, vertex, g)
    except (OverflowError, ValueError, TypeError, ZeroDivisionError, NotImplementedError) as why:
        result = LocalDerivative(vertex_id, op.name, "none", note=f"not derived: {why}")
    for item in result.inputs:
        sent = (engine or {}).get(item.slot)
        if sent is not None and item.value is not None:
            item.engine = np.asarray(sent)
            item.agree = bool(np.shape(item.engine) == np.shape(item.value) and np.allclose(
                item.value, item.engine, rtol=2e-3, atol=1e-5 * max(1.0, float(np.max(np.abs(item.value)))
                                                                    if item.value.size else 1.0)))
    return result


def for_trace(graph: Graph, trace: dict, vertices=None) -> list:
    """:func:`local_derivative` of every op node a step trace (plain data) ran — or of
    ``vertices`` only — with the engine's edges as its comparison. A loop's repeated
    op gets its formulas derived once (the same op, params and input kinds)."""
    from gradstudio.studio.stepping import value_array
    nodes = trace.get("nodes") or []
    vertex_of = {n["id"]: n.get("vertex") for n in nodes}
    incoming, sent = {}, {}
    for e in trace.get("events") or ():
        if e["kind"] in ("node_start", "error") and e.get("grad") is not None:
            incoming.setdefault(e["node"], e["grad"])
        elif e["kind"] == "edge" and e.get("grad") is not None:
            sent.setdefault(e["node"], {})[e["slot"]] = value_array(e["grad"])
    wanted = None if vertices is None else set(vertices)
    out, cache = [], {}
    for node in nodes:
        vertex = vertex_of.get(node["id"])
        if vertex is None or graph[vertex].kind != "op" or (wanted is not None and vertex not in wanted):
            continue
        if node["id"] not in incoming and graph[vertex].grad is None:
            continue
        g = graph[vertex].grad
        if g is None:
            g = value_array(incoming[node["id"]])
        engine = {slot: value for slot, value in sent.get(node["id"], {}).items() if value is not None}
        out.append(local_derivative(graph, vertex, g, engine, cache=cache))
    return out


def _cached(cache, key, derive):
    if cache is None:
        return derive()
    if key not in cache:
        cache[key] = derive()
    return cache[key]


# --------------------------------------------------------------------------- names
def argument_names(function, count: int, skip: int = 0) -> list:
    """The names a row's symbolic function gives its positional inputs (``a, b``);
    ``input`` / ``input1`` … where it takes ``*args``."""
    try:
        parameters = list(inspect.signature(function).parameters.values())[skip:]
    except (TypeError, ValueError):
        parameters = []
    names = [p.name for p in parameters
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:count]
    names += [f"input{i}" if count > 1 else "input" for i in range(len(names), count)]
    taken, unique = set(), []
    for name in names:
        candidate = name if name not in ("g", "I", "E", "S", "N", "O", "Q") else name + "_"
        while candidate in taken:
            candidate += "_"
        taken.add(candidate)
        unique.append(candidate)
    return unique


def _meaning(input_vertex: GraphNode) -> str:
    """What an input is, in words: its script name, its value when a number, its shape."""
    value = input_vertex.value
    shape = np.shape(value)
    if not isinstance(value, np.ndarray) or value.size == 1 and input_vertex.kind == "const":
        return _number(float(np.asarray(value).reshape(-1)[0]))
    what = input_vertex.name or ("a constant" if input_vertex.kind == "const" else "a tensor")
    if input_vertex.kind == "op" and not input_vertex.name:
        what = f"the result of {input_vertex.op.name}"
    return f"{what} {_shape(shape)}"


def _shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _number(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:.6g}"


def _text(expr) -> str:
    """A sympy expression as a person writes it: ·, ^, unicode minus left to sympy."""
    from gradstudio.ops._sympy import sp
    text = sp().sstr(expr)
    text = text.replace("**", "^").replace("*", "·")
    return text if len(text) <= MAX_TEXT else f"a formula of {len(text):,} characters"


def _differentiable(slot: int, op, input_vertex: GraphNode) -> bool:
    """An input the engine sends a gradient to: a float tensor the op differentiates."""
    rules = op.vjp if isinstance(op.vjp, (tuple, list)) else ()
    if slot < len(rules) and (rules[slot] is None or not getattr(rules[slot], "differentiable", True)):
        return False
    value = input_vertex.value
    if not isinstance(value, np.ndarray):
        return False
    return value.dtype.kind == "f" and (input_vertex.kind != "const" or input_vertex.requires_grad)


def _sum_to(value: np.ndarray, shape: tuple) -> np.ndarray:
    """Undo broadcasting: sum ``value`` down to ``shape`` (what the engine does to every VJP)."""
    value = np.asarray(value, dtype=np.float64)
    while value.ndim > len(shape):
        value = value.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and value.shape[axis] != 1:
            value = value.sum(axis=axis, keepdims=True)
    return value.reshape(shape)


# --------------------------------------------------------------------------- elementwise
def _elementwise(graph: Graph, vertex: GraphNode, g: np.ndarray, cache) -> LocalDerivative:
    from gradstudio.ops._sympy import sp
    from gradstudio.studio.symbolic import render
    from gradstudio.studio.symbolic.evaluate import evaluate
    from gradstudio.studio.symbolic.exact import exact, exact_params, real_symbol
    S = sp()
    op, ins = vertex.op, [graph[i] for i in vertex.inputs]
    names = argument_names(op.sympy, len(ins))
    symbols = [real_symbol(n) for n in names]
    params = exact_params(vertex.params)
    numbers = {}
    for symbol, v in zip(symbols, ins):
        if not isinstance(v.value, np.ndarray):
            numbers[symbol] = exact(v.value)
        elif v.value.size == 1 and v.kind == "const" and v.value.dtype.kind in "fiub":
            numbers[symbol] = exact(v.value.reshape(-1)[0])

    def derive():
        out = op.sympy(*symbols, **params)
        return out, [render.zero_step_derivatives(S.diff(out, s)) for s in symbols]
    key = (op.id, tuple(sorted((k, repr(p)) for k, p in vertex.params.items())), tuple(names),
           tuple(sorted((str(s), str(n)) for s, n in numbers.items())))
    out, derivatives = _cached(cache, key, derive)
    shape = np.shape(vertex.value)
    # floats in float64; a bool condition stays bool (where's Piecewise selects with it)
    values = [(np.asarray(v.value, dtype=np.float64) if v.value.dtype.kind != "b" else v.value)
              if isinstance(v.value, np.ndarray) else np.float64(v.value) for v in ins]
    result = LocalDerivative(vertex.id, op.name, "elementwise",
                             symbols=[(n, _meaning(v)) for n, v in zip(names, ins)]
                             + [("g", f"the incoming gradient ∂L/∂out {_shape(shape)}")])
    for slot, (symbol, v, d) in enumerate(zip(symbols, ins, derivatives)):
        if not _differentiable(slot, op, v):
            continue
        formula = _text(d)
        at = d.xreplace(numbers) if numbers else d
        if at != d:
            formula += f" = {_text(at)}"
        local = np.broadcast_to(np.asarray(evaluate([d], symbols, values)[0], dtype=np.float64)
                                if d.free_symbols else np.float64(float(d)), shape)
        product = _sum_to(g * local, np.shape(v.value))
        result.inputs.append(LocalInput(slot, str(symbol), formula, np.array(local), _vjp_text(at),
                                        product))
    return result


def _vjp_text(d) -> str:
    """g times an elementwise local derivative: g, −g, g ⊙ (…)."""
    if d == 1:
        return "g"
    if d == -1:
        return "−g"
    if d == 0:
        return "0"
    text = _text(d)
    if d.is_Number:
        return f"{text}·g"
    simple = d.is_Symbol or d.is_Number or d.is_Function
    return f"g ⊙ {text}" if simple else f"g ⊙ ({text})"


# --------------------------------------------------------------------------- matrix form
def _mini_graph(graph: Graph, vertex: GraphNode, names: list) -> Graph:
    """The op alone: each input a leaf (a float tensor), a constant or a number, named as
    the row names it, the op the root."""
    nodes = []
    for position, (i, name) in enumerate(zip(vertex.inputs, names)):
        v = graph[i]
        kind = "const" if v.kind == "const" else "leaf"
        nodes.append(GraphNode(position, kind, v.value, name=name, requires_grad=kind == "leaf"))
    root = GraphNode(len(nodes), "op", vertex.value, op=vertex.op, params=dict(vertex.params),
                     inputs=tuple(range(len(nodes))))
    return Graph(nodes + [root], root.id)


def _matrix(graph: Graph, vertex: GraphNode, g: np.ndarray) -> LocalDerivative | None:
    """The VJP in matrix form, or None when the op has none here."""
    from gradstudio.studio.symbolic import matrix
    from gradstudio.studio.symbolic.matrix import expr as M
    from gradstudio.studio.symbolic.matrix.build import Builder, NoMatrixForm, language_shape
    from gradstudio.studio.symbolic.matrix.evaluate import evaluate
    from gradstudio.studio.symbolic.matrix.render import text
    op, ins = vertex.op, [graph[i] for i in vertex.inputs]
    names = argument_names(op.matrix or op.sympy, len(ins), skip=1 if op.matrix else 0)
    mini = _mini_graph(graph, vertex, names)
    try:
        builder = Builder(mini)
        out = builder.expression(mini.root)
        seed = builder.symbol("g", np.asarray(g, dtype=np.float64))
        f = M.mul(seed, out) if out.is_scalar else M.total(M.mul(seed, out))
        wanted = [(slot, builder.exprs.get(slot)) for slot, v in enumerate(ins)
                  if _differentiable(slot, op, v)]
        wanted = [(slot, e) for slot, e in wanted if e is not None and e.op == "var"]
        adjoints = matrix.gradients(f, [e for _, e in wanted])
        local = matrix.gradients(out, [e for _, e in wanted]) if out.is_scalar else {}
    except (NoMatrixForm, M.MatrixError, matrix.NoMatrixRule, ValueError, KeyError):
        return None         # no matrix form for this op here: per element, if small
    result = LocalDerivative(vertex.id, op.name, "matrix",
                             symbols=[(n, _meaning(v)) for n, v in zip(names, ins)]
                             + [("g", f"the incoming gradient ∂L/∂out {_shape(np.shape(vertex.value))}")])
    for slot, e in wanted:
        vjp = matrix.simplify(adjoints[e])
        value = np.asarray(evaluate(vjp, builder.bindings), dtype=np.float64)
        value = np.broadcast_to(value, language_shape(ins[slot].shape) or ()).reshape(ins[slot].shape)
        derivative, derivative_value = None, None
        if e in local:
            d = matrix.simplify(local[e])
            derivative = _matrix_text(text(d, builder.names))
            derivative_value = np.asarray(evaluate(d, builder.bindings), dtype=np.float64)
        result.inputs.append(LocalInput(slot, e.data, derivative, derivative_value,
                                        _matrix_text(text(vjp, builder.names)), np.array(value)))
    return result


def _matrix_text(text: str) -> str:
    """The matrix language's plain text (``g*b.T``) as a textbook writes it (``g·bᵀ``)."""
    return text.replace(".T", "ᵀ").replace("*", "·")


# --------------------------------------------------------------------------- per element
def _per_element(graph: Graph, vertex: GraphNode, g: np.ndarray) -> LocalDerivative:
    from gradstudio.ops._sympy import sp
    from gradstudio.studio.symbolic.evaluate import evaluate
    from gradstudio.studio.symbolic.per_element import apply_symbolic, element_symbols
    S = sp()
    op, ins = vertex.op, [graph[i] for i in vertex.inputs]
    names = argument_names(op.sympy, len(ins))
    wanted = [slot for slot, v in enumerate(ins) if _differentiable(slot, op, v)]
    size = sum(int(np.asarray(ins[s].value).size) for s in wanted)
    if size > MAX_ELEMENTS:
        return LocalDerivative(vertex.id, op.name, "none",
                               note=f"{op.name} has no matrix form, and its inputs have {size} elements: "
                                    f"a local Jacobian per element is shown up to {MAX_ELEMENTS}")
    args, symbols = [], []
    for slot, v in enumerate(ins):
        if slot in wanted:
            elements = element_symbols(names[slot], np.shape(v.value))
            args.append(elements)
            symbols.append(elements)
        else:
            value = v.value
            args.append(np.asarray(value).astype(object) if isinstance(value, np.ndarray)
                        and value.dtype.kind == "f" else value)
            symbols.append(None)
    out = np.asarray(apply_symbolic(op, vertex.params, args), dtype=object).reshape(-1)
    result = LocalDerivative(vertex.id, op.name, "per_element",
                             symbols=[(n, _meaning(v)) for n, v in zip(names, ins)]
                             + [("g", f"the incoming gradient ∂L/∂out {_shape(np.shape(vertex.value))}")])
    flat_symbols = [s for slot in wanted for s in symbols[slot].reshape(-1)]
    flat_values = [x for slot in wanted for x in np.asarray(ins[slot].value, dtype=np.float64).reshape(-1)]
    for slot in wanted:
        elements = symbols[slot].reshape(-1)
        # the outputs are sympy expressions the row built (or floats): strict refuses any string
        J = [[S.diff(S.sympify(o, strict=True), s) for s in elements] for o in out]
        entries = [e for row in J for e in row]
        values = evaluate(entries, flat_symbols, flat_values) if entries else []
        numbers = np.array([float(np.asarray(x)) for x in values], dtype=np.float64).reshape(
            len(out), len(elements))
        product = (numbers.T @ g.reshape(-1)).reshape(np.shape(ins[slot].value))
        formula = ("[" + ", ".join("[" + ", ".join(_text(e) for e in row) + "]" for row in J) + "]"
                   if len(J) * len(elements) <= 16
                   else f"the {len(out)}×{len(elements)} Jacobian ∂out_i/∂{names[slot]}_j")
        result.inputs.append(LocalInput(slot, names[slot], formula, numbers, f"Jᵀ g", product))
    return result
