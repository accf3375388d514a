"""The kernel warms up what the first check needs when the extension loads: the
symbolic worker and, in a thread, PyTorch (the fourth column's import)."""
from __future__ import annotations

import sys

from gradstudio.studio import oracle
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import Session
from gradstudio.studio.symbolic.worker import worker_pid_alive


def test_warm_up_starts_the_symbolic_worker_and_imports_torch_in_a_thread(monkeypatch):
    monkeypatch.delenv("GRADSTUDIO_NO_TORCH", raising=False)
    service = KernelService(Session(), lambda message: None)
    try:
        thread = service.warm_up()
        assert thread.daemon and service.worker is not None and worker_pid_alive(service.symbolic_pid)
        thread.join(120)
        assert not thread.is_alive()
        assert "gradstudio.studio.element_objective" in sys.modules
        assert ("torch" in sys.modules) == oracle.available()
    finally:
        service.close()


def test_the_symbolic_worker_derives_once_before_it_says_it_is_ready():
    from gradstudio.studio import symbolic
    from gradstudio.studio.symbolic import worker
    assert worker._warm_up(symbolic)        # the child runs this before "ready"
