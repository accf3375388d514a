"""Matrix products: dot, mv, mm, bmm, addmm — and ``matmul`` / ``@``, composed
from them exactly as torch composes it (fold a batch into mm, or expand +
reshape + bmm), so the recorded graph has torch's nodes: ``DotBackward0``,
``MvBackward0``, ``MmBackward0``, ``UnsafeViewBackward0`` over ``BmmBackward0``…
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.saved import Arg, Input, Sizes, Strides
from .. import dtypes as _dt
from ..autograd.engine import edge_rules, fit_array
from ..tensor import Tensor
from . import _sympy as sf
from . import samples, shape_rules
from .table import Op, Param, SAVES_INPUTS, apply, array_rules, node_rule



DOT = Op(
    id="linalg.DOT",
    saved={"self": Input(0), "tensor": Input(1)},
    shape=shape_rules.dot,
    name="DotBackward0",
    forward=np.dot,
    vjp=(lambda g, r, a, b: g * b, lambda g, r, a, b: g * a),
    saves=SAVES_INPUTS,
    sympy=sf.matmul,
    matrix=lambda M, a, b: M.mm(M.T(a), b),
    kind="array",
    label="·",
    doc="dot product of two vectors",
    category="linear algebra",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, (4,)), samples.uniform(rng, (4,))], {}),
    torch=lambda torch, a, b: torch.dot(a, b),
)
MV = Op(
    id="linalg.MV",
    saved={"self": Input(0), "vec": Input(1)},
    shape=shape_rules.mv,
    name="MvBackward0",
    forward=np.matmul,
    vjp=(lambda g, r, a, v: g.unsqueeze(1) * v, lambda g, r, a, v: mv(a.t(), g)),
    saves=SAVES_INPUTS,
    sympy=sf.matmul,
    matrix=lambda M, a, b: M.mm(a, b),
    kind="array",
    label="A·v",
    doc="matrix–vector product",
    category="linear algebra",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, (4,))], {}),
    torch=lambda torch, a, v: torch.mv(a, v),
)
MM = Op(
    id="linalg.MM",
    saved={"self": Input(0), "self_sym_sizes": Sizes(0), "self_sym_strides": Strides(0),
           "mat2": Input(1), "mat2_sym_sizes": Sizes(1), "mat2_sym_strides": Strides(1)},
    shape=shape_rules.mm,
    name="MmBackward0",
    forward=np.matmul,
    vjp=(lambda g, r, a, b: mm(g, b.t()), lambda g, r, a, b: _mat2_grad(g, a, b)),
    saves=SAVES_INPUTS,
    sympy=sf.matmul,
    matrix=lambda M, a, b: M.mm(a, b),
    kind="array",
    label="A·B",
    doc="matrix product",
    category="linear algebra",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, samples.S), samples.uniform(rng, (4, 2))], {}),
    torch=lambda torch, a, b: torch.mm(a, b),
)
BMM = Op(
    id="linalg.BMM",
    saved={"self": Input(0), "mat2": Input(1)},
    shape=shape_rules.bmm,
    name="BmmBackward0",
    forward=np.matmul,
    vjp=(lambda g, r, a, b: bmm(g, b.transpose(1, 2)), lambda g, r, a, b: bmm(a.transpose(1, 2), g)),
    saves=SAVES_INPUTS,
    sympy=sf.matmul,
    kind="array",
    label="A·B",
    doc="batched matrix product",
    category="linear algebra",
    arity=2,
    sample=lambda rng: ([samples.uniform(rng, (2, 3, 4)), samples.uniform(rng, (2, 4, 2))], {}),
    torch=lambda torch, a, b: torch.bmm(a, b),
)
ADDMM = Op(
    id="linalg.ADDMM",
    saved={"alpha": Arg("alpha"), "beta": Arg("beta"),
           "mat1": Input(1), "mat1_sym_sizes": Sizes(1), "mat1_sym_strides": Strides(1),
           "mat2": Input(2), "mat2_sym_sizes": Sizes(2), "mat2_sym_strides": Strides(2)},
    shape=shape_rules.addmm,
    name="AddmmBackward0",
    forward=lambda c, a, b, *, beta, alpha: beta * c + alpha * (a @ b) if (beta, alpha) != (1, 1) else c + a @ b,
    vjp=(lambda g, r, c, a, b, *, beta, alpha: g * beta if beta != 1 else g,
         lambda g, r, c, a, b, *, beta, alpha: mm(g, b.t()) * alpha if alpha != 1 else mm(g, b.t()),
         lambda g, r, c, a, b, *, beta, alpha: _mat2_grad(g, a, b) * alpha if alpha != 1
         else _mat2_grad(g, a, b)),
    saves=SAVES_INPUTS,
    sympy=sf.addmm,
    matrix=lambda M, c, a, b, *, beta, alpha: M.scale(beta, c) + M.scale(alpha, M.mm(a, b)),
    kind="array",
    label="c+A·B",
    doc="bias plus matrix product (a linear layer)",
    category="linear algebra",
    arity=3,
    params=(Param("beta", "int", 1), Param("alpha", "int", 1)),
    sample=lambda rng: ([samples.uniform(rng, (2,)), samples.uniform(rng, samples.S), samples.uniform(rng, (4, 2))],
                        {"beta": 1, "alpha": 1}),
    torch=lambda torch, c, a, b, beta, alpha: torch.addmm(c, a, b, beta=beta, alpha=alpha),
)
SQUEEZE_INPLACE = Op(
    id="linalg.SQUEEZE_INPLACE",
    name="SqueezeBackward4",
    forward=lambda x, *, dim: np.squeeze(x, axis=dim),
    vjp=(lambda g, r, x, *, dim: g.unsqueeze(dim),),
    sympy=lambda x, *, dim: np.squeeze(x, axis=dim),
    kind="shape",
    label="squeeze",
    doc="drop a size-1 dim (in place)",
    category="shape",
    params=(Param("dim", "int"),),
    sample=lambda rng: ([samples.uniform(rng, (1, 4))], {"dim": 0}),
    torch=lambda torch, x, dim: x.squeeze(dim),
    overload="squeeze_.dim(Tensor(a!) self, int dim)",
)


def _column_major(b: np.ndarray) -> bool:
    """torch's test in mm_mat2_backward: strides (1, rows), as ``weight.t()`` has."""
    item = b.itemsize
    return b.ndim == 2 and b.strides[0] == item and b.strides[1] == item * b.shape[0]


