"""One guard against echoes: a panel setting its own widgets from the model must
not take the widgets' change signals for the user's edits and send them back.

``self._syncing = EchoGuard()`` once; ``with self._syncing: combo.setCurrentIndex(i)``
where the panel sets a widget; ``if self._syncing: return`` in the slot. It
counts, so a guarded block inside another (a refresh that re-selects) leaves the
outer one guarded, and it ends on an exception like ``try … finally`` does.
Unlike ``QSignalBlocker`` the signal still reaches every other receiver (the
widget's own painting, another panel, a test).
"""
from __future__ import annotations


class EchoGuard:
    __slots__ = ("_depth",)

    def __init__(self):
        self._depth = 0

    def __bool__(self) -> bool:
        return self._depth > 0

    def __enter__(self):
        self._depth += 1
        return self

    def __exit__(self, *exc_info) -> bool:
        self._depth -= 1
        return False          # an exception goes on
