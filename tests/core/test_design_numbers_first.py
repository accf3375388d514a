"""A node editor's edit asks for ``numbers_first``: the cell's ``CellFinished`` — the
reply the window draws from — carries the forward values, the gradients and a
provisional check (engine against finite differences, ✓/✗), and the closed form and
PyTorch's column follow in the call's ``CallChecked``, whose finite differences are
the provisional ones when the closed form covers every element and are sampled
densely as ever when it does not. Driven through the service and the wire, with a
leaf that feeds two branches (its gradient is the sum of both)."""
from __future__ import annotations

import numpy as np
import pytest

from gradstudio.studio import compare, oracle
from gradstudio.studio.kernel import schema
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import Session

from test_design_edit_sequence import Worker

TWO_BRANCHES = ("import torch\nx = torch.linspace(-1, 1, 400, requires_grad=True)\na = x\n"
                "for _ in range(10):\n    a = (a * 0.9).tanh()\nb = x * x.sin()\n(a + b).mean().backward()\n")


def exact_gradient() -> np.ndarray:
    """d mean(a + x·sin x)/dx in float64 by hand: the tanh branch's chain plus sin x + x cos x."""
    x = np.linspace(-1, 1, 400, dtype=np.float32).astype(np.float64)
    a, chain = x, np.ones_like(x)
    for _ in range(10):
        a = np.tanh(0.9 * a)
        chain = chain * 0.9 * (1 - a ** 2)
    return (chain + np.sin(x) + x * np.cos(x)) / x.size


def edit(numbers_first: bool, step_trace: bool = False, service_out: list | None = None) -> tuple:
    """(the messages of one cell as the window reads them, the recorded call); ``service_out``
    gets the service."""
    sent = []
    service = KernelService(Session(step_trace=step_trace), sent.append)
    if service_out is not None:
        service_out.append(service)
    service.worker = Worker([])
    run = service.session.run_cell(TWO_BRANCHES, cell=None)
    assert run.ok, run.error
    service.cell_finished(run, 1, early_timeout=10.0, numbers_first=numbers_first)
    service.check_new_calls(run, 10.0)
    (call,) = run.backward_calls
    return [schema.decode(*schema.encode(message)) for message in sent], call


def test_the_first_reply_carries_values_gradients_and_the_finite_difference_check():
    messages, call = edit(numbers_first=True, step_trace=True)
    kinds = [type(m).__name__ for m in messages]
    assert kinds == ["CellFinished", "Deriving", "CallChecked"], kinds
    finished, _deriving, checked = messages
    (data,) = finished.calls
    assert data.steps is None and data.steps_on_request        # the trace waits for a steps request
    root = next(n for n in data.graph.nodes if n.is_root)
    np.testing.assert_allclose(root.value, call.graph[call.graph.root].value)           # forward values
    expected = exact_gradient()
    np.testing.assert_allclose(data.leaves[0].numeric, expected, rtol=1e-5, atol=1e-8)  # the gradient
    (first,) = finished.checks
    (leaf,) = first.leaves
    assert first.provisional and first.agree and leaf.agree
    assert leaf.symbolic is None and leaf.formula is None and leaf.torch is None        # those come later
    sampled = ~leaf.unsampled
    assert sampled.sum() == compare.fd_elements(call.graph) < sampled.size               # a spot check …
    assert leaf.direction_check is not None                                              # … plus a direction
    np.testing.assert_allclose(leaf.finite_difference[sampled], expected[sampled], rtol=1e-6, atol=1e-9)
    assert "on its way" in leaf.note
    # the whole check: the closed form over every element, PyTorch's column, the same finite differences
    assert not checked.check.provisional and checked.check.agree
    (whole,) = checked.check.leaves
    np.testing.assert_allclose(whole.symbolic, expected, rtol=2e-5, atol=1e-9)   # (float32 values in it)
    np.testing.assert_array_equal(whole.finite_difference, leaf.finite_difference)      # reused, not run again
    if oracle.available():
        np.testing.assert_allclose(whole.torch, expected, rtol=1e-5, atol=1e-8)


def test_without_numbers_first_the_cell_s_records_are_as_before():
    messages, _call = edit(numbers_first=False, step_trace=True)
    assert [type(m).__name__ for m in messages] == ["CellFinished", "Deriving", "CallChecked"]
    (data,) = messages[0].calls
    assert messages[0].checks == [] and data.steps is not None and not data.steps_on_request


def test_a_numbers_first_call_s_step_trace_comes_when_the_window_asks_for_it():
    """The ``steps`` request writes out the very trace the record would have carried; a call
    the kernel no longer has is answered with none (the step-through stops waiting)."""
    from gradstudio.studio.kernel import records
    out = []
    messages, call = edit(numbers_first=True, step_trace=True, service_out=out)
    (service,) = out
    sent = []
    service.send = sent.append
    assert service.handle({"type": "steps", "calls": [call.index, 999]})
    answer = [schema.decode(*schema.encode(message)) for message in sent]
    assert [(m.call, m.steps is not None) for m in answer] == [(call.index, True), (999, False)]
    assert answer[0].steps == records.steps_data(call) and answer[0].steps["events"]


def test_a_call_without_a_trace_is_not_said_to_have_one_on_request():
    messages, _call = edit(numbers_first=True, step_trace=False)
    (data,) = messages[0].calls
    assert data.steps is None and not data.steps_on_request


def test_a_wrong_gradient_is_caught_by_the_first_reply(monkeypatch):
    """The provisional ✓/✗ is a real comparison: an engine gradient off in the branch
    x·sin x at one sampled element is a ✗ there, before any closed form."""
    messages, call = edit(numbers_first=True)
    (leaf,) = messages[0].checks[0].leaves
    element = int(np.flatnonzero(~leaf.unsampled)[3])
    call.leaves[0].grad = np.array(call.leaves[0].grad, copy=True)
    call.leaves[0].grad[element] *= 1.01
    (wrong,) = compare.check_call(call, provisional=True).leaves
    assert not wrong.agree and wrong.mismatch[element] and wrong.mismatch.sum() == 1


@pytest.mark.parametrize("covers", [True, False])
def test_the_whole_check_reuses_the_spot_check_only_when_the_closed_form_covers_every_element(covers):
    from gradstudio.studio.symbolic import LeafFormula
    _messages, call = edit(numbers_first=False)
    (leaf,) = call.leaves
    first = compare.check_call(call, provisional=True)
    values = exact_gradient()
    if not covers:
        values[7] = np.nan                   # a closed form that could not give every element
    whole = compare.check_call(call, {leaf.vertex: LeafFormula(kind="elementwise", values=values)},
                               finite={leaf.vertex: first.leaves[0].finite})
    (result,) = whole.leaves
    if covers:
        assert result.finite is first.leaves[0].finite and "spot-checked" in result.note
    else:                                    # every element up to 256, as without a closed form
        assert result.finite is not first.leaves[0].finite
        checked = int((~result.unsampled).sum())
        assert checked == compare.MAX_DENSE_ELEMENTS or f"checked {checked} of 400" in result.note
