"""The node editor's live script (``design_to_script(..., exact_values=True)``): large
values go as their bytes, so what the kernel tokenizes and parses per edit does not
grow with a tensor's size, and the run is the exported script's, bit for bit."""
from __future__ import annotations

import io
import tokenize

import numpy as np
import pytest

from gradstudio.studio import codegen
from gradstudio.studio.design import Design
from gradstudio.studio.session import Session


def scaled_sine(x_value: str, c_value: str, dtype: str = "float32") -> tuple:
    """mean(sin(x · c)) with x a leaf that requires grad: (the design, its node ids by role)."""
    d = Design()
    with d.batch():
        x = d.add_node("leaf", name="x", value=x_value, dtype=dtype, requires_grad=True)
        c = d.add_node("const", name="c", value=c_value, dtype=dtype)
        m = d.add_node("op", op="elementwise.MUL")
        d.connect(x, m, 0)
        d.connect(c, m, 1)
        s = d.add_node("op", op="elementwise.SIN")
        d.connect(m, s, 0)
        mean = d.add_node("op", op="reduction.MEAN")
        d.connect(s, mean, 0)
        out = d.add_node("output")
        d.connect(mean, out, 0)
    assert not d.errors, d.errors
    return d, dict(x=x, c=c, mul=m, sin=s, mean=mean)


def design(value: str, dtype: str = "float32") -> Design:
    c = "[[0.5, -1.0], [2.0, 3.0]]" if value.startswith("[[") else "0.25"
    return scaled_sine(value, c, dtype)[0]


def run(script: str):
    session = Session()
    cell = session.run_cell(script)
    assert cell.ok, cell.error
    return cell, session.backward_calls[-1]


@pytest.mark.parametrize("value, dtype", [("rand(10, 100, seed=3)", "float32"), ("rand(30, 40, seed=1)", "float64"),
                                          ("linspace(-3, 3, 500)", "float32")])
def test_the_live_script_runs_the_same_numbers_as_the_exported_one(value, dtype):
    d = design(value, dtype)
    exported, live = codegen.design_to_script(d), codegen.design_to_script(d, exact_values=True)
    tokens = lambda text: sum(1 for _ in tokenize.generate_tokens(io.StringIO(text).readline))
    assert tokens(live) < 200 < tokens(exported)          # the exported one spells every number
    (cell_a, call_a), (cell_b, call_b) = run(exported), run(live)
    assert [o.text for o in cell_a.outputs] == [o.text for o in cell_b.outputs]
    for u, v in zip(call_a.graph.nodes, call_b.graph.nodes):
        assert np.asarray(u.value).dtype == np.asarray(v.value).dtype
        np.testing.assert_array_equal(u.value, v.value)
    np.testing.assert_array_equal(call_a.leaves[0].grad, call_b.leaves[0].grad)
    assert codegen.variable_names(d)          # the same names either way: results map back to nodes
    assert [line.split(" = ")[0] for line in live.splitlines() if " = " in line] == \
        [line.split(" = ")[0] for line in exported.splitlines() if " = " in line]


def test_small_values_stay_readable_in_the_live_script():
    d = design("[[1.0, 2.0], [3.0, 4.0]]")
    assert codegen.design_to_script(d, exact_values=True) == codegen.design_to_script(d)


def test_a_value_edit_changes_the_live_run_s_numbers():
    d = design("rand(10, 100, seed=3)")
    x = next(n for n, node in d.nodes.items() if node.name == "x")
    _, before = run(codegen.design_to_script(d, exact_values=True))
    d.change_node(x, value="rand(10, 100, seed=4)")
    _, after = run(codegen.design_to_script(d, exact_values=True))
    expected = np.asarray(after.graph[after.leaves[0].vertex].value)
    assert not np.array_equal(before.leaves[0].grad, after.leaves[0].grad)
    np.testing.assert_array_equal(expected, np.asarray(run(codegen.design_to_script(d))[1].graph[0].value))
