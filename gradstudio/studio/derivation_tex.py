"""A design's derivation as a standalone LaTeX document.

Three parts, as a person writes a derivation out by hand:

1. **Forward** — each op node's definition in terms of its inputs (the node
   names the exported script uses): elementwise rows through their sympy forward
   (``y = 3 x^{2}``), the others as the PyTorch expression that runs them;
2. **Local derivatives** — along every wire into an elementwise op, the op's
   derivative in that input, differentiated by sympy from the row's sympy forward
   (never the engine's VJP rules);
3. **Gradients** — per leaf, the closed forms the symbolic side derived
   (:class:`LeafDerivation`, filled from a Compare check record or from
   :func:`gradstudio.studio.symbolic.derive_call`): the chain of local
   derivatives, the simplified form, and the value.

:func:`math_pieces` lists every formula of the document, for a check that each
one renders (matplotlib mathtext) when no ``pdflatex`` is at hand.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradstudio.studio.design import Design

MAX_VALUE_ELEMENTS = 16        # a longer gradient value is summarised by its shape


@dataclass(frozen=True)
class LeafDerivation:
    """One leaf's closed forms, whoever derived them (field names as Compare's records)."""

    name: str
    kind: str = "none"                  # "elementwise" | "matrix" | "per_element" | "none"
    chain_latex: str | None = None
    latex: str | None = None
    element_symbol: str | None = None
    values: object = None               # the symbolic value (an array)
    note: str | None = None
    symbols: list = field(default_factory=list)     # [(name, meaning)]


def from_formula(name: str, formula) -> LeafDerivation:
    """A :class:`LeafDerivation` from a ``symbolic.LeafFormula`` or a record's ``LeafCheckData``."""
    def get(*keys):
        for key in keys:
            value = getattr(formula, key, None)
            if value is not None:
                return value
        return None
    return LeafDerivation(name=name, kind=get("formula_kind", "kind") or "none", chain_latex=get("chain_latex"),
                          latex=get("latex"), element_symbol=get("element_symbol"),
                          values=get("symbolic", "values"), note=get("formula_note", "note"),
                          symbols=[tuple(s) for s in (get("symbols") or [])])


def derive_locally(design: Design) -> list:
    """The closed forms derived in this process (for a design with no kernel run to
    read them from: a standalone editor, a test)."""
    from gradstudio.studio import symbolic
    graph = design.compile()
    leaves = [v for v in graph.nodes if v.kind == "leaf" and v.requires_grad]
    forms = symbolic.derive_call(graph, design.gradient(), [v.id for v in leaves])
    return [from_formula(v.name or f"leaf{v.id}", forms[v.id]) for v in leaves]


# --------------------------------------------------------------------------- the pieces
def _symbol_latex(name: str) -> str:
    """``W`` → ``W``, ``logp_y`` → ``\\mathit{logp}_{y}``, ``x_2`` → ``x_{2}``."""
    head, _, tail = name.partition("_")
    head = head if len(head) == 1 else rf"\mathit{{{head}}}"
    return f"{head}_{{{_symbol_latex(tail) if tail else ''}}}" if tail else head


def _names(design: Design) -> dict:
    from gradstudio.studio.codegen import variable_names
    return variable_names(design)


def forward_lines(design: Design) -> list:
    """``[(lhs, rhs)]`` LaTeX of each op node's definition, inputs first."""
    from gradstudio.ops._sympy import sp
    from gradstudio.studio.codegen import Code
    from gradstudio.studio.values import parse_value
    S = sp()
    names = _names(design)
    lines = []
    for node_id in design.feeding_root():
        node = design.nodes[node_id]
        if node.kind != "op":
            continue
        inputs = [link.src for link in design.inputs_of(node_id)]
        if node.row.kind == "elementwise" and node.row.sympy is not None:
            args = [S.Symbol(names[i], real=True) if i in names
                    else S.nsimplify(float(parse_value(design.nodes[i].value))) for i in inputs]
            rhs = S.latex(node.row.sympy(*args, **node.param_dict()),
                          symbol_names={a: _symbol_latex(str(a)) for a in args if isinstance(a, S.Symbol)})
        else:
            code = [Code(names[i]) if i in names else Code.of(float(parse_value(design.nodes[i].value)))
                    for i in inputs]
            rhs = r"\mathtt{" + _tt(str(node.row.torch(Code("torch"), *code, **node.param_dict()))) + "}"
        lines.append((_symbol_latex(names[node_id]), rhs))
    return lines


