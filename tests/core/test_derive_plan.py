"""A training loop's repeated graph is derived once (its last call); checked
together, the other calls are still checked, each saying why it has no formula;
after a cell, the kernel checks only the last call of the loop (the others when
the window asks: tests/core/test_many_calls.py)."""
from __future__ import annotations

import pytest

from gradstudio.studio import derive_plan
from gradstudio.studio.session import Session

LOOP = """
import torch
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(4, 2), torch.randn(4, 1)
for step in range(STEPS):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
w = torch.ones(2, requires_grad=True)
(w * w).sum().backward()
"""


def _calls(steps):
    session = Session()
    assert all(r.ok for r in session.run_script(LOOP.replace("STEPS", str(steps))))
    return session.backward_calls


def test_the_last_call_of_each_structure_is_derived():
    calls = _calls(5)
    assert len({derive_plan.structure(c.graph) for c in calls}) == 2
    derive, skip = derive_plan.plan(calls)
    assert [c.index for c in derive] == [4, 5]
    assert skip == {0: 5, 1: 5, 2: 5, 3: 5}
    assert "5 backward calls" in derive_plan.skipped_note(5) and "last one" in derive_plan.skipped_note(5)


def test_different_shapes_or_params_are_different_structures():
    session = Session()
    session.run_script("import torch\nfor n in (2, 2, 3):\n    x = torch.ones(n, requires_grad=True)\n"
                       "    (x * 2).sum().backward()\nx = torch.ones(3, requires_grad=True)\n"
                       "(x * 2).mean().backward()\n")
    derive, skip = derive_plan.plan(session.backward_calls)
    assert [c.index for c in derive] == [1, 2, 3] and skip == {0: 2}


def test_noted_puts_the_reason_before_each_leafs_own_note():
    from gradstudio.studio import compare
    call = _calls(1)[0]
    check = derive_plan.noted(compare.check_call(call, {}), "why")
    assert [leaf.note for leaf in check.leaves] == ["why"] * 4
    assert derive_plan.noted(check, None) is check


@pytest.mark.timeout(300)
def test_the_kernel_derives_only_the_last_call_of_a_loop():
    pytest.importorskip("ipykernel")
    from gradstudio.studio.kernel.blocking import KernelSession
    with KernelSession() as kernel:
        messages = kernel.run(LOOP.replace("STEPS", "3"), timeout=1.0, wait=240).records
    deriving = [m.call for m in messages if m.type == "deriving"]
    checks = {m.check.index: m.check for m in messages if m.type == "call_checked"}
    from gradstudio.studio.kernel.shared import calls_of
    # the loop's first two calls are checked when the window asks (derive_plan.deferred)
    assert [c.index for c in calls_of(messages) if c.check_deferred] == [0, 1]
    assert deriving == [2, 3] and sorted(checks) == [2, 3]
    assert all(checks[index].agree for index in (2, 3))
    assert all("not derived" not in (leaf.note or "") for leaf in checks[2].leaves)


def test_a_single_call_is_planned_without_describing_its_graph(monkeypatch):
    from gradstudio.studio import derive_plan
    described = []
    original = derive_plan.structure
    monkeypatch.setattr(derive_plan, "structure", lambda graph: described.append(graph) or original(graph))

    class Call:
        index, graph = 7, object()
    derive, skip = derive_plan.plan([Call()])
    assert [c.index for c in derive] == [7] and skip == {} and derive_plan.deferred([Call()]) == set()
    assert described == []
