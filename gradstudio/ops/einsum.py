"""``torch.einsum`` for one or two operands, as four rows named as torch names
the result's grad_fn.

torch runs einsum as permutes, unsqueezes, a ``bmm`` and views, so the grad_fn of
the result is the last of those: ``ViewBackward0`` for a contraction (``ij,jk->ik``,
``i,i->``, ``bij,bjk->bik``), ``MulBackward0`` for a product with nothing summed
(``i,j->ij``, ``ij,ij->ij``), ``PermuteBackward0`` for a rearrangement or a
diagonal (``ij->ji``, ``ii->i``) and ``SumBackward1`` when one operand is summed
over (``ii->``, ``ij->``, ``ij->i``). Here each is one node (the equation its
param), which torch's chain collapses to; :func:`einsum` picks the row as torch's
decomposition would end.

The VJP of an operand is another einsum (the gradient contracted with the other
operand, ``O,B->A``), expanded over indices only that operand had and put back on
the diagonal for a repeated index (``ii``), so double backward works. The matrix
forward maps the equation onto products, transposes, traces and sums
(:func:`gradstudio.ops._matrix.einsum`).
"""
from __future__ import annotations

import numpy as np

from . import _matrix, samples
from .table import Op, Param, SAVES_INPUTS, apply


def parse(equation: str, operands: int) -> tuple:
    """(input index strings, output index string) of an explicit or implicit equation."""
    equation = equation.replace(" ", "")
    if "." in equation:
        raise NotImplementedError("GradStudio's einsum has no ellipsis ('...')")
    left, arrow, out = equation.partition("->")
    inputs = left.split(",")
    if len(inputs) != operands:
        raise RuntimeError(f"einsum(): more operands were provided than specified in the equation"
                           if len(inputs) < operands else
                           "einsum(): fewer operands were provided than specified in the equation")
    if not arrow:   # implicit: the indices that occur once, in alphabetical order
        counts = {c: left.count(c) for c in set(left) - {","}}
        out = "".join(sorted(c for c, n in counts.items() if n == 1))
    if not all(s.isalpha() for s in inputs + [out] if s):
        raise RuntimeError("einsum(): invalid subscript given at index 0 in the equation string, "
                           "subscripts must be in [a-zA-Z]")
    return tuple(inputs), out


def _forward(*arrays, equation):
    return np.asarray(np.einsum(equation, *arrays))


def _sympy(*arrays, equation):
    return np.asarray(np.einsum(equation, *arrays), dtype=object)


def _vjp(position: int):
    def rule(g, r, *inputs, equation):
        ins, out = parse(equation, len(inputs))
        own = ins[position]
        others = [s for k, s in enumerate(ins) if k != position]
        tensors = [t for k, t in enumerate(inputs) if k != position]
        unique = "".join(dict.fromkeys(own))
        reachable = "".join(c for c in unique if c in out or any(c in s for s in others))
        grad = einsum(f"{','.join([out] + others)}->{reachable}", g, *tensors)
        sizes = dict(zip(own, inputs[position].shape))
        # indices only this operand had were summed: each of their elements gets the same gradient
        for k, c in enumerate(unique):
            if c not in reachable:
                grad = grad.unsqueeze(k)
        grad = grad.expand(*(sizes[c] for c in unique)) if unique != reachable else grad
        if unique != own:               # ii: the gradient sits on the diagonal
            if own != unique * 2:
                raise NotImplementedError("GradStudio's einsum repeats an index only as 'ii'")
            from .matrix_functions import diag
            grad = diag(grad)
        return grad
    return rule


def _row(id: str, name: str, arity: int, doc: str, equation: str, shapes) -> Op:
    # saved={}: torch's einsum node is the last of its own decomposition (permutes, views,
    # bmm of reshaped operands), whose saved values are intermediates this row never makes
    return Op(id=id, name=name, forward=_forward, vjp=tuple(_vjp(k) for k in range(arity)),
              saves=SAVES_INPUTS, params=(Param("equation", "str"),), sympy=_sympy, saved={},
              matrix=_matrix.einsum, kind="array", label="einsum", doc=doc, category="linear algebra",
              arity=arity,
              sample=lambda rng: ([samples.uniform(rng, s) for s in shapes], {"equation": equation}),
              torch=lambda torch, *xs, equation: torch.einsum(equation, *xs))


EINSUM_CONTRACT = _row("einsum.CONTRACT", "ViewBackward0", 2,
                       "einsum summing over a shared index (ij,jk->ik, i,i->)", "ij,jk->ik", ((3, 4), (4, 2)))
EINSUM_PRODUCT = _row("einsum.PRODUCT", "MulBackward0", 2,
                      "einsum with nothing summed (i,j->ij, ij,ij->ij)", "i,j->ij", ((3,), (4,)))
EINSUM_REARRANGE = _row("einsum.REARRANGE", "PermuteBackward0", 1,
                        "einsum rearranging one operand (ij->ji, ii->i)", "ij->ji", ((3, 4),))
EINSUM_SUM = _row("einsum.SUM", "SumBackward1", 1,
                  "einsum summing one operand (ii->, ij->, ij->i)", "ii->", ((3, 3),))


def _pick(inputs: tuple, out: str) -> Op:
    if len(inputs) == 1:
        return EINSUM_SUM if set(inputs[0]) - set(out) else EINSUM_REARRANGE
    summed = (set(inputs[0]) | set(inputs[1])) - set(out)
    return EINSUM_CONTRACT if summed else EINSUM_PRODUCT


def einsum(equation, *operands):
    """``torch.einsum(equation, *operands)`` (or a list of operands) for one or two operands."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if len(operands) not in (1, 2):
        raise NotImplementedError("GradStudio's einsum takes one or two operands")
    inputs, out = parse(equation, len(operands))
    for s, t in zip(inputs, operands):
        if len(s) != t.dim():
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(s)}) does not "
                               f"match the number of dimensions ({t.dim()}) for operand "
                               f"{operands.index(t)} and no ellipsis was given")
    normal = f"{','.join(inputs)}->{out}"
    return apply(_pick(inputs, out), tuple(operands), {"equation": normal})
