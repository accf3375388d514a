"""F.scaled_dot_product_attention against torch 2.13 on CPU: the path torch takes
(the fused ScaledDotProductFlashAttentionForCpuBackward0 node or the math path's
nodes), the whole graph's node names, outputs and the gradients of query, key, value
and a mask that requires grad (float64 to 1e-10, float32 to 1e-5), printouts, saved
attributes and torch's errors. Dropout is compared at p = 1 (no random draw left)."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def graph(fn) -> list:
    if fn is None:
        return []
    return [type(fn).__name__, [graph(f) for f, _ in fn.next_functions if f is not None]]


CASES = {
    "plain": dict(),
    "bool mask": dict(mask="bool"),
    "float mask": dict(mask="float"),
    "mask needing grad": dict(mask="float", mask_grad=True),
    "3-d mask": dict(mask="float", mask_shape=(1, 3, 4)),
    "causal": dict(causal=True),
    "causal and mask": dict(causal=True, mask="float"),
    "causal, longer query": dict(causal=True, q=(1, 2, 5, 5), k=(1, 2, 3, 5)),
    "row all masked": dict(mask="first row only"),
    "row all masked, math": dict(mask="first row only", q=(2, 3, 5), k=(2, 4, 5)),
    "scale": dict(scale=0.7),
    "negative scale": dict(scale=-0.3),
    "negative scale, math": dict(scale=-0.3, q=(2, 3, 5), k=(2, 4, 5)),
    "3-d": dict(q=(2, 3, 5), k=(2, 4, 5)),
    "3-d causal": dict(q=(2, 3, 5), k=(2, 4, 5), causal=True),
    "2-d": dict(q=(3, 5), k=(4, 5)),
    "gqa": dict(q=(1, 4, 3, 5), k=(1, 2, 4, 5), gqa=True),
    "gqa, key and value heads differ": dict(q=(1, 4, 3, 5), k=(1, 2, 4, 5), v=(1, 1, 4, 5), gqa=True),
    "value head dim differs": dict(v=(1, 2, 4, 6)),
    "batch broadcast": dict(q=(2, 2, 3, 5), k=(1, 2, 4, 5)),
    "empty query": dict(q=(1, 2, 0, 5)),
    "empty key": dict(k=(1, 2, 0, 5)),
    "dropout 1": dict(dropout=1.0),
    "negative dropout, math": dict(q=(2, 3, 5), k=(2, 4, 5), dropout=-0.5),
    "float32": dict(dtype="float32"),
    "float32 bool mask": dict(dtype="float32", mask="bool"),
}


def run(lib, case):
    rng = np.random.default_rng(0)
    dtype = getattr(lib, case.get("dtype", "float64"))
    q_shape, k_shape = case.get("q", (1, 2, 3, 5)), case.get("k", (1, 2, 4, 5))
    v_shape = case.get("v", k_shape)

    def leaf(shape, grad=True):
        return lib.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=grad)

    q, k, v = leaf(q_shape), leaf(k_shape), leaf(v_shape)
    L, S = q_shape[-2], k_shape[-2]
    mask = None
    if case.get("mask") == "bool":
        mask = lib.tensor(rng.random((L, S)) > 0.3)
    elif case.get("mask") == "float":
        mask = leaf(case.get("mask_shape", (L, S)), case.get("mask_grad", False))
    elif case.get("mask") == "first row only":
        mask = lib.tensor(np.arange(L)[:, None] == 0).expand(L, S).clone()
    y = lib.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=mask, dropout_p=case.get("dropout", 0.0), is_causal=case.get("causal", False),
        scale=case.get("scale"), enable_gqa=case.get("gqa", False))
    names = graph(y.grad_fn)
    text = repr(y)
    (y * lib.tensor(rng.standard_normal(tuple(y.shape)), dtype=dtype)).sum().backward()
    grads = [t.grad for t in (q, k, v)] + ([mask.grad] if case.get("mask_grad") else [])
    return names, text, y.detach().numpy(), [None if g is None else g.numpy() for g in grads]


@pytest.mark.parametrize("name", list(CASES))
def test_scaled_dot_product_attention_matches_torch(name, torch):
    case = CASES[name]
    ours, theirs = run(gradstudio, case), run(torch, case)
    assert ours[0] == theirs[0]
    tol = 1e-5 if case.get("dtype") == "float32" else 1e-10
    np.testing.assert_allclose(ours[2], theirs[2], rtol=tol, atol=tol)
    for a, b in zip(ours[3], theirs[3]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    if case.get("dtype") != "float32":
        assert ours[1].replace("-0.", " 0.") == theirs[1].replace("-0.", " 0.")


def test_fused_node_saves_what_torch_saves(torch):
    def saved(lib):
        x = lib.tensor(np.linspace(-1, 1, 30).reshape(1, 2, 3, 5), requires_grad=True)
        mask = lib.tensor(np.array([[True, False, True]] * 3))
        fn = lib.nn.functional.scaled_dot_product_attention(x, x, x, attn_mask=mask, is_causal=True).grad_fn
        return (fn._saved_attn_mask.numpy(), fn._saved_logsumexp.numpy(), fn._saved_output.detach().numpy(),
                fn._saved_dropout_p, fn._saved_is_causal, fn._saved_scale)
    ours, theirs = saved(gradstudio), saved(torch)
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert ours[3:] == theirs[3:]


ERRORS = {
    "1-d": dict(q=(5,), k=(5,), v=(5,)),
    "dtypes differ": dict(q=(1, 2, 3, 5), k=(1, 2, 4, 5), v=(1, 2, 4, 5), key_dtype="float32"),
    "int mask": dict(mask=("int64", (3, 4))),
    "1-d mask": dict(mask=("float64", (4,))),
    "mask shape": dict(mask=("float64", (3, 5))),
    "causal and mask, math": dict(q=(2, 3, 5), k=(2, 4, 5), v=(2, 4, 5), mask=("bool", (3, 4)), causal=True),
    "gqa heads do not divide": dict(q=(1, 3, 3, 5), gqa=True),
    "heads differ": dict(q=(1, 4, 3, 5)),
    "key head dim differs": dict(k=(1, 2, 4, 6), v=(1, 2, 4, 6)),
    "negative dropout, fused": dict(dropout=-0.5),
}


def raised(lib, case):
    def leaf(shape, dtype="float64"):
        return lib.ones(*shape, dtype=getattr(lib, dtype), requires_grad=True)
    q = leaf(case.get("q", (1, 2, 3, 5)))
    k = leaf(case.get("k", (1, 2, 4, 5)), case.get("key_dtype", "float64"))
    v = leaf(case.get("v", case.get("k", (1, 2, 4, 5))))
    mask = None
    if "mask" in case:
        dtype, shape = case["mask"]
        mask = lib.ones(*shape, dtype=getattr(lib, dtype))
    with pytest.raises(Exception) as info:
        lib.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=case.get("dropout", 0.0),
                                                       is_causal=case.get("causal", False),
                                                       enable_gqa=case.get("gqa", False))
    return type(info.value).__name__, str(info.value)


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name, torch):
    assert raised(gradstudio, ERRORS[name]) == raised(torch, ERRORS[name])


def test_safe_softmax_matches_torch(torch):
    def run(lib):
        x = lib.tensor([[1.0, 2.0, -float("inf")], [-float("inf")] * 3], dtype=lib.float64, requires_grad=True)
        y = lib._safe_softmax(x, -1)
        (y * lib.tensor([[1.0, -2.0, 3.0], [1.0, 1.0, 1.0]], dtype=lib.float64)).sum().backward()
        return repr(y), x.grad.numpy()
    ours, theirs = run(gradstudio), run(torch)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
