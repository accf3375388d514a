"""The window's kernel (an IPython kernel with GradStudio's extension and comm), driven
without Qt through :mod:`gradstudio.studio.kernel.blocking`: cells report typed records of
plain data, interrupt keeps the namespace, derivations are time-limited, requests on
the comm are answered, and nothing is left running. One kernel serves the module; the
tests that end a kernel start their own."""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("ipykernel")

from gradstudio.studio.kernel import schema  # noqa: E402
from gradstudio.studio.kernel.blocking import KernelSession  # noqa: E402
from gradstudio.studio.session import split_cells  # noqa: E402
from gradstudio.studio.symbolic.worker import worker_pid_alive  # noqa: E402

TUTORIAL = "resources/examples/autograd_tutorial.py"


@pytest.fixture(scope="module")
def kernel():
    k = KernelSession().start()
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


def stdout(exchange) -> str:
    return "".join(m["content"]["text"] for m in exchange.iopub("stream") if m["content"]["name"] == "stdout")


def result_text(exchange):
    results = exchange.iopub("execute_result")
    return results[0]["content"]["data"]["text/plain"] if results else None


def finished(exchange) -> schema.CellFinished:
    (found,) = exchange.of_type("cell_finished")
    return found


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
    cells = split_cells((repo_root / TUTORIAL).read_text())
    ran = [kernel.run(c.source, cell=c.index, first_line=c.first_line, timeout=30) for c in cells]
    for exchange in ran:
        assert not exchange.errors
        for record in exchange.records:
            assert_plain(record)
    done = [finished(e) for e in ran]
    counts = [f.run.execution_count for f in done]
    assert counts == list(range(counts[0], counts[0] + len(cells)))
    by_cell = {f.run.cell: (f, e) for f, e in zip(done, ran)}
    setup_x = next(e for c, e in zip(cells, ran) if "print(x)" in c.source)
    assert stdout(setup_x) == "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)\n"
    # the failing backward: error, the file's line, hint
    failing = next(f for f in done if f.run.error)
    assert failing.run.error_line == 18
    assert ".sum(), .mean() or pass gradient=" in failing.run.hint
    assert failing.calls[0].status == "error"
    # the mean cell: its call has the graph, and its check says 3*2*x/4, agree
    mean_call = next(c for f in done for c in f.calls if c.root.grad_fn == "MeanBackward0")
    names = [n.grad_fn or n.name for n in mean_call.graph.nodes]
    assert names[0] == "x" and names[-1] == "MeanBackward0"
    assert mean_call.graph.nodes[-1].is_root
    mean_finished, mean_exchange = by_cell[mean_call.cell]
    (checked,) = [c.check for c in mean_exchange.of_type("call_checked") if c.check.index == mean_call.index]
    leaf = checked.leaves[0]
    assert (leaf.name, leaf.formula, leaf.simplified, leaf.agree) == ("x", "3*2*x/4", "3*x/2", True)
    np.testing.assert_allclose(leaf.numeric, 1.5)
    np.testing.assert_allclose(leaf.symbolic, 1.5)
    # the check's `gradstudio check --json` entry travels only when asked for
    assert checked.json is None
    (asked,) = [m.check for m in kernel.request({"type": "check", "calls": [mean_call.index],
                                                 "json": True}).of_type("call_checked")]
    assert asked.json["leaves"][0]["formula"] == "3*2*x/4" and asked.json["index"] == mean_call.index
    assert asked.leaves[0].formula == "3*2*x/4"
    # the derivation is sent after the cell's records (the console has its output first)
    kinds = [r.type for r in mean_exchange.records]
    assert kinds.index("cell_finished") < kinds.index("call_checked")
    # named tensors for the inspector
    tensors = {t.name: t for t in mean_finished.tensors}
    assert tensors["x"].is_leaf and tensors["x"].requires_grad and tensors["x"].dtype == "torch.float32"
    assert tensors["z"].grad_fn == "MeanBackward0"
    assert tensors["x"].grad_text == "tensor([[1.5000, 1.5000],\n        [1.5000, 1.5000]])"


def test_interrupt_when_idle_is_harmless(kernel):
    kernel.interrupt()
    time.sleep(0.2)
    assert result_text(kernel.run("1 + 1")) == "2"


def test_interrupt_works_after_a_cell_replaced_the_handler(kernel):
    """ipykernel puts its SIGINT handler back for every cell: a cell that ignored
    SIGINT does not make the next one uninterruptible."""
    kernel.run("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n")
    msg_id = kernel.send_cell("kept_across = 5\nwhile True:\n    pass\n", cell=2)
    time.sleep(0.5)
    kernel.interrupt()
    loop = kernel.wait(msg_id, 10, reply=True)
    assert loop.reply["ename"] == "KeyboardInterrupt"
    run = finished(loop).run
    assert run.interrupted and run.error == "Interrupted" and run.error_line in (2, 3)   # the loop
    assert result_text(kernel.run("kept_across + 1")) == "6", "the namespace is kept"


