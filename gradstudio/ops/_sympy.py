"""Lazy access to sympy for the op table's symbolic forwards.

Importing sympy costs about half a second, so the engine never imports it;
an op's ``sympy`` callable calls :func:`sp` when the symbolic side runs it.
"""
from __future__ import annotations

import importlib


def sp():
    """The sympy module (imported on first use)."""
    return importlib.import_module("sympy")
