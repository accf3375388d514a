"""``torch.linalg``: the vector norm (and ``norm`` for vectors), det, inv, slogdet, solve, multi_dot."""
from .ops.cross_product import linalg_cross as cross  # noqa: F401
from .ops.linalg import matmul  # noqa: F401
from .ops.matrix_functions import det, inv, slogdet, solve  # noqa: F401
from .ops.matrix_products import multi_dot  # noqa: F401
from .ops.reduction import vector_norm  # noqa: F401


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """Vector norms (2-norm by default); matrix norms are not implemented."""
    if A.dim() >= 2 and dim is None and ord not in (None, 2, "fro"):
        raise NotImplementedError("GradStudio implements vector norms only")
    return vector_norm(A, 2 if ord in (None, "fro") else ord, dim, keepdim, dtype=dtype)
