"""``torch.autograd`` for GradStudio: ``backward``, ``grad``, the functional
API (jacobian, hessian, vjp, jvp), custom ``Function``s, ``gradcheck`` and the
grad-mode switches.

The argument checking here reproduces torch's errors; the graph walk itself
is :mod:`gradstudio.autograd.engine`.
"""
from __future__ import annotations

from . import functional, graph, profiler  # noqa: F401
from .anomaly import detect_anomaly, set_detect_anomaly  # noqa: F401
from .api import backward, grad  # noqa: F401
from .function import Function  # noqa: F401
from .gradcheck import gradcheck, gradgradcheck  # noqa: F401
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,  # noqa: F401
                        set_grad_enabled)


def Variable(data, requires_grad: bool = False, volatile: bool = False):
    """The pre-0.4 wrapper: a new leaf sharing ``data``'s values; ``data`` itself is left
    alone (torch 2.x: ``Variable(t, requires_grad=True)`` does not make ``t`` require grad)."""
    alias = data.detach()
    if requires_grad:
        alias.requires_grad_(True)
    return alias
