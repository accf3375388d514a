"""``nn.Parameter``: a leaf tensor that requires grad by default."""
from __future__ import annotations

from ..tensor import Tensor


def Parameter(data=None, requires_grad: bool = True) -> Tensor:
    """A leaf sharing ``data``'s values, with ``requires_grad`` set (printed as a tensor)."""
    from ..ops.creation import empty
    if data is None:
        data = empty(0)
    return Tensor._make(data._data, requires_grad)
