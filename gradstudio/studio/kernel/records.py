"""Session objects → typed records for the app (:mod:`gradstudio.studio.kernel.schema`).

The kernel (an IPython kernel with :mod:`gradstudio.studio.kernel.extension`) runs the
user's script and the symbolic derivations; the app only displays what comes back. Everything here
turns live objects — tensors, graph nodes, op rows, sympy results — into records
that hold only data (str, numbers, numpy arrays), so a message never carries a
live tensor or a sympy expression, and never grows without bound (large arrays
are replaced by a summary, long texts are cut).

The record types, their fields and their wire form (:func:`encode` /
:func:`decode`, JSON plus binary buffers, never pickles) are defined once, in
:mod:`~gradstudio.studio.kernel.schema`, and re-exported here. This module imports
numpy and the schema only at its top: what it reads from the studio (compare's
check objects) is imported where it is used.
"""
from __future__ import annotations

import math

import numpy as np

from gradstudio.studio.kernel.schema import (  # noqa: F401  (encode, decode, RecordError: re-exported)
    FORM_FIELDS, CallData, CheckData, FormulaForm, GraphData, HeatmapSample, LeafCheckData, LeafData,
    ModuleGroupData, NodeData, OutputData,
    RecordError, RootData, RunData, Summary, SweepData, TensorData, TensorText, decode, encode)

MAX_ARRAY_ELEMENTS = 250_000      # larger arrays travel as a summary only
MESSAGE_BUDGET = 4_000_000        # array elements per graph or tensor list; the rest as summaries
MAX_TEXT_CHARS = 100_000          # one output or repr at most this long
MAX_TENSORS = 500                 # named tensors sent per update
# Elements written out as reprs per tensor list: torch's repr costs ~20 µs an element
# (gradstudio's about the same), so a list of 98 tensors of 1,000 elements took ~0.5 s while
# the Inspector shows one of them. The rest travel with ``text_deferred``; the window
# asks for a tensor's text when it shows it (``tensor_text`` request).
TEXT_BUDGET = 1_000


class Budget:
    """How many more array elements one message may carry."""

    def __init__(self, elements: int = MESSAGE_BUDGET):
        self.left = elements

    def take(self, value):
        """``array(value)`` if it fits in what is left (and charge it), else None."""
        a = array(value)
        if a is None or a.size > self.left:
            return None
        self.left -= a.size
        return a


# --------------------------------------------------------------------------- basics
def cut_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``text``, or its start and end with a note of how much was left out."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit // 2], text[-limit // 2:]
    return f"{head}\n… ({len(text) - len(head) - len(tail):,} characters not shown) …\n{tail}"


def array(value, limit: int = MAX_ARRAY_ELEMENTS):
    """A numpy copy of ``value`` (None if absent or over ``limit`` elements)."""
    if value is None:
        return None
    a = np.asarray(value)
    if a.dtype == object or a.size > limit:
        return None
    return np.array(a, copy=True)


_DTYPE_NAMES: dict = {}


def dtype_name(dtype) -> str:
    """``str(dtype)``, cached (numpy builds the string anew each time: ~13 µs)."""
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype)
    return name


SUMMARY_CHUNK = 1 << 18          # elements per step of summary(): 256 Ki float64 = 2 MiB of scratch


def summary(value) -> Summary | None:
    """shape, dtype, size and nan-safe min/max/mean/L2 norm of an array.

    Bounded extra memory whatever the array's size: the statistics are taken over
    flat chunks of :data:`SUMMARY_CHUNK` elements (a float64 copy and a finite mask
    of one chunk at a time, never of the whole array — a 2 GB tensor must not need
    another 12 GB to be described)."""
    if value is None:
        return None
    a = np.asarray(value)
    result = Summary(tuple(a.shape), dtype_name(a.dtype), int(a.size))
    if not a.size or a.dtype.kind not in "fiub":
        return result
    if a.size <= 64:
        finite = [v for v in map(float, a.ravel().tolist()) if math.isfinite(v)]
        if finite:
            result = result.replace(min=min(finite), max=max(finite), mean=sum(finite) / len(finite),
                                    norm=math.sqrt(sum(v * v for v in finite)))
        return result
    if a.size <= SUMMARY_CHUNK and a.dtype.kind == "f":   # one chunk: no iterator, one record built
        flat = a.reshape(-1).astype(np.float64, copy=False)
        total = float(flat.sum())
        if not math.isfinite(total):
            flat = flat[np.isfinite(flat)]
            if not flat.size:
                return result
            total = float(flat.sum())
        return Summary(result.shape, result.dtype, result.size, min=float(flat.min()), max=float(flat.max()),
                       mean=total / flat.size, norm=math.sqrt(float(np.dot(flat, flat))))
    count, total, squares = 0, 0.0, 0.0
    low, high = math.inf, -math.inf
    for chunk in _float64_chunks(a, SUMMARY_CHUNK):
        chunk_sum = float(chunk.sum())
        if math.isfinite(chunk_sum):      # a NaN or inf anywhere would make the sum one too
            finite = chunk
        else:                             # the mask and copy only where something is not finite
            finite = chunk[np.isfinite(chunk)]
            if not finite.size:
                continue
            chunk_sum = float(finite.sum())
        count += finite.size
        low, high = min(low, float(finite.min())), max(high, float(finite.max()))
        total += chunk_sum
        squares += float(np.dot(finite, finite))
    if count:
        result = result.replace(min=low, max=high, mean=total / count, norm=math.sqrt(squares))
    return result