def _mat2_grad(g, a, b):
    """The gradient for ``b`` in ``a @ b`` as torch's mm_mat2_backward computes it: for a
    column-major ``b`` (a linear layer's ``weight.t()``) as ``(gᵀ a)ᵀ``, so that it has
    ``b``'s layout and the weight's gradient comes out row-major, as the weight is."""
    return mm(g.t(), a).t() if _column_major(b._data) else mm(a.t(), g)


def _mat2_grad_array(g, a, b):
    """:func:`_mat2_grad` on arrays (the test of :func:`_column_major` inline: a linear
    layer runs it on every backward pass)."""
    item = b.itemsize
    if b.ndim == 2 and b.strides[0] == item and b.strides[1] == item * b.shape[0]:
        return np.matmul(g.T, a).T
    return np.matmul(a.T, g)


def _same_dtype(a: Tensor, b: Tensor, what="m1 and m2"):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected {what} to have the same dtype, but got: "
                           f"{_dt.type_meta_name(a._data.dtype)} != "
                           f"{_dt.type_meta_name(b._data.dtype)}")


def dot(input, other):
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._data.ndim}D and {other._data.ndim}D tensors")
    if input._data.dtype != other._data.dtype:
        raise RuntimeError("dot : expected both vectors to have same dtype, but found "
                           f"{_kind(input)} and {_kind(other)}")
    n, m = input._data.shape[0], other._data.shape[0]
    if n != m:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the "
                           f"same number of elements, but got {n} and {m} elements respectively")
    return apply(DOT, (input, other))


def _kind(t):
    return _dt.scalar_type_name(t._data.dtype)


def mv(input, vec):
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input._data.ndim}, {vec._data.ndim}")
    if input._data.shape[1] != vec._data.shape[0]:  # torch checks sizes before dtypes
        raise RuntimeError(f"size mismatch, got input ({input._data.shape[0]}), mat "
                           f"({input._data.shape[0]}x{input._data.shape[1]}), vec ({vec._data.shape[0]})")
    if input._data.dtype != vec._data.dtype:
        raise RuntimeError("addmv input tensors must have the same dtype, but got "
                           f"{_kind(vec)}, {_kind(input)}, and {_kind(vec)}")
    return apply(MV, (input, vec))


