"""Broadcasting forward and its undoing backward, for every binary elementwise
row of the op table, on shapes drawn by hypothesis.

The engine undoes broadcasting in one place (summing a rule's gradient back to
the input's shape); this checks that place against the definition: the
gradient of Σ f(a, b)·g w.r.t. ``a`` is the elementwise derivative summed over
every axis along which ``a`` was broadcast — computed here by central
differences on the unbroadcast inputs, in float64.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradstudio as torch
from gradstudio.ops import OPS, apply
from gradstudio.ops import shape_rules
from gradstudio.ops.table import has_derivative

# (rows that are the gradient of another row — ThresholdBackwardBackward0 … — only ever
# see equal shapes, from inside a backward pass; copy_ broadcasts its source into the
# target's shape, not both ways)
BINARY = [op for op in OPS if op.kind == "elementwise" and op.arity == 2 and op.shape is shape_rules.broadcast
          and not op.name.endswith("BackwardBackward0")
          # steps in the value (fmod, remainder) or in the sign (copysign), or no
          # derivative at all in one input (nextafter): a finite difference cannot see them
          and not op.name.startswith(("Fmod", "Remainder", "Copysign", "Nextafter"))]
# inputs kept where the op is smooth: positive bases, denominators away from 0, no ties
DOMAINS = {"elementwise.DIV": (None, (0.5, 2.0)), "elementwise.POW_TENSOR": ((0.5, 2.0), (-1.5, 1.5)),
           "special_functions.ZETA": ((2.5, 4.0), (0.5, 2.0))}


def _values(rng, shape, domain):
    low, high = domain or (-2.0, 2.0)
    return np.asarray(rng.uniform(low, high, size=shape))


@st.composite
def cases(draw):
    op = draw(st.sampled_from(BINARY))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    seed = draw(st.integers(0, 2**31 - 1))
    return op, shapes.input_shapes, shapes.result_shape, seed


def _objective(op, a, b, upstream, params):
    return float(np.sum(np.asarray(op.forward(a, b, **params), dtype=np.float64) * upstream))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_gradients_are_summed_back_over_broadcast_axes(case):
    op, (shape_a, shape_b), result_shape, seed = case
    rng = np.random.default_rng(seed)
    positive = (0.5, 2.0) if op.key.startswith(("pointwise_binary.", "special_functions.")) else None  # logs, roots
    domain_a, domain_b = DOMAINS.get(op.key, (positive, positive))
    a = _values(rng, shape_a, domain_a)
    b = _values(rng, shape_b, domain_b)
    if op.key in ("elementwise.MAXIMUM", "elementwise.MINIMUM"):
        b = np.asarray(b + 0.05 * np.sign(b - np.broadcast_to(a, result_shape).mean()))  # keep a ≠ b
        if np.any(np.isclose(np.broadcast_to(a, result_shape), np.broadcast_to(b, result_shape))):
            return
    params = {"alpha": 1.5} if op.key == "elementwise.ADD_ALPHA" else {}
    if op.params and not params:  # a row's own settings (lerp's weight …), as its sample gives them
        params = op.sample(np.random.default_rng(0))[1]
    # (zeta has no derivative in its first input: torch raises, and so does GradStudio)
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=has_derivative(rule))
              for v, rule in zip((a, b), op.vjp))
    out = apply(op, (ta, tb), params)
    assert out.shape == result_shape
    upstream = np.asarray(rng.uniform(0.5, 1.5, size=result_shape))
    out.backward(torch.tensor(upstream, dtype=torch.float64))
    for tensor, values, position in ((ta, a, 0), (tb, b, 1)):
        if not tensor.requires_grad:
            continue
        assert tensor.grad.shape == values.shape
        expected = np.zeros_like(values)
        for index in np.ndindex(*values.shape):
            h = 1e-6 * max(1.0, abs(values[index]))
            shifted = [a.copy(), b.copy()]
            shifted[position][index] += h
            plus = _objective(op, *shifted, upstream, params)
            shifted[position][index] -= 2 * h
            minus = _objective(op, *shifted, upstream, params)
            expected[index] = (plus - minus) / (2 * h)
        np.testing.assert_allclose(tensor.grad.numpy(), expected, rtol=1e-5, atol=1e-7,
                                   err_msg=f"{op.name}: input {position}, shapes {shape_a} {shape_b}")


@settings(max_examples=60, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3))
def test_broadcast_shapes_follow_numpy_and_torch(shapes):
    a = torch.ones(*shapes.input_shapes[0], requires_grad=True)
    b = torch.ones(*shapes.input_shapes[1], requires_grad=True)
    out = a * b + a
    assert out.shape == shapes.result_shape
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    # d/da Σ(a·b + a) = Σ over the broadcast copies of (b + 1) = 2 · (copies of each a element)
    copies_a = int(np.prod(shapes.result_shape)) // max(1, int(np.prod(a.shape)))
    np.testing.assert_allclose(a.grad.numpy(), np.full(a.shape, 2.0 * copies_a))
