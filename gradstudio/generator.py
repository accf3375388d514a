"""``torch.Generator``: a random-number stream of its own, for code that passes
``generator=`` (DataLoader shuffling, random_split). The draws are GradStudio's
(numpy's PCG64), not torch's: the same seed gives a reproducible, but different,
sequence."""
from __future__ import annotations

import numpy as np


class Generator:
    """A seeded numpy generator behind ``torch.Generator().manual_seed(s)``."""

    def __init__(self, device="cpu"):
        self._seed = int(np.random.SeedSequence().entropy % (2 ** 63))
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed & 0xFFFFFFFFFFFFFFFF)
        return self

    def seed(self) -> int:
        return self.manual_seed(int(np.random.SeedSequence().entropy % (2 ** 63)))._seed

    def initial_seed(self) -> int:
        return self._seed

    @property
    def device(self):
        from .tensor import device
        return device("cpu")

    def __repr__(self):
        return f"<torch._C.Generator object at {hex(id(self))}>"


def rng(generator) -> np.random.Generator:
    """The numpy generator to draw from: ``generator``'s, else the global one."""
    if generator is not None:
        return generator._rng
    from .ops.creation import _rng
    return _rng()
