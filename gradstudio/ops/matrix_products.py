"""Scaled products added to a tensor — ``addmv`` (β·c + α·A v), ``addr`` (β·C + α·u vᵀ),
``baddbmm`` (β·C + α·A_b B_b per batch), ``addbmm`` (β·C + α·Σ_b A_b B_b) — one row each
with torch's node (AddmvBackward0, AddrBackward0, BaddbmmBackward0, AddbmmBackward0) and
its saved attributes; and the products torch composes from ``mm``: ``linalg.multi_dot``
and ``chain_matmul`` (the cheapest parenthesisation, ViewBackward0 over MmBackward0s)
and ``kron`` (UnsafeViewBackward0 ← MulBackward0 of two interleaved unsafe views).

The rules are derivatives.yaml's: the term's gradient is ``grad`` times the scale, left
out when the scale is 1 (torch's maybe_multiply), so the recorded backward has torch's
nodes. With β = 0 the added tensor is not read (a nan in it does not come through).
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.saved import Arg, Computed, Input
from ..dtypes import type_meta_name
from ..tensor import Tensor
from . import samples
from .linalg import _kind, bmm, mm, mv
from .table import SAVES_INPUTS, Op, Param, apply


def _scaled(value, scale):
    return value if scale == 1 else value * scale


def _scaled_sum(c, product, beta, alpha):
    """β·c + α·product, c not read when β = 0 (torch's kernels skip it)."""
    product = _scaled(product, alpha)
    if beta == 0:
        return np.broadcast_to(product, np.broadcast_shapes(c.shape, product.shape)).copy()
    return _scaled(c, beta) + product


def _grad_of_added(g, r, c, *rest, beta, alpha):
    return _scaled(g, beta)


_SCALES = (Param("beta", "float", 1), Param("alpha", "float", 1))


def _sample(*shapes):
    def sample(rng):
        return [samples.uniform(rng, s) for s in shapes], {"beta": 0.5, "alpha": 2.0}
    return sample


ADDMV = Op(
    id="matrix_products.ADDMV",
    saved={"alpha": Arg("alpha"), "beta": Arg("beta"), "mat": Input(1), "vec": Input(2)},
    name="AddmvBackward0",
    forward=lambda c, a, v, *, beta, alpha: _scaled_sum(c, a @ v, beta, alpha),
    vjp=(_grad_of_added,
         lambda g, r, c, a, v, *, beta, alpha: _scaled(g.outer(v), alpha),
         lambda g, r, c, a, v, *, beta, alpha: _scaled(mv(a.t(), g), alpha)),
    saves=SAVES_INPUTS,
    sympy=lambda c, a, v, *, beta, alpha: beta * c + alpha * a.dot(v),
    matrix=lambda M, c, a, v, *, beta, alpha: M.scale(beta, c) + M.scale(alpha, M.mm(a, v)),
    kind="array",
    label="c+A·v",
    doc="β·c + α·(matrix @ vector)",
    category="linear algebra",
    arity=3,
    params=_SCALES,
    sample=_sample((3,), (3, 4), (4,)),
    torch=lambda torch, c, a, v, beta, alpha: torch.addmv(c, a, v, beta=beta, alpha=alpha),
)
ADDR = Op(
    id="matrix_products.ADDR",
    saved={"alpha": Arg("alpha"), "beta": Arg("beta"), "vec1": Input(1), "vec2": Input(2)},
    name="AddrBackward0",
    forward=lambda c, u, v, *, beta, alpha: _scaled_sum(c, np.outer(u, v), beta, alpha),
    vjp=(_grad_of_added,
         lambda g, r, c, u, v, *, beta, alpha: _scaled(mv(g, v), alpha),
         lambda g, r, c, u, v, *, beta, alpha: _scaled(mv(g.t(), u), alpha)),
    saves=SAVES_INPUTS,
    sympy=lambda c, u, v, *, beta, alpha: beta * c + alpha * np.outer(u, v),
    matrix=lambda M, c, u, v, *, beta, alpha: M.scale(beta, c) + M.scale(alpha, M.mm(u, M.T(v))),
    kind="array",
    label="C+u·vᵀ",
    doc="β·C + α·(outer product of two vectors)",
    category="linear algebra",
    arity=3,
    params=_SCALES,
    sample=_sample((3, 4), (3,), (4,)),
    torch=lambda torch, c, u, v, beta, alpha: torch.addr(c, u, v, beta=beta, alpha=alpha),
)
BADDBMM = Op(
    id="matrix_products.BADDBMM",
    saved={"alpha": Arg("alpha"), "batch1": Input(1), "batch2": Input(2), "beta": Arg("beta")},
    name="BaddbmmBackward0",
    forward=lambda c, a, b, *, beta, alpha: _scaled_sum(c, np.matmul(a, b), beta, alpha),
    vjp=(_grad_of_added,
         lambda g, r, c, a, b, *, beta, alpha: _scaled(bmm(g, b.transpose(1, 2)), alpha),
         lambda g, r, c, a, b, *, beta, alpha: _scaled(bmm(a.transpose(1, 2), g), alpha)),
    saves=SAVES_INPUTS,
    sympy=lambda c, a, b, *, beta, alpha: beta * c + alpha * np.matmul(a, b),
    kind="array",
    label="C+A·B",
    doc="β·C + α·(batched matrix product)",
    category="linear algebra",
    arity=3,
    params=_SCALES,
    sample=_sample((3, 2), (2, 3, 4), (2, 4, 2)),
    torch=lambda torch, c, a, b, beta, alpha: torch.baddbmm(c, a, b, beta=beta, alpha=alpha),
)


def _batch_grad(g, a, b):
    """``grad`` of addbmm as one per batch: (n, m) spread over the batch of ``a``."""
    return g.unsqueeze(0).expand(a.shape[0], a.shape[1], b.shape[2])


ADDBMM = Op(
    id="matrix_products.ADDBMM",
    saved={"alpha": Arg("alpha"), "batch1": Input(1), "batch2": Input(2), "beta": Arg("beta"),
           "batch1_sym_argsize_0": Computed(lambda c, a, b, **k: a[0], tensor=False),
           "batch1_sym_argsize_1": Computed(lambda c, a, b, **k: a[1], tensor=False),
           "batch2_sym_argsize_2": Computed(lambda c, a, b, **k: b[2], tensor=False)},
    name="AddbmmBackward0",
    forward=lambda c, a, b, *, beta, alpha: _scaled_sum(c, np.matmul(a, b).sum(0), beta, alpha),
    vjp=(_grad_of_added,
         lambda g, r, c, a, b, *, beta, alpha: _scaled(bmm(_batch_grad(g, a, b), b.transpose(1, 2)), alpha),
         lambda g, r, c, a, b, *, beta, alpha: _scaled(bmm(a.transpose(1, 2), _batch_grad(g, a, b)), alpha)),
    saves=SAVES_INPUTS,
    sympy=lambda c, a, b, *, beta, alpha: beta * c + alpha * np.matmul(a, b).sum(0),
    kind="array",
    label="C+ΣA·B",
    doc="β·C + α·(sum over the batch of matrix products)",
    category="linear algebra",
    arity=3,
    params=_SCALES,
    sample=_sample((3, 2), (2, 3, 4), (2, 4, 2)),
    torch=lambda torch, c, a, b, beta, alpha: torch.addbmm(c, a, b, beta=beta, alpha=alpha),
)


def _expandable(input: Tensor, shape: tuple) -> None:
    """torch's error when the added tensor does not broadcast to the product's shape."""
    from .shape import expand
    expand(input.detach(), *shape)


def _same_dtypes(input, batch1, batch2) -> None:
    if len({input.dtype, batch1.dtype, batch2.dtype}) > 1:
        names = [type_meta_name(t._data.dtype) for t in (input, batch1, batch2)]
        raise RuntimeError(f"Input dtypes must be the same, got: input {names[0]}, batch1: {names[1]}, "
                           f"batch2: {names[2]}")


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """β·input + α·(mat @ vec)."""
    if mat.dim() != 2 or vec.dim() != 1 or input.dim() > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.dim()}, {mat.dim()}, {vec.dim()}")
    (n, k), length = mat.shape, vec.shape[0]
    if k != length or (input.dim() == 1 and input.shape[0] not in (1, n)):
        sizes = f"({input.shape[0]})" if input.dim() else "()"
        raise RuntimeError(f"size mismatch, got input {sizes}, mat ({n}x{k}), vec ({length})")
    if len({input.dtype, mat.dtype, vec.dtype}) > 1:
        raise RuntimeError("addmv input tensors must have the same dtype, but got "
                           f"{_kind(input)}, {_kind(mat)}, and {_kind(vec)}")
    return apply(ADDMV, (input, mat, vec), {"beta": beta, "alpha": alpha})


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """β·input + α·(vec1 ⊗ vec2)."""
    for name, vec in (("vec1", vec1), ("vec2", vec2)):
        if vec.dim() != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {vec.dim()}-D")
    _expandable(input, (vec1.shape[0], vec2.shape[0]))  # mixed dtypes promote, as torch's addr
    return apply(ADDR, (input, vec1, vec2), {"beta": beta, "alpha": alpha})


