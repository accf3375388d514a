"""Design → PyTorch script → recorded graph → design, exact; the script runs the same under torch."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gradstudio.studio.codegen import Code, design_to_script, graph_to_design, layout_of
from gradstudio.studio.design import Design
from gradstudio.studio.session import Session

from test_design import seed_design


def neuron() -> Design:
    """A single sigmoid neuron with a squared error: (σ(w·x + b) − t)²."""
    d = Design()
    w = d.add_node("leaf", name="w", value="[0.5, -0.25, 0.1]", requires_grad=True, position=(0, 0))
    x = d.add_node("const", name="x", value="[1., 2., 3.]", position=(0, 80))
    b = d.add_node("leaf", name="b", value="0.1", requires_grad=True, position=(0, 160))
    dot = d.add_node("op", op="linalg.DOT", position=(120, 40))
    s = d.add_node("op", op="elementwise.ADD", name="s", position=(240, 60))
    a = d.add_node("op", op="elementwise.SIGMOID", name="a", position=(360, 60))
    t = d.add_node("const", value="1.", position=(360, 140))
    e = d.add_node("op", op="elementwise.SUB", position=(480, 80))
    loss = d.add_node("op", op="elementwise.POW", params={"exponent": 2.0}, name="loss", position=(600, 80))
    out = d.add_node("output", position=(720, 80))
    for src, dst, slot in [(w, dot, 0), (x, dot, 1), (dot, s, 0), (b, s, 1), (s, a, 0), (a, e, 0), (t, e, 1),
                           (e, loss, 0), (loss, out, 0)]:
        d.connect(src, dst, slot)
    return d


DESIGNS = {"seed": lambda: seed_design()[0], "neuron": neuron}


def test_code_writes_operators_with_the_parentheses_python_needs():
    a, b, c = Code("a"), Code("b"), Code("c")
    assert str((a + b) * c) == "(a + b) * c"
    assert str(a - (b - c)) == "a - (b - c)"
    assert str(a - b - c) == "a - b - c"
    assert str((a ** b) ** c) == "(a ** b) ** c" and str(a ** b ** c) == "a ** b ** c"
    assert str(-(a * b)) == "-(a * b)" and str(2.0 * a) == "2.0 * a"
    assert str(Code("torch").nn.functional.softplus(a, beta=2)) == "torch.nn.functional.softplus(a, beta=2)"
    assert str((a + b).sum(dim=(0, 1))) == "(a + b).sum(dim=(0, 1))"
    assert str(a[0, 1:3]) == "a[0, 1:3]"


@pytest.mark.parametrize("which", DESIGNS)
def test_script_then_graph_then_script_is_exact(which):
    design = DESIGNS[which]()
    script = design_to_script(design)
    session = Session("<design>")
    runs = session.run_script(script)
    assert all(run.ok for run in runs), [run.text() for run in runs]
    (call,) = session.backward_calls
    again = graph_to_design(call.graph, call.gradient, layout_of(script))
    assert design_to_script(again) == script
    # the same numbers as the design run directly
    direct = design.backward_call()
    for mine, theirs in zip(direct.leaves, call.leaves):
        assert mine.name == theirs.name and np.array_equal(mine.grad, theirs.grad)


@pytest.mark.oracle
@pytest.mark.parametrize("which", DESIGNS)
def test_the_script_prints_the_same_under_pytorch(which, torch, tmp_path):
    script = tmp_path / "design.py"
    script.write_text(design_to_script(DESIGNS[which]()))
    under_torch = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    under_gradstudio = subprocess.run(
        [sys.executable, "-c", "import sys, gradstudio; sys.modules['torch'] = gradstudio; "
                               f"exec(compile(open({str(script)!r}).read(), 'design.py', 'exec'))"],
        capture_output=True, text=True)
    assert under_torch.returncode == 0, under_torch.stderr
    assert under_gradstudio.returncode == 0, under_gradstudio.stderr
    assert under_gradstudio.stdout == under_torch.stdout and "grad_fn=<" in under_torch.stdout
