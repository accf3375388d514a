"""The backward engine's own behaviour, checked without PyTorch: deep graphs,
freeing the graph, accumulation, retain_grad, hooks, grad mode, higher-order
gradients, the functional API, ``inputs=``, and the aliasing invariants.

Expected values are hand-derived (or PyTorch's documented semantics).
"""
from __future__ import annotations

import gc
import math
import tracemalloc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradstudio as torch
from gradstudio.autograd.functional import hessian, jacobian


def values(t) -> np.ndarray:
    return t.detach().numpy()


# --------------------------------------------------------------------------- deep graphs, memory
def test_100k_op_chain_backward_and_the_graph_is_freed():
    x = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    y = x
    watched_tensors, watched_nodes = [], []
    for i in range(100_000):
        y = y * 1.0000001
        if i % 20_000 == 10_000:
            watched_tensors.append(weakref.ref(y))
            watched_nodes.append(weakref.ref(y.grad_fn))
    root = y.sum()
    del y
    assert all(ref() is not None for ref in watched_tensors)  # saved by the next MulBackward0
    root.backward()  # iterative: no RecursionError
    np.testing.assert_allclose(values(x.grad), [1.0000001 ** 100_000] * 2, rtol=1e-9)
    # the saved intermediates are released by backward, the nodes stay while the root lives
    assert all(ref() is None for ref in watched_tensors)
    assert all(ref() is not None for ref in watched_nodes)
    del root
    assert all(ref() is None for ref in watched_nodes)  # freed by refcounting: no cycles


def test_100k_add_chain_with_retain_graph_twice():
    x = torch.ones(3, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 0
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_array_equal(values(x.grad), [2.0, 2.0, 2.0])


def test_graph_memory_is_released_after_del():
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        x = torch.ones(2000, dtype=torch.float64, requires_grad=True)
        y = x
        for _ in range(1000):
            y = (y * 1.001).tanh()  # tanh saves its 16 kB result, which the next mul saves too
        peak_graph = tracemalloc.get_traced_memory()[0] - before
        y.sum().backward()
        del y
        after = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert peak_graph > 10e6
    assert after < 1e6, f"{after / 1e6:.1f} MB still held after the graph was dropped"
    assert x.grad is not None


# --------------------------------------------------------------------------- accumulation
def test_gradients_accumulate_across_backward_calls():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    first = x.grad
    (3 * x).sum().backward()
    assert x.grad is first  # accumulated in place, as torch does
    np.testing.assert_array_equal(values(x.grad), [2 + 3, 4 + 3])
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(values(x.grad), [2.0, 2.0])
    x.grad.zero_()
    x.sum().backward()
    np.testing.assert_array_equal(values(x.grad), [1.0, 1.0])


def test_accumulation_of_a_broadcast_gradient_keeps_the_leaf_shape():
    b = torch.zeros(3, requires_grad=True)
    w = torch.ones(4, 3)
    (w + b).sum().backward()
    (w * b).sum().backward()
    assert x_shape(b.grad) == (3,)
    np.testing.assert_array_equal(values(b.grad), [8.0, 8.0, 8.0])


def x_shape(t):
    return tuple(t.shape)


def test_two_paths_to_one_leaf_add_up():
    x = torch.tensor(3.0, requires_grad=True)
    y = x * x + x.exp() + x
    y.backward()
    assert values(x.grad) == pytest.approx(2 * 3 + math.exp(3) + 1)


# --------------------------------------------------------------------------- retain_grad
def test_retain_grad_populates_a_non_leaf():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    assert y.retains_grad
    (y * y).sum().backward()
    np.testing.assert_array_equal(values(y.grad), [6.0, 12.0])
    np.testing.assert_array_equal(values(x.grad), [18.0, 36.0])
    z = x * 3
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert z.grad is None


def test_retain_grad_on_a_leaf_is_a_no_op_and_accumulates():
    x = torch.ones(2, requires_grad=True)
    x.retain_grad()
    y = x * 2
    y.retain_grad()
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_array_equal(values(y.grad), [2.0, 2.0])
    np.testing.assert_array_equal(values(x.grad), [4.0, 4.0])


# --------------------------------------------------------------------------- hooks
def test_tensor_hook_on_a_leaf_modifies_what_accumulates():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 10)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(values(x.grad), [20.0, 20.0])
    handle.remove()
    (x * 2).sum().backward()
    np.testing.assert_array_equal(values(x.grad), [22.0, 22.0])


