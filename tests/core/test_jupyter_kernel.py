"""GradStudio's kernel on the Jupyter protocol (no Qt): a real ipykernel started
by jupyter_client through gradstudio.studio.kernel.launch, read without blocking."""
from __future__ import annotations

import json
import os
import signal
import stat
import time

import numpy as np
import pytest

pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")

from gradstudio.studio.kernel.jupyter import JupyterKernel, ProtocolError  # noqa: E402

WAIT = 120.0


def collect(kernel: JupyterKernel, msg_id: str, timeout: float = WAIT) -> list:
    """IOPub messages of one request, until its kernel goes idle (polling read(), as the window does)."""
    found, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in kernel.read("iopub"):
            if isinstance(message, ProtocolError):
                found.append(message)
                continue
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            found.append(message)
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                return found
        time.sleep(0.02)
    raise AssertionError(f"no idle within {timeout} s; got {[m['msg_type'] for m in found]}")


def of_type(messages, kind):
    return [m for m in messages if not isinstance(m, ProtocolError) and m["msg_type"] == kind]


@pytest.fixture(scope="module")
def kernel():
    k = JupyterKernel()
    k.start(timeout=WAIT)
    yield k
    k.shutdown()


def test_it_is_private_local_and_signed(kernel):
    info = json.load(open(kernel.manager.connection_file))
    assert info["transport"] == "ipc" and info["key"] and info["signature_scheme"] == "hmac-sha256"
    assert stat.S_IMODE(os.stat(kernel.runtime_dir).st_mode) & 0o777 == 0o700  # jupyter adds the sticky bit
    assert stat.S_IMODE(os.stat(kernel.manager.connection_file).st_mode) == 0o600
    assert os.path.dirname(info["ip"]) == kernel.runtime_dir
    assert os.getpgid(kernel.pid) == kernel.pid          # its own process group


def test_cells_have_ipythons_semantics_and_torch_is_gradstudio(kernel):
    messages = collect(kernel, kernel.execute(
        "import torch\nprint(torch.__name__)\nx = torch.ones(2, 2, requires_grad=True)\nz = (3*x*x).mean()\n"
        "z.backward()\nx.grad"))
    assert "".join(m["content"]["text"] for m in of_type(messages, "stream")) == "gradstudio\n"
    (result,) = of_type(messages, "execute_result")
    assert result["content"]["data"]["text/plain"] == "tensor([[1.5000, 1.5000],\n        [1.5000, 1.5000]])"
    html = [m["content"]["data"]["text/html"] for m in of_type(messages, "display_data")
            if "text/html" in m["content"]["data"]]
    assert html and "✓" in html[0] and "MeanBackward0" in html[0]
    # None as the last expression shows nothing (the seed notebook's x.grad before backward)
    messages = collect(kernel, kernel.execute("w = torch.ones(2, requires_grad=True)\nw.grad"))
    assert not of_type(messages, "execute_result")


def reply(kernel: JupyterKernel, msg_id: str) -> dict:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for m in kernel.read("shell"):
            if not isinstance(m, ProtocolError) and m["parent_header"].get("msg_id") == msg_id:
                return m["content"]
        time.sleep(0.02)
    raise AssertionError("no reply")


def test_completion_and_inspection_come_from_the_kernel(kernel):
    collect(kernel, kernel.execute("import torch"))
    completion = reply(kernel, kernel.complete("torch.ze", 8))
    code, start, end = "torch.ze", completion["cursor_start"], completion["cursor_end"]
    completed = {code[:start] + match + code[end:] for match in completion["matches"]}
    assert {"torch.zeros", "torch.zeros_like"} <= completed
    inspection = reply(kernel, kernel.inspect("torch.ones", 10))
    assert inspection["found"] and "ones" in inspection["data"]["text/plain"]


def test_an_infinite_loop_is_interrupted_and_the_namespace_kept(kernel):
    collect(kernel, kernel.execute("kept = 41"))
    msg_id = kernel.execute("while True:\n    pass")
    time.sleep(1.0)
    kernel.interrupt()
    messages = collect(kernel, msg_id)
    (error,) = of_type(messages, "error")
    assert error["content"]["ename"] == "KeyboardInterrupt"
    messages = collect(kernel, kernel.execute("kept + 1"))
    assert of_type(messages, "execute_result")[0]["content"]["data"]["text/plain"] == "42"


