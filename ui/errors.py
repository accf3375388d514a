"""Errors nobody caught: shown in the window, never lost.

In PySide6 an exception raised in a slot does not reach the caller; it goes
to ``sys.excepthook`` and the app carries on. :func:`install_excepthook`
sends it (and internal errors reported by the kernel) to an
:class:`ErrorReporter`, whose signal the main window turns into a red
status-bar button and a non-modal error log.
"""
from __future__ import annotations

import sys
import traceback

from PySide6.QtCore import QObject, Signal


class ErrorReporter(QObject):
    errorReported = Signal(str, str)     # (one-line summary, details)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.errors: list = []

    def report(self, summary: str, details: str = ""):
        self.errors.append((summary, details))
        self.errorReported.emit(summary, details)

    def report_exception(self, exc_type, value, tb):
        details = "".join(traceback.format_exception(exc_type, value, tb))
        summary = f"{exc_type.__name__}: {value}".strip()
        self.report(summary.splitlines()[0] if summary else exc_type.__name__, details)


def install_excepthook(reporter: ErrorReporter):
    """Route uncaught exceptions to ``reporter`` (and stderr). Returns the previous hook."""
    previous = sys.excepthook

    def hook(exc_type, value, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            return previous(exc_type, value, tb)
        traceback.print_exception(exc_type, value, tb, file=sys.stderr)
        try:
            reporter.report_exception(exc_type, value, tb)
        except RuntimeError:   # the reporter is gone (window closed): stderr is all we have
            pass

    sys.excepthook = hook
    return previous
