"""Saving a plot to a file: the dialog (replaced in tests) and the save itself.

The toolbar's save button comes here instead of matplotlib's own dialog, so
that tests patch one function (``export.ask_export_path``) and the picture
is saved with the figure's own background (a dark plot stays dark).
"""
from __future__ import annotations

import os

from PySide6.QtWidgets import QFileDialog

FORMATS = (("PNG image", "png"), ("SVG drawing", "svg"), ("PDF document", "pdf"))
FILTER = ";;".join(f"{name} (*.{ext})" for name, ext in FORMATS)
_last_directory = ""


def ask_export_path(parent, suggested: str) -> str | None:
    """Where to save a plot (a path with an extension), or None if cancelled."""
    global _last_directory
    start = os.path.join(_last_directory or os.path.expanduser("~"), suggested)
    path, chosen = QFileDialog.getSaveFileName(parent, "Export Plot", start, FILTER,
                                               options=QFileDialog.Option.DontUseNativeDialog)
    if not path:
        return None
    _last_directory = os.path.dirname(path)
    if os.path.splitext(path)[1].lower().lstrip(".") not in {ext for _, ext in FORMATS}:
        ext = next((e for name, e in FORMATS if chosen.startswith(name)), "png")
        path += "." + ext
    return path


def save_figure(figure, path: str):
    """Write ``figure`` to ``path``; the format follows the extension (PNG, SVG, PDF)."""
    ext = os.path.splitext(path)[1].lower().lstrip(".") or "png"
    figure.savefig(path, format=ext, dpi=150 if ext == "png" else "figure",
                   facecolor=figure.get_facecolor(), edgecolor="none")
