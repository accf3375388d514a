"""Every shipped example opens from the menu, runs to the end, and every
gradient agrees three ways (a failed backward() shown on purpose excepted)."""
from __future__ import annotations

import pytest

from gradstudio.ui import examples
from gradstudio.ui.snapshot import script_stopped

EXAMPLES = examples.list_examples()
# The gallery runs these examples' loops shorter, with the app's own edit of the cell's one
# setting (what is tested is that the example runs and agrees, not 200 identical calls)
SHORTER = {"training_loop.py": ("steps = 200\n", "steps = 20\n")}


def test_the_tutorial_comes_first():
    assert EXAMPLES[0][2].endswith("autograd_tutorial.py")
    assert len(EXAMPLES) >= 6 and all(title and description for title, description, _ in EXAMPLES)


@pytest.mark.parametrize("title, description, path", EXAMPLES, ids=[e[2].rsplit("/", 1)[-1] for e in EXAMPLES])
def test_example_runs_and_agrees(qtbot, window, helpers, title, description, path):
    action = next(a for a in window.examples_menu.actions() if a.text() == title)
    action.trigger()
    assert window.model.console.runs == [], "opening an example does not run it"
    shipped, shorter = SHORTER.get(path.rsplit("/", 1)[-1], (None, None))
    if shipped is not None:
        text = window.panel("script").editor.toPlainText()
        assert text.count(shipped) == 1, f"the example's setting {shipped!r} moved: update SHORTER"
        helpers.set_script(window, text.replace(shipped, shorter))
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window, timeout=90000)
    assert script_stopped(window.model) is None
    records = window.model.calls.call_list()
    assert records
    for record in records:
        if record.status == "error":
            assert record.data.hint, "a failed backward() comes with a hint"
            continue
        if record.deferred:       # one of a loop's calls, checked when looked at (below)
            assert any(r.index > record.index and r.check is not None for r in records)
            continue
        assert record.check is not None and record.check.agree, record.check
    deferred = [r for r in records if r.deferred]
    if deferred:                  # a loop: its first call, as the user selects it, agrees too
        first = deferred[0]
        window.model.selection.select(call=first.index, node=first.data.leaves[0].vertex)
        helpers.wait_idle(qtbot, window, timeout=90000)
        assert first.check is not None and first.check.agree, first.check
        assert window.runner.lazy_checks.requested == [first.index]
