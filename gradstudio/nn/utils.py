"""``torch.nn.utils``: gradient clipping and flattening parameters to a vector."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p._grad for p in parameters if p._grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None):
    """Scale all gradients together so that their joint norm is at most ``max_norm``;
    returns the norm before clipping (torch: clip_coef = max_norm / (norm + 1e-6))."""
    grads = _grads(parameters)
    if not grads:
        return Tensor._make(np.array(0.0, dtype=np.float32))
    norm_type = float(norm_type)
    if norm_type == float("inf"):
        norms = [np.abs(g._data).max() for g in grads]
        total = np.max(np.array(norms))
    else:
        norms = np.array([np.linalg.norm(g._data.ravel(), norm_type) for g in grads],
                         dtype=grads[0]._data.dtype)
        total = np.linalg.norm(norms, norm_type)
    total = np.asarray(total, dtype=grads[0]._data.dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped. To disable this error and scale the "
                           "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = np.minimum(np.asarray(max_norm, total.dtype) / (total + total.dtype.type(1e-6)), 1.0)
    for g in grads:
        g._data *= coef.astype(g._data.dtype)
    return Tensor._make(total)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    for g in _grads(parameters):
        np.clip(g._data, -clip_value, clip_value, out=g._data)


def parameters_to_vector(parameters) -> Tensor:
    from ..ops.shape import cat
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters) -> None:
    offset = 0
    for p in parameters:
        n = p.numel()
        p._data[...] = vec._data[offset:offset + n].reshape(p._data.shape)
        offset += n
