"""The torch replay's own process (gradstudio.studio.oracle_worker): the same answers as the
replay in this process, a stale answer of an interrupted wait dropped, nothing left running."""
from __future__ import annotations

import numpy as np
import pytest

from gradstudio.studio import oracle
from gradstudio.studio.oracle_worker import OracleWorker
from gradstudio.studio.session import Session
from gradstudio.studio.symbolic.worker import worker_pid_alive

pytestmark = pytest.mark.skipif(not oracle.available(), reason="torch is not installed")


def recorded(source: str):
    session = Session()
    session.run_cell("import torch\n" + source)
    (call,) = session.backward_calls
    return call.graph, call.gradient, [leaf.vertex for leaf in call.leaves]


@pytest.fixture(scope="module")
def worker():
    with OracleWorker() as child:
        pid = child.pid
        yield child
    assert not worker_pid_alive(pid)


def test_the_same_gradients_as_the_replay_in_this_process(worker):
    graph, gradient, leaves = recorded("x = torch.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)\n"
                                       "w = torch.tensor([0.3, -0.7], requires_grad=True)\n"
                                       "(torch.tanh(x @ w) ** 2).sum().backward()\n")
    theirs, ours = worker.torch_gradients(graph, gradient, leaves), oracle.torch_gradients(graph, gradient, leaves)
    assert set(theirs) == set(ours) == set(leaves)
    for leaf in leaves:
        np.testing.assert_array_equal(theirs[leaf], ours[leaf])


def test_an_answer_left_by_an_interrupted_wait_is_dropped(worker):
    first = recorded("a = torch.tensor([1.0, 2.0], requires_grad=True)\n(a * 3).sum().backward()\n")
    second = recorded("b = torch.tensor([1.0, 2.0, 4.0], requires_grad=True)\n(b * b).sum().backward()\n")
    restarts = worker.restarts
    worker.torch_gradients(*first)                    # (ready)
    worker._connection.send(("torch", first))         # asked, then the wait was interrupted
    worker._owed = True
    (answer,) = worker.torch_gradients(*second).values()
    np.testing.assert_array_equal(answer, [2.0, 4.0, 8.0])
    assert worker.restarts == restarts                # dropped, not restarted: torch stays imported


def test_a_replay_torch_refuses_is_an_error_and_the_worker_goes_on(worker):
    graph, gradient, leaves = recorded("c = torch.tensor([1.0, 2.0], requires_grad=True)\n(c * 2).sum().backward()\n")
    with pytest.raises(RuntimeError):
        worker.torch_gradients(graph, gradient, leaves + [99])
    assert set(worker.torch_gradients(graph, gradient, leaves)) == set(leaves)


def oracle_children(pid) -> list:
    import psutil
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
    found = []
    for child in children:
        try:
            if "gradstudio.studio.oracle_worker" in child.cmdline():
                found.append(child.pid)
        except psutil.Error:
            pass
    return found


def test_each_kernel_starts_its_own_oracle_and_a_restart_warms_a_new_one_up(monkeypatch):
    """One oracle process per kernel, started with it (not at the first check); a restart's
    fresh kernel has a fresh one, the old kernel's is gone, and shutdown leaves none."""
    import time
    pytest.importorskip("ipykernel")
    from gradstudio.studio.kernel.jupyter import JupyterKernel
    monkeypatch.delenv("GRADSTUDIO_NO_TORCH", raising=False)

    def wait_for(condition, timeout=60.0):
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)
        return condition()

    with JupyterKernel() as kernel:
        assert wait_for(lambda: len(oracle_children(kernel.pid)) == 1)
        (first,) = oracle_children(kernel.pid)
        kernel.restart(timeout=120)
        assert wait_for(lambda: len(oracle_children(kernel.pid)) == 1)
        (second,) = oracle_children(kernel.pid)
        assert second != first and wait_for(lambda: not worker_pid_alive(first), 10)
    assert wait_for(lambda: not worker_pid_alive(second), 10)