def test_tensor_hook_on_a_non_leaf_changes_the_gradient_upstream():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    seen = []
    y.register_hook(lambda g: seen.append(values(g).copy()))  # returns None: observes only
    y.register_hook(lambda g: g + 1)
    (y * 2).sum().backward()
    np.testing.assert_array_equal(seen[0], [2.0, 2.0])
    np.testing.assert_array_equal(values(x.grad), [9.0, 9.0])  # 3 * (2 + 1)


def test_retained_grad_sees_the_hooked_gradient():
    x = torch.ones(2, requires_grad=True)
    y = x * 3
    y.retain_grad()
    y.register_hook(lambda g: g * 2)  # registered after retain_grad, still runs before it
    y.sum().backward()
    np.testing.assert_array_equal(values(y.grad), [2.0, 2.0])
    np.testing.assert_array_equal(values(x.grad), [6.0, 6.0])


def test_removed_non_leaf_hook_does_not_run():
    x = torch.ones(2, requires_grad=True)
    y = x * 3
    handle = y.register_hook(lambda g: g * 100)
    handle.remove()
    y.sum().backward()
    np.testing.assert_array_equal(values(x.grad), [3.0, 3.0])


def test_node_hooks():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    calls = []
    post = y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: calls.append(
        (len(grad_inputs), values(grad_outputs[0]).tolist())))
    y.grad_fn.register_prehook(lambda grad_outputs: (grad_outputs[0] * 2,))
    y.sum().backward(retain_graph=True)
    assert calls == [(2, [2.0, 2.0])]  # the post hook sees the pre-hooked gradient
    np.testing.assert_array_equal(values(x.grad), [6.0, 6.0])
    post.remove()
    x.grad = None
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: (grad_inputs[0] * 10, None))
    y.sum().backward()
    np.testing.assert_array_equal(values(x.grad), [60.0, 60.0])  # a post hook may replace them


def test_accumulate_grad_node_hook_runs_after_accumulation():
    x = torch.ones(2, requires_grad=True)
    accumulator = (x * 1).grad_fn.next_functions[0][0]
    assert accumulator.name() == "torch::autograd::AccumulateGrad"
    seen = []
    accumulator.register_hook(lambda grad_inputs, grad_outputs: seen.append(
        (grad_inputs, values(grad_outputs[0]).tolist(), values(x.grad).tolist())))
    (x * 5).sum().backward()
    assert seen == [((), [5.0, 5.0], [5.0, 5.0])]


# --------------------------------------------------------------------------- grad mode
def test_grad_mode_context_managers():
    x = torch.ones(2, requires_grad=True)
    with torch.no_grad():
        assert not torch.is_grad_enabled()
        assert not (x * 2).requires_grad
        with torch.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    assert torch.is_grad_enabled()
    with torch.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert torch.is_grad_enabled()
    torch.set_grad_enabled(False)  # a plain call switches it too
    try:
        assert not (x * 2).requires_grad
    finally:
        torch.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_grad_mode_decorators():
    x = torch.ones(2, requires_grad=True)

    @torch.no_grad()
    def called():
        return x * 2

    @torch.no_grad
    def bare():
        return x * 2

    @torch.enable_grad()
    def enabled():
        return x * 2

    @torch.set_grad_enabled(False)
    def switched_off():
        return x * 2

    assert not called().requires_grad and not bare().requires_grad
    assert not switched_off().requires_grad
    with torch.no_grad():
        assert enabled().requires_grad
    assert torch.is_grad_enabled()
    assert bare.__name__ == "bare"


