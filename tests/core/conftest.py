"""Shared fixtures for the core tests (no Qt anywhere under tests/core).

``gs`` is GradStudio's torch-compatible module; ``torch`` is the real PyTorch,
the oracle, and skips the test when it is not installed
(``pip install -e '.[oracle]'``).
"""
from __future__ import annotations

import pathlib
import sys

import pytest

_ROOT = pathlib.Path(__file__).resolve().parents[2]
try:
    import gradstudio  # noqa: F401
except ImportError:  # run from a checkout without PYTHONPATH=. or an editable install
    sys.path.insert(0, str(_ROOT))
    import gradstudio  # noqa: F401


@pytest.fixture(scope="session")
def torch():
    """The real PyTorch (the oracle), single-threaded so results are reproducible."""
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


@pytest.fixture(scope="session")
def gs():
    """GradStudio, the library under test (``import gradstudio as torch``)."""
    import gradstudio
    return gradstudio


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    return _ROOT
