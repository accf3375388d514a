"""Adding an op touches one file: a row made here, in a test module, is tested by
the table-driven tests, exported as ``torch.softsign`` / ``Tensor.softsign``,
replayed against torch and listed in the palette — with nothing else edited."""
from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

import gradstudio as gs
import test_op_table
from gradstudio import ops
from gradstudio.ops import palette, samples
from gradstudio.ops.table import SAVES_INPUTS, Op, rows


@pytest.fixture(scope="module")
def softsign():
    row = Op(
        id="test.SOFTSIGN",
        name="SoftsignBackward0",
        forward=lambda x: x / (1 + np.abs(x)),
        vjp=(lambda g, r, x: g / ((1 + x.abs()) * (1 + x.abs())),),
        saves=SAVES_INPUTS,
        sympy=lambda x: x / (1 + abs(x)),
        label="softsign",
        doc="x / (1 + |x|)",
        category="activation",
        api=("softsign",),
        floating=True,
        kink=None,
        sample=lambda rng: ([samples.away_from_zero(rng, samples.S)], {}),
        torch=lambda torch, x: torch.nn.functional.softsign(x),
    )
    yield row
    ops.remove(row)
    assert not hasattr(gs, "softsign") and not hasattr(gs.Tensor, "softsign")
    assert row not in rows()


def _table_tests():
    """Every test in test_op_table parametrised over the whole table."""
    found = []
    for name in dir(test_op_table):
        function = getattr(test_op_table, name)
        for mark in getattr(function, "pytestmark", []):
            if mark.name == "parametrize" and mark.args[0] == "op" and mark.args[1] is test_op_table.OPS:
                found.append(function)
    return found


def test_the_table_tests_run_on_the_new_row(softsign):
    tests = _table_tests()
    assert len(tests) >= 4   # forward vs sympy, vjp vs fd, sympy derivative vs vjp, double backward
    assert softsign in rows()
    for test in tests:
        test(softsign)


def test_a_wrong_rule_in_the_new_row_is_caught(softsign):
    wrong = Op(id="test.SOFTSIGN_WRONG", name="SoftsignBackward0", forward=softsign.forward,
               vjp=(lambda g, r, x: g / (1 + x.abs()),), saves=SAVES_INPUTS, sympy=softsign.sympy,
               sample=softsign.sample)
    try:
        with pytest.raises(AssertionError):
            test_op_table.test_vjp_matches_finite_differences(wrong)
    finally:
        ops.remove(wrong)


def test_the_new_row_is_exported_as_function_and_method(softsign):
    x = gs.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    y = gs.softsign(x)
    assert y.grad_fn.name() == "SoftsignBackward0"
    assert x.softsign().grad_fn.name() == "SoftsignBackward0"
    assert gs.softsign(gs.tensor([1, 3])).dtype == gs.float32   # floating: ints become floats
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / (1 + np.abs([-2.0, 0.5, 3.0])) ** 2, rtol=1e-6)


def test_the_new_row_is_replayed_against_torch(softsign):
    pytest.importorskip("torch")
    path = pathlib.Path(__file__).parent / "oracle" / "test_op_table_torch.py"
    spec = importlib.util.spec_from_file_location("_op_table_torch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert softsign in [op for op in rows() if not op.internal and op.torch is not None]
    module.test_engine_gradients_equal_torch(softsign)


def test_the_new_row_is_listed_in_the_palette(softsign):
    (entry,) = [e for e in palette.entries() if e.id == "test.SOFTSIGN"]
    assert (entry.label, entry.category, entry.doc) == ("softsign", "activation", "x / (1 + |x|)")
    assert entry in palette.categories()["activation"]
