"""A design edited as a person does — a value, then the structure, then a value, and
undone back — checked by one long-lived kernel service (its derivation cache, the
derivation sent ahead, the live script): after every edit each number the window
shows (forward, gradient, closed form, finite differences, ✓/✗) is the one a fresh
kernel computes for that design. A cache that served an older edit's numbers fails."""
from __future__ import annotations

import numpy as np

from gradstudio.studio import codegen
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import Session

from gradstudio.studio import symbolic
from test_derivations import PrefetchingWorker
from test_design_live_script import scaled_sine


class Worker(PrefetchingWorker):
    """The in-process worker without sympy's simplify (seconds here; the chain form, its
    values and everything compared are what a stale cache would get wrong)."""

    def derive(self, graph, gradient, leaf_ids, timeout):
        self.jobs += 1
        return symbolic.derive_call(graph, gradient, list(leaf_ids), simplify=False)


def base_design():
    return scaled_sine("rand(4, 30, seed=0)", "0.5")


def evaluated(service, session, design) -> tuple:
    """What the window gets for the design's live run: the root's forward value, and per
    leaf the engine, closed-form, finite-difference numbers, formula and ✓/✗."""
    sent = []
    service.send = sent.append
    run = session.run_cell(codegen.design_to_script(design, exact_values=True), cell=None)
    assert run.ok, run.error
    service.cell_finished(run, 1, early_timeout=10.0)
    service.check_new_calls(run, 10.0)
    (finished,) = [m for m in sent if type(m).__name__ == "CellFinished"]
    checks = list(finished.checks) + [m.check for m in sent if type(m).__name__ == "CallChecked"]
    (call,), (check,) = finished.calls, checks
    root = next(n for n in call.graph.nodes if n.is_root)
    leaves = [(leaf.name, np.asarray(leaf.numeric).tolist(), np.asarray(leaf.symbolic).tolist(),
               np.nan_to_num(np.asarray(leaf.finite_difference), nan=-7.0).tolist(), leaf.formula,
               leaf.simplified, leaf.agree) for leaf in check.leaves]
    return float(np.asarray(root.value)), leaves


def fresh(design) -> tuple:
    service = KernelService(Session(), lambda m: None)
    service.worker = Worker([])
    return evaluated(service, service.session, design)


def test_value_and_structural_edits_and_their_undo_show_the_new_numbers(monkeypatch):
    monkeypatch.setenv("GRADSTUDIO_NO_TORCH", "1")
    d, ids = base_design()
    service = KernelService(Session(), lambda m: None)
    service.worker = Worker([])
    seen = []

    def step(earlier=None):
        """This edit's numbers: a fresh kernel's, or (an undo) those shown before for the
        same design, which were a fresh kernel's then."""
        got = evaluated(service, service.session, d)
        assert got == (fresh(d) if earlier is None else earlier)
        seen.append(got)
        return got

    first = step()
    undo_c = d.change_node(ids["c"], value="0.75")                  # a value edit
    assert step()[0] != first[0]
    exp = d.add_node("op", op="elementwise.EXP")                      # a structural edit: exp before the sin
    replaced = d.connect(ids["mul"], exp, 0)
    d.connect(exp, ids["sin"], 0)
    step()
    undo_x = d.change_node(ids["x"], value="rand(4, 30, seed=1)")    # a value edit after a structural one
    step()
    d.change_node(ids["x"], **undo_x)                                 # undo, one by one
    step(earlier=seen[2])
    d.connect(ids["mul"], ids["sin"], 0)
    d.remove_node(exp)
    step(earlier=seen[1])
    d.change_node(ids["c"], **undo_c)
    step(earlier=first)
    assert replaced is None
    assert len({repr(s) for s in seen[:4]}) == 4                      # every edit showed other numbers
