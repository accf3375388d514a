"""Functions of a whole matrix: trace, diag / diagonal, det, inverse, slogdet /
logdet, solve — torch's ``torch.trace``, ``torch.linalg.det`` … with torch's
grad_fn names (``TraceBackward0``, ``LinalgDetBackward0``,
``LinalgInvExBackward0``, ``LinalgSlogdetBackward0``, ``LinalgSolveExBackward0``),
each row with its matrix-calculus forward (``matrix=``: tr, det, inverse, …).

The VJP rules are the textbook ones (∂ det X = det X · X⁻ᵀ, ∂ X⁻¹ = −X⁻ᵀ G X⁻ᵀ,
…), written with tensor operations (including these ops themselves), so a
recorded backward pass can be differentiated again.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from . import _sympy as sf
from . import samples, shape_rules
from ..autograd.saved import Arg, Computed, Const, Input, Result, Sizes
from .table import SAVES_INPUTS, SAVES_RESULT, Op, Param, apply


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


def _well_conditioned(rng, n=3):
    """A square matrix far from singular (det, inv, solve)."""
    return samples.uniform(rng, (n, n), -0.5, 0.5) + 2.0 * np.eye(n)


def _square_shape(x, **params) -> tuple:
    if len(x) != 2 or x[0] != x[1]:
        raise shape_rules.ShapeError(f"{tuple(x)}: a square matrix is needed")
    return tuple(x)


def _solve_shape(a, b) -> tuple:
    _square_shape(a)
    if not b or b[0] != a[0]:
        raise shape_rules.ShapeError(f"{tuple(a)} and {tuple(b)}: A X = B needs B with {a[0]} rows")
    return tuple(b)


def _diagonal_row(id: str, name: str, torch) -> Op:
    """torch names the diagonal of ``torch.diag(X)`` ``DiagonalBackward0_copy``
    and that of ``X.diagonal()`` ``DiagonalBackward0``; the maths is one."""
    return Op(id=id, name=name, forward=_diagonal_forward,
              saved={"offset": Arg("offset"), "dim1": Const(0), "dim2": Const(1), "self_sym_sizes": Sizes(0)},
              vjp=(lambda g, r, x, *, offset: apply(DIAG_EMBED, (g,), {"offset": offset, "rows": x.shape[0],
                                                                       "cols": x.shape[1]}),),
              params=(Param("offset", "int", 0),),
              sympy=lambda x, *, offset: sf._obj(np.diagonal(x, offset)),
              matrix=lambda M, a, *, offset: M.diagonal(a) if offset == 0 else _no_matrix("an off-diagonal"),
              kind="array", label="diagonal", doc="the diagonal of a matrix, as a vector",
              category="linear algebra", sample=lambda rng: ([samples.uniform(rng, samples.S)], {"offset": 1}),
              torch=torch)


def _no_matrix(what: str):
    raise ValueError(f"{what} has no matrix form")


TRACE = Op(id="matrix_functions.TRACE", saved={"self_sym_sizes": Sizes(0)},
           name="TraceBackward0", forward=lambda x: np.trace(x),
           vjp=(lambda g, r, x: g * _eye_like(x),),
           sympy=lambda x: sf._obj(sf.sp().Add(*np.diagonal(x))), matrix=lambda M, a: M.tr(a),
           shape=lambda x: shape_rules._ndim(x, 2, "trace") or (), kind="array", label="tr",
           doc="trace: the sum of the diagonal", category="linear algebra",
           sample=lambda rng: ([samples.uniform(rng, (3, 3))], {}), torch=lambda torch, x: torch.trace(x))
DIAG_EMBED = Op(id="matrix_functions.DIAG_EMBED", saved={"offset": Arg("offset"), "dim1": Const(-2), "dim2": Const(-1)},
                name="DiagEmbedBackward0", forward=_diag_embed_forward,
                vjp=(lambda g, r, v, *, offset, rows, cols: apply(DIAGONAL, (g,), {"offset": offset}),),
                params=(Param("offset", "int", 0), Param("rows", "int"), Param("cols", "int")),
                sympy=_diag_embed_sympy,
                matrix=lambda M, v, *, offset, rows, cols: M.diag(v) if offset == 0 else _no_matrix("an off-diagonal"),
                kind="array", label="diag", doc="a matrix with the vector on its diagonal",
                category="linear algebra",
                sample=lambda rng: ([samples.uniform(rng, (3,))], {"offset": -1, "rows": 4, "cols": 4}),
                torch=lambda torch, v, *, offset, rows, cols: torch.diag(v, offset))
DIAGONAL = _diagonal_row("matrix_functions.DIAGONAL", "DiagonalBackward0",
                         lambda torch, x, *, offset: x.diagonal(offset))
DIAGONAL_COPY = _diagonal_row("matrix_functions.DIAGONAL_COPY", "DiagonalBackward0_copy",
                              lambda torch, x, *, offset: torch.diag(x, offset))
DET = Op(id="matrix_functions.DET", saved={"A": Input(0), "result": Result()},
         name="LinalgDetBackward0", forward=lambda x: np.asarray(np.linalg.det(x)),
         vjp=(lambda g, r, x: (g * r) * inv(x).mT,), saves=SAVES_INPUTS | SAVES_RESULT,
         sympy=lambda x: sf._obj(_sym_matrix(x).det()), matrix=lambda M, a: M.det(a),
         shape=lambda x: _square_shape(x) and (), kind="array", label="det", doc="determinant",
         category="linear algebra", sample=lambda rng: ([_well_conditioned(rng)], {}),
         torch=lambda torch, x: torch.linalg.det(x))
INV = Op(id="matrix_functions.INV", saved={"inverse": Result()},
         name="LinalgInvExBackward0", forward=lambda x: np.linalg.inv(x),
         vjp=(lambda g, r, x: -(r.mT @ g @ r.mT),), saves=SAVES_RESULT,
         sympy=lambda x: sf._obj(np.array(_sym_matrix(x).inv().tolist(), dtype=object)),
         matrix=lambda M, a: M.inv(a), shape=_square_shape,
         kind="array", label="inv", doc="matrix inverse", category="linear algebra",
         sample=lambda rng: ([_well_conditioned(rng)], {}), torch=lambda torch, x: torch.linalg.inv(x))
SLOGDET = Op(id="matrix_functions.SLOGDET", name="LinalgSlogdetBackward0",
             saved={"A": Input(0), "sign": Computed(lambda x: np.linalg.slogdet(x)[0])},
             forward=lambda x: np.asarray(np.linalg.slogdet(x)[1]),
             vjp=(lambda g, r, x: g * inv(x).mT,), saves=SAVES_INPUTS,
             sympy=lambda x: sf._obj(sf.sp().log(sf.sp().Abs(_sym_matrix(x).det()))),
             matrix=lambda M, a: M.logdet(a), shape=lambda x: _square_shape(x) and (),
             kind="array", label="log|det|", doc="log of the absolute determinant", category="linear algebra",
             sample=lambda rng: ([_well_conditioned(rng)], {}),
             torch=lambda torch, x: torch.linalg.slogdet(x).logabsdet)
SOLVE = Op(id="matrix_functions.SOLVE", saved={"A": Input(0), "left": Const(True), "result": Result()},
           name="LinalgSolveExBackward0",
           forward=lambda a, b: np.linalg.solve(a, b) if b.ndim == 2 else np.linalg.solve(a, b[:, None])[:, 0],
           vjp=(lambda g, r, a, b: -_outer_or_mm(solve(a.mT, g), r),
                lambda g, r, a, b: solve(a.mT, g)),
           saves=SAVES_INPUTS | SAVES_RESULT,
           sympy=lambda a, b: sf._obj(np.array((_sym_matrix(a).inv() * sf.sp().Matrix(b.tolist())).tolist(),
                                               dtype=object).reshape(b.shape)),
           matrix=lambda M, a, b: M.mm(M.inv(a), b), shape=_solve_shape,
           kind="array", label="solve", doc="the solution X of A X = B", category="linear algebra", arity=2,
           sample=lambda rng: ([_well_conditioned(rng), samples.uniform(rng, (3, 2))], {}),
           torch=lambda torch, a, b: torch.linalg.solve(a, b))


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
