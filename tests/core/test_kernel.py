"""The kernel process: cells run there, results come back as typed records of plain
data, interrupt keeps the namespace, derivations are time-limited, nothing is left running."""
from __future__ import annotations

import sys
import time

import numpy as np
import pytest

from gradstudio.studio.kernel import schema
from gradstudio.studio.kernel.schema import OutputData
from gradstudio.studio.kernel.worker import KernelDied, KernelProcess
from gradstudio.studio.session import split_cells
from gradstudio.studio.symbolic.worker import worker_pid_alive

TUTORIAL = "resources/examples/autograd_tutorial.py"


@pytest.fixture
def kernel():
    k = KernelProcess("script.py").start()
    k.wait_for("ready", 30)
    yield k
    pids = [k.pid, k.symbolic_pid]
    k.shutdown()
    assert gone(pids)


def gone(pids, timeout=5.0) -> bool:
    """Whether every pid has ended (a killed grandchild takes a moment to die)."""
    deadline = time.monotonic() + timeout
    while any(p is not None and worker_pid_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def run(kernel, source, index=1, first_line=1, **options):
    kernel.send({"type": "run", "cells": [{"index": index, "source": source,
                                           "first_line": first_line}], **options})
    return kernel.wait_for("done", 60)


def of_type(messages, kind):
    return [m for m in messages if m.type == kind]


def assert_plain(value, path="message"):
    """Only records, builtins and numpy arrays: the app never receives a live object;
    and each record survives its own wire form unchanged."""
    if isinstance(value, schema.Record):
        if isinstance(value, schema.Message):
            assert schema.decode(*schema.encode(value)) == value, path
        for name, _check in value._fields:
            assert_plain(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), path
            assert_plain(v, f"{path}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            assert_plain(v, f"{path}[{i}]")
    elif isinstance(value, np.ndarray):
        assert value.dtype != object, path
    else:
        assert value is None or isinstance(value, (str, int, float, bool, np.generic)), \
            f"{path} is {type(value).__name__}"


def test_tutorial_cells_and_the_mean_check(kernel, repo_root):
    text = (repo_root / TUTORIAL).read_text()
    cells = [{"index": c.index, "source": c.source, "first_line": c.first_line}
             for c in split_cells(text)]
    kernel.send({"type": "run", "cells": cells, "continue_past_backward_errors": True})
    messages = kernel.wait_for("done", 120)
    for m in messages:
        assert_plain(m)
    finished = of_type(messages, "cell_finished")
    assert [f.run.execution_count for f in finished] == list(range(1, len(cells) + 1))
    by_cell = {f.run.cell: f for f in finished}
    setup_x = next(f for f in finished if "print(x)" in cells[f.run.cell - 1]["source"])
    assert setup_x.run.outputs == [OutputData("stdout",
                                          "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)\n")]
    # the failing backward: error, line, hint; the run went on
    failing = next(f for f in finished if f.run.error)
    assert failing.run.error_line == 18
    assert ".sum(), .mean() or pass gradient=" in failing.run.hint
    assert failing.calls[0].status == "error"
    # the mean cell: its call has the graph, and its check says 3*2*x/4, agree
    checks = {c.check.index: c.check for c in of_type(messages, "call_checked")}
    mean_call = next(c for f in finished for c in f.calls if c.root.grad_fn == "MeanBackward0")
    names = [n.grad_fn or n.name for n in mean_call.graph.nodes]
    assert names[0] == "x" and names[-1] == "MeanBackward0"
    assert mean_call.graph.nodes[-1].is_root
    leaf = checks[mean_call.index].leaves[0]
    assert (leaf.name, leaf.formula, leaf.simplified, leaf.agree) == ("x", "3*2*x/4", "3*x/2", True)
    np.testing.assert_allclose(leaf.numeric, 1.5)
    np.testing.assert_allclose(leaf.symbolic, 1.5)
    assert checks[mean_call.index].json["leaves"][0]["formula"] == "3*2*x/4"
    # derivations are sent after the cell's output
    order = [(m.type, m.run.cell if m.type == "cell_finished" else m.check.index if m.type == "call_checked"
              else None) for m in messages]
    mean_cell = mean_call.cell
    assert order.index(("cell_finished", mean_cell)) < order.index(("call_checked", mean_call.index))
    # named tensors for the inspector
    tensors = {t.name: t for t in by_cell[mean_cell].tensors}
    assert tensors["x"].is_leaf and tensors["x"].requires_grad and tensors["x"].dtype == "torch.float32"
    assert tensors["z"].grad_fn == "MeanBackward0"
    assert tensors["x"].grad_text == "tensor([[1.5000, 1.5000],\n        [1.5000, 1.5000]])"


def test_stops_at_an_error_that_is_not_a_backward(kernel):
    kernel.send({"type": "run", "continue_past_backward_errors": True, "cells": [
        {"index": 1, "source": "a = 1\nundefined_name\n", "first_line": 1},
        {"index": 2, "source": "b = 2\n", "first_line": 3}]})
    messages = kernel.wait_for("done", 30)
    finished = of_type(messages, "cell_finished")
    assert len(finished) == 1
    assert finished[0].run.error_type == "NameError" and finished[0].run.error_line == 2


def test_interrupt_keeps_the_namespace(kernel):
    kernel.send({"type": "run", "cells": [
        {"index": 1, "source": "import torch\nkept = torch.ones(3)\nwhile True:\n    pass\n", "first_line": 1},
        {"index": 2, "source": "never = 1\n", "first_line": 5}]})
    kernel.wait_for("cell_started", 10)
    time.sleep(0.5)
    kernel.interrupt()
    messages = kernel.wait_for("done", 5)
    finished = of_type(messages, "cell_finished")
    assert len(finished) == 1, "the rest of the request is skipped"
    assert finished[0].run.interrupted and finished[0].run.error == "Interrupted"
    messages = run(kernel, "print(kept)\n'never' in dir()")
    outputs = of_type(messages, "cell_finished")[0].run.outputs
    assert outputs == [OutputData("stdout", "tensor([1., 1., 1.])\n"),
                       OutputData("result", "False\n")]


def test_interrupt_when_idle_is_harmless(kernel):
    kernel.interrupt()
    time.sleep(0.2)
    messages = run(kernel, "1 + 1")
    assert of_type(messages, "cell_finished")[0].run.outputs[0].text == "2\n"


def test_derivation_time_limit_gives_a_note(kernel):
    source = ("import torch\nx = torch.tensor([0.5, 1.5], requires_grad=True)\n"
              "y = torch.tanh(torch.sin(x * x) * torch.exp(x)).sum()\ny.backward()\n")
    messages = run(kernel, source, timeout=0.001)
    check = of_type(messages, "call_checked")[0].check
    leaf = check.leaves[0]
    assert leaf.formula is None and "timed out" in leaf.note
    assert leaf.finite_difference is not None        # numbers are still compared
    # the worker came back: a normal derivation works afterwards
    messages = run(kernel, "x.grad = None\ny = (x * x).sum()\ny.backward()\n", timeout=20)
    leaf = of_type(messages, "call_checked")[0].check.leaves[0]
    assert leaf.formula == "2*x" or leaf.simplified == "2*x"


def test_recheck_a_call(kernel):
    run(kernel, "import torch\nx = torch.ones(2, requires_grad=True)\n(3 * x).sum().backward()\n")
    kernel.send({"type": "check", "calls": [0], "timeout": 20})
    messages = kernel.wait_for("done", 30)
    assert of_type(messages, "call_checked")[0].check.leaves[0].simplified == "3"


def test_large_output_is_cut(kernel):
    messages = run(kernel, "print('x' * 1_000_000)")
    text = of_type(messages, "cell_finished")[0].run.outputs[0].text
    assert len(text) < 200_000 and "characters not shown" in text


def test_script_that_exits_the_kernel(kernel):
    kernel.send({"type": "run", "cells": [{"index": 1, "source": "import os\nos._exit(3)", "first_line": 1}]})
    with pytest.raises(KernelDied, match="exited with code 3"):
        kernel.wait_for("done", 10)


def test_system_exit_is_an_ordinary_error(kernel):
    messages = run(kernel, "import sys\nsys.exit(2)")
    assert of_type(messages, "cell_finished")[0].run.error_type == "SystemExit"


def test_kill_leaves_no_process():
    k = KernelProcess().start()
    k.wait_for("ready", 30)
    k.send({"type": "run", "cells": [{"index": 1, "source": "while True: pass", "first_line": 1}]})
    k.wait_for("cell_started", 10)
    pids = [k.pid, k.symbolic_pid]
    k.kill()
    assert gone(pids)


def test_kernel_dies_with_its_parent(tmp_path):
    """An app killed by the system leaves no kernel behind, even one in a loop."""
    import subprocess
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(__import__('pathlib').Path(__file__).resolve().parents[2])!r})\n"
        "from gradstudio.studio.kernel.worker import KernelProcess\n"
        "k = KernelProcess().start(); k.wait_for('ready', 30)\n"
        "k.send({'type': 'run', 'cells': [{'index': 1, 'source': 'while True: pass', 'first_line': 1}]})\n"
        "k.wait_for('cell_started', 10)\n"
        "print(k.pid, k.symbolic_pid, flush=True)\n"
        "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in parent.stdout.readline().split()]
    parent.kill()
    parent.wait()
    assert gone(pids)


