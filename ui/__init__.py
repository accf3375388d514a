"""GradStudio's desktop app (PySide6), installed as ``gradstudio.ui``.

Importing it applies the binding work-arounds in :mod:`.qt_workarounds`
before any signal is emitted.
"""
from .qt_workarounds import protect_bool_refcounts as _protect_bool_refcounts

_protect_bool_refcounts()
