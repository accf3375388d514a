"""Long and branching elementwise chains: the generic-element gradient in linear work."""
from __future__ import annotations

import numpy as np

from gradstudio.studio import compare
from gradstudio.studio import symbolic
from gradstudio.studio.session import Session
from gradstudio.studio.symbolic import long_chain


def _call(body: str, depth: int, finish: str = "y.sum().backward()\n"):
    session = Session("<test>")
    run = session.run_cell("import torch\nx = torch.tensor([0.5, -0.3, 1.2], requires_grad=True)\ny = x\n"
                           f"for _ in range({depth}):\n{body}{finish}")
    assert run.ok, run.error
    return session.backward_calls[0]


def _checked(call):
    leaf = call.leaves[0].vertex
    formula = symbolic.derive_leaf(call.graph, call.gradient, leaf)
    return formula, compare.check_call(call, {leaf: formula}).leaves[0]


def test_sympy_work_per_kind_of_op_does_not_grow_with_depth():
    sizes, templates = {}, {}
    for depth in (100, 1000):
        long_chain._template.cache_clear()
        formula, checked = _checked(_call("    y = (y * 0.9).sin() * 1.1\n", depth))
        assert formula.kind == "elementwise" and checked.agree
        assert formula.formula is None and "too long to write out" in formula.note
        sizes[depth], templates[depth] = formula.size, long_chain.template_count()
    assert templates[100] == templates[1000] == 2          # sympy derives mul and sin once each
    assert 9.5 < sizes[1000] / sizes[100] < 10.5          # the formula's size is linear in the depth


def test_a_chain_that_doubles_its_paths_each_step_finishes_and_agrees():
    # 2**12 paths: the chain form used to multiply them out and never finished
    formula, checked = _checked(_call("    y = (y * 0.5).sin() + y.tanh() * 0.1\n", 12))
    assert f"more than {long_chain.MAX_PATHS} paths" in formula.note
    assert checked.agree and checked.max_abs_error < 1e-8
    names = dict(formula.symbols)
    assert names["u1"] == "= x*(1/2)" and names["u2"] == "= sin(u1)"


def test_gradient_vector_and_a_second_leaf_through_a_long_chain():
    session = Session("<test>")
    run = session.run_cell("import torch\nx = torch.tensor([0.5, -0.3], requires_grad=True)\n"
                           "w = torch.tensor([1.5, 2.0], requires_grad=True)\ny = x\n"
                           "for _ in range(160):\n    y = (y * w).sin() * 1.2\n"
                           "y.backward(torch.tensor([1.0, -2.0]))\n")
    assert run.ok, run.error
    (call,) = session.backward_calls
    formulas = symbolic.derive_call(call.graph, call.gradient, [l.vertex for l in call.leaves])
    check = compare.check_call(call, formulas)
    assert all(f.kind == "elementwise" and f.size for f in formulas.values())
    assert check.agree


def test_a_mean_loss_and_scalar_ops_after_it_in_a_long_chain():
    call = _call("    y = y.tanh() * 1.2 + 0.01\n", 200,
                 "import torch.nn.functional as F\nr = F.mse_loss(y, torch.tensor([0.1, 0.2, 0.3])).sqrt() * 3\n"
                 "r.backward()\n")
    formula, checked = _checked(call)
    assert "too long to write out" in formula.note
    np.testing.assert_allclose(formula.values, checked.numeric, rtol=1e-5, atol=1e-12)


def test_short_chains_keep_the_written_chain_form():
    formula, checked = _checked(_call("    y = (y * 0.5).sin()\n", 20))
    assert formula.formula is not None and formula.note is None and checked.agree


def test_the_worker_sends_no_simplify_job_for_a_matrix_form():
    # a matrix form is simplified as it is derived; a second round trip could only time out
    from gradstudio.studio.symbolic.worker import SymbolicWorker
    session = Session("<test>")
    run = session.run_cell("import torch\ntorch.manual_seed(0)\nA = torch.randn(3, 3)\n"
                           "x = torch.randn(3, requires_grad=True)\ny = torch.ones(2, requires_grad=True)\n"
                           "f = 0.5 * x @ A @ x + (y * y).sum()\nf.backward()\n")
    assert run.ok, run.error
    (call,) = session.backward_calls
    kinds = []
    with SymbolicWorker() as worker:
        ask = worker._ask
        worker._ask = lambda request, deadline: (kinds.append(request[0]), ask(request, deadline))[1]
        formulas = worker.derive(call.graph, None, [leaf.vertex for leaf in call.leaves], timeout=60)
    by_kind = sorted(f.kind for f in formulas.values())
    assert by_kind == ["elementwise", "matrix"]
    assert kinds == ["derive", "simplify"]          # one simplify job: the generic-element leaf's