HEATMAP_SAMPLE = 256     # a heatmap sample has at most this many rows and columns


def heatmap_sample(value) -> HeatmapSample | None:
    """For a numeric array too large to send (over :data:`MAX_ARRAY_ELEMENTS`): every
    k-th row and column of its 2-d layout (as the heatmap draws it: the last dimension
    across, all others down), at most :data:`HEATMAP_SAMPLE` of each — a copy of those
    elements only, with ``step`` (rows, columns) and ``shape`` the 2-d layout's;
    None for a small array, or one whose layout needs a copy of the whole."""
    if value is None:
        return None
    a = np.asarray(value)
    if a.size <= MAX_ARRAY_ELEMENTS or a.ndim == 0 or a.dtype.kind not in "fiub":
        return None
    if a.ndim == 1:
        grid = a[np.newaxis, :]
    else:
        grid = a.view()
        try:
            grid.shape = (-1, a.shape[-1])       # raises instead of copying a strided array
        except AttributeError:
            return None
    rows, columns = grid.shape
    step = [max(1, -(-rows // HEATMAP_SAMPLE)), max(1, -(-columns // HEATMAP_SAMPLE))]
    return HeatmapSample(np.array(grid[::step[0], ::step[1]], copy=True), tuple(step), (rows, columns))


def _float64_chunks(a: np.ndarray, size: int):
    """``a``'s elements as float64 pieces of at most ``size`` (numpy's buffered
    iterator: one buffer is reused, whatever ``a``'s dtype, strides or size)."""
    return np.nditer(a, flags=["external_loop", "buffered", "zerosize_ok"], op_dtypes=["float64"],
                     casting="unsafe", buffersize=size)


def _plain(value):
    """A parameter value made plain (numbers, str, lists); anything else as its repr."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray) and value.size <= 64:
        return value.tolist()
    return repr(value)


# --------------------------------------------------------------------------- graph
def node_data(node, root: int, budget: Budget | None = None) -> NodeData:
    """One graph vertex (:class:`~gradstudio.studio.kernel.schema.NodeData`); its arrays
    within ``budget``, and a heatmap sample of a grad too large to send."""
    value = np.asarray(node.value)
    return NodeData(**node_fields(node, root, value),
                    **value_fields(value, node.grad, budget.take if budget is not None else array))


def node_fields(node, root: int, value: np.ndarray) -> dict:
    """A vertex's fields that are not its values (what the calls of a loop share:
    :mod:`gradstudio.studio.kernel.shared`)."""
    op = node.op
    return dict(
        id=node.id, kind=node.kind, label=node.label,
        grad_fn=op.name if op is not None else None,
        op_label=(op.label or op.name) if op is not None else None,
        category=op.category if op is not None else None,
        doc=op.doc if op is not None else None,
        op_key=op.key if op is not None else None,
        name=node.name,
        shape=tuple(value.shape), dtype=dtype_name(value.dtype),
        inputs=list(node.inputs),
        params=node_params(node),
        requires_grad=bool(node.requires_grad),
        is_root=node.id == root,
    )


def node_params(node) -> dict:
    return {str(k): _plain(v) for k, v in (node.params or {}).items()}


def value_fields(value, grad, take=array) -> dict:
    """A vertex's value fields: ``value`` and ``grad`` as ``take`` keeps them (a copy
    within the message's budget, or None), their summaries, a heatmap sample of a
    grad too big to send, and the grad's norm."""
    grad_summary = summary(grad)
    return dict(value=take(value), value_summary=summary(value),
                grad=take(grad), grad_summary=grad_summary,
                grad_sample=heatmap_sample(grad),
                grad_norm=grad_summary.norm if grad_summary else None)


def graph_data(graph) -> GraphData | None:
    """The recorded graph's nodes in topological order (inputs first). Within
    :data:`MESSAGE_BUDGET`, leaves and the root get their arrays first."""
    if graph is None:
        return None
    budget = Budget()
    first = [n for n in graph.nodes if n.kind == "leaf" or n.id == graph.root]
    rest = [n for n in graph.nodes if not (n.kind == "leaf" or n.id == graph.root)]
    data = {n.id: node_data(n, graph.root, budget) for n in first + rest}
    return GraphData(root=graph.root, nodes=[data[n.id] for n in graph.nodes])


# --------------------------------------------------------------------------- backward calls
def call_data(call, hint: str | None = None, *, deferred: bool = False, structure: int | None = None,
              steps: bool = True) -> CallData:
    """A backward call as recorded (before any derivation), with its graph, the
    leaves it reached, and its step trace when the session kept one (and ``steps``: else
    the kernel keeps it for a ``steps`` request, ``steps_on_request``); ``deferred``:
    the kernel checks it only when the window asks (``check_deferred``); ``structure``:
    the id the window keeps its graph structure under (:mod:`~gradstudio.studio.kernel.shared`)."""
    return CallData(
        index=call.index, cell=call.cell, line=call.line,
        root=root_data(call),
        gradient=array(call.gradient),
        status=call.status, error=call.error, error_type=call.error_type,
        hint=hint,
        graph=graph_data(call.graph), graph_error=call.graph_error,
        leaves=[LeafData(name=leaf.name, vertex=leaf.vertex, shape=tuple(leaf.shape),
                         numeric=array(leaf.grad)) for leaf in call.leaves],
        pending_check=checkable(call) and not deferred,
        check_deferred=checkable(call) and deferred,
        steps=steps_data(call) if steps and not deferred else None,   # a deferred call's: with its check
        steps_on_request=not steps and not deferred and has_steps(call),
        groups=groups_data(call), structure=structure,
    )


def root_data(call) -> RootData:
    """What ``backward()`` was called on."""
    return RootData(name=call.root_name, grad_fn=call.root_grad_fn, shape=tuple(call.root_shape))


def groups_data(call) -> list:
    """The call's module calls (``ModuleGroupData``), outermost first."""
    return [ModuleGroupData(label=g.label, name=g.name, ops=list(g.ops), params=list(g.params),
                            depth=g.depth) for g in getattr(call, "groups", ())]


def steps_data(call) -> dict | None:
    """The call's step trace as plain data, when the session kept one (and the graph is not too big)."""
    return call.steps.to_data() if has_steps(call) else None


def has_steps(call) -> bool:
    """Whether :func:`steps_data` has a trace to give for ``call`` (without writing it out)."""
    return getattr(call, "steps", None) is not None and _steppable(call.graph)


MAX_STEPPED_NODES = 500   # a bigger graph's step trace stays in the kernel (it is megabytes of events)


def _steppable(graph) -> bool:
    return graph is not None and len(graph.nodes) <= MAX_STEPPED_NODES


# Nodes per message. Decoding a node costs the window ~0.1 ms of its GUI thread (measured:
# 200 nodes, 127 KB of JSON, 20-35 ms), so a message of 50 stays well inside one frame, and
# the window reads a big graph between repaints.
GRAPH_CHUNK = 50


def split_graph(call: CallData, size: int = GRAPH_CHUNK, *, always: bool = False) -> tuple:
    """``(call without its graph's nodes, [chunk of nodes, …])`` for a graph over
    ``size`` nodes, or any graph with nodes if ``always`` (its ``graph.chunks``
    says how many to expect); ``(call, [])`` for a smaller one."""
    graph = call.graph
    if graph is None or not graph.nodes or (len(graph.nodes) <= size and not always):
        return call, []
    nodes = graph.nodes
    chunks = [nodes[i:i + size] for i in range(0, len(nodes), size)]
    return call.replace(graph=graph.replace(nodes=None, chunks=len(chunks))), chunks


def split_graphs(calls: list, size: int = GRAPH_CHUNK) -> tuple:
    """``(calls, [(call index, chunk of nodes), …])`` for the backward calls of one
    cell: the graphs' nodes that stay inside the calls are at most ``size`` in
    all (a loop's hundred small graphs are as big a message as one big graph),
    every other graph travels as chunks of at most ``size`` nodes (see
    :func:`split_graph`), to be sent before the calls."""
    kept, chunks, inline = [], [], 0
    for call in calls:
        graph = call.graph
        count = len(graph.nodes) if graph is not None and graph.nodes is not None else 0
        if inline + count <= size:
            inline += count
            kept.append(call)
            continue
        bare, pieces = split_graph(call, size, always=True)
        kept.append(bare)
        chunks.extend((call.index, piece) for piece in pieces)
    return kept, chunks


def join_graph(call: CallData, chunks: list) -> CallData:
    """The call with the chunks of :func:`split_graph` put back; RecordError if
    the number of chunks is not the one announced."""
    graph = call.graph
    if graph is None or graph.chunks is None:
        return call
    if len(chunks) != graph.chunks:
        raise RecordError(f"backward call {call.index}'s graph came in {len(chunks)} pieces, "
                          f"{graph.chunks} were announced")
    nodes = [node for chunk in chunks for node in chunk]
    return call.replace(graph=graph.replace(nodes=nodes, chunks=None))


def checkable(call) -> bool:
    """Whether a call has something to derive and compare."""
    return call.status == "ok" and call.graph is not None and bool(call.leaves)


def leaf_check_data(leaf) -> LeafCheckData:
    """The three-way check of one leaf (a :class:`gradstudio.studio.compare.LeafCheck`)
    with its formula's forms (:func:`formula_data`)."""
    form = formula_data(leaf.formula)
    return LeafCheckData(
        name=leaf.name, vertex=leaf.vertex, shape=tuple(leaf.shape),
        numeric=array(leaf.numeric), symbolic=array(leaf.symbolic),
        finite_difference=array(leaf.finite_difference),
        unsampled=array(leaf.unsampled), mismatch=array(leaf.mismatch),
        max_abs_error=_number(leaf.max_abs_error), agree=bool(leaf.agree), note=leaf.note,
        direction_check=(tuple(float(v) for v in leaf.direction_check)
                         if leaf.direction_check is not None else None),
        **{name: getattr(form, name) for name in FORM_FIELDS}, alternative=form.alternative,
        torch=array(leaf.torch),
        abs_error=array(leaf.abs_error), rel_error=array(leaf.rel_error),
    )


def formula_data(formula, *, alternative: bool = True) -> FormulaForm:
    """One closed form of a leaf's gradient (a :class:`gradstudio.studio.symbolic.LeafFormula`
    or None); ``pretty``/``chain_pretty`` are None when too long; ``alternative`` is the
    form one click away, one level deep."""
    chain_pretty, pretty = pretty_forms(formula)
    has = formula is not None
    other = getattr(formula, "alternative", None) if alternative and has else None
    return FormulaForm(
        formula_kind=formula.kind if has else "none",
        formula=formula.formula if has else None,
        simplified=formula.simplified if has else None,
        latex=formula.latex if has else None,
        chain_latex=formula.chain_latex if has else None,
        element_symbol=formula.element_symbol if has else None,
        symbols=[(str(a), str(b)) for a, b in (formula.symbols if has else [])],
        formula_size=int(formula.size) if has and formula.size is not None else None,
        formula_note=formula.note if has else None,
        derive_seconds=float(formula.seconds) if has else None,
        pretty=pretty, chain_pretty=chain_pretty,
        numpy_code=getattr(formula, "numpy_code", None) if has else None,
        alternative=formula_data(other, alternative=False) if other is not None else None,
    )


def _number(value):
    return None if value is None else float(value)


# --------------------------------------------------------------------------- pretty forms
MAX_PRETTY_SOURCE_CHARS = 2500    # longer formulas are shown as text (a pretty print would be unreadable)
MAX_PRETTY_CHARS = 20_000
_PRETTY_CONSTANTS = {"pi", "E", "I", "oo", "zoo", "nan"}
_PRETTY_HELPERS = {"sqrt", "root", "cbrt"}     # sympy functions (not classes) that sstr writes


def pretty_forms(formula) -> tuple:
    """``(chain_pretty, pretty)``: sympy's unicode pretty print of a formula's chain
    form and simplified form (None where there is none, or it is too long).

    From the sympy expression itself when the text is its ``sstr``; otherwise the
    text (which this kernel wrote with ``sstr``) is read back by :func:`safe_sympy`,
    an ``ast`` walk that builds sympy objects from a whitelist — nothing is ``eval``-ed."""
    if formula is None or formula.formula is None:
        return None, None
    known = {}
    expression = formula.expression
    for name, _meaning in formula.symbols or []:
        known.setdefault(str(name), None)
    try:
        from sympy import sstr
        free = getattr(expression, "free_symbols", None) or ()
        known.update({str(s): s for s in free})
        exact = sstr(expression) if expression is not None else None
    except Exception:  # a formula we cannot print is shown as text
        exact = None
    results = []
    for text, keep_order in ((formula.formula, True), (formula.simplified or formula.formula, False)):
        try:
            if text == exact:
                value = expression
            else:
                value = safe_sympy(text, known, evaluate=not keep_order)
            results.append(_pretty(value))
        except Exception:  # not a form we can read back: the app shows the text instead
            results.append(None)
    return results[0], results[1]


def _pretty(expression) -> str | None:
    if expression is None:
        return None
    from sympy import pretty
    text = pretty(expression, use_unicode=True, wrap_line=False)
    return text if len(text) <= MAX_PRETTY_CHARS else None


def safe_sympy(text: str, symbols: dict, *, evaluate: bool = True):
    """A sympy object from a sympy string (as ``sstr`` writes it) without ``eval``:
    numbers, names (``symbols`` maps a name to its sympy object, or None for a real
    symbol), + - * / ** and unary -, comparisons, & | ~, ``Matrix([[…]])``,
    ``Piecewise((…, …), …)``, ``.T``, and calls of sympy's function classes.
    With ``evaluate=False`` products keep their factors in order (the chain form).
    Raises ValueError for anything else or a text over the size limit."""
    import ast

    import sympy as S

    if text is None or len(text) > MAX_PRETTY_SOURCE_CHARS:
        raise ValueError("no text, or too long")
    tree = ast.parse(text, mode="eval")

    def call(name):
        if name in _PRETTY_HELPERS or name == "Matrix":
            return getattr(S, name)
        target = getattr(S, name, None) if name[:1].isupper() or name[:1].islower() else None
        if isinstance(target, type) and issubclass(target, (S.Basic, S.MatrixBase)):
            return target
        raise ValueError(f"not a sympy function: {name}")

    def name(node_id):
        if node_id in _PRETTY_CONSTANTS:
            return getattr(S, node_id)
        value = symbols.get(node_id)
        return value if value is not None else S.Symbol(node_id, real=True)

    def number(value):
        if isinstance(value, bool):
            return S.true if value else S.false
        if isinstance(value, int) and abs(value) < 10 ** 60:
            return S.Integer(value)
        if isinstance(value, float):
            return S.Float(value)
        raise ValueError("unsupported constant")

    def mul(a, b):
        if evaluate:
            return a * b
        factors = list(a.args) if isinstance(a, S.Mul) and not a.is_number else [a]
        return S.Mul(*factors, b, evaluate=False)

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant):
            return number(node.value)
        if isinstance(node, ast.Name):
            return name(node.id)
        if isinstance(node, (ast.List, ast.Tuple)):
            return [walk(e) for e in node.elts]
        if isinstance(node, ast.UnaryOp):
            operand = walk(node.operand)
            if isinstance(node.op, ast.USub):
                return -operand if evaluate else S.Mul(S.Integer(-1), operand, evaluate=False)
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Invert):
                return S.Not(operand)
        if isinstance(node, ast.BinOp):
            a, b = walk(node.left), walk(node.right)
            op = node.op
            numbers = getattr(a, "is_number", False) and getattr(b, "is_number", False)
            if isinstance(op, ast.Add):
                return a + b if evaluate else S.Add(a, b, evaluate=False)
            if isinstance(op, ast.Sub):
                return a - b if evaluate else S.Add(a, S.Mul(S.Integer(-1), b, evaluate=False),
                                                    evaluate=False)
            if isinstance(op, ast.Mult):
                return mul(a, b)
            if isinstance(op, ast.Div):
                return a / b if evaluate else mul(a, S.Pow(b, S.Integer(-1), evaluate=False))
            if isinstance(op, ast.Pow):    # never evaluated between two numbers (no 2**2**999)
                return S.Pow(a, b, evaluate=evaluate and not numbers)
            if isinstance(op, ast.BitAnd):
                return S.And(a, b)
            if isinstance(op, ast.BitOr):
                return S.Or(a, b)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            relations = {ast.Gt: S.Gt, ast.Lt: S.Lt, ast.GtE: S.Ge, ast.LtE: S.Le}
            relation = relations.get(type(node.ops[0]))
            if relation is not None:
                return relation(walk(node.left), walk(node.comparators[0]))
        if isinstance(node, ast.Attribute) and node.attr == "T":
            return walk(node.value).T
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            function = call(node.func.id)
            args = [walk(a) for a in node.args]
            if function is S.Piecewise:
                return S.Piecewise(*[tuple(a) for a in args])
            return function(*args)
        raise ValueError(f"unsupported syntax: {type(node).__name__}")

    return walk(tree)


