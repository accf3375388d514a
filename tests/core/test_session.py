"""Sessions: notebook-like cells, torch resolved to gradstudio, backward calls recorded."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np

from gradstudio.studio.session import Session, split_cells


def test_cells_split_on_markers_and_keep_script_line_numbers():
    text = "x = 1\n# %% second\ny = 2\n\n# %%\nz = 3\n"
    cells = split_cells(text)
    assert [(c.index, c.first_line, c.title) for c in cells] == [(1, 1, ""), (2, 2, "second"), (3, 5, "")]


def test_import_torch_is_gradstudio_and_last_expression_is_shown():
    session = Session()
    run = session.run_cell("import torch\nimport torch.nn.functional as F\nfrom torch import nn\n"
                           "x = torch.ones(2, 2, requires_grad=True)\nx")
    assert run.ok, run.error
    assert session.namespace["torch"].__name__ == "gradstudio"
    assert session.namespace["F"].__name__ == "gradstudio.nn.functional"
    assert run.text() == "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)\n"
    assert run.execution_count == 1


def test_real_torch_is_left_alone():
    code = textwrap.dedent("""
        import sys
        from gradstudio.studio.session import Session
        Session().run_cell("import torch")
        assert "torch" not in sys.modules, "the session imported the real torch"
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr


def test_backward_calls_record_root_gradient_and_what_each_leaf_received():
    session = Session("s.py")
    session.run_script("# %%\nimport torch\n# %%\nx = torch.ones(3, requires_grad=True)\n"
                       "y = x * 2\ny.backward(torch.tensor([1., 0.1, 0.01]))\n"
                       "y2 = x * 3\ny2.sum().backward()\n")
    first, second = session.backward_calls
    assert (first.cell, first.line, first.root_name, first.root_grad_fn, first.root_shape) == \
        (2, 6, "y", "MulBackward0", (3,))
    np.testing.assert_allclose(first.gradient, [1, 0.1, 0.01])
    np.testing.assert_allclose(first.leaves[0].grad, [2, 0.2, 0.02], rtol=1e-6)
    # the second call adds 3 each; .grad holds the sum, the record holds what was added
    np.testing.assert_allclose(second.leaves[0].grad, [3, 3, 3])
    np.testing.assert_allclose(session.namespace["x"].grad.numpy(), [5, 3.2, 3.02], rtol=1e-6)
    assert second.root_name is None and second.root_grad_fn == "SumBackward0"


def test_failed_backward_is_recorded_with_torchs_message_and_a_hint():
    session = Session()
    run = session.run_cell("import torch\nx = torch.ones(2, requires_grad=True)\ny = x + 1\ny.backward()\n")
    assert not run.ok
    assert run.error == "grad can be implicitly created only for scalar outputs"
    assert "use .sum(), .mean() or pass gradient=" in run.hint
    (call,) = session.backward_calls
    assert (call.status, call.error_type, call.line) == ("error", "RuntimeError", 4)


def test_second_backward_error_names_the_fix():
    session = Session()
    run = session.run_cell("import torch\nx = torch.ones(2, requires_grad=True)\n"
                           "z = (x * x).sum()\nz.backward()\nz.backward()\n")
    assert "Trying to backward through the graph a second time" in run.error
    assert "retain_graph=True" in run.hint


def test_unnamed_leaves_are_numbered_and_names_are_taken_at_call_time():
    session = Session()
    session.run_cell("import torch\nw = torch.ones(2, requires_grad=True)\n"
                     "loss = (w * torch.ones(2, requires_grad=True)).sum()\nloss.backward()\n")
    (call,) = session.backward_calls
    assert sorted(leaf.name for leaf in call.leaves) == ["leaf0", "w"]


def test_data_dependent_loop_is_recorded_as_the_trace_that_ran():
    session = Session()
    session.run_cell("import torch\nx = torch.tensor([0.4263, -1.2995, 0.3972], requires_grad=True)\n"
                     "y = x * 2\nwhile y.data.norm() < 1000:\n    y = y * 2\ny.sum().backward()\n")
    (call,) = session.backward_calls
    ops = [v.op.name for v in call.graph.nodes if v.kind == "op"]
    assert ops == ["MulBackward0"] * 10 + ["SumBackward0"]


def test_printed_output_warnings_and_errors_stay_with_their_cell():
    session = Session("w.py")
    run = session.run_cell("import torch\nx = torch.ones(1, requires_grad=True)\ny = x * 2\n"
                           "print('before')\ny.grad\nprint('after')\n")
    assert run.ok
    streams = [o.stream for o in run.outputs]
    assert streams == ["stdout", "stderr", "stdout"]
    assert "UserWarning: The .grad attribute of a Tensor that is not a leaf" in run.outputs[1].text
    run = session.run_cell("1 / 0", cell=7, first_line=20)
    assert (run.error_type, run.error_line, run.execution_count) == ("ZeroDivisionError", 20, 2)


def test_syntax_error_reports_the_script_line():
    session = Session()
    run = session.run_cell("x = (1,\n", first_line=10)
    assert run.error_type == "SyntaxError" and run.error_line == 10


def test_session_namespace_persists_and_restart_is_a_new_session():
    session = Session()
    session.run_cell("a = 41")
    assert session.run_cell("a + 1").text() == "42\n"
    assert "a" not in Session().namespace


def test_name_and_syntax_errors_get_hints_like_the_backward_errors():
    from gradstudio.studio.session import Session
    session = Session("script.py")
    run = session.run_cell("import torch\ny = w * 2\n", cell=1)
    assert run.error_type == "NameError"
    assert run.hint.startswith("`w` has no value yet: run the cell that assigns it first")
    assert "Hint: `w` has no value yet" in run.outputs[-1].text
    unclosed = session.run_cell("x = torch.ones(2\n", cell=2)
    assert unclosed.error_type == "SyntaxError" and "bracket is not matched" in unclosed.hint
    other = session.run_cell("x = = 1\n", cell=3)
    assert other.error_type == "SyntaxError" and other.hint.startswith("Python could not read this cell")
    indent = session.run_cell("if True:\nx = 1\n", cell=4)
    assert indent.error_type == "IndentationError" and "indentation is off" in indent.hint


def test_keyboard_interrupt_names_the_line_that_was_running():
    from gradstudio.studio.session import Session
    session = Session("script.py")
    run = session.run_cell("total = 0\nfor i in range(5):\n    if i == 3:\n        raise KeyboardInterrupt\n",
                           cell=2, first_line=10)
    assert run.error_type == "KeyboardInterrupt" and run.error_line == 13
    assert run.outputs[-1].text == "KeyboardInterrupt: interrupted at line 13 (`raise KeyboardInterrupt`)\n"


def test_forgotten_calls_are_dropped_and_their_indices_never_come_back():
    session = Session()
    for _ in range(3):
        session.run_cell("import torch\nx = torch.ones(2, requires_grad=True)\n(x * x).sum().backward()\n")
    assert [c.index for c in session.backward_calls] == [0, 1, 2]
    assert session.forget_calls([0, 2, 7]) == 2
    assert [c.index for c in session.backward_calls] == [1]
    session.run_cell("(x * 3).sum().backward()\n")
    assert [c.index for c in session.backward_calls] == [1, 3]     # not 2: the window knew a 2