def test_junk_on_iopub_is_reported_not_run(kernel):
    """A script can write raw frames on the kernel's IOPub socket: the client reports
    them as protocol errors (nothing is unpickled or executed) and keeps working."""
    messages = collect(kernel, kernel.execute(
        "k = get_ipython().kernel\n"
        "k.iopub_socket.send_multipart([b'<IDS|MSG>', b'bad-signature', b'{}', b'{}', b'{}', b'{}'])\n"
        "import pickle, os\n"
        "k.iopub_socket.send_multipart([b'<IDS|MSG>', b'x', pickle.dumps(os.system), b'{}', b'{}', b'{}'])"))
    errors = [m for m in messages if isinstance(m, ProtocolError)]
    assert len(errors) >= 2 and all("Signature" in e.message or "signature" in e.message for e in errors)
    assert of_type(collect(kernel, kernel.execute("1 + 1")), "execute_result")


def test_a_killed_kernel_is_seen_dead_and_restart_gives_a_fresh_one():
    with JupyterKernel() as k:
        collect(k, k.execute("a = 1"))
        os.kill(k.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while k.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not k.is_alive() and k.exit_status() == "signal SIGKILL"
        k.restart(timeout=WAIT)
        assert k.is_alive()
        messages = collect(k, k.execute("a"))
        assert of_type(messages, "error")[0]["content"]["ename"] == "NameError"
    assert k.runtime_dir is None


# --------------------------------------------------------------------------- the window's comm
from gradstudio.studio.kernel import codec, schema  # noqa: E402
from gradstudio.studio.kernel.bridge import COMM_TARGET, DATA_KEY  # noqa: E402


def records(messages) -> list:
    """The GradStudio records among IOPub messages (comm_msg payloads, decoded to schema Messages)."""
    return [codec.decode(m["content"]["data"][DATA_KEY], m.get("buffers") or [])
            for m in of_type(messages, "comm_msg")]


@pytest.fixture(scope="module")
def window_kernel():
    """A kernel with the window's comm open (as ui/jupyter_client.py opens it)."""
    k = JupyterKernel()
    k.start(timeout=WAIT)
    k.comm_id = "window-comm"
    k.comm_open(COMM_TARGET, k.comm_id)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        got = [m for m in k.read("iopub") if not isinstance(m, ProtocolError)]
        if any(isinstance(r, schema.Ready) for r in records(got)):
            break
        time.sleep(0.02)
    else:
        raise AssertionError("no ready on the comm")
    yield k
    k.shutdown()


def run_cell(kernel, source, cell, first_line, **options):
    meta = {"cell": cell, "first_line": first_line, "derive": True, "timeout": 30, **options}
    return collect(kernel, kernel.execute(source, metadata={DATA_KEY: meta}))


def test_a_window_cell_reports_its_records_with_the_files_line_numbers(window_kernel):
    messages = run_cell(window_kernel, "import torch\nx = torch.ones(2, 2, requires_grad=True)\n"
                        "z = (3*x*x).mean()\nz.backward()\nx.grad", cell=2, first_line=10)
    (result,) = of_type(messages, "execute_result")          # IPython's own Out[n]
    assert result["content"]["data"]["text/plain"].startswith("tensor([[1.5000")
    assert not [m for m in of_type(messages, "display_data") if "text/html" in m["content"]["data"]], \
        "the window shows its own panels, not the notebook's HTML"
    found = records(messages)
    assert [type(r) for r in found] == [schema.CellFinished, schema.Deriving, schema.CallChecked]
    finished = found[0]
    assert finished.run.cell == 2 and finished.run.ok
    assert finished.run.execution_count == result["content"]["execution_count"]
    (call,) = finished.calls
    assert call.line == 13 and call.root.name == "z"     # the file's line, not the cell's
    assert call.steps is not None, "the window's calls carry their step trace"
    assert any(t.name == "x" for t in finished.tensors)
    check = found[2].check
    assert check.agree and check.leaves[0].formula == "3*2*x/4"


def test_a_window_cells_error_keeps_ipythons_traceback_with_the_hint_and_the_files_line(window_kernel):
    messages = run_cell(window_kernel, "y = torch.ones(2, requires_grad=True) * 2\n\ny.backward()",
                        cell=3, first_line=20)
    (error,) = of_type(messages, "error")
    traceback_text = "\n".join(error["content"]["traceback"])
    assert "line 22" in traceback_text and "Traceback" in traceback_text
    assert error["content"]["traceback"][-1].startswith("Hint: backward() needs a scalar")
    run = records(messages)[0].run
    assert run.error_type == "RuntimeError" and run.error_line == 22 and run.hint


def test_requests_on_the_comm_are_answered_and_junk_is_an_error_not_a_crash(window_kernel):
    k = window_kernel
    ran = records(run_cell(k, "w = torch.tensor([1.0, 2.0], requires_grad=True)\n(w * w).sum().backward()",
                           cell=4, first_line=1))
    (call,) = ran[0].calls
    text, buffers = codec.encode_request({"type": "tensors", "id": 7})
    found = records(collect(k, k.comm_send(k.comm_id, {DATA_KEY: text}, buffers)))
    assert found[-1] == schema.Done(id=7, request="tensors", interrupted=False)
    tensors = next(r for r in found if isinstance(r, schema.Tensors)).tensors
    assert any(t.name == "w" for t in tensors)
    text, buffers = codec.encode_request({"type": "jacobian", "id": 8, "call": call.index, "leaf": 0})
    found = records(collect(k, k.comm_send(k.comm_id, {DATA_KEY: text}, buffers)))
    (jacobian,) = [r for r in found if isinstance(r, schema.JacobianResult)]
    assert jacobian.error is None and jacobian.m == 1 and jacobian.n == 2
    assert np.allclose(jacobian.jacobian, [[2.0, 4.0]])      # d(w·w)/dw = 2w
    assert found[-1] == schema.Done(id=8, request="jacobian", interrupted=False)
    import pickle
    for junk in ({DATA_KEY: "{not json"}, {DATA_KEY: pickle.dumps(os.system).hex()}, {"other": 1}):
        found = records(collect(k, k.comm_send(k.comm_id, junk)))
        assert isinstance(found[0], schema.KernelError) and isinstance(found[-1], schema.Done)
    assert of_type(collect(k, k.execute("1 + 1")), "execute_result")


def test_a_plot_is_an_inline_png(window_kernel):
    messages = run_cell(window_kernel, "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()",
                        cell=5, first_line=1)
    pngs = [m["content"]["data"]["image/png"] for m in of_type(messages, "display_data")
            if "image/png" in m["content"]["data"]]
    import base64
    assert len(pngs) == 1 and base64.b64decode(pngs[0]).startswith(b"\x89PNG")


def test_a_window_cells_prints_come_before_its_records_and_it_is_transformed_once(window_kernel):
    """ipykernel transforms a cell, then runs it with run_cell, which transforms it again: the
    bridge hands the window's cell its first answer (IPython's own cells are left alone).
    The cell's prints are sent ahead of its records without the kernel waiting for them."""
    k = window_kernel
    collect(k, k.execute(
        "from gradstudio.studio.kernel import extension as _x\n"
        "_bridge = _x._EXTENSIONS[id(get_ipython())].bridge\n"
        "_seen, _own = [], _bridge._transform\n"
        "_bridge._transform = lambda raw: (_seen.append(raw), _own(raw))[1]"))
    source = ("import sys, torch\nprint('out')\nprint('err', file=sys.stderr)\n"
              "v = torch.tensor([1.0, 3.0], requires_grad=True)\n(v * v).sum().backward()")
    messages = run_cell(k, source, cell=6, first_line=5, numbers_first=True)
    kinds = [m["msg_type"] for m in messages if m["msg_type"] in ("stream", "comm_msg")]
    assert kinds[:2] == ["stream", "stream"] and set(kinds[2:]) == {"comm_msg"}, (kinds, records(messages))
    assert {m["content"]["name"]: m["content"]["text"] for m in of_type(messages, "stream")} == \
        {"stdout": "out\n", "stderr": "err\n"}
    found = records(messages)
    (call,) = found[0].calls
    assert call.line == 9 and found[0].run.ok             # the shifted lines: the file's
    plain = collect(k, k.execute("sum(raw == %r for raw in _seen), len(_seen)" % source))
    assert of_type(plain, "execute_result")[0]["content"]["data"]["text/plain"] == "(1, 3)", \
        "the window's cell once; this plain cell twice, as IPython does"


def test_cells_are_named_by_a_c_hash_and_tracebacks_still_name_their_cell(kernel):
    """The app's kernel names each cell's code by BLAKE2 (ipykernel's murmur2 is pure Python:
    ~1.6 ms of a design's edit); a function from an earlier cell is still shown as that cell's."""
    names = collect(kernel, kernel.execute(
        "_c = get_ipython().compile\n"
        "type(_c).__name__, _c.get_code_name('a = 1', '', 0) == _c.get_code_name('a = 1', '', 5), "
        "_c.get_code_name('a = 1', '', 0) != _c.get_code_name('a = 2', '', 0)"))
    assert of_type(names, "execute_result")[0]["content"]["data"]["text/plain"] == "('CellCompiler', True, True)"
    defined = collect(kernel, kernel.execute("def _fails():\n    return 1 / 0\n"))
    (cell,) = {m["content"]["execution_count"] for m in of_type(defined, "execute_input")}
    (error,) = of_type(collect(kernel, kernel.execute("_fails()")), "error")
    import re
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error["content"]["traceback"]))
    assert f"In[{cell}], line 2" in text and "return 1 / 0" in text, text
