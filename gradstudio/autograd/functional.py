"""``torch.autograd.functional``: jacobian, hessian, vjp, jvp, hvp, vhp —
built on ``autograd.grad``, one reverse pass per output element (reverse
mode, which is torch's default strategy)."""
from __future__ import annotations

import numpy as np

from .api import grad as _grad
from .grad_mode import enable_grad


def _tensor():
    from ..tensor import Tensor
    return Tensor


def _prepare(inputs, create_graph):
    """Fresh leaves (or graph-connected aliases with create_graph) that require grad."""
    prepared = []
    for x in inputs:
        if create_graph and x._requires_grad:
            prepared.append(x.view_as(x))
        else:
            prepared.append(x.detach().requires_grad_(True))
    return tuple(prepared)


def _finish(x, create_graph):
    return x if create_graph else x.detach()


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """∂func(inputs)/∂inputs; shapes out.shape + in.shape, nested like torch."""
    Tensor = _tensor()
    is_inputs_tuple = isinstance(inputs, tuple)
    inputs = inputs if is_inputs_tuple else (inputs,)
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        outputs = func(*inputs)
        is_outputs_tuple = isinstance(outputs, tuple)
        outputs = outputs if is_outputs_tuple else (outputs,)
        rows = []
        for i, out in enumerate(outputs):
            flat = out.reshape(-1)
            per_input = [[] for _ in inputs]
            for j in range(flat.shape[0]):
                if out._requires_grad:
                    grads = _grad(flat[j], inputs, retain_graph=True, create_graph=create_graph,
                                  allow_unused=True)
                else:
                    grads = (None,) * len(inputs)
                for k, (g, x) in enumerate(zip(grads, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is "
                                               f"independent of input {k}. This is not allowed in "
                                               "strict mode.")
                        g = Tensor._make(np.zeros(x._data.shape, dtype=x._data.dtype))
                    per_input[k].append(g)
            jac_i = []
            for k, x in enumerate(inputs):
                from ..ops.shape import stack
                stacked = (stack(per_input[k]) if per_input[k]
                           else Tensor._make(np.zeros((0,) + x._data.shape, dtype=x._data.dtype)))
                jac_i.append(_finish(stacked.reshape(*(out._data.shape + x._data.shape)), create_graph))
            rows.append(tuple(jac_i))
    if is_outputs_tuple and is_inputs_tuple:
        return tuple(rows)
    if is_outputs_tuple:
        return tuple(r[0] for r in rows)
    if is_inputs_tuple:
        return rows[0]
    return rows[0][0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """Second derivatives of a scalar function: the jacobian of its gradient."""
    is_inputs_tuple = isinstance(inputs, tuple)

    def gradient(*xs):
        out = func(*xs)
        if out._data.size != 1:
            raise RuntimeError("The function given to hessian should return a single element Tensor")
        grads = _grad(out.reshape(()), xs, create_graph=True, allow_unused=True)
        Tensor = _tensor()
        grads = tuple(g if g is not None else Tensor._make(np.zeros(x._data.shape, dtype=x._data.dtype))
                      for g, x in zip(grads, xs))
        return grads if is_inputs_tuple else grads[0]

    return jacobian(gradient, inputs, create_graph=create_graph, strict=strict)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), vᵀ·J)."""
    is_inputs_tuple = isinstance(inputs, tuple)
    xs = inputs if is_inputs_tuple else (inputs,)
    with enable_grad():
        xs = _prepare(xs, create_graph)
        out = func(*xs)
        grads = _grad(out, xs, grad_outputs=v, create_graph=create_graph, allow_unused=True)
    Tensor = _tensor()
    grads = tuple(_finish(g, create_graph) if g is not None
                  else Tensor._make(np.zeros(x._data.shape, dtype=x._data.dtype))
                  for g, x in zip(grads, xs))
    return _finish(out, create_graph), grads if is_inputs_tuple else grads[0]


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J·v), computed from the full jacobian."""
    is_inputs_tuple = isinstance(inputs, tuple)
    xs = inputs if is_inputs_tuple else (inputs,)
    vs = (v if is_inputs_tuple else (v,)) if v is not None else tuple(
        x.new_ones(*x.shape) for x in xs)
    jac = jacobian(func, tuple(xs), create_graph=create_graph)
    with enable_grad():
        out = func(*xs)
    total = None
    for j, x, vec in zip(jac, xs, vs):
        contribution = (j.reshape(*out.shape, -1) * vec.reshape(-1)).sum(-1) if out.dim() else (
            j.reshape(-1) * vec.reshape(-1)).sum()
        total = contribution if total is None else total + contribution
    return _finish(out, create_graph), total


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H·v)."""
    is_inputs_tuple = isinstance(inputs, tuple)
    xs = inputs if is_inputs_tuple else (inputs,)
    vs = v if is_inputs_tuple else (v,)
    with enable_grad():
        xs = _prepare(xs, True)
        out = func(*xs)
        grads = _grad(out, xs, create_graph=True)
        dot = sum((g * vec).sum() for g, vec in zip(grads, vs))
        result = _grad(dot, xs, create_graph=create_graph, allow_unused=True)
    result = tuple(_finish(r, create_graph) for r in result)
    return _finish(out, create_graph), result if is_inputs_tuple else result[0]


vhp = hvp  # the Hessian is symmetric
