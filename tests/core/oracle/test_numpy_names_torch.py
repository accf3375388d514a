"""``axis=`` and ``keepdims=`` (torch's numpy-style aliases of ``dim``/``keepdim``) on
every method and function gradstudio.numpy_names lists, against torch 2.13: the same
values, and torch accepts each one (so the list cannot claim more than torch does);
where torch refuses them, GradStudio refuses them too, with the same complaint."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio
from gradstudio.numpy_names import FUNCTIONS, METHODS

pytestmark = pytest.mark.oracle

VALUES = np.array([[0.5, -2.0, 3.0], [1.5, 4.0, -1.0]], dtype=np.float32)
KEEPDIM = {"all", "amax", "amin", "any", "argmax", "argmin", "logsumexp", "max", "mean", "min",
           "prod", "std", "sum", "var"}


def _extra(lib, name) -> dict:
    """The other arguments a call needs besides the input and the dim."""
    return {"gather": {"index": lib.tensor([[0, 2, 1], [1, 0, 0]])},
            "index_select": {"index": lib.tensor([0, 2])}, "narrow": {"start": 1, "length": 2},
            "select": {"index": 1}, "unflatten": {"sizes": (3, 1)}, "topk": {"k": 2}, "chunk": {"chunks": 2},
            "repeat_interleave": {"repeats": 2},
            "scatter": {"index": lib.tensor([[0], [2]]), "value": 7.0},
            "scatter_add": {"index": lib.tensor([[0], [2]]), "src": lib.ones(2, 1)}}.get(name, {})


def _call(lib, name, form, **kwargs):
    x = lib.tensor(VALUES)
    if name in ("cat", "concat", "concatenate", "stack"):
        return getattr(lib, name)([x, x * 2], **kwargs)
    if form == "method":
        return getattr(x, name)(**_extra(lib, name), **kwargs)
    return getattr(lib, name)(x, **_extra(lib, name), **kwargs)


def _values(result):
    parts = result if isinstance(result, tuple) else (result,)
    return [np.asarray(p.detach().numpy() if hasattr(p, "detach") else p) for p in parts]


CASES = [(name, "method") for name in METHODS] + [(name, "function") for name in FUNCTIONS]


@pytest.mark.parametrize("name,form", CASES, ids=[f"{f}-{n}" for n, f in CASES])
def test_axis_and_keepdims_as_torch(torch, name, form):
    kwargs = {"axis": 1} if name not in ("squeeze", "unsqueeze") else {"axis": 0}
    if name in KEEPDIM:
        kwargs["keepdims"] = True
    theirs = _call(torch, name, form, **kwargs)
    ours = _call(gradstudio, name, form, **kwargs)
    for a, b in zip(_values(theirs), _values(ours), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(b, a, rtol=1e-6)
    # the aliases mean the same as the names themselves
    named = {("dim" if k == "axis" else "keepdim"): v for k, v in kwargs.items()}
    for a, b in zip(_values(_call(gradstudio, name, form, **named)), _values(ours), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("lib_name", ["torch", "gradstudio"])
def test_both_spellings_at_once_is_torchs_type_error(torch, lib_name):
    lib = torch if lib_name == "torch" else gradstudio
    with pytest.raises(TypeError, match=r"^sum\(\) got an unexpected keyword argument 'axis'$"):
        lib.ones(2, 3).sum(dim=0, axis=0)


@pytest.mark.parametrize("call", [
    lambda lib: lib.ones(2, 3).norm(dim=1, keepdims=True),       # Python in torch: no aliases
    lambda lib: lib.hstack([lib.ones(2), lib.ones(2)], axis=0),
    lambda lib: lib.nn.functional.softmax(lib.ones(2, 3), axis=1),
], ids=["Tensor.norm", "hstack", "F.softmax"])
def test_where_torch_refuses_the_aliases_so_does_gradstudio(torch, call):
    with pytest.raises(TypeError) as theirs:
        call(torch)
    with pytest.raises(TypeError) as ours:
        call(gradstudio)
    # the same complaint (Python names torch's Tensor.norm by its class: "Tensor.norm()")
    assert str(ours.value).split("() ", 1)[1] == str(theirs.value).split("() ", 1)[1]
