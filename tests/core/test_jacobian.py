"""backward(gradient=v) explained: J from the recorded graph, Jᵀv, and the engine's gradient agree."""
from __future__ import annotations

import numpy as np

from gradstudio.studio.jacobian import explain, one_hot, structure
from gradstudio.studio.session import Session


def call_of(source: str):
    session = Session()
    (run,) = session.run_script(source)
    assert run.ok, run.text()
    return session.backward_calls[-1]


def test_the_seed_tutorials_vector_backward_is_1024_times_identity():
    call = call_of("import torch\ntorch.manual_seed(0)\nx = torch.randn(3, requires_grad=True)\ny = x * 2\n"
                   "while y.data.norm() < 1000:\n    y = y * 2\n"
                   "v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float)\ny.backward(v)")
    e = explain(call)
    k = round(np.log2(e.jacobian[0, 0]))
    assert e.structure == f"{2 ** k}·I" and e.agree
    np.testing.assert_allclose(e.jtv, 2 ** k * np.array([0.1, 1.0, 0.0001]), rtol=1e-6)
    np.testing.assert_allclose(e.engine, e.jtv, rtol=1e-5)


def test_a_dense_jacobian_and_one_hot_rows():
    call = call_of("import torch\nW = torch.tensor([[1., 2.], [3., 4.], [5., 6.]])\n"
                   "x = torch.tensor([0.5, -1.], requires_grad=True)\ny = torch.tanh(W @ x)\n"
                   "y.backward(torch.tensor([1., 0., 2.]))")
    e = explain(call)
    assert e.jacobian.shape == (3, 2) and e.structure == "dense (3×2)" and e.agree
    x = np.array([0.5, -1.0])
    W = np.array([[1, 2], [3, 4], [5, 6.]])
    expected = (1 - np.tanh(W @ x) ** 2)[:, None] * W
    np.testing.assert_allclose(e.jacobian, expected, rtol=1e-6)
    row = explain(call, v=one_hot(3, 1))
    np.testing.assert_allclose(row.jtv, expected[1], rtol=1e-6)
    assert not row.agree          # the call's gradient was for another v: J's row is not it


def test_structure_names():
    assert structure(np.eye(3)) == "I" and structure(np.diag([1., 2.])) == "diagonal"
    assert structure(np.zeros((2, 3))) == "zero"


def test_explain_data_runs_the_engines_backward_for_a_chosen_v():
    from gradstudio.studio.jacobian import explain_data
    call = call_of("import torch\nW = torch.tensor([[1., 2.], [3., 4.], [5., 6.]])\n"
                   "x = torch.tensor([0.5, -1.], requires_grad=True)\ny = torch.tanh(W @ x)\n"
                   "y.backward(torch.tensor([1., 0., 2.]))")
    data = explain_data(call)
    assert (data["m"], data["n"]) == (3, 2) and data["agree"]
    np.testing.assert_allclose(data["engine"], data["call_engine"])
    row = explain_data(call, v=one_hot(3, 1))
    # the engine replayed with v = e_1 gives J's row 1, which is not what the call added
    assert row["agree"]
    np.testing.assert_allclose(row["engine"], row["jacobian"][1], rtol=1e-5)
    assert not np.allclose(row["engine"], row["call_engine"])
    assert row["leaves"] == ["x"] and row["root_shape"] == [3] and row["leaf_shape"] == [2]