def mm(input, mat2):
    if input._data.ndim != 2:
        raise RuntimeError(f"self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix")
    (n, k), (k2, m) = input._data.shape, mat2._data.shape
    if k != k2:  # torch checks sizes before dtypes
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({n}x{k} and {k2}x{m})")
    _same_dtype(input, mat2)
    return apply(MM, (input, mat2))


def bmm(input, mat2):
    if input._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    b, n, k = input._data.shape
    if mat2._data.shape[:2] != (b, k):  # torch checks sizes before dtypes
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {k}] "
                           f"but got: [{mat2._data.shape[0]}, {mat2._data.shape[1]}].")
    if input._data.dtype != mat2._data.dtype:
        raise RuntimeError(f"expected scalar type {_kind(input)} but found {_kind(mat2)}")
    return apply(BMM, (input, mat2))


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    (n, k), (k2, m) = mat1._data.shape, mat2._data.shape
    if k != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({n}x{k} and {k2}x{m})")
    return apply(ADDMM, (input, mat1, mat2), {"beta": beta, "alpha": alpha})


def outer(input, vec2):
    return input.reshape(-1, 1) * vec2


ger = outer


def _should_fold(t1: Tensor, t2: Tensor) -> bool:
    d1, d2 = t1._data.ndim, t2._data.ndim
    larger = d1 >= d2
    big = t1 if larger else t2.mT
    small_dim = d2 if larger else d1
    if not (big._data.ndim >= 3 and small_dim <= 2):
        return False
    small_requires_grad = t2._requires_grad if larger else t1._requires_grad
    if small_requires_grad:
        return True
    if d1 == 2:
        return False
    if big._data.size == 0:
        return True
    shape, strides = big._data.shape, big._data.strides
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(big._data.ndim - 2))


def matmul(input, other):
    d1, d2 = input._data.ndim, other._data.ndim
    if d1 == 0 or d2 == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {d1}D and {d2}D")
    # no dtype check here: like torch, each of dot/mv/mm/bmm reports a mismatch in its own words
    if d1 == 1 and d2 == 1:
        return dot(input, other)
    if d1 == 2 and d2 == 1:
        return mv(input, other)
    if d1 == 1 and d2 == 2:
        return apply(SQUEEZE_INPLACE, (mm(input.unsqueeze(0), other),), {"dim": 0})
    if d1 == 2 and d2 == 2:
        return mm(input, other)
    if _should_fold(input, other):
        return _folded_matmul(input, other)
    return _batched_matmul(input, other)


def _folded_matmul(tensor1, tensor2):
    from .shape import UNSAFE_VIEW
    d1, d2 = tensor1._data.ndim, tensor2._data.ndim
    transpose = d2 > d1
    t1 = tensor2.mT if transpose else tensor1
    t2 = (tensor1.t() if d1 == 2 else tensor1) if transpose else tensor2
    sizes = t1._data.shape
    output_shape = sizes[:-1]
    folded = math.prod(output_shape)
    t2_is_matrix = t2._data.ndim == 2
    if t2_is_matrix:
        output_shape = output_shape + (t2._data.shape[1],)
    t1_folded = t1.reshape(folded, sizes[-1])
    if t2_is_matrix:
        output = apply(UNSAFE_VIEW, (mm(t1_folded, t2),), {"shape": output_shape})
        return output.mT.contiguous() if transpose else output
    return apply(UNSAFE_VIEW, (mv(t1_folded, t2),), {"shape": output_shape})


