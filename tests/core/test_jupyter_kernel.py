"""GradStudio's kernel on the Jupyter protocol (no Qt): a real ipykernel started
by jupyter_client through gradstudio.studio.kernel.launch, read without blocking."""
from __future__ import annotations

import json
import os
import signal
import stat
import time

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
    assert "zeros" in completion["matches"] and completion["cursor_start"] == 6
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
