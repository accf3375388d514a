"""Anomaly detection switches. GradStudio records where each node was created
anyway (the session layer shows it), so these only keep torch's API."""
from __future__ import annotations

_enabled = False


def is_anomaly_enabled() -> bool:
    return _enabled


class set_detect_anomaly:
    def __init__(self, mode: bool, check_nan: bool = True):
        global _enabled
        self._prev = _enabled
        _enabled = bool(mode)

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        global _enabled
        _enabled = self._prev
        return False


class detect_anomaly(set_detect_anomaly):
    def __init__(self, check_nan: bool = True):
        super().__init__(True, check_nan)