def local_derivatives(design: Design) -> list:
    """``[(lhs, rhs)]``: ∂node/∂input along each wire into an elementwise op from a
    node that carries gradient (sympy's derivative of the row's forward)."""
    from gradstudio.ops._sympy import sp
    from gradstudio.studio.values import parse_value
    S = sp()
    names = _names(design)
    flows = design.requiring_grad()
    out = []
    for node_id in design.feeding_root():
        node = design.nodes[node_id]
        if node.kind != "op" or node.row.kind != "elementwise" or node.row.sympy is None:
            continue
        inputs = [link.src for link in design.inputs_of(node_id)]
        args = [S.Symbol(names[i], real=True) if i in names
                else S.nsimplify(float(parse_value(design.nodes[i].value))) for i in inputs]
        rename = {a: _symbol_latex(str(a)) for a in args if isinstance(a, S.Symbol)}
        value = node.row.sympy(*args, **node.param_dict())
        done = set()
        for source, arg in zip(inputs, args):
            if source not in flows or not isinstance(arg, S.Symbol) or arg in done:
                continue        # x * x: one derivative in x (sympy's, of the whole product)
            done.add(arg)
            lhs = rf"\frac{{\partial {_symbol_latex(names[node_id])}}}{{\partial {rename[arg]}}}"
            out.append((lhs, S.latex(S.diff(value, arg), symbol_names=rename)))
    return out


def _tt(text: str) -> str:
    return "".join({"_": r"\_", "{": r"\{", "}": r"\}", "#": r"\#", "%": r"\%", "&": r"\&",
                    "$": r"\$", "^": r"\^{}", "~": r"\~{}", "\\": r"\backslash "}.get(c, c) for c in text)


def _value_latex(values) -> str | None:
    if values is None:
        return None
    array = np.asarray(values, dtype=np.float64)
    if array.size > MAX_VALUE_ELEMENTS:
        return None
    if array.ndim == 0:
        return f"{float(array):.6g}"
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        return None
    rows = r" \\ ".join(" & ".join(f"{v:.6g}" for v in row) for row in array)
    return r"\begin{pmatrix}" + rows + r"\end{pmatrix}"


def gradient_lines(design: Design, leaves: list) -> list:
    """``[(leaf name, [(lhs, rhs) …], note)]`` for each leaf's closed forms."""
    root_name = _names(design).get(design.root_source(), "f")
    f = _symbol_latex(root_name) if design.gradient() is None else r"\sum_i v_i\," + _symbol_latex(root_name) + "_i"
    out = []
    for leaf in leaves:
        # the generic element's own symbol; per element, the leaf (its entries form a matrix)
        symbol = _symbol_latex(leaf.element_symbol if leaf.kind == "elementwise" and leaf.element_symbol
                               else leaf.name)
        lhs = rf"\frac{{\partial {f}}}{{\partial {symbol}}}"
        steps = [s for s in (leaf.chain_latex, leaf.latex) if s]
        steps = [s for i, s in enumerate(steps) if s not in steps[:i]]
        value = _value_latex(leaf.values)
        rows = []
        for i, step in enumerate(steps + ([value] if value else [])):
            rows.append((lhs if i == 0 else "", step))
        note = leaf.note if not rows else None
        if leaf.kind == "elementwise":
            note = (f"One formula for every element of {leaf.name} (the symbol "
                    f"{leaf.element_symbol or leaf.name} stands for any one of them).")
        elif leaf.kind == "per_element":
            note = f"One exact formula per element of {leaf.name}."
        out.append((leaf.name, rows, note))
    return out


def math_pieces(design: Design, leaves: list) -> list:
    """Every formula of the document on its own (``lhs = rhs``), for a renderer to check."""
    pieces = [f"{l} = {r}" for l, r in forward_lines(design) + local_derivatives(design)]
    for _, rows, _ in gradient_lines(design, leaves):
        pieces += [f"{l or '{}'} = {r}" for l, r in rows]
    return pieces


def derivation_document(design: Design, leaves: list, title: str = "A GradStudio design") -> str:
    """The standalone LaTeX document (``pdflatex`` compiles it; amsmath only)."""
    def align(lines):
        body = " \\\\\n".join(f"  {lhs} &= {rhs}" for lhs, rhs in lines)
        return "\\begin{align*}\n" + body + "\n\\end{align*}\n"
    parts = ["\\documentclass{article}", "\\usepackage{amsmath}", "\\usepackage{amssymb}",
             f"\\title{{{_tt(title)}}}", "\\date{}", "\\begin{document}", "\\maketitle", ""]
    forward = forward_lines(design)
    parts += ["\\section*{Forward}", align(forward) if forward else "No ops.\n"]
    local = local_derivatives(design)
    if local:
        parts += ["\\section*{Local derivatives}", align(local)]
    parts.append("\\section*{Gradients}")
    for name, rows, note in gradient_lines(design, leaves):
        parts.append(f"\\subsection*{{With respect to ${_symbol_latex(name)}$}}")
        if note:
            parts.append(_tt(note) + "\n")
        if rows:
            parts.append(align(rows))
    parts += ["\\end{document}", ""]
    return "\n".join(parts)
