"""The app's persistent settings, typed.

A thin layer over ``QSettings`` that always reads back with ``type=`` — in a
new process an INI-backed QSettings returns ``'3'`` for 3, ``'true'`` for True
and a plain string for a one-item list otherwise. Tests point QSettings at a
temporary directory (``QSettings.setPath``) or pass their own.
"""
from __future__ import annotations

import os

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

MAX_RECENT = 8
THEMES = ("system", "light", "dark")


class Settings:
    """Typed accessors; see the module docstring."""

    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings if qsettings is not None else QSettings()

    # -- generic -----------------------------------------------------------------------------
    def _get(self, key: str, default, kind):
        try:
            value = self.q.value(key, default, type=kind)
        except (TypeError, ValueError, RuntimeError):   # a corrupt entry: use the default
            return default
        return default if value is None else value

    def sync(self):
        self.q.sync()

    # -- recent files ------------------------------------------------------------------------
    def recent_files(self, *, prune: bool = True) -> list:
        files = [f for f in self._get("recent/files", [], list) if isinstance(f, str) and f]
        if prune:
            files = [f for f in files if os.path.exists(f)]
        return files[:MAX_RECENT]

    def add_recent(self, path: str):
        path = os.path.abspath(path)
        files = [f for f in self.recent_files(prune=False) if f != path]
        self.q.setValue("recent/files", [path] + files[:MAX_RECENT - 1])

    def remove_recent(self, path: str):
        self.q.setValue("recent/files", [f for f in self.recent_files(prune=False) if f != path])

    def clear_recent(self):
        self.q.setValue("recent/files", [])

    # -- window -------------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        value = self._get("window/geometry", QByteArray(), QByteArray)
        return value if not value.isEmpty() else None

    def set_geometry(self, value: QByteArray):
        self.q.setValue("window/geometry", value)

    def window_state(self) -> QByteArray | None:
        value = self._get("window/state", QByteArray(), QByteArray)
        return value if not value.isEmpty() else None

    def set_window_state(self, value: QByteArray):
        self.q.setValue("window/state", value)

    # -- preferences ----------------------------------------------------------------------------
    def theme(self) -> str:
        value = self._get("view/theme", "system", str)
        return value if value in THEMES else "system"

    def set_theme(self, value: str):
        self.q.setValue("view/theme", value if value in THEMES else "system")

    def autosave_seconds(self) -> int:
        # seconds after the last edit (debounced, see documents.py): a crash loses little
        return min(600, max(1, int(self._get("files/autosave_seconds", 3, int))))

    def set_autosave_seconds(self, seconds: int):
        self.q.setValue("files/autosave_seconds", int(seconds))

    def derive_timeout(self) -> float:
        return min(600.0, max(0.5, float(self._get("kernel/derive_timeout", 10.0, float))))

    def set_derive_timeout(self, seconds: float):
        self.q.setValue("kernel/derive_timeout", float(seconds))

    def last_directory(self) -> str:
        return self._get("files/last_directory", "", str)

    def set_last_directory(self, path: str):
        self.q.setValue("files/last_directory", path)

    def flag(self, key: str, default: bool = False) -> bool:
        return bool(self._get(f"flags/{key}", default, bool))

    def set_flag(self, key: str, value: bool):
        self.q.setValue(f"flags/{key}", bool(value))


def recovery_directory() -> str:
    """Where autosaved copies go: the platform's state directory (never the user's files)."""
    location = getattr(QStandardPaths.StandardLocation, "StateLocation",
                       QStandardPaths.StandardLocation.AppLocalDataLocation)
    base = QStandardPaths.writableLocation(location) or os.path.expanduser("~/.local/state/GradStudio")
    return os.path.join(base, "recovery")
