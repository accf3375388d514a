"""``tril`` and ``triu``: the lower or upper triangle of the last two dims, the rest
zero (TrilBackward0, TriuBackward0; the gradient is the same triangle of the incoming
one). ``diagonal`` counts diagonals above the main one (negative: below), as in
torch — ``torch.tril(torch.ones(T, T))`` is a causal attention mask."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from . import samples
from .inplace import inplace
from .table import Op, Param, apply


def _triangle_sympy(keep):
    def sympy(x, *, diagonal):
        return keep(x, diagonal)  # numpy's tril/triu keep object arrays' entries, zero the rest
    return sympy


def _row(name: str, keep, grad_fn: str, doc: str) -> Op:
    return Op(
        id=f"triangular.{name.upper()}",
        name=grad_fn,
        forward=lambda x, *, diagonal: keep(x, diagonal),
        vjp=(lambda g, r, x, *, diagonal: apply(ROWS[name], (g,), {"diagonal": diagonal}),),
        sympy=_triangle_sympy(keep),
        kind="array",
        label=name,
        doc=doc,
        category="shape",
        params=(Param("diagonal", "int", 0),),
        sample=lambda rng: ([samples.uniform(rng, (3, 4))], {"diagonal": -1}),
        torch=lambda torch, x, diagonal: getattr(torch, name)(x, diagonal),
    )


ROWS = {}
TRIL = ROWS["tril"] = _row("tril", np.tril, "TrilBackward0",
                           "the lower triangle (last two dims), zeros above")
TRIU = ROWS["triu"] = _row("triu", np.triu, "TriuBackward0",
                           "the upper triangle (last two dims), zeros below")


def _triangle(name: str):
    def function(input: Tensor, diagonal: int = 0) -> Tensor:
        if input._data.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        return apply(ROWS[name], (input,), {"diagonal": int(diagonal)})
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``torch.{name}(input, diagonal=0)``: {ROWS[name].doc}."
    return function


tril = _triangle("tril")
triu = _triangle("triu")
tril_ = inplace(tril)
triu_ = inplace(triu)