def check_data(check, *, cancelled: bool = False, json: bool = False) -> CheckData:
    """A :class:`gradstudio.studio.compare.CallCheck` as a record; with ``json`` its
    ``json`` is exactly one entry of ``gradstudio check --json``'s backward_calls (the
    window shows none of it: it travels only when a ``check`` request asks for it —
    written out and read back it was ~7 ms of every edit of a 100-node design)."""
    from gradstudio.studio.compare import call_to_json
    return CheckData(
        index=check.call.index, agree=bool(check.agree), cancelled=cancelled,
        provisional=bool(check.provisional),
        symbolic_error=check.symbolic_error,
        leaves=[leaf_check_data(leaf) for leaf in check.leaves],
        json=call_to_json(check) if json else None,
    )


def cancelled_check_data(call, note: str) -> CheckData:
    """What the app gets for a call whose derivation was cancelled: the engine's
    numbers only, each leaf with ``note``."""
    from gradstudio.studio.compare import CallCheck, LeafCheck
    check = CallCheck(call)
    for leaf in call.leaves:
        check.leaves.append(LeafCheck(leaf.name, leaf.vertex, leaf.shape, np.asarray(leaf.grad),
                                      agree=False, note=note))
    return check_data(check, cancelled=True)


# --------------------------------------------------------------------------- cells and tensors
def run_data(run, first_line: int | None = None) -> RunData:
    """One executed cell (a :class:`gradstudio.studio.session.CellRun`), its outputs cut
    to :data:`MAX_TEXT_CHARS` each."""
    interrupted = run.error_type == "KeyboardInterrupt"
    return RunData(
        cell=run.cell, first_line=first_line, execution_count=run.execution_count,
        outputs=[OutputData(o.stream, cut_text(o.text)) for o in run.outputs],
        ok=run.error is None, interrupted=interrupted,
        error=run.error, error_type=run.error_type, error_line=run.error_line,
        hint=run.hint, backward_calls=[c.index for c in run.backward_calls],
    )


