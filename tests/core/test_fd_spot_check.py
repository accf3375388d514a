"""Finite differences beside a closed form: when the closed form's values cover every
element of a leaf, finite differences spot-check a number of elements that shrinks
with the graph's size (op evaluations bounded), plus one random direction; without a
closed form, or for small graphs, they sample as many as before."""
from __future__ import annotations

import numpy as np

from gradstudio.studio import compare
from gradstudio.studio.symbolic import LeafFormula
from gradstudio.studio.session import Session

CHAIN = ("import torch\nx = torch.linspace(-1, 1, 400, requires_grad=True)\ny = x\n"
         "for _ in range(40):\n    y = (y * 0.9).tanh()\ny.sum().backward()\n")


def call_of(source):
    session = Session()
    run = session.run_cell(source)
    assert run.ok, run.error
    (call,) = session.backward_calls
    return call


def exact(call):
    """The gradient in float64 by hand, as a closed form's values would be."""
    x = np.linspace(-1, 1, 400)
    y, grad = x, np.ones_like(x)
    for _ in range(40):
        y = np.tanh(0.9 * y)
        grad = grad * 0.9 * (1 - y ** 2)
    return grad


def test_the_spot_check_shrinks_with_the_graph():
    ops = lambda n: type("G", (), {"nodes": [type("N", (), {"kind": "op"})()] * n})()
    assert compare.fd_elements(ops(4)) == compare.MAX_DENSE_ELEMENTS
    assert compare.fd_elements(ops(97)) == 1024 // 97
    assert compare.fd_elements(ops(5000)) == 8


def test_a_closed_form_over_every_element_makes_finite_differences_a_spot_check():
    call = call_of(CHAIN)
    (leaf,) = call.leaves
    formula = LeafFormula(kind="elementwise", formula="…", values=exact(call))
    check = compare.check_call(call, {leaf.vertex: formula})
    (result,) = check.leaves
    assert int((~result.unsampled).sum()) == compare.fd_elements(call.graph) == 1024 // 81   # 40 × (mul, tanh), sum
    assert "spot-checked 12 of 400 elements" in result.note and result.direction_check is not None
    assert result.agree and check.agree


def test_a_wrong_closed_form_is_still_caught():
    call = call_of(CHAIN)
    (leaf,) = call.leaves
    wrong = exact(call)
    wrong[123] *= 1.5
    (result,) = compare.check_call(call, {leaf.vertex: LeafFormula(kind="elementwise", values=wrong)}).leaves
    assert not result.agree and result.mismatch[123] and result.mismatch.sum() == 1


def test_without_a_complete_closed_form_finite_differences_sample_as_before():
    call = call_of(CHAIN)
    (leaf,) = call.leaves
    partial = exact(call)
    partial[7] = np.nan                       # a closed form that could not give every element
    for formulas in ({}, {leaf.vertex: LeafFormula(kind="elementwise", values=partial)}):
        (result,) = compare.check_call(call, formulas).leaves
        checked = int((~result.unsampled).sum())
        # all 256, unless this machine re-runs the graph so slowly that time cut it
        assert checked == compare.MAX_DENSE_ELEMENTS or f"checked {checked} of 400" in result.note
        assert "spot-checked" not in (result.note or "")