def _batched_matmul(tensor1, tensor2):
    from .shape import UNSAFE_VIEW
    d1, d2 = tensor1._data.ndim, tensor2._data.ndim
    s1, s2 = tensor1._data.shape, tensor2._data.shape
    n = s1[-2] if d1 > 1 else 1
    m1 = s1[-1]
    m2 = s2[-2] if d2 > 1 else s2[0]
    p = s2[-1] if d2 > 1 else 1
    if d1 == 3 and d2 == 3 and s1[0] != s2[0]:
        # torch squeezes a unit batch that requires grad (then folds it into mm) rather than
        # expanding it, so its gradient is not a sum over the broadcast batch
        if s1[0] == 1 and tensor1._requires_grad:
            return matmul(tensor1.squeeze(0), tensor2)
        if s2[0] == 1 and tensor2._requires_grad:
            return matmul(tensor1, tensor2.squeeze(0))
    if m1 != m2:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{math.prod(_broadcast(s1[:max(d1 - 2, 0)], s2[:max(d2 - 2, 0)]))}, {m1}] "
                           f"but got: [{math.prod(_broadcast(s1[:max(d1 - 2, 0)], s2[:max(d2 - 2, 0)]))}, {m2}].")
    batch = _broadcast(s1[:max(d1 - 2, 0)], s2[:max(d2 - 2, 0)])
    product = math.prod(batch)
    t1 = tensor1.expand(*batch, n, m1).reshape(product, n, m1)
    vector_rhs = d2 == 1
    t2 = tensor2.expand(*batch, m2) if vector_rhs else tensor2.expand(*batch, m2, p)
    t2 = t2.reshape(product, m2).unsqueeze(2) if vector_rhs else t2.reshape(product, m2, p)
    output_shape = batch + ((n,) if d1 > 1 else ()) + ((p,) if d2 > 1 else ())
    out = bmm(t1, t2)
    if vector_rhs:
        out = out.squeeze(-1)
    return apply(UNSAFE_VIEW, (out,), {"shape": output_shape})


def _broadcast(a: tuple, b: tuple) -> tuple:
    try:
        return tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        for i, (x, y) in enumerate(zip(reversed(a), reversed(b))):
            if x != y and x != 1 and y != 1:
                raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                                   f"at non-singleton dimension {max(len(a), len(b)) - 1 - i}") from None
        raise


def rmatmul(input, other):
    return matmul(other, input)


# ----------------------------------------------------------------- array rules
# The rules above on ndarrays, for backward passes that are not recorded (see
# table.array_rules).
array_rules(DOT, lambda g, r, a, b: g * b, lambda g, r, a, b: g * a)
array_rules(MV, lambda g, r, a, v: g[:, None] * v, lambda g, r, a, v: np.matmul(a.T, g))
array_rules(MM, lambda g, r, a, b: np.matmul(g, b.T), lambda g, r, a, b: _mat2_grad_array(g, a, b))
array_rules(BMM, lambda g, r, a, b: np.matmul(g, np.swapaxes(b, 1, 2)),
            lambda g, r, a, b: np.matmul(np.swapaxes(a, 1, 2), g))


def _addmm_bias_rule(g, r, c, a, b, *, beta, alpha):
    # a linear layer's bias (c of shape (m,) under g of (n, m)): summed here, the
    # reduction the engine's sum_to_shape makes, without its shape analysis
    if beta == 1 and c.ndim == 1 and g.ndim == 2:
        return np.add.reduce(g, axis=0)
    return g * beta if beta != 1 else g


def _addmm_mat1_rule(g, r, c, a, b, *, beta, alpha):
    grad = np.matmul(g, b.T)
    return grad * alpha if alpha != 1 else grad


def _addmm_mat2_rule(g, r, c, a, b, *, beta, alpha):
    grad = _mat2_grad_array(g, a, b)
    return grad * alpha if alpha != 1 else grad


array_rules(ADDMM, _addmm_bias_rule, _addmm_mat1_rule, _addmm_mat2_rule)


def _addmm_node(g, node, inputs):
    """ADDMM's node rule for a linear layer (beta = alpha = 1): the three rules above in
    one call, the matrix products in the inputs' shape and dtype by construction."""
    params = node._params
    if params["beta"] != 1 or params["alpha"] != 1:
        return edge_rules(g, node, inputs)
    (bias, _), (mat1, _), (mat2, _) = node.next_functions
    c, a, b = inputs
    if bias is None:
        grad_c = None
    else:
        c = c._data
        if c.ndim == 1 and g.ndim == 2 and c.dtype == g.dtype:
            grad_c = np.add.reduce(g, axis=0)
        elif c.shape == g.shape and c.dtype == g.dtype:
            grad_c = g
        else:
            grad_c = fit_array(g, c)
    grad_a = None if mat1 is None else np.matmul(g, b._data.T)
    if mat2 is None:
        grad_b = None
    else:  # _mat2_grad_array
        a, b = a._data, b._data
        item = b.itemsize
        if b.ndim == 2 and b.strides[0] == item and b.strides[1] == item * b.shape[0]:
            grad_b = np.matmul(g.T, a).T
        else:
            grad_b = np.matmul(a.T, g)
    return grad_c, grad_a, grad_b


node_rule(ADDMM, _addmm_node)