def tensor_data(name: str, tensor, budget: Budget | None = None, *, text: bool = True,
                refs: dict | None = None) -> TensorData:
    """A named tensor for the inspector, with torch's repr of its value and grad
    (without them and ``text_deferred`` if not ``text``: :func:`tensor_text` has them).
    ``refs`` (:func:`gradstudio.studio.kernel.shared.tensor_refs`): a value that is, bit
    for bit, a vertex's value in a call of the same message travels as ``value_from``
    (without its summary too: the window makes it from the value)."""
    value = tensor._data
    grad_tensor = getattr(tensor, "_grad", None)   # .grad would warn for non-leaves
    grad = grad_tensor._data if grad_tensor is not None else None
    take = budget.take if budget is not None else array
    value_text, grad_text = tensor_text(tensor) if text else (None, None)
    value_from = _value_ref(tensor, value, refs) if refs else None
    if value_from is not None and budget is not None:    # charged as if it travelled here
        if value.size > budget.left:
            value_from = None
        else:
            budget.left -= value.size
    return TensorData(
        name=name, shape=tuple(value.shape), dtype=str(tensor.dtype),
        requires_grad=bool(tensor.requires_grad), is_leaf=bool(tensor.is_leaf),
        grad_fn=tensor.grad_fn.op.name if tensor.grad_fn is not None else None,
        value=take(value) if value_from is None else None,
        value_summary=summary(value) if value_from is None else None, value_text=value_text,
        grad=take(grad), grad_summary=summary(grad), grad_sample=heatmap_sample(grad),
        grad_text=grad_text, text_deferred=not text, value_from=value_from,
    )


