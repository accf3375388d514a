"""Work-arounds for bugs in the Qt binding, applied once when ``gradstudio.ui`` is imported.

PySide6 6.12.0 on CPython < 3.12: ``SignalInstance.emit()`` returns ``True``
without taking a reference to it, so every ``emit()`` made from Python steals
one reference to ``True``. After a few hundred emits (or at interpreter exit,
when the remaining references are released) CPython aborts with "Fatal Python
error: bool_dealloc: deallocating True or False" — exit 134, for the app and
for a whole pytest run. Measured here: ``sys.getrefcount(True)`` drops by one
per ``emit()``, whatever the signal's arguments or receivers; signals emitted
by Qt itself are not affected. CPython 3.12+ makes ``True``/``False`` immortal,
so the bug is harmless there.

:func:`protect_bool_refcounts` probes for the bug and, if present, gives
``True`` and ``False`` a reserve of 2**40 references: they are static
singletons that are never freed, so the extra references cost nothing, and no
realistic session emits 10**12 signals.

The same binding loses a reference to ``None`` on every call of a method
that returns nothing (``item.setPos(…)``, ``label.setText(…)``: measured −1
per call): None starts near 10,000 references, so building a 2,000-node
graph scene aborted the interpreter with "deallocating None". The same
reserve is given to ``None`` when that probe fires.
"""
from __future__ import annotations

import ctypes
import sys

RESERVE = 1 << 40
_applied = False


def emit_steals_bool_references() -> bool:
    """Whether ``Signal.emit()`` loses a reference to ``True`` (the PySide6 6.12 bug)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(4):
        probe.ping.emit()
    return sys.getrefcount(True) <= before - 4


def void_call_steals_none_references() -> bool:
    """Whether calling a void Qt method loses a reference to ``None`` (PySide6 6.12)."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(4):
        probe.setObjectName("probe")
    return sys.getrefcount(None) <= before - 4


def protect_bool_refcounts() -> bool:
    """Apply the reserve if this interpreter and binding need it. Returns whether it was applied."""
    global _applied
    if _applied:
        return True
    if sys.version_info >= (3, 12) or hasattr(sys, "gettotalrefcount") or sys.implementation.name != "cpython":
        return False
    singletons = (True, False) if emit_steals_bool_references() else ()
    if void_call_steals_none_references():
        singletons += (None,)
    if not singletons:
        return False
    for singleton in singletons:
        refcount = ctypes.c_ssize_t.from_address(id(singleton))
        if abs(refcount.value - (sys.getrefcount(singleton) - 1)) > 8:
            return False            # not the object layout we expect: leave it alone
        refcount.value += RESERVE
    _applied = True
    return True
