"""``torch.accelerator`` as seen on a machine without one: GradStudio runs on the CPU.

``is_available()`` is False, ``current_accelerator()`` is None and ``device_count()``
0, as on a CPU-only torch; everything that would touch a device raises torch's error.
"""

_NONE_AVAILABLE = "Cannot access accelerator device when none is available."


def is_available() -> bool:
    return False


def current_accelerator(check_available: bool = False):
    return None


def device_count() -> int:
    return 0


def _no_device(*args, **kwargs):
    raise RuntimeError(_NONE_AVAILABLE)


current_device_index = current_device_idx = _no_device
set_device_index = set_device_idx = _no_device
synchronize = current_stream = set_stream = _no_device
