"""A design as a PyTorch script, and a recorded graph as a design.

:func:`design_to_script` writes readable code — the nodes' names as variables,
``# %%`` cells for inputs, forward and backward — that runs unchanged under
PyTorch and under ``import gradstudio as torch`` and prints the same. How an
op is written comes from its row: the row's ``torch`` field says how PyTorch
runs it (``lambda torch, a, b: a * b``), and here it is called with symbolic
operands (:class:`Code`), which turn every operator, attribute and call into
text, so no op is spelled out twice. The drawing's positions are kept beside the
code in a trailing ``# gradstudio-layout:`` comment (strict JSON), so reopening
restores them.

With ``exact_values=True`` (the node editor's live run, never shown or saved) a
value of more than :data:`BYTES_ABOVE` elements is written as its own bytes
(``torch.tensor(numpy.frombuffer(base64…))``) instead of a decimal list: a
1,000-element list is 2,000 tokens that the kernel's IPython tokenized, parsed
and compiled, and the window formatted, on every edit (~30 ms), whatever was
edited; its bytes are one string token, and the same numbers bit for bit.

:func:`graph_to_design` is "Open as nodes": a backward call's recorded graph
(:class:`gradstudio.studio.trace.Graph`) becomes an editable design — leaves
stay leaves, every other piece of data becomes a constant, op vertices become
op nodes with their row and params.
"""
from __future__ import annotations

import base64
import json
import re

import numpy as np

from gradstudio.studio.design import DTYPES, Design, DesignError
from gradstudio.studio.values import parse_value

LAYOUT_MARK = "# gradstudio-layout: "
MAX_LITERAL = 10_000      # elements written out as a literal; a larger value is refused
BYTES_ABOVE = 64          # exact_values: larger values go as bytes (see the module docstring)

# Python's operator precedence, high binds tighter
_ATOM, _POSTFIX, _POWER, _UNARY, _PRODUCT, _SUM = 100, 90, 80, 70, 60, 50


class Code:
    """A piece of Python source standing for a value; operators build bigger pieces."""

    def __init__(self, text: str, precedence: int = _ATOM):
        self.text, self.precedence = text, precedence

    def __str__(self):
        return self.text

    def __repr__(self):
        return self.text

    # -- composing --------------------------------------------------------------------
    @staticmethod
    def of(value) -> "Code":
        if isinstance(value, Code):
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return Code(repr(value), _ATOM)
        text = repr(value)
        return Code(text, _UNARY if text.startswith("-") else _ATOM)

    def _wrap(self, minimum: int, strict: bool = False) -> str:
        low = self.precedence < minimum or (strict and self.precedence == minimum)
        return f"({self.text})" if low else self.text

    def _binary(self, symbol, other, precedence, reflected=False):
        left, right = (Code.of(other), self) if reflected else (self, Code.of(other))
        if precedence == _POWER:   # right-associative
            text = f"{left._wrap(_POWER, strict=True)} {symbol} {right._wrap(_UNARY)}"
        else:
            text = f"{left._wrap(precedence)} {symbol} {right._wrap(precedence, strict=True)}"
        return Code(text, precedence)

    def __add__(self, o): return self._binary("+", o, _SUM)
    def __radd__(self, o): return self._binary("+", o, _SUM, True)
    def __sub__(self, o): return self._binary("-", o, _SUM)
    def __rsub__(self, o): return self._binary("-", o, _SUM, True)
    def __mul__(self, o): return self._binary("*", o, _PRODUCT)
    def __rmul__(self, o): return self._binary("*", o, _PRODUCT, True)
    def __truediv__(self, o): return self._binary("/", o, _PRODUCT)
    def __rtruediv__(self, o): return self._binary("/", o, _PRODUCT, True)
    def __matmul__(self, o): return self._binary("@", o, _PRODUCT)
    def __rmatmul__(self, o): return self._binary("@", o, _PRODUCT, True)
    def __pow__(self, o): return self._binary("**", o, _POWER)
    def __rpow__(self, o): return self._binary("**", o, _POWER, True)
    def __neg__(self): return Code(f"-{self._wrap(_UNARY)}", _UNARY)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Code(f"{self._wrap(_POSTFIX)}.{name}", _POSTFIX)

    def __getitem__(self, index):
        return Code(f"{self._wrap(_POSTFIX)}[{_index_text(index)}]", _POSTFIX)

    def __call__(self, *args, **kwargs):
        parts = [str(Code.of(a)) for a in args] + [f"{k}={Code.of(v)}" for k, v in kwargs.items()]
        return Code(f"{self.text}({', '.join(parts)})", _POSTFIX)


