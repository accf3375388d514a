"""``backward`` and ``grad``: argument handling with torch's checks and errors,
then one call into the engine."""
from __future__ import annotations

import sys

import numpy as np

# gradstudio.tensor imports this module while it is itself being imported, so take
# the module object (names are looked up at call time). Not `from .. import tensor`:
# once gradstudio/__init__ has run, gradstudio.tensor is the torch.tensor() function.
_tensor = sys.modules[__name__.rsplit(".", 2)[0] + ".tensor"]
from . import errors as _err
from .engine import run_backward


def _as_tuple(x):
    if x is None:
        return None
    if isinstance(x, _tensor.Tensor):
        return (x,)
    return tuple(x)


def _make_grads(outputs, grads):
    """torch's _make_grads: check given gradients, create implicit ones for scalars."""
    Size, Tensor = _tensor.Size, _tensor.Tensor
    result = []
    for i, (out, g) in enumerate(zip(outputs, grads)):
        if g is None:
            if out._requires_grad:
                if out._data.size != 1:
                    raise RuntimeError(_err.IMPLICIT_GRAD_NON_SCALAR)
                if out._data.dtype.kind != "f":
                    raise RuntimeError("grad can be implicitly created only for real scalar outputs "
                                       f"but got {out.dtype}")
                ones = np.empty(out._data.shape, dtype=out._data.dtype)
                ones.fill(1)
                result.append(_tensor.make(ones))
            else:
                result.append(None)
            continue
        if not isinstance(g, Tensor):
            g = Tensor._make(np.asarray(g, dtype=out._data.dtype))
        if g._data.shape != out._data.shape:
            raise RuntimeError(_err.shape_mismatch_error(i, Size(g._data.shape), Size(out._data.shape)))
        if g._data.dtype != out._data.dtype:
            g = g.to(out.dtype) if g._data.dtype.kind == "f" else Tensor._make(
                g._data.astype(out._data.dtype))
        result.append(g)
    return result


def _roots(outputs):
    edges = []
    for i, out in enumerate(outputs):
        edge = out._gradient_edge()
        if edge is None:
            raise RuntimeError(_err.no_grad_fn_error(i))
        edges.append(edge)
    return edges


# Objects watching backward calls (a GradStudio session records them). The last
# one registered gets ``observe_backward(run, tensors, gradient, retain_graph,
# create_graph, inputs)`` and must call ``run(..., tracer=...)`` itself.
observers: list = []


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None,
             inputs=None):
    """Accumulate into ``.grad`` the gradient of ``tensors`` w.r.t. the graph leaves."""
    if grad_tensors is None:
        grad_tensors = grad_variables
    if observers:
        return observers[-1].observe_backward(_backward, tensors, grad_tensors, retain_graph,
                                              create_graph, inputs)
    if (grad_tensors is None and inputs is None and not create_graph
            and type(tensors) is _tensor.Tensor):
        return _scalar_backward(tensors, bool(retain_graph))
    return _backward(tensors, grad_tensors, retain_graph, create_graph, inputs)


def _scalar_backward(output, retain_graph: bool):
    """``loss.backward()`` — the most common call — without the general argument handling."""
    data = output._data
    if data.size != 1 or data.dtype.kind != "f" or not output._requires_grad:
        return _backward(output, None, retain_graph, False, None)
    edge = output.grad_fn if output.grad_fn is not None else output._gradient_edge()
    ones = np.empty(data.shape, dtype=data.dtype)
    ones.fill(1)
    run_backward([edge], [_tensor.make(ones)], retain_graph=retain_graph, create_graph=False)


def _backward(tensors, grad_tensors, retain_graph, create_graph, inputs, tracer=None):
    Tensor = _tensor.Tensor
    outputs = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors) if grad_tensors is not None else (None,) * len(outputs)
    if isinstance(grad_tensors, Tensor):
        grads = (grad_tensors,)
    if len(grads) != len(outputs):
        raise RuntimeError(f"got {len(grads)} tensors and {len(outputs)} gradients")
    if inputs is not None:
        inputs = _as_tuple(inputs)
        if len(inputs) == 0:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
        for t in inputs:
            if not t._requires_grad:  # torch retains the inputs' grads, and fails there
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            t.retain_grad()  # as torch does: a non-leaf input keeps retaining its grad
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph:
        from .errors import CREATE_GRAPH_CYCLE, warn_once
        warn_once(CREATE_GRAPH_CYCLE)
    grads = _make_grads(outputs, grads)
    roots = _roots(outputs)
    run_backward(roots, grads, retain_graph=bool(retain_graph), create_graph=bool(create_graph),
                 inputs=list(inputs) if inputs is not None else None, accumulate=True, tracer=tracer)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` w.r.t. ``inputs``, returned rather than accumulated."""
    Tensor = _tensor.Tensor
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if is_grads_batched:
        raise NotImplementedError("GradStudio does not support is_grads_batched=True")
    grads = _as_tuple(grad_outputs) if grad_outputs is not None else (None,) * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grads)} and "
                           f"{len(outputs)}")
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_grads(outputs, grads)
    roots = _roots(outputs)
    result = run_backward(roots, grads, retain_graph=bool(retain_graph),
                          create_graph=bool(create_graph), inputs=list(inputs), accumulate=False)
    final = []
    for i, (t, g) in enumerate(zip(inputs, result)):
        if g is None:
            if materialize_grads:
                g = Tensor._make(np.zeros(t._data.shape, dtype=t._data.dtype))
            elif not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the desired "
                                   "behavior.")
        elif not create_graph and not g._data.flags.writeable:
            g = Tensor._make(g._data.copy())
        final.append(g)
    return tuple(final)
