"""``torch.backends``: which accelerators and libraries exist. GradStudio runs on
numpy on the CPU, so every accelerator reports unavailable (as a CPU-only torch
build does for cuda, cudnn and mps)."""
from __future__ import annotations


class _Backend:
    def __init__(self, name: str, available: bool):
        self.__name__ = f"torch.backends.{name}"
        self._available = available
        self.enabled = available

    def is_available(self) -> bool:
        return self._available

    def is_built(self) -> bool:
        return self._available

    def __repr__(self):
        return f"<module '{self.__name__}'>"


cpu = _Backend("cpu", True)
cudnn = _Backend("cudnn", False)
mps = _Backend("mps", False)
cuda = _Backend("cuda", False)
mkl = _Backend("mkl", False)
mkldnn = _Backend("mkldnn", False)
openmp = _Backend("openmp", False)


def _cpu_capability() -> str:
    return "DEFAULT"


cpu.get_cpu_capability = _cpu_capability
