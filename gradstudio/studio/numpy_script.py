"""A design as a NumPy script: its forward value and the gradient of every leaf
that requires grad, computed with numpy alone (no gradstudio, no torch).

The script is the matrix form's ``fAndG`` (:mod:`gradstudio.studio.symbolic.matrix`,
matrixcalculus.org's way of handing a gradient over): the design's function f —
the root, or ``Σ gradient ⊙ root`` for a ``gradient=`` — and each gradient as a
matrix expression, written as numpy code, then the leaves' values and one call
that prints f and each ``<leaf>.grad`` as plain lists. The gradients come from
the studio's own matrix calculus, not from the engine's VJP rules, so running
the script and comparing it with the engine checks one against the other.

A design the matrix language cannot express (an op without a matrix rule) is
refused with the reason (:class:`~gradstudio.studio.design.DesignError`).
"""
from __future__ import annotations

from gradstudio.studio.design import Design, DesignError


def design_to_numpy(design: Design) -> str:
    """The NumPy script of what feeds the design's root (see the module docstring)."""
    from gradstudio.studio.codegen import _number_list
    from gradstudio.studio.symbolic import matrix
    from gradstudio.studio.symbolic.matrix import expr as M

    graph = design.compile()        # refuses an unfinished design with its message
    gradient = design.gradient()
    leaves = [v for v in graph.nodes if v.kind == "leaf" and v.requires_grad]
    if not leaves:
        raise DesignError("no leaf requires grad: there is no gradient to write")
    try:
        f, builder = matrix.function_of(graph, gradient)
        symbols = {}
        for leaf in leaves:
            x = builder.exprs.get(leaf.id)
            if x is None or x.op != "var":
                raise matrix.NoMatrixForm(f"{leaf.name or 'a leaf'} is not a tensor of the expression")
            symbols[leaf.id] = x
        grads = matrix.gradients(f, list(symbols.values()))
        written = {symbols[leaf.id].data: matrix.simplify(grads[symbols[leaf.id]]) for leaf in leaves}
    except Exception as why:      # NoMatrixForm, NoMatrixRule: the matrix language has no word for it
        raise DesignError(f"no NumPy form for this design: {why}") from None
    f = matrix.simplify(f)
    used = {e.data for root in [f, *written.values()] for e in M.leaves(root)}
    arguments = {(name if name in used else f"onehot_{name}"): (name, value)
                 for name, value in builder.bindings.items()}
    code = matrix.numpy_code(f, written, {arg: value.shape for arg, (_, value) in arguments.items()},
                             builder.names)
    root = graph[graph.root]
    what = root.name or "f"
    if gradient is not None:
        what = f"sum(gradient * {what})"
    lines = ['"""A GradStudio design as NumPy: f and its gradients, from the matrix calculus."""',
             code.rstrip("\n"), "", "", "# the design's values (vectors and matrices as the design has them)"]
    for arg, (name, value) in arguments.items():
        lines.append(f"{arg} = np.array({_number_list(value, False)})")
    results = ", ".join(f"grad_{name}" for name in written)
    lines += ["", f"f, {results} = fAndG({', '.join(arguments)})",
              f"print({what + ' ='!r}, float(np.reshape(f, ())))"]
    for leaf in leaves:
        name = symbols[leaf.id].data
        lines.append(f"print({(leaf.name or name) + '.grad ='!r}, "
                     f"np.reshape(grad_{name}, {tuple(leaf.shape)!r}).tolist())")
    return "\n".join(lines) + "\n"