def _size(t: Tensor, dim: int) -> int:
    return t.size(dim)  # torch's own "Dimension out of range" for too few dims


def _three_dims(batch1, batch2) -> None:
    for name, batch in (("batch1", batch1), ("batch2", batch2)):
        if batch.dim() != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """β·input + α·(batch1 @ batch2), per batch (torch broadcasts ``input`` first, then
    checks the batches)."""
    _expandable(input, (_size(batch1, 0), _size(batch1, 1), _size(batch2, 2)))
    _three_dims(batch1, batch2)
    (b, n, k), (b2, k2, m) = batch1.shape, batch2.shape
    if (b2, k2) != (b, k):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {k}] "
                           f"but got: [{b2}, {k2}].")
    _same_dtypes(input, batch1, batch2)
    return apply(BADDBMM, (input, batch1, batch2), {"beta": beta, "alpha": alpha})


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """β·input + α·Σ_b (batch1[b] @ batch2[b])."""
    _expandable(input, (_size(batch1, 1), _size(batch2, 2)))
    _three_dims(batch1, batch2)
    (b, n, k), (b2, k2, m) = batch1.shape, batch2.shape
    if b != b2:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {b} and {b2}")
    if k != k2:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({n}x{k} and {k2}x{m})")
    if len({input.dtype, batch1.dtype, batch2.dtype}) > 1:
        first, second = (batch1, batch2) if batch1.dtype != batch2.dtype else (input, batch1)
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_kind(first)} and {_kind(second)}")
    return apply(ADDBMM, (input, batch1, batch2), {"beta": beta, "alpha": alpha})


