"""The optimizers' in-place kernels (gradstudio/optim/_arith.py) against the formulas
they stand for, written out with plain float64 temporaries: bit for bit, for float32
(the fused, once-rounded kernels) and float64, on arrays of every rank including 0-d
(a scalar parameter: numpy hands 0-d results back as scalars, not arrays)."""
from __future__ import annotations

import numpy as np
import pytest

from gradstudio.optim import _arith

F64 = np.float64


def _add_(x, b, alpha):
    if alpha == 1:
        return x + b
    if x.dtype == np.float32:
        return (x.astype(F64) + F64(np.float32(alpha)) * b.astype(F64)).astype(np.float32)
    return x + x.dtype.type(alpha) * b


def _addcmul_(x, t1, t2, value):
    p = t1 if value == 1 else x.dtype.type(value) * t1
    if x.dtype == np.float32:
        return (x.astype(F64) + p.astype(F64) * t2.astype(F64)).astype(np.float32)
    return x + p * t2


def _addcdiv_(x, t1, t2, value):
    return x + (t1 / t2 if value == 1 else x.dtype.type(value) * t1 / t2)


def _lerp_(x, end, weight):
    w = x.dtype.type(weight)
    if abs(weight) < 0.5:
        if x.dtype == np.float32:
            return (x.astype(F64) + F64(w) * (end - x).astype(F64)).astype(np.float32)
        return x + w * (end - x)
    return end - (end - x) * (x.dtype.type(1) - w)


CASES = [("add_", _add_, 1, (-0.01,)), ("add_", _add_, 1, (1,)), ("add_", _add_, 1, (0.9,)),
         ("addcmul_", _addcmul_, 2, (1,)), ("addcmul_", _addcmul_, 2, (0.001,)), ("addcmul_", _addcmul_, 2, (-1,)),
         ("addcdiv_", _addcdiv_, 2, (1,)), ("addcdiv_", _addcdiv_, 2, (-0.003,)),
         ("lerp_", _lerp_, 1, (0.1,)), ("lerp_", _lerp_, 1, (0.75,))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(), (7,), (3, 5)], ids=["0d", "1d", "2d"])
@pytest.mark.parametrize("name, reference, arrays, scalars", CASES,
                         ids=[f"{c[0]}{c[3][0]}" for c in CASES])
def test_kernel_is_its_formula_bit_for_bit_and_in_place(name, reference, arrays, scalars, shape, dtype):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(dtype)
    operands = [rng.standard_normal(shape).astype(dtype) if i == 0 else
                (rng.random(shape) + 0.25).astype(dtype) for i in range(arrays)]
    expected = np.asarray(reference(x.copy(), *operands, *scalars), dtype=dtype)
    target = x.copy()
    returned = getattr(_arith, name)(target, *operands, *scalars)
    assert returned is target  # in place, as torch's trailing-underscore kernels
    assert target.dtype == dtype and target.shape == shape
    np.testing.assert_array_equal(target.reshape(-1).view(np.uint8), expected.reshape(-1).view(np.uint8))


def test_a_scalar_parameter_trains_with_every_optimizer():
    """A 0-d parameter runs through each optimizer's kernels (their temporaries are numpy
    scalars there) and moves as a 1-element parameter does, bit for bit."""
    import gradstudio as torch
    from gradstudio import nn, optim
    makers = [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
              lambda ps: optim.Adam(ps, lr=0.1), lambda ps: optim.AdamW(ps, lr=0.1),
              lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
              lambda ps: optim.Adagrad(ps, lr=0.1)]
    for make in makers:
        values = []
        for shape in ((), (1,)):
            p = nn.Parameter(torch.tensor(np.full(shape, 1.5, np.float32)))
            opt = make([p])
            for _ in range(5):
                opt.zero_grad()
                (p * p * 3).sum().backward()
                opt.step()
            values.append(p.detach().numpy().reshape(-1).copy())
        assert values[0].tobytes() == values[1].tobytes(), make


@pytest.mark.parametrize("options", [{}, {"amsgrad": True}, {"weight_decay": 0.1}, {"maximize": True},
                                     {"betas": (0.8, 0.9), "eps": 1e-3}])