def test_grad_mode_restored_after_an_exception():
    @torch.no_grad()
    def fails():
        raise ValueError("inside")

    with pytest.raises(ValueError):
        fails()
    assert torch.is_grad_enabled()
    with pytest.raises(ValueError):
        with torch.no_grad():
            raise ValueError("inside")
    assert torch.is_grad_enabled()


# --------------------------------------------------------------------------- higher order
def test_second_derivative_with_create_graph():
    x = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    y = (x ** 3).sum()
    (dx,) = torch.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(values(dx), 3 * values(x) ** 2)
    assert dx.requires_grad
    (ddx,) = torch.autograd.grad(dx.sum(), x)
    np.testing.assert_allclose(values(ddx), 6 * values(x))


def test_mixed_partial_derivative():
    x = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    w = torch.tensor(-2.0, dtype=torch.float64, requires_grad=True)
    f = x * x * w + w.sin() * x
    (dfdx,) = torch.autograd.grad(f, x, create_graph=True)  # 2xw + sin(w)
    assert values(dfdx) == pytest.approx(2 * 1.5 * -2.0 + math.sin(-2.0))
    dfdx.backward()
    assert values(w.grad) == pytest.approx(2 * 1.5 + math.cos(-2.0))  # d/dw (2xw + sin w)
    assert values(x.grad) == pytest.approx(2 * -2.0)


def test_backward_with_create_graph_then_differentiate_the_grad():
    x = torch.tensor([1.0, 3.0], dtype=torch.float64, requires_grad=True)
    (x.sin() * x).sum().backward(create_graph=True)  # grad: sin x + x cos x
    g = x.grad
    assert g.requires_grad
    x.grad = None
    g.sum().backward()  # 2 cos x - x sin x
    xs = np.array([1.0, 3.0])
    np.testing.assert_allclose(values(x.grad), 2 * np.cos(xs) - xs * np.sin(xs))


def test_third_derivative():
    x = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    y = x.exp() * x
    d1, = torch.autograd.grad(y, x, create_graph=True)
    d2, = torch.autograd.grad(d1, x, create_graph=True)
    d3, = torch.autograd.grad(d2, x)
    assert values(d3) == pytest.approx(math.exp(0.7) * (0.7 + 3))


def test_jacobian_and_hessian():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    J = jacobian(lambda t: t ** 2, x)
    np.testing.assert_allclose(values(J), np.diag(2 * values(x)))
    A = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=torch.float64)
    v = torch.tensor([0.5, -1.0], dtype=torch.float64)
    Ja, Jv = jacobian(lambda a, b: a @ b, (A, v))
    assert tuple(Ja.shape) == (3, 3, 2) and tuple(Jv.shape) == (3, 2)
    np.testing.assert_allclose(values(Jv), values(A))
    expected = np.zeros((3, 3, 2))
    for i in range(3):
        expected[i, i] = values(v)
    np.testing.assert_allclose(values(Ja), expected)
    H = hessian(lambda t: (t ** 3).sum(), x)
    np.testing.assert_allclose(values(H), np.diag(6 * values(x)))
    w = torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64)
    (hxx, hxw), (hwx, hww) = hessian(lambda a, b: (a * a * b).sum(), (x, w))
    np.testing.assert_allclose(values(hxx), np.diag(2 * values(w)))
    np.testing.assert_allclose(values(hxw), np.diag(2 * values(x)))
    np.testing.assert_allclose(values(hwx), np.diag(2 * values(x)))
    np.testing.assert_allclose(values(hww), np.zeros((3, 3)))
    assert not x.requires_grad  # the functional API leaves its inputs alone


