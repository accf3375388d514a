"""The kernel warms up what the first check needs when the extension loads: the
symbolic worker, torch's replay in a process of its own (the kernel's process never
imports torch, whose import would hold the GIL against the user's first cell), and,
in a thread, the modules a check uses."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gradstudio.studio import oracle
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import Session
from gradstudio.studio.symbolic.worker import worker_pid_alive

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
needs_torch = pytest.mark.skipif(not oracle.available(), reason="torch is not installed")


def test_warm_up_starts_the_workers_and_imports_the_checks_modules_in_a_thread(monkeypatch):
    monkeypatch.delenv("GRADSTUDIO_NO_TORCH", raising=False)
    service = KernelService(Session(), lambda message: None)
    try:
        thread = service.warm_up()
        assert thread.daemon and service.worker is not None and worker_pid_alive(service.symbolic_pid)
        assert (service.oracle is not None) == oracle.available()
        oracle_pid = service.oracle.pid if service.oracle is not None else None
        thread.join(120)
        assert not thread.is_alive()
        assert "gradstudio.studio.element_objective" in sys.modules
        service.warm_up()                       # again (a second load): nothing started twice
        assert service.oracle is None or service.oracle.pid == oracle_pid
    finally:
        service.close()
    assert oracle_pid is None or not worker_pid_alive(oracle_pid)


def test_without_torch_no_oracle_process(monkeypatch):
    monkeypatch.setenv("GRADSTUDIO_NO_TORCH", "1")
    service = KernelService(Session(), lambda message: None)
    try:
        service.warm_up().join(120)
        assert service.oracle is None
    finally:
        service.close()


@needs_torch
def test_the_kernels_process_checks_against_torch_without_importing_it():
    """A warmed-up service's check has its torch column, replayed in the oracle's process;
    the process running the user's cells never loads torch (run in a child, so that no
    other test's torch is in ``sys.modules``)."""
    code = ("import sys\n"
            "from gradstudio.studio.kernel.service import KernelService\n"
            "from gradstudio.studio.session import Session\n"
            "session = Session(); sent = []\n"
            "service = KernelService(session, sent.append)\n"
            "service.warm_up().join()\n"
            "run, = session.run_script('import torch\\nx = torch.tensor([1.0, 2.0], requires_grad=True)\\n'\n"
            "                          '(x * x).sum().backward()\\n')\n"
            "service.check_calls(run.backward_calls, 30)\n"
            "check = sent[-1].check\n"
            "print(check.leaves[0].torch.tolist(), 'torch' in sys.modules)\n"
            "service.close()\n")
    env = {k: v for k, v in os.environ.items() if k != "GRADSTUDIO_NO_TORCH"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env=dict(env, PYTHONPATH=ROOT), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[2.0,", "4.0]", "False"], done.stdout + done.stderr


def test_the_symbolic_worker_derives_once_before_it_says_it_is_ready():
    from gradstudio.studio import symbolic
    from gradstudio.studio.symbolic import worker
    assert worker._warm_up(symbolic)        # the child runs this before "ready"
