"""Functions of a whole matrix: trace, diag / diagonal, det, inverse, slogdet /
logdet, solve — torch's ``torch.trace``, ``torch.linalg.det`` … with torch's
grad_fn names (``TraceBackward0``, ``LinalgDetBackward0``,
``LinalgInvExBackward0``, ``LinalgSlogdetBackward0``, ``LinalgSolveExBackward0``).

The VJP rules are the textbook ones (∂ det X = det X · X⁻ᵀ, ∂ X⁻¹ = −X⁻ᵀ G X⁻ᵀ,
…), written with tensor operations (including these ops themselves), so a
recorded backward pass can be differentiated again.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from . import _sympy as sf
from .table import Op, apply


def _sym_matrix(x):
    return sf.sp().Matrix(x.tolist())


def _diagonal_forward(x, *, offset):
    return np.diagonal(x, offset).copy()


def _diag_embed_forward(v, *, offset, rows, cols):
    out = np.zeros((rows, cols), dtype=v.dtype)
    index = np.arange(v.shape[0])
    out[index - min(offset, 0), index + max(offset, 0)] = v
    return out


def _diag_embed_sympy(v, *, offset, rows, cols):
    out = np.full((rows, cols), sf.sp().Integer(0), dtype=object)
    for i, value in enumerate(v):
        out[i - min(offset, 0), i + max(offset, 0)] = value
    return out


def _diagonal_row(name: str) -> Op:
    """torch names the diagonal of ``torch.diag(X)`` ``DiagonalBackward0_copy``
    and that of ``X.diagonal()`` ``DiagonalBackward0``; the maths is one."""
    return Op(name, _diagonal_forward,
              (lambda g, r, x, *, offset: apply(DIAG_EMBED, (g,), {"offset": offset, "rows": x.shape[0],
                                                                   "cols": x.shape[1]}),),
              sympy=lambda x, *, offset: sf._obj(np.diagonal(x, offset)), kind="array",
              label="diagonal", doc="the diagonal of a matrix, as a vector",
              latex="\\mathrm{{diagonal}}({0})", category="linear algebra")


TRACE = Op("TraceBackward0", lambda x: np.trace(x),
           (lambda g, r, x: g * _eye_like(x),),
           sympy=lambda x: sf._obj(sf.sp().Add(*np.diagonal(x))), kind="array", label="tr",
           doc="trace: the sum of the diagonal", latex="\\mathrm{{tr}}({0})", category="linear algebra")
DIAG_EMBED = Op("DiagEmbedBackward0", _diag_embed_forward,
                (lambda g, r, v, *, offset, rows, cols: apply(DIAGONAL, (g,), {"offset": offset}),),
                sympy=_diag_embed_sympy, kind="array", label="diag",
                doc="a matrix with the vector on its diagonal", latex="\\mathrm{{diag}}({0})",
                category="linear algebra")
DIAGONAL = _diagonal_row("DiagonalBackward0")
DIAGONAL_COPY = _diagonal_row("DiagonalBackward0_copy")
DET = Op("LinalgDetBackward0", lambda x: np.asarray(np.linalg.det(x)),
         (lambda g, r, x: (g * r) * inv(x).mT,),
         saves="inputs,result", sympy=lambda x: sf._obj(_sym_matrix(x).det()), kind="array",
         label="det", doc="determinant", latex="\\det {0}", category="linear algebra")
INV = Op("LinalgInvExBackward0", lambda x: np.linalg.inv(x),
         (lambda g, r, x: -(r.mT @ g @ r.mT),),
         saves="result", sympy=lambda x: sf._obj(np.array(_sym_matrix(x).inv().tolist(), dtype=object)),
         kind="array", label="inv", doc="matrix inverse", latex="{0}^{{-1}}", category="linear algebra")
SLOGDET = Op("LinalgSlogdetBackward0", lambda x: np.asarray(np.linalg.slogdet(x)[1]),
             (lambda g, r, x: g * inv(x).mT,),
             saves="inputs", sympy=lambda x: sf._obj(sf.sp().log(sf.sp().Abs(_sym_matrix(x).det()))),
             kind="array", label="log|det|", doc="log of the absolute determinant",
             latex="\\log |\\det {0}|", category="linear algebra")
SOLVE = Op("LinalgSolveExBackward0", lambda a, b: np.linalg.solve(a, b) if b.ndim == 2
           else np.linalg.solve(a, b[:, None])[:, 0],
           (lambda g, r, a, b: -_outer_or_mm(solve(a.mT, g), r),
            lambda g, r, a, b: solve(a.mT, g)),
           saves="inputs,result",
           sympy=lambda a, b: sf._obj(np.array((_sym_matrix(a).inv() * sf.sp().Matrix(b.tolist())).tolist(),
                                               dtype=object).reshape(b.shape)),
           kind="array", label="solve", doc="the solution X of A X = B", latex="{0}^{{-1}} {1}",
           category="linear algebra", arity=2)


def _eye_like(x):
    from .creation import eye
    return eye(x.shape[0], x.shape[1], dtype=x.dtype)


def _outer_or_mm(left, right):
    if left.dim() == 1:
        return left.unsqueeze(1) * right.unsqueeze(0)
    return left @ right.mT


def _square(name: str, x: Tensor):
    if x.dim() != 2:
        raise RuntimeError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
    if x.shape[0] != x.shape[1]:
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are "
                           f"{x.shape[0]} by {x.shape[1]} matrices")


def trace(input):
    if input.dim() != 2:
        raise RuntimeError("trace: expected a matrix, but got tensor with dim " + str(input.dim()))
    return apply(TRACE, (input,))


def diagonal(input, offset=0, dim1=0, dim2=1):
    if input.dim() != 2 or (dim1, dim2) not in ((0, 1), (-2, -1)):
        raise NotImplementedError("GradStudio's diagonal takes the main dims of a matrix")
    return apply(DIAGONAL, (input,), {"offset": offset})


def diag(input, diagonal=0):
    if input.dim() == 1:
        n = input.shape[0] + abs(diagonal)
        return apply(DIAG_EMBED, (input,), {"offset": diagonal, "rows": n, "cols": n})
    if input.dim() == 2:
        return apply(DIAGONAL_COPY, (input,), {"offset": diagonal})
    raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{input.dim()}D")


def det(A):
    _square("det", A)
    return apply(DET, (A,))


def inv(A):
    _square("inv", A)
    return apply(INV, (A,))


def slogdet(A):
    """(sign, logabsdet); the gradient flows through ``logabsdet`` (the sign is
    piecewise constant)."""
    from .reduction import return_type
    from .creation import tensor
    _square("slogdet", A)
    sign = tensor(np.sign(np.linalg.det(A._data)).astype(A._data.dtype))
    return return_type("linalg_slogdet", ("sign", "logabsdet"))(sign, apply(SLOGDET, (A,)))


def logdet(input):
    """log det, NaN for a negative determinant — like torch, a ``where`` over slogdet."""
    from .elementwise import where
    sign, logabsdet = slogdet(input)
    return where(sign < 0, float("nan"), logabsdet)


def solve(A, B, *, left=True):
    if not left:
        raise NotImplementedError("GradStudio's linalg.solve solves A X = B (left=True)")
    _square("solve", A)
    if B.shape[0] != A.shape[0]:
        raise RuntimeError("linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({A.shape[0]}x{A.shape[1]} and {'x'.join(map(str, B.shape))})")
    return apply(SOLVE, (A, B))


inverse = inv
