"""A design exported as a NumPy script (run with numpy alone, printing what the engine
computes) and as a LaTeX derivation (well formed; each formula renders)."""
from __future__ import annotations

import ast
import json
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from gradstudio.studio import derivation_tex
from gradstudio.studio.design import DesignError, from_json
from gradstudio.studio.numpy_script import design_to_numpy

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[2] / "resources" / "examples" / "designs").glob("*.json"))
# torch and gradstudio made unimportable: the script must need numpy only
NO_TORCH = "import sys; sys.modules['torch'] = None; sys.modules['gradstudio'] = None; exec(sys.stdin.read())"


def example(word: str):
    return from_json(json.loads(next(p for p in EXAMPLES if word in p.name).read_text())["design"])


def run_numpy(script: str) -> dict:
    result = subprocess.run([sys.executable, "-I", "-c", NO_TORCH], input=script, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    printed = {}
    for line in result.stdout.splitlines():
        name, _, value = line.partition(" = ")
        printed[name] = np.asarray(ast.literal_eval(value), dtype=np.float64)
    return printed


def with_cumsum(design):
    """The seed design with a cumsum (an op without a matrix rule) before its mean."""
    mean = next(n for n, node in design.nodes.items() if node.op == "reduction.MEAN")
    (link,) = design.inputs_of(mean)
    cumsum = design.add_node("op", op="reduction.CUMSUM", params={"dim": 0})
    design.disconnect(link)
    design.connect(link.src, cumsum, 0)
    design.connect(cumsum, mean, 0)
    assert not design.errors, design.errors
    return design


# every example of the gallery built as nodes
@pytest.mark.parametrize("word, root", [("seed", "z"), ("sigmoid", "loss"), ("softmax", "loss")])
def test_the_numpy_script_runs_without_the_engine_and_prints_the_engines_values(word, root):
    design = example(word)
    printed = run_numpy(design_to_numpy(design))
    call = design.backward_call()
    assert call.status == "ok"
    graph = call.graph
    np.testing.assert_allclose(printed[root], np.asarray(graph[graph.root].value, dtype=np.float64), rtol=1e-6)
    assert {f"{leaf.name}.grad" for leaf in call.leaves} == set(printed) - {root}
    for leaf in call.leaves:
        np.testing.assert_allclose(printed[f"{leaf.name}.grad"], leaf.grad, rtol=1e-5, atol=1e-7)


def test_a_gradient_argument_is_part_of_f_in_the_numpy_script():
    design = example("seed")
    out, mean = design.root, next(n for n, node in design.nodes.items() if node.op == "reduction.MEAN")
    mul = next(l.src for l in design.inputs_of(mean))
    design.disconnect(design.inputs_of(out)[0])
    design.connect(mul, out, 0)                          # backward of the (2, 2) product, with gradient=
    design.change_node(out, value="[[1, 2], [3, 4]]")
    printed = run_numpy(design_to_numpy(design))
    call = design.backward_call()
    np.testing.assert_allclose(printed["x.grad"], call.leaves[0].grad, rtol=1e-6)
    assert printed["x.grad"].tolist() == [[6.0, 12.0], [18.0, 24.0]]


def test_selecting_one_element_is_a_one_hot_product_in_the_numpy_script():
    script = design_to_numpy(example("softmax"))        # logp[2]: e_2ᵀ logp, no eye matrix
    assert "onehot_i2 = np.array([[0.0], [0.0], [1.0]])" in script and "np.eye" not in script


def test_a_design_without_a_matrix_form_is_refused_with_the_reason():
    with pytest.raises(DesignError, match="no NumPy form.*CumsumBackward0"):
        design_to_numpy(with_cumsum(example("seed")))


def test_a_design_with_no_leaf_requiring_grad_has_no_numpy_gradient():
    design = example("seed")
    leaf = next(n for n, node in design.nodes.items() if node.kind == "leaf")
    design.change_node(leaf, requires_grad=False)
    with pytest.raises(DesignError, match="no leaf requires grad"):
        design_to_numpy(design)


# --------------------------------------------------------------------------- LaTeX
def well_formed(tex: str):
    """Braces balance and every \\begin{…} is closed by its own \\end{…}, in order."""
    depth = 0
    for c in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(c, 0)
        assert depth >= 0
    assert depth == 0
    stack = []
    for kind, env in re.findall(r"\\(begin|end)\{([^}]*)\}", tex):
        if kind == "begin":
            stack.append(env)
        else:
            assert stack and stack.pop() == env, env
    assert not stack


def test_the_seed_derivation_has_the_forward_the_local_derivatives_and_the_tutorials_chain():
    design = example("seed")
    leaves = derivation_tex.derive_locally(design)
    tex = derivation_tex.derivation_document(design, leaves, "seed")
    well_formed(tex)
    assert tex.startswith("\\documentclass{article}") and tex.rstrip().endswith("\\end{document}")
    assert "z &= \\mathtt{y.mean()}" in tex and "y &= 3 \\mathit{t1}" in tex
    assert "\\frac{\\partial \\mathit{t1}}{\\partial x} &= 2 x" in tex and tex.count("{\\partial x} &= 2 x") == 1
    assert "\\frac{\\partial z}{\\partial x} &= \\frac{3 \\cdot 2 \\cdot x}{4}" in tex
    assert "&= \\frac{3 x}{2}" in tex and "1.5 & 1.5" in tex


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_examples_derivation_is_well_formed_and_its_formulas_render(path):
    from matplotlib.mathtext import MathTextParser
    parser = MathTextParser("agg")
    design = from_json(json.loads(path.read_text())["design"])
    leaves = derivation_tex.derive_locally(design)
    tex = derivation_tex.derivation_document(design, leaves, path.stem)
    well_formed(tex)
    assert all(f"With respect to ${derivation_tex._symbol_latex(leaf.name)}$" in tex for leaf in leaves)
    pieces = derivation_tex.math_pieces(design, leaves)
    assert pieces
    for piece in pieces:
        if "\\begin" in piece:          # matrices: mathtext draws none; their structure is checked above
            continue
        parser.parse(f"${piece}$", dpi=72)


def test_closed_forms_from_a_check_record_are_used_as_they_are():
    design = example("seed")
    leaf = derivation_tex.from_formula("x", type("Check", (), {
        "formula_kind": "elementwise", "chain_latex": "CHAIN", "latex": "SIMPLE", "element_symbol": "x",
        "symbolic": np.full((2, 2), 1.5), "formula_note": None, "symbols": [("x", "an element of x")]})())
    tex = derivation_tex.derivation_document(design, [leaf])
    assert "&= CHAIN \\\\\n   &= SIMPLE" in tex


def test_a_design_saved_with_a_shape_error_opens_again_with_that_error():
    """A value edited after wiring can leave a mismatch (the node shows it); the saved
    file must open as it was, not be refused as damaged."""
    design = example("sigmoid")
    w = next(n for n, node in design.nodes.items() if node.name == "w")
    design.change_node(w, value="0.25")                   # dot of a 0-d and a 1-d tensor
    assert design.errors
    saved = design.to_json()
    reopened = from_json(json.loads(json.dumps(saved)))
    assert reopened.to_json() == saved and reopened.errors == design.errors