def _index_text(index) -> str:
    if isinstance(index, tuple):
        return ", ".join(_index_text(i) for i in index) or "()"
    if isinstance(index, slice):
        parts = ["" if p is None else repr(p) for p in (index.start, index.stop, index.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if index.step is not None else "")
    if index is Ellipsis:
        return "..."
    return str(Code.of(index))


# --------------------------------------------------------------------------- design → script
def design_to_script(design: Design, *, exact_values: bool = False, compiled=None) -> str:
    """The PyTorch script of what feeds the design's root (see the module docstring;
    ``exact_values``: large values as their bytes, for the live run; ``compiled``: the
    design's ``compile()`` of its current state, when the caller has made it already)."""
    literal = _bytes_literal if exact_values else _tensor_literal
    if compiled is None:
        design.compile()   # refuses an unfinished or inconsistent design with its message
    order = design.feeding_root()
    names = _variable_names(design, order)
    inputs, forward = [], []
    code: dict = {}
    for node_id in order:
        node = design.nodes[node_id]
        if node.kind in ("leaf", "const"):
            value = parse_value(node.value, dtype=DTYPES[node.dtype])
            if node.kind == "const" and np.ndim(value) == 0:
                code[node_id] = Code.of(float(value))
                continue
            inputs.append(f"{names[node_id]} = {literal(value, node.dtype, node.requires_grad)}")
            code[node_id] = Code(names[node_id])
            continue
        args = [code[link.src] for link in design.inputs_of(node_id)]
        if node.row.torch is None:
            raise DesignError(f"{node.row.name} has no PyTorch form to write")
        expression = node.row.torch(Code("torch"), *args, **node.param_dict())
        forward.append(f"{names[node_id]} = {expression}")
        code[node_id] = Code(names[node_id])
    root = design.root_source()
    gradient = design.gradient()
    backward = (f"{names[root]}.backward()" if gradient is None else
                f"{names[root]}.backward(gradient={literal(gradient, design.nodes[design.root].dtype, False)})")
    leaves = [names[n] for n in order if design.nodes[n].requires_grad]
    lines = ["# %% A GradStudio design: runs under PyTorch and under `import gradstudio as torch`",
             "import torch", "", "# %% Inputs", *inputs, "", "# %% Forward", *forward,
             f"print({names[root]})", "", "# %% Backward", backward,
             *[f"print({leaf}.grad)" for leaf in leaves], ""]
    layout = {_layout_key(design, names, n): list(design.nodes[n].position) for n in order}
    lines.append(LAYOUT_MARK + json.dumps(layout, allow_nan=False, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def variable_names(design: Design) -> dict:
    """Node id → the variable :func:`design_to_script` writes it as (scalar constants,
    written inline as numbers, have none): how a run's recorded tensors are matched back
    to the nodes they came from."""
    return _variable_names(design, design.feeding_root())


def _is_scalar_constant(design: Design, node_id: str) -> bool:
    node = design.nodes[node_id]
    return node.kind == "const" and parse_value(node.value, dtype=DTYPES[node.dtype]).ndim == 0


def _layout_key(design: Design, names: dict, node_id: str) -> str:
    """A variable's name; for a scalar constant, written inline as a number,
    ``consumer.slot`` of where it is used first."""
    if node_id in names:
        return names[node_id]
    link = next(l for l in design.links if l.src == node_id and l.dst in names)
    return f"{names[link.dst]}.{link.slot}"


def _variable_names(design: Design, order: list) -> dict:
    """Each node's variable: its name, else t1, t2 … (never a clash, never 'torch').
    Scalar constants are written as numbers and get none."""
    taken = {design.nodes[n].name for n in order if design.nodes[n].name} | {"torch"}
    names, counter = {}, 0
    for node_id in order:
        if _is_scalar_constant(design, node_id):
            continue
        name = design.nodes[node_id].name
        if not name:
            while True:
                counter += 1
                name = f"t{counter}"
                if name not in taken:
                    break
            taken.add(name)
        names[node_id] = name
    return names


def _tensor_literal(value, dtype: str, requires_grad: bool) -> str:
    array = np.asarray(value)
    if array.size > MAX_LITERAL:
        raise DesignError(f"a value of {array.size:,} elements is too large to write into a script")
    options = ["dtype=torch.float64"] if dtype == "float64" else []
    if requires_grad:
        options.append("requires_grad=True")
    return f"torch.tensor({_number_list(array, dtype == 'float32')}{''.join(', ' + o for o in options)})"


def _bytes_literal(value, dtype: str, requires_grad: bool) -> str:
    """:func:`_tensor_literal`'s tensor, large ones written as their little-endian bytes."""
    array = np.asarray(value)
    if array.size <= BYTES_ABOVE or array.size > MAX_LITERAL or dtype not in DTYPES:
        return _tensor_literal(value, dtype, requires_grad)
    code = np.dtype(DTYPES[dtype]).newbyteorder("<").str
    data = base64.b64encode(np.ascontiguousarray(array, dtype=code).tobytes()).decode("ascii")
    options = ["dtype=torch.float64"] if dtype == "float64" else []
    if requires_grad:
        options.append("requires_grad=True")
    return (f'torch.tensor(__import__("numpy").frombuffer(__import__("base64").b64decode("{data}"), '
            f'"{code}").reshape({tuple(array.shape)!r}){"".join(", " + o for o in options)})')


def _number_list(array, single: bool, script: bool = True) -> str:
    """Nested list text of ``array``; each number as short as its precision allows
    (0.1, not 0.10000000149011612, for a float32 value)."""
    array = np.asarray(array)
    if array.ndim:
        return "[" + ", ".join(_number_list(a, single, script) for a in array) + "]"
    value = float(array)
    if not np.isfinite(value):   # nan, inf, -inf: a script spells them float('…'), a node's value by name
        return f"float({str(value)!r})" if script else str(value)
    text = str(np.float32(value)) if single else repr(value)
    return text if any(c in text for c in ".en") else text + ".0"


def layout_of(script: str) -> dict:
    """The positions a script written by :func:`design_to_script` keeps (variable → (x, y))."""
    for line in reversed(script.splitlines()):
        if line.startswith(LAYOUT_MARK):
            try:
                data = json.loads(line[len(LAYOUT_MARK):], parse_constant=_refuse)
            except ValueError:
                return {}
            if isinstance(data, dict):
                return {k: tuple(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, list)
                        and len(v) == 2 and all(isinstance(c, (int, float)) for c in v)}
    return {}


def _refuse(token):
    raise ValueError(token)


# --------------------------------------------------------------------------- graph → design
def graph_to_design(graph, gradient=None, positions: dict | None = None) -> Design:
    """A recorded graph as an editable design (leaves stay leaves, other data becomes
    constants); ``positions`` maps a variable name to where its node goes."""
    from gradstudio.studio.figures import layout as layout_module
    design = Design()
    vertices = [layout_module.Vertex(n.id, tuple(n.inputs), n.label, n.kind, n.name) for n in graph.nodes]
    placed = layout_module.layout(vertices, {n.id: (120.0, 40.0) for n in graph.nodes})
    ids: dict = {}
    for vertex in graph.nodes:
        name = vertex.name if vertex.name and re.fullmatch(r"[A-Za-z_]\w{0,63}", vertex.name) else ""
        position = (positions or {}).get(name or _first_use(graph, vertex.id)) or placed.positions[vertex.id]
        if vertex.kind in ("leaf", "const"):
            value = np.asarray(vertex.value)
            dtype = "float64" if value.dtype == np.float64 and vertex.kind == "leaf" else "float32"
            if vertex.kind == "const" and not isinstance(vertex.value, np.ndarray):
                dtype = "float64"
            ids[vertex.id] = design.add_node(vertex.kind, name=name, value=_value_text(value), dtype=dtype,
                                             requires_grad=vertex.requires_grad, position=position)
        else:
            ids[vertex.id] = design.add_node("op", op=vertex.op.id, params=dict(vertex.params or {}),
                                             name=name, position=position)
            for slot, source in enumerate(vertex.inputs):
                design.connect(ids[source], ids[vertex.id], slot)
    x, y = placed.positions[graph.root]
    out = design.add_node("output", value=_value_text(gradient) if gradient is not None else "",
                          position=(x + 160.0, y))
    design.connect(ids[graph.root], out, 0)
    return design


def _first_use(graph, vertex_id: int) -> str:
    """``consumer.slot`` of a vertex's first use (how a scalar constant's place is kept)."""
    for user in graph.nodes:
        if vertex_id in user.inputs and user.name:
            return f"{user.name}.{user.inputs.index(vertex_id)}"
    return ""


def _value_text(value) -> str:
    array = np.asarray(value)
    if array.size > MAX_LITERAL:
        raise DesignError(f"a value of {array.size:,} elements is too large for a node")
    return _number_list(array, array.dtype != np.float64, script=False)
