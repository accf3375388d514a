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
    # not under no_grad: the function may itself differentiate (gradgradcheck's first
    # derivative), as torch's numerical Jacobian allows
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
    several = isinstance(func(*inputs), tuple)   # jacobian is then indexed [output][input]
    outputs = _outputs(func, inputs)
    for position, k in enumerate(differentiable):
        numeric_columns = _numerical_jacobian(func, inputs, k, eps)
        for o, out in enumerate(outputs):
            jac = analytical[o][position] if several else analytical[position]
            a = jac._data.astype(np.float64).reshape(out.size, -1)
            n = np.array([col[o] for col in numeric_columns]).T.reshape(out.size, -1)
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                message = (f"Jacobian mismatch for output {o} with respect to input {k},\n"
                           f"numerical:{Tensor._make(n)}\nanalytical:{Tensor._make(a)}\n")
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, **kwargs):
    """gradcheck of the vector-Jacobian product itself, as torch does: the function
    checked is ``(inputs, grad_outputs) -> grad(func(inputs), inputs, grad_outputs,
    create_graph=True)``, so second derivatives with respect to the inputs and the
    mixed ones with respect to ``grad_outputs`` are both compared with central
    differences. Without ``grad_outputs``, random ones (double, requiring grad)."""
    from ..tensor import Tensor
    from ..ops.random import randn
    from .api import grad
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    if grad_outputs is None:
        outputs = func(*inputs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        grad_outputs = tuple(randn(*o.shape, dtype=o.dtype, requires_grad=True)
                             for o in outputs if isinstance(o, Tensor) and o._requires_grad)
    grad_outputs = grad_outputs if isinstance(grad_outputs, tuple) else tuple(grad_outputs)
    count = len(grad_outputs)

    def vjp_of_func(*args):
        input_args, outs_grads = args[:-count], args[-count:]
        outputs = func(*input_args)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        differentiable = [a for a in input_args if isinstance(a, Tensor) and a._requires_grad]
        grads = grad(outputs, differentiable, outs_grads, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(vjp_of_func, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