def _value_ref(tensor, value: np.ndarray, refs: dict) -> tuple | None:
    """``(call index, vertex id)`` of the recorded vertex holding exactly ``value``, or None
    (none recorded it, or the tensor changed in place since: then its own value goes)."""
    found = refs.get(id(tensor.grad_fn) if tensor.grad_fn is not None else id(tensor))
    if found is None:
        return None
    recorded = found[2]
    if not isinstance(recorded, np.ndarray) or recorded.dtype != value.dtype or recorded.shape != value.shape \
            or value.dtype == object or recorded.tobytes() != value.tobytes():
        return None
    return (int(found[0]), int(found[1]))


def tensor_text(tensor) -> tuple:
    """torch's repr of ``tensor`` and of its ``.grad`` (None without one)."""
    grad_tensor = getattr(tensor, "_grad", None)
    return _safe_repr(tensor), _safe_repr(grad_tensor) if grad_tensor is not None else None


def text_cost(tensor, threshold: int) -> int:
    """Elements a repr of ``tensor`` and its grad writes out: all of them up to
    torch's summarising ``threshold`` (print options), about that many above it."""
    grad_tensor = getattr(tensor, "_grad", None)
    sizes = [tensor._data.size] + ([grad_tensor._data.size] if grad_tensor is not None else [])
    return sum(min(int(size), threshold) for size in sizes)