def _chain_order(shapes: list) -> list:
    """split[i][j]: where the cheapest product of matrices i..j is cut (ATen's
    matrix_chain_order; the first of equal costs wins)."""
    n = len(shapes)
    p = [s[0] for s in shapes] + [shapes[-1][1]]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                q = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if q < cost[i][j]:
                    cost[i][j], split[i][j] = q, k
    return split


def _chain_product(matrices: list, split: list, i: int, j: int):
    if i == j:
        return matrices[i]
    k = split[i][j]
    return mm(_chain_product(matrices, split, i, k), _chain_product(matrices, split, k + 1, j))


def multi_dot(tensors, *, out=None):
    """The product of the matrices (the first and last may be vectors) in the cheapest order."""
    tensors = list(tensors)
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    out_shape = []
    first, last = tensors[0], tensors[-1]
    if first.dim() not in (1, 2):
        raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {first.dim()}D")
    if last.dim() not in (1, 2):
        raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {last.dim()}D")
    for i in range(1, n - 1):
        if tensors[i].dim() != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {tensors[i].dim()}D")
    matrices = list(tensors)
    if first.dim() == 1:
        matrices[0] = first.unsqueeze(0)
    else:
        out_shape.append(first.shape[0])
    if last.dim() == 1:
        matrices[-1] = last.unsqueeze(-1)
    else:
        out_shape.append(last.shape[1])
    for i, matrix in enumerate(matrices):
        if matrix.dtype != matrices[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{matrices[0].dtype} and tensor {i} {matrix.dtype}")
        if i and matrices[i - 1].shape[-1] != matrix.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i - 1} and {i} with shapes {list(tensors[i - 1].shape)} "
                               f"and {list(tensors[i].shape)} cannot be multiplied")
    if n == 2:
        result = mm(*matrices)
    elif n == 3:
        (a, b), (_, c), (_, d) = (m.shape for m in matrices)
        if (a * c) * (b + d) > (b * d) * (a + c):
            result = mm(matrices[0], mm(matrices[1], matrices[2]))
        else:
            result = mm(mm(matrices[0], matrices[1]), matrices[2])
    else:
        result = _chain_product(matrices, _chain_order([m.shape for m in matrices]), 0, n - 1)
    return result.view(*out_shape)


_CHAIN_MATMUL_DEPRECATED = (
    "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
    "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than multiple "
    "parameters.")


def chain_matmul(*matrices, out=None):
    """Deprecated multi_dot of matrices given one by one (one matrix: a clone of it)."""
    from ..autograd.errors import warn_once
    warn_once(_CHAIN_MATMUL_DEPRECATED)
    for matrix in matrices:
        if matrix.dim() != 2:
            raise RuntimeError(f"Tensor dimension is {matrix.dim()}, expected 2 instead.")
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    if len(matrices) == 1:
        return matrices[0].clone()
    return multi_dot(matrices)


def kron(input, other):
    """The Kronecker product: each element of ``input`` times the whole of ``other``."""
    from .shape import UNSAFE_VIEW
    dims = max(input.dim(), other.dim())
    a = (1,) * (dims - input.dim()) + tuple(input.shape)
    b = (1,) * (dims - other.dim()) + tuple(other.shape)
    a_view = apply(UNSAFE_VIEW, (input,), {"shape": tuple(x for size in a for x in (size, 1))})
    b_view = apply(UNSAFE_VIEW, (other,), {"shape": tuple(x for size in b for x in (1, size))})
    return apply(UNSAFE_VIEW, (a_view * b_view,), {"shape": tuple(x * y for x, y in zip(a, b))})
