"""``gradcheck``: analytical (autograd) against numerical (central difference)
Jacobians, with torch's defaults and torch's error text."""
from __future__ import annotations

import warnings

import numpy as np

from .functional import jacobian


class GradcheckError(RuntimeError):
    pass


def _numerical_jacobian(func, inputs, k, eps):
    x = inputs[k]
    flat = x._data.reshape(-1)
    columns = []
    for j in range(flat.size):
        original = flat[j].item()
        flat[j] = original + eps
        plus = _outputs(func, inputs)
        flat[j] = original - eps
        minus = _outputs(func, inputs)
        flat[j] = original
        columns.append([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
    return columns


def _outputs(func, inputs):
    from .grad_mode import no_grad
    with no_grad():
        out = func(*inputs)
    out = out if isinstance(out, tuple) else (out,)
    return [o._data.astype(np.float64).reshape(-1).copy() for o in out]


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """True when autograd's Jacobian matches central differences."""
    from ..tensor import Tensor
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x._requires_grad and x._data.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point or complex. This check will likely fail if all the inputs are not "
                          "of double precision floating point or complex. ", UserWarning, stacklevel=2)
    differentiable = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x._requires_grad]

    def of_differentiable(*xs):
        full = list(inputs)
        for k, x in zip(differentiable, xs):
            full[k] = x
        return func(*full)

    analytical = jacobian(of_differentiable, tuple(inputs[k] for k in differentiable))
    analytical = analytical if isinstance(analytical, tuple) else (analytical,)
    outputs = _outputs(func, inputs)
    for position, k in enumerate(differentiable):
        numeric_columns = _numerical_jacobian(func, inputs, k, eps)
        for o, out in enumerate(outputs):
            jac = analytical[position] if len(outputs) == 1 else analytical[o][position]
            a = jac._data.astype(np.float64).reshape(out.size, -1)
            n = np.array([col[o] for col in numeric_columns]).T.reshape(out.size, -1)
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                message = (f"Jacobian mismatch for output {o} with respect to input {k},\n"
                           f"numerical:{Tensor._make(n)}\nanalytical:{Tensor._make(a)}\n")
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, **kwargs):
    """gradcheck of the first derivative (with create_graph)."""
    from .api import grad
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)

    def first_derivative(*xs):
        out = func(*xs)
        out = out if not isinstance(out, tuple) else out[0]
        return grad(out.sum(), xs, create_graph=True, allow_unused=True)[0]

    return gradcheck(first_derivative, inputs, eps=eps, atol=atol, rtol=rtol)
