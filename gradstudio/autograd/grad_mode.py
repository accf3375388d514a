"""Grad mode: whether operations record the graph.

``no_grad``, ``enable_grad``, ``set_grad_enabled`` and ``inference_mode`` work
as context managers and as decorators, as in torch. The flag lives in
:data:`state` so the hot path of every op reads one attribute.
"""
from __future__ import annotations

import functools


class _State:
    __slots__ = ("enabled", "tracing")

    def __init__(self):
        self.enabled = True
        # When on (a GradStudio session is recording), every node also keeps
        # all its inputs and its output value, for the graph view, the
        # symbolic derivation and finite differences.
        self.tracing = False


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


class _GradMode:
    """Sets grad mode to ``self._mode`` inside a ``with`` block or a decorated function."""

    _mode: bool

    def __enter__(self):
        self._prev = state.enabled
        state.enabled = self._mode

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, func):
        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            prev = state.enabled
            state.enabled = mode
            try:
                return func(*args, **kwargs)
            finally:
                state.enabled = prev
        return wrapper


class _BareDecoratable(_GradMode):
    """Allows ``@no_grad`` as well as ``@no_grad()``."""

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        return self(orig_func) if callable(orig_func) else self

    def __init__(self, orig_func=None):
        pass


class no_grad(_BareDecoratable):
    """Disable gradient recording."""

    _mode = False


class enable_grad(_BareDecoratable):
    """Re-enable gradient recording, e.g. inside a no_grad block."""

    _mode = True


class set_grad_enabled(_GradMode):
    """Set grad mode to ``mode``. Like torch it takes effect when constructed,
    so ``torch.set_grad_enabled(False)`` also works as a plain call."""

    def __init__(self, mode: bool):
        self._prev = state.enabled
        self._mode = bool(mode)
        state.enabled = self._mode

    def __enter__(self):
        pass

    def __call__(self, func):
        state.enabled = self._prev  # used as a decorator: undo the call's effect
        return super().__call__(func)


class inference_mode(_GradMode):
    """Treated as no_grad: GradStudio has no separate inference tensors."""

    def __new__(cls, mode=True):
        self = super().__new__(cls)
        if callable(mode):
            self._mode = False
            return self(mode)
        return self

    def __init__(self, mode=True):
        if not callable(mode):
            self._mode = not bool(mode)
