"""The cell model: ``# %%`` code cells, ``# %% [markdown]`` text cells that never run."""
from __future__ import annotations

import time

from gradstudio.studio.session import Session, split_cells

SCRIPT = ("# %% Setup\nimport torch\nx = torch.ones(2, requires_grad=True)\n"
          "# %% [markdown]\n# Explained: the *sum* of squares.\n#\n# Its gradient is 2x.\n"
          "# %% Backward\n(x * x).sum().backward()\nx.grad\n"
          "# %% Notes [markdown]\n# print('never run')\n")


def test_markdown_cells_are_cells_without_a_number():
    cells = split_cells(SCRIPT)
    assert [(c.kind, c.index, c.first_line, c.title) for c in cells] == [
        ("code", 1, 1, "Setup"), ("markdown", None, 4, ""), ("code", 2, 8, "Backward"),
        ("markdown", None, 11, "Notes")]
    assert cells[1].source == "# %% [markdown]\n# Explained: the *sum* of squares.\n#\n# Its gradient is 2x.\n"


def test_markdown_cells_are_never_run_and_take_no_execution_count(capsys):
    session = Session()
    runs = session.run_script(SCRIPT)
    assert [(r.cell, r.execution_count) for r in runs] == [(1, 1), (2, 2)]
    assert all(r.ok for r in runs) and session.execution_count == 2
    assert "never run" not in capsys.readouterr().out


def test_check_skips_markdown_cells():
    from gradstudio.studio.check import check_script
    seen = []
    check_script(SCRIPT, "<script>", deadline=time.monotonic() + 60, progress=seen.append)
    assert [event[1] for event in seen if event[0] == "cell"] == [1, 2]