def tensors_data(named: dict, text_budget: int = TEXT_BUDGET, refs: dict | None = None) -> list:
    """The session's named tensors (``Session.named_tensors()``), sorted by name; the
    reprs of the smallest ones, up to ``text_budget`` elements written out, the rest
    deferred (the Inspector shows one tensor at a time and asks for its text); values
    found in ``refs`` as references (see :func:`tensor_data`)."""
    items = sorted(named.values(), key=lambda item: item[0])[:MAX_TENSORS]
    from gradstudio.printing import PRINT_OPTS   # the user's torch.set_printoptions
    costs = [text_cost(tensor, int(PRINT_OPTS.threshold)) for _, tensor in items]
    written = set()
    for position in sorted(range(len(items)), key=costs.__getitem__):
        if costs[position] > text_budget:
            break
        text_budget -= costs[position]
        written.add(position)
    budget = Budget()
    return [tensor_data(name, tensor, budget, text=position in written, refs=refs)
            for position, (name, tensor) in enumerate(items)]


def sweep_data(call: int, result: dict | None = None, *, vertex: int | None = None,
               error: str | None = None) -> SweepData:
    """A sweep's answer: ``result`` is :func:`gradstudio.studio.sweep.sweep`'s dict, or
    None with the ``error`` that stopped it."""
    if result is None:
        return SweepData(call=call, vertex=vertex, error=error)
    return SweepData(
        call=call, vertex=result["vertex"], element=[int(i) for i in result["element"]], error=error,
        x=array(result["x"]), f=array(result["f"]), engine=array(result.get("engine")),
        symbolic=array(result.get("symbolic")),
        finite_difference=array(result.get("finite_difference")),
        at=_number(result.get("at")), note=result.get("note"))


def _safe_repr(obj) -> str:
    try:
        return cut_text(repr(obj), 20_000)
    except Exception as error:  # a broken tensor must not break the update
        return f"<repr failed: {type(error).__name__}: {error}>"


MAX_LOCAL_ELEMENTS = 4096     # a local derivative's arrays above this travel as None


def local_derivatives_data(found: list) -> list:
    """:func:`gradstudio.studio.symbolic.local.for_trace`'s answers as records (arrays
    over :data:`MAX_LOCAL_ELEMENTS` left out: the verdict ``agree`` still travels)."""
    from gradstudio.studio.kernel.schema import LocalDerivativeData, LocalInputData

    def small(value):
        return array(value, MAX_LOCAL_ELEMENTS)
    return [LocalDerivativeData(
        vertex=int(d.vertex), op=d.op, form=d.form, note=d.note,
        symbols=[tuple(str(part) for part in pair) for pair in d.symbols],
        inputs=[LocalInputData(slot=int(i.slot), symbol=i.symbol, derivative=i.derivative,
                               derivative_value=small(i.derivative_value), vjp=i.vjp,
                               value=small(i.value), engine=small(i.engine), agree=i.agree)
                for i in d.inputs]) for d in found]
