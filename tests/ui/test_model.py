"""The app model on its own: selection shared by every panel, calls, document state."""
from __future__ import annotations

import numpy as np

from gradstudio.ui.model import AppModel, Selection


def call(index, names):
    nodes = [{"id": i, "kind": "leaf" if i == 0 else "op", "name": n, "label": n or "op",
              "grad_fn": None if i == 0 else "MulBackward0", "shape": [2], "dtype": "float32",
              "value": np.ones(2), "grad": np.ones(2), "inputs": [i - 1] if i else [],
              "requires_grad": True, "is_root": i == len(names) - 1}
             for i, n in enumerate(names)]
    return {"index": index, "cell": 1, "line": 3, "root": {"name": names[-1], "grad_fn": "MulBackward0",
                                                           "shape": []},
            "gradient": None, "status": "ok", "error": None, "graph": {"root": len(names) - 1, "nodes": nodes},
            "leaves": [{"name": names[0], "vertex": 0, "shape": [2], "numeric": np.ones(2)}],
            "pending_check": True}


def tensor(name):
    return {"name": name, "shape": [2], "dtype": "torch.float32", "requires_grad": True,
            "is_leaf": True, "grad_fn": None, "value": np.ones(2), "value_text": "tensor([1., 1.])",
            "grad": None, "grad_text": None}


def test_selection_is_filled_in_and_emitted_once(qtbot):
    model = AppModel()
    run = {"cell": 1, "execution_count": 1, "outputs": [], "ok": True, "interrupted": False,
           "error": None, "error_type": None, "error_line": None, "hint": None, "backward_calls": [0, 1]}
    model.finish_cell(run, [call(0, ["x", None, "z"]), call(1, ["w", "x", "loss"])], [tensor("x"), tensor("w")])
    seen = []
    model.selectionChanged.connect(seen.append)
    model.select(call=0, node=2)                 # a named node selects its tensor
    assert seen == [Selection(0, 2, "z")]
    model.select(call=0, node=2)                 # no change, no signal
    assert len(seen) == 1
    model.select(tensor="x")                     # a tensor selects its node in the newest call
    assert model.selection == Selection(1, 1, "x")
    assert model.selected_node()["name"] == "x" and model.selected_tensor()["name"] == "x"
    model.select(call=0, node=1)                 # an unnamed node
    assert model.selection == Selection(0, 1, None) and model.selected_tensor() is None
    model.select()
    assert model.selection == Selection()


def test_checks_and_reset(qtbot):
    model = AppModel()
    run = {"cell": 2, "execution_count": 5, "outputs": [], "ok": True, "backward_calls": [0]}
    with qtbot.waitSignals([model.cellRunFinished, model.callAdded, model.tensorsChanged]):
        model.finish_cell(run, [call(0, ["x", "z"])], [tensor("x")])
    assert model.execution_counts == {2: 5}
    assert model.pending_checks() == [0]
    with qtbot.waitSignal(model.callChecked) as blocker:
        model.set_check({"index": 0, "agree": True, "leaves": [{"vertex": 0, "name": "x", "formula": "2"}]})
    assert blocker.args == [0] and model.pending_checks() == []
    assert model.call(0).leaf_check(0)["formula"] == "2"
    model.select(call=0, node=0)
    with qtbot.waitSignals([model.callsCleared, model.selectionChanged]):
        model.reset_kernel_state()
    assert not model.calls and not model.tensors and model.selection == Selection()


def test_document_dirty_state(qtbot):
    model = AppModel()
    seen = []
    model.dirtyChanged.connect(seen.append)
    model.set_script("# %%\na = 1\n# %% two\nb = 2\n", "/tmp/x.py")
    assert not model.is_dirty() and seen[-1] is False
    model.document.setPlainText(model.script_text() + "c = 3\n")
    assert model.is_dirty() and seen[-1] is True
    assert [c.title for c in model.cells()] == ["", "two"]
    assert model.cell_at_line(4).index == 2 and model.cell_at_line(1).index == 1
    model.mark_clean()
    assert not model.is_dirty()
    model.mark_dirty()
    assert model.is_dirty()
    assert model.display_name() == "x.py"


def test_a_cell_whose_request_ends_without_it_is_ended_with_the_reason(qtbot):
    """Issue 8: an internal error in the kernel left the cell at [*] for good."""
    model = AppModel()
    finished = []
    model.cellRunFinished.connect(finished.append)
    model.begin_cell({"cell": 2, "first_line": 4, "execution_count": 3})
    model.set_tensors([tensor("x")])
    model.abandon_cell("Internal error in the kernel: MemoryError")
    assert model.running_cell is None and model.execution_counts == {2: 3}
    run = finished[0]
    assert (run["cell"], run["ok"], run["error_type"]) == (2, False, "InternalError")
    assert run["outputs"] == [{"stream": "error", "text": "Internal error in the kernel: MemoryError\n"}]
    assert "x" in model.tensors                  # kept: the kernel could not describe new ones
    model.abandon_cell("again")                  # nothing running: nothing happens
    assert len(finished) == 1


def test_an_internal_kernel_error_ends_the_running_cell_with_its_message(qtbot):
    from gradstudio.ui.kernel_client import KernelClient
    from gradstudio.ui.runner import Runner
    model = AppModel()
    runner = Runner(model, KernelClient())      # never started: the signals are driven by hand
    finished, reported = [], []
    model.cellRunFinished.connect(finished.append)
    runner.internalError.connect(lambda summary, details: reported.append(details))
    runner.client.cellStarted.emit({"cell": 1, "first_line": 1, "execution_count": 1})
    runner.client.kernelError.emit("Traceback (most recent call last):\n  ...\nMemoryError: Unable to allocate\n")
    assert model.running_cell is None
    assert finished[0]["outputs"][0]["text"] == "Internal error in the kernel: MemoryError: Unable to allocate\n"
    assert reported and "MemoryError" in reported[0]
