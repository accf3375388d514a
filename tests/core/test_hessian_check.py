"""A leaf's Hessian two ways (studio/symbolic/hessian_check.py) and the kernel's answer to
a ``hessian`` request (a typed HessianResult, like the Jacobian's)."""
from __future__ import annotations

import numpy as np

from gradstudio.studio.kernel import schema
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import Session
from gradstudio.studio.symbolic import hessian_check


def _session(source: str) -> Session:
    session = Session("<test>")
    run = session.run_cell("import torch\ntorch.manual_seed(0)\n" + source)
    assert run.ok, run.error
    return session


def test_trace_of_x_transposed_x_squared_matches_the_engine_and_the_textbook():
    session = _session("X = torch.randn(3, 2, requires_grad=True)\nf = torch.trace(X.T @ X) ** 2\nf.backward()\n")
    (call,) = session.backward_calls
    vertex = call.leaves[0].vertex
    answer = hessian_check.explain(call.graph, None, vertex)
    X = np.asarray(call.graph[vertex].value, dtype=np.float64)
    textbook = 4 * np.sum(X * X) * np.eye(6) + 8 * np.outer(X.reshape(-1), X.reshape(-1))
    np.testing.assert_allclose(answer["engine"], textbook, rtol=1e-6)
    np.testing.assert_allclose(answer["values"], textbook, rtol=1e-6)
    assert answer["agree"] and answer["error"] is None


def test_a_gradient_vector_weights_the_engines_hessian():
    session = _session("x = torch.tensor([0.5, 1.0, 2.0], requires_grad=True)\n"
                       "x.sin().backward(torch.tensor([1., 2., 3.]))\n")
    (call,) = session.backward_calls
    answer = hessian_check.explain(call.graph, call.gradient, call.leaves[0].vertex)
    expected = np.diag(-np.array([1., 2., 3.]) * np.sin([0.5, 1.0, 2.0]))
    np.testing.assert_allclose(answer["engine"], expected, rtol=1e-6)
    assert answer["agree"]


def test_a_leaf_too_big_for_a_hessian_is_refused_with_its_size():
    session = _session("x = torch.randn(21, 20, requires_grad=True)\n(x * x).sum().backward()\n")
    (call,) = session.backward_calls
    answer = hessian_check.explain(call.graph, None, call.leaves[0].vertex)
    assert answer["engine"] is None and "420 elements" in answer["error"] and "176,400 entries" in answer["error"]


def test_the_kernel_answers_a_hessian_request_with_a_typed_record():
    session = _session("A = torch.randn(3, 3)\nx = torch.randn(3, requires_grad=True)\n"
                       "f = 0.5 * x @ A @ x\nf.backward()\n")
    sent = []
    service = KernelService(session, sent.append)
    (call,) = session.backward_calls
    vertex = call.leaves[0].vertex
    assert service.handle({"type": "hessian", "call": call.index, "vertex": vertex})
    assert service.handle({"type": "hessian", "call": call.index, "vertex": vertex + 100})
    good, bad = sent
    assert isinstance(good, schema.HessianResult) and good.formula == "0.5*(A.T + A)" and good.agree
    assert schema.decode(*schema.encode(good)) == good
    assert bad.error and "no such leaf" in bad.error and bad.values is None