def test_derivation_time_limit_gives_a_note(kernel):
    source = ("import torch\nxt = torch.tensor([0.5, 1.5], requires_grad=True)\n"
              "yt = torch.tanh(torch.sin(xt * xt) * torch.exp(xt)).sum()\nyt.backward()\n")
    (checked,) = kernel.run(source, timeout=0.001).of_type("call_checked")
    leaf = checked.check.leaves[0]
    assert leaf.formula is None and "timed out" in leaf.note
    assert leaf.finite_difference is not None        # numbers are still compared
    # the worker came back: a normal derivation works afterwards
    (checked,) = kernel.run("xt.grad = None\nyt = (xt * xt).sum()\nyt.backward()\n",
                            timeout=20).of_type("call_checked")
    leaf = checked.check.leaves[0]
    assert leaf.formula == "2*x" or leaf.simplified == "2*x" or leaf.simplified == "2*xt"


def test_a_tensor_shown_as_out_n_keeps_its_variables_name(kernel):
    """IPython's output history (``_oh``, ``Out``, ``_``, ``_7``) holds the tensor a cell
    showed; the graph and the Inspector still call it by the user's name."""
    kernel.run("import torch\nshown = torch.ones(2, requires_grad=True)\nshown")
    after = finished(kernel.run("(shown * 2).sum().backward()"))
    assert [leaf.name for leaf in after.calls[0].leaves] == ["shown"]
    names = {t.name for t in after.tensors}
    assert "shown" in names and not any(n.startswith(("_", "Out")) for n in names)


def test_recheck_a_call(kernel):
    (call,) = finished(kernel.run("import torch\nxr = torch.ones(2, requires_grad=True)\n"
                                  "(3 * xr).sum().backward()\n")).calls
    answer = kernel.request({"type": "check", "calls": [call.index], "timeout": 20})
    assert answer.of_type("call_checked")[0].check.leaves[0].simplified == "3"
    assert answer.records[-1] == schema.Done(id=answer.records[-1].id, request="check", interrupted=False)


