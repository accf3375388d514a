"""``torch.Generator`` and ``torch.default_generator``: random-number streams.

The draws are GradStudio's (numpy's PCG64), not torch's: the same seed gives a
reproducible, but different, sequence. As in torch, a process starts with a
random seed (torch 2.x seeds its default generator non-deterministically), and
``manual_seed`` makes what follows reproducible. A state is a ``uint8`` tensor
(:meth:`Generator.get_state`): the seed and PCG64's state, little-endian."""
from __future__ import annotations

import numpy as np

_STATE_BYTES = 8 + 16 + 16 + 1 + 4     # seed, PCG64 state and increment, has_uint32, uinteger


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().entropy % (2 ** 63))


class Generator:
    """A seeded numpy generator behind ``torch.Generator().manual_seed(s)``."""

    def __init__(self, device="cpu"):
        self.manual_seed(_fresh_seed())

    def manual_seed(self, seed: int) -> "Generator":
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed & 0xFFFFFFFFFFFFFFFF)
        return self

    def seed(self) -> int:
        return self.manual_seed(_fresh_seed())._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The generator's state as a uint8 tensor, for :meth:`set_state`."""
        from .tensor import Tensor
        state = self._rng.bit_generator.state
        words = ((self._seed & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little")
                 + state["state"]["state"].to_bytes(16, "little") + state["state"]["inc"].to_bytes(16, "little")
                 + bytes([state["has_uint32"]]) + int(state["uinteger"]).to_bytes(4, "little"))
        return Tensor._make(np.frombuffer(words, dtype=np.uint8).copy())

    def set_state(self, new_state) -> "Generator":
        from .tensor import Tensor
        if not isinstance(new_state, Tensor) or new_state._data.dtype != np.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        words = new_state._data.tobytes()
        if len(words) != _STATE_BYTES:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE_BYTES} but found the input "
                               f"RNG state size to be {len(words)}")
        self._seed = int.from_bytes(words[:8], "little")
        self._rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int.from_bytes(words[8:24], "little"), "inc": int.from_bytes(words[24:40], "little")},
            "has_uint32": words[40], "uinteger": int.from_bytes(words[41:45], "little")}
        return self

    @property
    def device(self):
        from .tensor import device
        return device("cpu")

    def __repr__(self):
        return f"<torch._C.Generator object at {hex(id(self))}>"


default_generator = Generator()


def rng(generator) -> np.random.Generator:
    """The numpy generator to draw from: ``generator``'s, else the default one."""
    return (default_generator if generator is None else generator)._rng