def test_adams_float32_update_is_its_kernels_formulas_bit_for_bit(options):
    """Adam's float32 update writes into scratch arrays in one call: it must be the
    composition of the kernels' formulas (lerp_, mul_, addcmul_, the denominator,
    addcdiv_) in torch's order, on every shape a parameter can have."""
    from gradstudio import optim, tensor
    rng = np.random.default_rng(5)
    shapes = [(3, 4), (5,), ()]
    values = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    params = [tensor(v.copy(), requires_grad=True) for v in values]
    opt = optim.Adam(params, lr=0.01, **options)
    beta1, beta2 = options.get("betas", (0.9, 0.999))
    eps, decay = options.get("eps", 1e-8), options.get("weight_decay", 0)
    moments = [[np.zeros_like(v), np.zeros_like(v), np.zeros_like(v)] for v in values]
    for step in range(1, 6):
        grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        for p, g in zip(params, grads):
            p.grad = tensor(g.copy())
        opt.step()
        for i, g in enumerate(grads):
            x, (m, v, v_max) = values[i], moments[i]
            g = -g if options.get("maximize") else g
            if decay:
                g = _add_(g, x, decay)
            m = _lerp_(m, g, 1 - beta1)
            v = _addcmul_(v * np.float32(beta2), g, g, 1 - beta2)
            v_max = np.maximum(v_max, v)
            source = v_max if options.get("amsgrad") else v
            denom = np.sqrt(source) / np.float32((1 - beta2 ** step) ** 0.5) + np.float32(eps)
            values[i] = _addcdiv_(x, m, denom, -0.01 / (1 - beta1 ** step))
            moments[i] = [m, v, v_max]
            np.testing.assert_array_equal(params[i].detach().numpy(), values[i], err_msg=f"step {step}")
            assert params[i].detach().numpy().dtype == np.float32


def test_add_keeps_the_sign_of_a_zero_alpha_whatever_alpha_came_before():
    # add_ keeps each alpha's float32 rounding for the next call; 0.0 and -0.0 are one
    # dict key, so they are never kept: -0 + (-0)·b is -0, -0 + 0·b is +0
    b = np.ones(3, dtype=np.float32)
    for first, second in ((0.0, -0.0), (-0.0, 0.0)):
        _arith.add_(np.full(3, -0.0, dtype=np.float32), b, first)
        x = np.full(3, -0.0, dtype=np.float32)
        _arith.add_(x, b, second)
        assert np.signbit(x).all() == (np.signbit(second) and np.signbit(-0.0)), (first, second)


def test_add_rounds_a_repeated_alpha_the_same_each_time():
    rng = np.random.default_rng(1)
    x, b = rng.standard_normal(5).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    expected = _add_(_add_(x, b, -0.1), b, -0.1)
    got = _arith.add_(_arith.add_(x.copy(), b, -0.1), b, -0.1)
    assert got.tobytes() == expected.tobytes()


@pytest.mark.parametrize("name, reference, arrays, value, shapes",
                         [("add_", _add_, 1, -0.01, [()]), ("addcmul_", _addcmul_, 2, 0.001, [(5,), ()])])
def test_a_float32_operand_that_broadcasts_takes_the_general_path_bit_for_bit(name, reference, arrays,
                                                                                  value, shapes):
    # the fused kernel casts b first only when it has x's shape; a row (5,) of a (3, 5)
    # product, or a 0-d operand, goes through the mixed-dtype multiply
    rng = np.random.default_rng(3)
    for shape in shapes:
        x = rng.standard_normal((3, 5)).astype(np.float32)
        operands = [rng.standard_normal((3, 5)).astype(np.float32) for _ in range(arrays - 1)]
        operands.append((rng.random(shape) + 0.25).astype(np.float32))
        expected = np.asarray(reference(x.copy(), *operands, value), dtype=np.float32)
        target = x.copy()
        assert getattr(_arith, name)(target, *operands, value) is target
        assert target.tobytes() == expected.tobytes()