def test_system_exit_is_an_ordinary_error(kernel):
    exchange = kernel.run("import sys\nsys.exit(2)")
    assert finished(exchange).run.error_type == "SystemExit"
    assert result_text(kernel.run("3 + 4")) == "7", "the same kernel goes on"


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
    (call,) = finished(kernel.run("import torch\nxs = torch.tensor([[0.5, -1.0], [2.0, 0.0]], requires_grad=True)\n"
                                  "zs = (xs * xs * 3).mean()\nzs.backward()\n")).calls
    answer = kernel.request({"type": "sweep", "call": call.index, "vertex": 0, "element": [0, 1],
                             "lo": -2.0, "hi": 2.0, "points": 9, "timeout": 20})
    message = answer.of_type("sweep_result")[0].sweep
    assert answer.records[-1].type == "done"
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
    (call,) = finished(kernel.run("import torch\nxg = torch.tensor([1.0, 2.0], requires_grad=True)\n"
                                  "yg = torch.tanh(xg)\nyg.backward(torch.tensor([1.0, 0.5]))\n")).calls
    message = kernel.request({"type": "sweep", "call": call.index, "vertex": 0, "element": [1],
                              "points": 5}).of_type("sweep_result")[0].sweep
    x = message.x
    np.testing.assert_allclose(x, np.linspace(0.0, 4.0, 5))
    np.testing.assert_allclose(message.engine, 0.5 * (1 - np.tanh(x) ** 2), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(message.symbolic, 0.5 * (1 - np.tanh(x) ** 2), rtol=1e-9)
    bad = kernel.request({"type": "sweep", "call": call.index, "vertex": 0, "element": [5]})
    assert "not inside shape" in bad.of_type("sweep_result")[0].sweep.error
    missing = kernel.request({"type": "sweep", "call": 9999, "vertex": 0})
    assert "no such backward call" in missing.of_type("sweep_result")[0].sweep.error


def test_big_graphs_arrive_in_chunks(kernel):
    from gradstudio.studio.kernel.records import GRAPH_CHUNK, join_graph
    exchange = kernel.run("import torch\nxc = torch.ones(3, requires_grad=True)\nyc = xc\n"
                          "for i in range(500):\n    yc = yc * 1.01\nyc.sum().backward()\n", timeout=20)
    chunks = [m.nodes for m in exchange.of_type("graph_chunk")]
    pieces = -(-1002 // GRAPH_CHUNK)
    assert len(chunks) == pieces and all(len(c) <= GRAPH_CHUNK for c in chunks)
    kinds = [r.type for r in exchange.records]
    assert kinds.index("cell_finished") > max(i for i, k in enumerate(kinds) if k == "graph_chunk")
    call = finished(exchange).calls[0]
    assert call.graph.nodes is None and call.graph.chunks == pieces
    call = join_graph(call, chunks)
    nodes = call.graph.nodes
    assert [n.id for n in nodes] == list(range(1002)) and call.graph.chunks is None
    assert nodes[call.graph.root].grad_fn == "SumBackward0"


def test_a_failing_summary_ends_the_cell_with_its_message_and_later_cells_answer(kernel):
    """An internal error while describing a cell's results (issue 8: MemoryError in
    summary()) ends that cell visibly and does not silence the next ones."""
    breaking = ("import gradstudio.studio.kernel.records as r\n_kept_summary = r.summary\n"
                "def broken(value):\n    raise MemoryError('no room for a summary')\n"
                "r.summary = broken\nimport torch\nxm = torch.ones(3)\nprint('still here')\n")
    try:
        exchange = kernel.run(breaking)
    finally:
        kernel.run("r.summary = _kept_summary")
    assert not exchange.of_type("kernel_error")
    out = finished(exchange).run
    assert not out.ok and out.error_type == "InternalError"
    assert stdout(exchange) == "still here\n"
    assert "MemoryError: no room for a summary" in out.outputs[-1].text
    assert "MemoryError" in out.internal_error
    later = kernel.run("print(1 + 1)", cell=2)
    assert stdout(later) == "2\n" and finished(later).run.ok


def test_a_kernel_holding_a_large_tensor_keeps_answering(kernel):
    try:
        big = finished(kernel.run("import torch\nbig = torch.ones(50_000_000)\nbig.requires_grad_()\n"))
        described = next(t for t in big.tensors if t.name == "big")
        assert described.value is None and described.value_summary.mean == 1.0
        for index in (2, 3):
            later = kernel.run("print(1 + 1)", cell=index)
            assert stdout(later) == "2\n" and finished(later).run.ok
    finally:
        kernel.run("del big")


SMALL_LIMIT = 10_000    # the wire's JSON limit, shrunk in the kernel so "too big" costs 10 kB, not 64 MB


def test_junk_on_the_comm_is_an_error_answered_and_the_kernel_carries_on(kernel):
    """Requests that are not requests (a pickle, cut in half, over the wire's size
    limit, not text) are each a KernelError and a Done; nothing runs."""
    import os
    import pickle
    from gradstudio.studio.kernel import codec
    from gradstudio.studio.kernel.bridge import DATA_KEY
    text, _ = codec.encode_request({"type": "tensors", "id": 1})
    too_big = '{"type": "tensors", "pad": "' + "x" * SMALL_LIMIT + '"}'
    shrink = ("import gradstudio.studio.wire as _w\n_kept_limit = _w.DEFAULT_LIMITS.json_bytes\n"
              f"object.__setattr__(_w.DEFAULT_LIMITS, 'json_bytes', {SMALL_LIMIT})")
    assert kernel.run(shrink).reply["status"] == "ok"
    try:
        for junk in ({DATA_KEY: pickle.dumps(os.system).hex()}, {DATA_KEY: text[: len(text) // 2]},
                     {DATA_KEY: too_big}, {DATA_KEY: 7}):
            answer = kernel.wait(kernel.kernel.comm_send(kernel.comm_id, junk), 60)
            errors = answer.of_type("kernel_error")
            assert [r.type for r in answer.records] == ["kernel_error", "done"], junk
            if junk[DATA_KEY] is too_big:
                assert "too big" in errors[0].message
    finally:
        kernel.run("object.__setattr__(_w.DEFAULT_LIMITS, 'json_bytes', _kept_limit)")
    assert result_text(kernel.run("1 + 1")) == "2"


# --------------------------------------------------------------------------- kernels of their own
def test_shutdown_in_a_loop_leaves_no_process():
    k = KernelSession().start()
    try:
        k.send_cell("while True: pass")
        time.sleep(0.5)
        pids = [k.pid, k.symbolic_pid]
        assert all(worker_pid_alive(p) for p in pids)
    finally:
        k.shutdown()
    assert gone(pids)


def test_kernel_dies_with_its_parent(tmp_path, repo_root):
    """An app killed by the system leaves no kernel behind, even one in a loop."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(repo_root)!r})\n"
        "from gradstudio.studio.kernel.blocking import KernelSession\n"
        "k = KernelSession().start()\n"
        "k.send_cell('while True: pass')\n"
        "print(k.pid, k.symbolic_pid, flush=True)\n"
        "time.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
    finally:
        parent.kill()
        parent.wait()
    assert len(pids) == 2 and gone(pids)
