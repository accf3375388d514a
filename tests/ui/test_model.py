"""The app model on its own: selection shared by every panel, calls, document state,
each in its own sub-model."""
from __future__ import annotations

import numpy as np

from gradstudio.studio.kernel.schema import (CallData, CellStarted, CheckData, GraphData, LeafCheckData,
                                             LeafData, NodeData, OutputData, RootData, RunData, TensorData)
from gradstudio.ui.model import AppModel, Selection


def call(index, names):
    nodes = [NodeData(id=i, kind="leaf" if i == 0 else "op", name=n, label=n or "op",
                      grad_fn=None if i == 0 else "MulBackward0", shape=(2,), dtype="float32",
                      value=np.ones(2), grad=np.ones(2), inputs=[i - 1] if i else [],
                      requires_grad=True, is_root=i == len(names) - 1)
             for i, n in enumerate(names)]
    return CallData(index=index, cell=1, line=3, root=RootData(names[-1], "MulBackward0", ()),
                    graph=GraphData(root=len(names) - 1, nodes=nodes),
                    leaves=[LeafData(names[0], 0, (2,), np.ones(2))], pending_check=True)


def tensor(name):
    return TensorData(name=name, shape=(2,), dtype="torch.float32", requires_grad=True,
                      value=np.ones(2), value_text="tensor([1., 1.])")


def test_selection_is_filled_in_and_emitted_once(qtbot):
    model = AppModel()
    run = RunData(cell=1, execution_count=1, backward_calls=[0, 1])
    model.finish_cell(run, [call(0, ["x", None, "z"]), call(1, ["w", "x", "loss"])], [tensor("x"), tensor("w")])
    seen = []
    model.selection.selectionChanged.connect(seen.append)
    model.selection.select(call=0, node=2)                 # a named node selects its tensor
    assert seen == [Selection(0, 2, "z")]
    model.selection.select(call=0, node=2)                 # no change, no signal
    assert len(seen) == 1
    model.selection.select(tensor="x")                     # a tensor selects its node in the newest call
    assert model.selection.current == Selection(1, 1, "x")
    assert model.selection.selected_node().name == "x" and model.selection.selected_tensor().name == "x"
    model.selection.select(call=0, node=1)                 # an unnamed node
    assert model.selection.current == Selection(0, 1, None) and model.selection.selected_tensor() is None
    model.selection.select()
    assert model.selection.current == Selection()


def test_pending_checks_look_only_at_calls_that_may_be_pending(monkeypatch):
    """``Runner.is_idle`` asks for the pending checks on every idle test; a loop leaves
    hundreds of calls that are not pending (deferred or checked): they are not read again."""
    from gradstudio.ui.model import CallRecord
    model = AppModel()
    calls = [call(i, ["x", "z"]).replace(pending_check=i == 199, check_deferred=i < 199) for i in range(200)]
    model.finish_cell(RunData(cell=1, backward_calls=list(range(200))), calls, [])
    model.calls.set_deriving(7)                    # a deferred call the window asked about
    read = []
    real = CallRecord.pending
    monkeypatch.setattr(CallRecord, "pending", property(lambda record: read.append(record.index) or real.fget(record)))
    assert model.calls.pending_checks() == [7, 199]
    assert sorted(read) == [7, 199]
    model.calls.set_check(CheckData(index=199, agree=True))
    model.calls.clear_deriving(7)
    read.clear()
    assert model.calls.pending_checks() == [] and len(read) == 2
    assert model.calls.pending_checks() == [] and len(read) == 2       # done with: not read again


