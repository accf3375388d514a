"""Every row of the op table, tested from the table itself.

For each op (with the sample inputs its row declares):
* its symbolic forward computes what its numpy forward computes;
* its VJP rules agree with central finite differences (float64);
* the closed form sympy derives (independently of the rules) agrees with them;
* the rules are differentiable again (double backward vs finite differences).
A new row is tested by giving it a sample; forgetting the sample fails here.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy

import gradstudio as torch
from gradstudio.studio import trace as graph_module
from gradstudio.studio import symbolic
from gradstudio.autograd import grad
from gradstudio.ops import OPS, apply
from gradstudio.ops.table import NotImplementedRule
from op_samples import differentiable, sample, tensors
from gradstudio.studio.symbolic.per_element import apply_symbolic

IDS = [op.id for op in OPS]


def _forward64(op, args, params):
    return np.asarray(op.forward(*args, **params), dtype=np.float64)


def test_every_op_has_a_sample():
    missing = [op.id for op in OPS if op.sample is None]
    assert not missing, f"add sample inputs for {missing} in gradstudio/ops/samples.py"


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_symbolic_forward_matches_numpy_forward(op):
    if op.sympy is None:
        pytest.skip(f"{op.name} has no symbolic forward (only appears in double-backward graphs)")
    args, params = sample(op)
    # 30-digit Floats, not exact rationals: (p/q)**(r/s) with 17-digit p, q makes
    # sympy look for exact roots of huge integers.
    symbolic_args = [np.vectorize(lambda v: sympy.Float(v, 30), otypes=[object])(a)
                     if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a for a in args]
    out = apply_symbolic(op, params, symbolic_args)
    values = np.vectorize(lambda e: float(e.evalf(30)) if hasattr(e, "evalf") else float(e),
                          otypes=[float])(out)
    np.testing.assert_allclose(values, _forward64(op, args, params), rtol=1e-9, atol=1e-12)


def _central_difference(op, args, params, position, upstream):
    x = args[position]
    result = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        h = 1e-6 * max(1.0, abs(x[index]))
        values = []
        for sign in (1, -1):
            shifted = list(args)
            shifted[position] = x.copy()
            shifted[position][index] += sign * h
            values.append(np.sum(_forward64(op, shifted, params) * upstream))
        result[index] = (values[0] - values[1]) / (2 * h)
    return result


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_vjp_matches_finite_differences(op):
    args, params = sample(op)
    positions = differentiable(op, args)
    if not positions:
        pytest.skip("no differentiable input (derivatives.yaml: not_implemented)")
    inputs = tensors(args, positions)
    out = apply(op, inputs, params)
    upstream = np.random.default_rng(1).uniform(0.5, 1.5, size=out.shape)
    out.backward(torch.tensor(upstream, dtype=torch.float64))
    for i in positions:
        expected = _central_difference(op, args, params, i, upstream)
        np.testing.assert_allclose(inputs[i].grad.numpy(), expected, rtol=1e-5, atol=1e-7,
                                   err_msg=f"{op.name}: input {i}")


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_sympy_derivative_matches_vjp(op):
    if op.sympy is None:
        pytest.skip(f"{op.name} has no symbolic forward")
    args, params = sample(op)
    positions = differentiable(op, args)
    with graph_module.tracing():
        inputs = tensors(args, positions)
        out = apply(op, inputs, params)
    upstream = np.random.default_rng(2).uniform(0.5, 1.5, size=out.shape)
    g = graph_module.capture(out, {id(t): (f"in{i}", t) for i, t in enumerate(inputs)
                                   if isinstance(t, torch.Tensor)})
    out.backward(torch.tensor(upstream, dtype=torch.float64))
    for i in positions:
        vertex = next(v.id for v in g.nodes if v.name == f"in{i}")
        formula = symbolic.derive_leaf(g, upstream, vertex, simplify=False)
        assert formula.values is not None, f"{op.name}: {formula.note}"
        np.testing.assert_allclose(formula.values, inputs[i].grad.numpy(), rtol=1e-6, atol=1e-9,
                                   err_msg=f"{op.name}: input {i} ({formula.kind})")


def _reaches(node, names) -> bool:
    """Whether a node of one of these classes is in the graph below ``node``."""
    stack = [node]
    while stack:
        node = stack.pop()
        if type(node).__name__ in names:
            return True
        stack += [n for n, _ in getattr(node, "next_functions", ()) if n is not None]
    return False


def _not_implemented_rows() -> set:
    """Nodes whose derivative torch does not implement (derivatives.yaml's
    not_implemented: CdistBackwardBackward0)."""
    from gradstudio.ops import BY_ID
    return {op.name for op in BY_ID.values()
            if op.vjp and all(isinstance(rule, NotImplementedRule) for rule in
                              (op.vjp if isinstance(op.vjp, tuple) else (op.vjp,)))}


@pytest.mark.parametrize("op", OPS, ids=IDS)
def test_rules_are_differentiable_again(op):
    """Double backward: the VJP rules are tensor ops, so their gradient is right too."""
    args, params = sample(op)
    positions = differentiable(op, args)
    if not positions:
        pytest.skip("no differentiable input")
    i = positions[0]
    rng = np.random.default_rng(3)
    out_shape = _forward64(op, args, params).shape
    upstream = rng.uniform(0.5, 1.5, size=out_shape)
    direction = rng.uniform(0.5, 1.5, size=args[i].shape)

    def first_derivative_dot(x_values):
        shifted = list(args)
        shifted[i] = x_values
        inputs = tensors(shifted, positions)
        out = apply(op, inputs, params)
        (g,) = grad(out, (inputs[i],), torch.tensor(upstream, dtype=torch.float64),
                    create_graph=True)
        return inputs[i], (g * torch.tensor(direction, dtype=torch.float64)).sum()

    x, scalar = first_derivative_dot(args[i])
    if scalar.requires_grad and _reaches(scalar.grad_fn, {"NotImplemented"}):
        # torch has no double backward for the kernel (multi_margin_loss): neither do we
        with pytest.raises(RuntimeError, match=r"^derivative for aten::\w+_backward is not implemented$"):
            grad(scalar, (x,))
        return
    if scalar.requires_grad and _reaches(scalar.grad_fn, _not_implemented_rows()):
        with pytest.raises(NotImplementedError, match=r"^the derivative for '\w+' is not implemented\.$"):
            grad(scalar, (x,))
        return
    if not scalar.requires_grad:
        # the first derivative does not depend on x (e.g. linear ops): second derivative is 0
        second = np.zeros_like(args[i])
    else:
        (second_t,) = grad(scalar, (x,), allow_unused=True)
        second = np.zeros_like(args[i]) if second_t is None else second_t.numpy()
    expected = np.zeros_like(args[i])
    for index in np.ndindex(*args[i].shape):
        h = 1e-5 * max(1.0, abs(args[i][index]))
        plus, minus = args[i].copy(), args[i].copy()
        plus[index] += h
        minus[index] -= h
        expected[index] = (first_derivative_dot(plus)[1].item()
                           - first_derivative_dot(minus)[1].item()) / (2 * h)
    np.testing.assert_allclose(second, expected, rtol=1e-4, atol=1e-6, err_msg=op.name)


ARRAY_RULE_OPS = [op for op in OPS if op.vjp_arrays is not None]


@pytest.mark.parametrize("op", ARRAY_RULE_OPS, ids=[op.id for op in ARRAY_RULE_OPS])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_array_rules_compute_what_the_tensor_rules_compute(op, dtype):
    """A row's array rules (used when the backward pass is not recorded) give the
    gradients its tensor rules give (used under create_graph=True), bit for bit."""
    args, params = sample(op)
    positions = differentiable(op, args)
    upstream = np.random.default_rng(4).uniform(0.5, 1.5, size=_forward64(op, args, params).shape)

    def gradients(create_graph):
        inputs = tuple(t.to(dtype).detach().requires_grad_(t.requires_grad)
                       if isinstance(t, torch.Tensor) and t.is_floating_point() else t
                       for t in tensors(args, positions))
        out = apply(op, inputs, params)
        wanted = [inputs[i] for i in positions]
        return grad(out, wanted, torch.tensor(upstream, dtype=dtype), create_graph=create_graph)

    for i, by_arrays, by_tensors in zip(positions, gradients(False), gradients(True)):
        assert by_arrays.dtype == by_tensors.dtype and by_arrays.shape == by_tensors.shape
        np.testing.assert_array_equal(by_arrays.numpy(), by_tensors.detach().numpy(),
                                      err_msg=f"{op.name}: input {i}")


def test_rows_with_array_rules_include_the_hot_ones():
    names = {op.name for op in ARRAY_RULE_OPS}
    assert {"MmBackward0", "AddmmBackward0", "PowBackward0", "TanhBackward0",
            "ExpandBackward0", "ViewBackward0", "TBackward0"} <= names