def test_hessian_of_a_piecewise_linear_function_is_zero():
    x = torch.tensor([-1.0, 0.5, 2.0], dtype=torch.float64)
    H = hessian(lambda t: (t.relu() * 3 + torch.nn.functional.leaky_relu(t, 0.1)).sum(), x)
    np.testing.assert_array_equal(values(H), np.zeros((3, 3)))
    x = torch.tensor([0.5, -2.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(x.relu().sum(), x, create_graph=True)
    assert g.requires_grad  # as in torch: relu's gradient depends on its result
    (gg,) = torch.autograd.grad(g.sum(), x)
    np.testing.assert_array_equal(values(gg), [0.0, 0.0])


# --------------------------------------------------------------------------- inputs=
def test_backward_inputs_restricts_accumulation():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()
    y.backward(inputs=[x], retain_graph=True)
    np.testing.assert_array_equal(values(x.grad), [3.0, 4.0])
    assert w.grad is None
    y.backward(inputs=w)
    np.testing.assert_array_equal(values(w.grad), [1.0, 2.0])
    np.testing.assert_array_equal(values(x.grad), [3.0, 4.0])


def test_backward_inputs_with_a_non_leaf():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    v = x * 3
    (v * v).sum().backward(inputs=[v])
    np.testing.assert_array_equal(values(v.grad), [6.0, 12.0])
    assert x.grad is None


def test_autograd_grad_does_not_touch_dot_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (g,) = torch.autograd.grad((x * x).sum(), x)
    np.testing.assert_array_equal(values(g), [2.0, 4.0])
    assert x.grad is None


def test_autograd_grad_of_a_non_leaf_does_not_free_what_it_did_not_run():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    v = x.exp()  # saves its result
    z = (v * 2).sum()
    (gv,) = torch.autograd.grad(z, v, retain_graph=False)
    np.testing.assert_array_equal(values(gv), [2.0, 2.0])
    z2 = v.sum()
    z2.backward()  # ExpBackward0 never ran above, so it still has what it saved
    np.testing.assert_allclose(values(x.grad), np.exp([1.0, 2.0]), rtol=1e-6)


# --------------------------------------------------------------------------- aliasing invariants
def _shares(a, b) -> bool:
    return np.shares_memory(values(a), values(b))


IDENTITY_LIKE = {
    "add 0": lambda t: t + 0,
    "mul 1": lambda t: t * 1,
    "view": lambda t: t.view(*t.shape),
    "reshape": lambda t: t.reshape(-1).reshape(*t.shape),
    "permute identity": lambda t: t.permute(*range(t.dim())),
    "transpose twice": lambda t: t.transpose(0, -1).transpose(0, -1),
    "clone": lambda t: t.clone(),
    "index all": lambda t: t[...],
    "to same dtype": lambda t: t.to(t.dtype),
    "sum_to broadcast": lambda t: (t + torch.zeros(*t.shape)),
}


@pytest.mark.parametrize("name", list(IDENTITY_LIKE))
@pytest.mark.parametrize("create_graph", [False, True])
def test_leaf_grad_never_aliases_the_gradient_argument(name, create_graph):
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = torch.tensor([[5.0, 6.0], [7.0, 8.0]], requires_grad=True)
    y = IDENTITY_LIKE[name](x) + w
    g = torch.tensor([[1.0, 10.0], [100.0, 1000.0]])
    g_before, x_before = values(g).copy(), values(x).copy()
    y.backward(g, create_graph=create_graph, retain_graph=True)
    assert not _shares(x.grad, g) and not _shares(w.grad, g)
    assert not _shares(x.grad, w.grad)
    assert not _shares(x.grad, x) and not _shares(x.grad, y)
    y.backward(g, create_graph=create_graph)  # accumulates (in place without create_graph)
    np.testing.assert_array_equal(values(g), g_before)  # the upstream gradient is untouched
    np.testing.assert_array_equal(values(x), x_before)
    np.testing.assert_array_equal(values(x.grad), 2 * g_before)
    np.testing.assert_array_equal(values(w.grad), 2 * g_before)


def test_retained_grad_does_not_alias_leaf_grad_or_gradient():
    x = torch.ones(3, requires_grad=True)
    v = x + 0
    v.retain_grad()
    g = torch.tensor([1.0, 2.0, 3.0])
    v.backward(g, retain_graph=True)
    assert not _shares(v.grad, x.grad) and not _shares(v.grad, g) and not _shares(x.grad, g)
    v.backward(g)
    np.testing.assert_array_equal(values(g), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(values(v.grad), [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(values(x.grad), [2.0, 4.0, 6.0])


def test_the_implicit_gradient_of_two_roots_is_not_shared():
    a = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(2.0, requires_grad=True)
    torch.autograd.backward([a + 0, b + 0])
    assert not _shares(a.grad, b.grad)
    a.grad += 1
    assert values(b.grad) == 1.0


def test_user_held_gradient_tensor_is_not_changed_by_a_later_accumulation():
    x = torch.zeros(2, requires_grad=True)
    g = torch.tensor([1.0, 2.0])
    x.permute(0).backward(g)  # an identity view: torch itself would alias x.grad with g here
    (x * 1).sum().backward()
    np.testing.assert_array_equal(values(g), [1.0, 2.0])
    np.testing.assert_array_equal(values(x.grad), [2.0, 3.0])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(shape=st.lists(st.integers(1, 3), min_size=0, max_size=3),
       ops=st.lists(st.sampled_from(sorted(IDENTITY_LIKE)), min_size=1, max_size=4),
       broadcast=st.booleans())
def test_aliasing_invariants_hold_for_random_chains(shape, ops, broadcast):
    shape = tuple(shape) or (1,)
    rng = np.random.default_rng(len(ops))
    x = torch.tensor(rng.standard_normal(shape), requires_grad=True)
    w = torch.tensor(rng.standard_normal(shape[-1:] if broadcast else shape), requires_grad=True)
    y = x
    for name in ops:
        y = IDENTITY_LIKE[name](y)
    y = y + w
    g = torch.tensor(rng.standard_normal(tuple(y.shape)))
    snapshot = [values(t).copy() for t in (x, w, g)]
    y.backward(g)
    for grad in (x.grad, w.grad):
        for other in (x, w, g, y):
            assert not _shares(grad, other)
    assert not _shares(x.grad, w.grad)
    for t, before in zip((x, w, g), snapshot):
        np.testing.assert_array_equal(values(t), before)
    np.testing.assert_allclose(values(x.grad), snapshot[2])
    expected_w = snapshot[2] if not broadcast else snapshot[2].reshape(-1, shape[-1]).sum(0)
    np.testing.assert_allclose(values(w.grad), expected_w)


def test_backward_inputs_runs_a_non_leaf_inputs_node_and_retains_its_grad():
    # torch: the input's own node runs (its pre-hook fires, its saved tensors are freed)
    # and the input keeps retaining its grad afterwards
    x = torch.ones(2, requires_grad=True)
    y = x * x
    ran = []
    y.grad_fn.register_prehook(lambda grads: ran.append(1))
    (y * 3).sum().backward(inputs=[y])
    assert ran == [1]
    assert y.retains_grad and y.grad.tolist() == [3.0, 3.0] and x.grad is None
    with pytest.raises(RuntimeError, match="second time"):
        (y * 1).sum().backward()  # y's MulBackward0 has released what it saved


def test_a_node_pre_hook_sees_the_gradient_after_the_tensor_hooks():
    # torch's call_tensor_pre_hooks runs before call_pre_hooks
    x = torch.ones(2, requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: g * 10)
    y.grad_fn.register_prehook(lambda grads: seen.append(grads[0].tolist()))
    y.sum().backward()
    assert seen == [[10.0, 10.0]]
    assert x.grad.tolist() == [20.0, 20.0]


def test_a_leafs_first_grad_takes_the_engines_array_without_a_copy():
    # torch steals the gradient buffer when nobody else holds it; so does the engine
    x = torch.ones(1000, requires_grad=True)
    y = x * 2
    made = []
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: made.append(
        grad_inputs[0]._data.__array_interface__["data"][0]))
    y.sum().backward()
    assert x.grad._data.__array_interface__["data"][0] == made[0]


def test_python_numbers_go_straight_into_the_asked_dtype():
    """tensor(1.7, dtype=float64) is 1.7, not 1.7 rounded through float32 first."""
    import gradstudio as gs
    assert gs.tensor(1.7, dtype=gs.float64).item() == 1.7
    assert gs.tensor([1.7, [2.1][0]], dtype=gs.float64).tolist() == [1.7, 2.1]
    assert gs.tensor([1.7], dtype=gs.int64).tolist() == [1]