def test_core_modules_never_load_qt():
    import subprocess
    code = ("import sys, gradstudio.studio.kernel.worker, gradstudio.studio.kernel.records, gradstudio.studio.project; "
            "print([m for m in sys.modules if m.startswith(('PySide6', 'shiboken', 'gradstudio.ui'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_interrupt_works_after_a_cell_replaced_the_handler(kernel):
    run(kernel, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n")
    kernel.send({"type": "run", "cells": [{"index": 2, "source": "while True:\n    pass\n", "first_line": 1}]})
    kernel.wait_for("cell_started", 10)
    time.sleep(0.3)
    kernel.interrupt()
    messages = kernel.wait_for("done", 5)
    assert of_type(messages, "cell_finished")[0].run.interrupted


def test_messages_stay_bounded_for_big_tensors():
    """Arrays travel within a budget per graph and per tensor list; the rest as summaries."""
    from gradstudio.studio.kernel import records as kernel_data
    from gradstudio.studio.session import Session
    session = Session()
    run = session.run_cell("import torch\nws = [torch.ones(500, 500, requires_grad=True) for _ in range(20)]\n"
                           "loss = sum((w * 2).sum() for w in ws)\nloss.backward()\n")
    assert run.ok, run.error
    call = kernel_data.call_data(session.backward_calls[0])
    nodes = call.graph.nodes
    sent = sum(n.value.size + (n.grad.size if n.grad is not None else 0)
               for n in nodes if n.value is not None)
    assert sent <= kernel_data.MESSAGE_BUDGET
    leaves = [n for n in nodes if n.kind == "leaf"]
    assert len(leaves) == 20 and all(n.grad_norm == 500.0 * 2 for n in leaves)
    assert all(n.value_summary.size == 250_000 for n in leaves)
    tensors = kernel_data.tensors_data(session.named_tensors())
    assert sum(t.value.size for t in tensors if t.value is not None) <= kernel_data.MESSAGE_BUDGET
    assert [t.name for t in tensors][:2] == ["loss", "ws[0]"]
    frame = schema.encode_frame(schema.CellFinished(run=schema.RunData(cell=1), calls=[call], tensors=tensors))
    assert len(frame) < 80_000_000


def test_sweep_of_one_element(kernel):
    run(kernel, "import torch\nx = torch.tensor([[0.5, -1.0], [2.0, 0.0]], requires_grad=True)\n"
                "z = (x * x * 3).mean()\nz.backward()\n")
    kernel.send({"type": "sweep", "call": 0, "vertex": 0, "element": [0, 1], "lo": -2.0, "hi": 2.0,
                 "points": 9, "timeout": 20})
    message = kernel.wait_for("sweep_result", 60)[-1].sweep
    kernel.wait_for("done", 10)
    assert message.error is None and message.note is None
    assert_plain(message)
    x = message.x
    np.testing.assert_allclose(x, np.linspace(-2, 2, 9))
    np.testing.assert_allclose(message.engine, 3 * 2 * x / 4, rtol=1e-6)      # d/da mean(3a²) = 3·2·a/4
    np.testing.assert_allclose(message.symbolic, 3 * 2 * x / 4, rtol=1e-9)
    np.testing.assert_allclose(message.finite_difference, 3 * 2 * x / 4, rtol=1e-5, atol=1e-6)
    others = (3 * (0.25 + 4.0 + 0.0)) / 4
    np.testing.assert_allclose(message.f, others + 3 * x * x / 4)
    assert message.at == -1.0


def test_sweep_with_gradient_argument_and_bad_requests(kernel):
    run(kernel, "import torch\nx = torch.tensor([1.0, 2.0], requires_grad=True)\n"
                "y = torch.tanh(x)\ny.backward(torch.tensor([1.0, 0.5]))\n")
    kernel.send({"type": "sweep", "call": 0, "vertex": 0, "element": [1], "points": 5})
    message = kernel.wait_for("sweep_result", 60)[-1].sweep
    kernel.wait_for("done", 10)
    x = message.x
    np.testing.assert_allclose(x, np.linspace(0.0, 4.0, 5))
    np.testing.assert_allclose(message.engine, 0.5 * (1 - np.tanh(x) ** 2), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(message.symbolic, 0.5 * (1 - np.tanh(x) ** 2), rtol=1e-9)
    kernel.send({"type": "sweep", "call": 0, "vertex": 0, "element": [5]})
    assert "not inside shape" in kernel.wait_for("sweep_result", 30)[-1].sweep.error
    kernel.wait_for("done", 10)
    kernel.send({"type": "sweep", "call": 9, "vertex": 0})
    assert "no such backward call" in kernel.wait_for("sweep_result", 30)[-1].sweep.error


def test_big_graphs_arrive_in_chunks(kernel):
    from gradstudio.studio.kernel.records import GRAPH_CHUNK, join_graph
    messages = run(kernel, "import torch\nx = torch.ones(3, requires_grad=True)\ny = x\n"
                           "for i in range(500):\n    y = y * 1.01\ny.sum().backward()\n", timeout=20)
    chunks = [m.nodes for m in of_type(messages, "graph_chunk")]
    pieces = -(-1002 // GRAPH_CHUNK)
    assert len(chunks) == pieces and all(len(c) <= GRAPH_CHUNK for c in chunks)
    call = of_type(messages, "cell_finished")[0].calls[0]
    assert call.graph.nodes is None and call.graph.chunks == pieces
    call = join_graph(call, chunks)
    nodes = call.graph.nodes
    assert [n.id for n in nodes] == list(range(1002)) and call.graph.chunks is None
    assert nodes[call.graph.root].grad_fn == "SumBackward0"


def test_a_failing_summary_ends_the_cell_with_its_message_and_later_cells_answer(kernel):
    """An internal error while describing a cell's results (issue 8: MemoryError in
    summary()) ends that cell visibly and does not silence the next ones."""
    breaking = ("import gradstudio.studio.kernel.records as r\n"
                "def broken(value):\n    raise MemoryError('no room for a summary')\n"
                "r.summary = broken\nimport torch\nx = torch.ones(3)\nprint('still here')\n")
    messages = run(kernel, breaking)
    finished = of_type(messages, "cell_finished")
    assert len(finished) == 1 and not of_type(messages, "kernel_error")
    out = finished[0].run
    assert not out.ok and out.error_type == "InternalError"
    texts = [o.text for o in out.outputs]
    assert texts[0] == "still here\n"
    assert "MemoryError: no room for a summary" in texts[-1]
    assert "MemoryError" in out.internal_error
    later = of_type(run(kernel, "print(1 + 1)", index=2), "cell_finished")
    assert [o.text for o in later[0].run.outputs][0] == "2\n"


def test_a_kernel_holding_a_large_tensor_keeps_answering(kernel):
    big = run(kernel, "import torch\nbig = torch.ones(50_000_000)\nbig.requires_grad_()\n")
    tensors = of_type(big, "cell_finished")[0].tensors
    described = next(t for t in tensors if t.name == "big")
    assert described.value is None and described.value_summary.mean == 1.0
    for index in (2, 3):
        finished = of_type(run(kernel, "print(1 + 1)", index=index), "cell_finished")
        assert finished[0].run.outputs[0].text == "2\n"


WRITE_ON_THE_PIPE = """\
import os, pickle, struct, sys
fd = int(sys.argv[2])                         # the kernel's own pipe to the app
def piece(data):                              # framed the way Connection.send_bytes frames it
    os.write(fd, struct.pack("!i", len(data)) + data)
piece(pickle.dumps({"type": "done", "id": 1, "request": "run", "interrupted": False}))
from gradstudio.studio.kernel import schema
frame = schema.encode_frame(schema.Done(id=1))
piece(frame[: len(frame) // 2])
print("still here")
"""


def test_a_pickle_or_half_a_frame_on_the_pipe_is_refused_and_the_next_message_is_read(kernel):
    """Nothing from the kernel is unpickled: what the user's code writes on the pipe
    is one RecordError per piece, and the kernel's own messages after it arrive."""
    kernel.send({"type": "run", "cells": [{"index": 1, "source": WRITE_ON_THE_PIPE, "first_line": 1}]})
    received, deadline = [], time.monotonic() + 60
    while not any(isinstance(m, schema.Done) for m in received):
        assert time.monotonic() < deadline, received
        if kernel.poll(1.0):
            try:
                received.append(kernel.recv())
            except schema.RecordError as error:
                received.append(error)
    errors = [m for m in received if isinstance(m, schema.RecordError)]
    assert len(errors) == 2 and "not a frame" in str(errors[0]) and "cut short" in str(errors[1])
    finished = of_type([m for m in received if not isinstance(m, schema.RecordError)], "cell_finished")
    assert finished[0].run.ok and finished[0].run.outputs == [OutputData("stdout", "still here\n")]
    assert of_type(run(kernel, "1 + 1"), "cell_finished")[0].run.outputs[0].text == "2\n"


def test_take_never_waits_for_the_rest_of_a_message_and_a_bogus_length_ends_the_kernel(kernel):
    kernel.send({"type": "run", "cells": [{"index": 1, "first_line": 1, "source":
                 "import os, struct, sys\nos.write(int(sys.argv[2]), struct.pack('!i', 1000) + b'GSWI')\n"
                 "import time\ntime.sleep(0.5)\n"}]})
    deadline = time.monotonic() + 30
    while kernel._buffer[:4] != b"\x00\x00\x03\xe8":      # the half-written piece has arrived
        assert time.monotonic() < deadline
        started = time.thread_time()
        kernel.take()
        assert time.thread_time() - started < 1.0, "take() waited"
        time.sleep(0.01)
    kernel.shutdown()
    bogus = KernelProcess("script.py").start()
    try:
        bogus.wait_for("ready", 30)
        bogus.send({"type": "run", "cells": [{"index": 1, "first_line": 1, "source":
                    "import os, struct, sys\nos.write(int(sys.argv[2]), struct.pack('!i', -7) + b'x' * 8)\n"}]})
        with pytest.raises(KernelDied, match="was not a message"):
            while True:
                bogus.poll(5)
                bogus.take()
    finally:
        bogus.shutdown()