def test_checks_and_reset(qtbot):
    model = AppModel()
    run = RunData(cell=2, execution_count=5, backward_calls=[0])
    with qtbot.waitSignals([model.console.cellRunFinished, model.calls.callAdded, model.tensors.tensorsChanged]):
        model.finish_cell(run, [call(0, ["x", "z"])], [tensor("x")])
    assert model.console.execution_counts == {2: 5}
    assert model.calls.pending_checks() == [0]
    with qtbot.waitSignal(model.calls.callChecked) as blocker:
        model.calls.set_check(CheckData(index=0, agree=True, leaves=[LeafCheckData("x", 0, formula="2")]))
    assert blocker.args == [0] and model.calls.pending_checks() == []
    assert model.calls.call(0).leaf_check(0).formula == "2"
    model.selection.select(call=0, node=0)
    with qtbot.waitSignals([model.calls.callsCleared, model.selection.selectionChanged]):
        model.reset_kernel_state()
    assert not model.calls.records and not model.tensors.by_name and model.selection.current == Selection()


def test_document_dirty_state(qtbot):
    model = AppModel()
    seen = []
    model.script.dirtyChanged.connect(seen.append)
    model.script.set_script("# %%\na = 1\n# %% two\nb = 2\n", "/tmp/x.py")
    assert not model.script.is_dirty() and seen[-1] is False
    model.script.document.setPlainText(model.script.script_text() + "c = 3\n")
    assert model.script.is_dirty() and seen[-1] is True
    assert [c.title for c in model.script.cells()] == ["", "two"]
    assert model.script.cell_at_line(4).index == 2 and model.script.cell_at_line(1).index == 1
    model.script.mark_clean()
    assert not model.script.is_dirty()
    model.script.mark_dirty()
    assert model.script.is_dirty()
    assert model.script.display_name() == "x.py"


def test_a_cell_whose_request_ends_without_it_is_ended_with_the_reason(qtbot):
    """Issue 8: an internal error in the kernel left the cell at [*] for good."""
    model = AppModel()
    finished = []
    model.console.cellRunFinished.connect(finished.append)
    model.console.begin_cell(CellStarted(cell=2, first_line=4, execution_count=3))
    model.tensors.set_tensors([tensor("x")])
    model.console.abandon_cell("Internal error in the kernel: MemoryError")
    assert model.console.running_cell is None and model.console.execution_counts == {2: 3}
    run = finished[0]
    assert (run.cell, run.ok, run.error_type) == (2, False, "InternalError")
    assert run.outputs == [OutputData("error", "Internal error in the kernel: MemoryError\n")]
    assert "x" in model.tensors.by_name                  # kept: the kernel could not describe new ones
    model.console.abandon_cell("again")                  # nothing running: nothing happens
    assert len(finished) == 1


def test_an_internal_kernel_error_ends_the_running_cell_with_its_message(qtbot):
    from gradstudio.ui.jupyter_client import JupyterClient
    from gradstudio.ui.runner import Runner
    model = AppModel()
    runner = Runner(model, JupyterClient())      # never started: the signals are driven by hand
    finished, reported = [], []
    model.console.cellRunFinished.connect(finished.append)
    runner.internalError.connect(lambda summary, details: reported.append(details))
    runner.client.cellStarted.emit(CellStarted(cell=1, first_line=1, execution_count=1))
    runner.client.kernelError.emit("Traceback (most recent call last):\n  ...\nMemoryError: Unable to allocate\n")
    assert model.console.running_cell is None
    assert finished[0].outputs[0].text == "Internal error in the kernel: MemoryError: Unable to allocate\n"
    assert reported and "MemoryError" in reported[0]


def test_the_app_model_reads_records_without_the_session_or_the_engine():
    """ui.model needs the record types and the cell splitter, not what computes them.
    (``import gradstudio`` itself loads the engine eagerly today, so the check is on
    what ui.model adds on top of it.)"""
    import subprocess
    import sys
    import textwrap
    code = textwrap.dedent("""
        import sys
        import gradstudio
        before = set(sys.modules)
        import gradstudio.ui.model
        added = set(sys.modules) - before
        light = {"gradstudio.studio", "gradstudio.studio.kernel", "gradstudio.studio.kernel.schema",
                 "gradstudio.studio.wire", "gradstudio.studio.cells"}
        print(sorted(m for m in added if m.startswith("gradstudio.") and not m.startswith("gradstudio.ui")
                     and m not in light))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
