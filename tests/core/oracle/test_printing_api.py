"""What the API's results print as, against PyTorch: tensors made by ops (not just
the formatter), dtype suffixes after type promotion, ``torch.Size``, dtypes,
``grad_fn`` reprs, named tuples, and ``torch.tensor``'s dtype inference.

tests/core/test_printing.py checks the formatter on given arrays; here the
library computes the values, dtypes and grad_fn names itself, so a wrong
promotion rule or node name shows up as a different line.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle

SETUP = ("x = torch.ones(2, 2, requires_grad=True)\n"
         "v = torch.tensor([1.5, -2.0, 3.25], requires_grad=True)\n"
         "i = torch.tensor([1, 2, 3])\n"
         "b = torch.tensor([True, False, True])\n")

EXPRESSIONS = [
    # leaves and results
    "x", "torch.ones(2, 2, requires_grad=True)", "x + 2", "x * x * 3", "(x * x * 3).mean()", "x.sum()",
    "x.mean(dim=0)", "(x * 2).sum(dim=0, keepdim=True)", "x.norm()", "x.exp()", "x.relu()", "-x",
    "x - 1", "1 - x", "x / 3", "3 / x", "x ** 2", "2 ** x", "x.sqrt()", "x.sigmoid()", "x.tanh()",
    "x @ x", "v @ v", "x @ v[:2]", "x.t()", "x.T", "x.mT", "x[0]", "x[:, 1]", "x[0, 0]", "x[None]",
    "x[..., 0]", "x.reshape(4)", "x.view(-1)", "x.flatten()", "x.unsqueeze(0)", "x.expand(3, 2, 2)",
    "x.clone()", "x.double()", "x.to(torch.float64) * 2", "torch.cat([x, x])", "torch.stack([v, v])",
    "torch.where(v > 0, v, 0.0)", "v.clamp(0, 1)", "v.clamp_min(0)", "torch.maximum(v, v.detach())",
    "v.softmax(0)", "v.log_softmax(0)", "v.max()", "v.prod()", "v.cumsum(0)", "v.abs()",
    "torch.nn.functional.leaky_relu(v, 0.2)", "v[torch.tensor([0, 2])]", "v[b]",
    "x.detach()", "x.data", "v * 1000", "v / 1000", "v * 1e8", "v.sum() * 1e-6",
    # dtype suffixes after promotion
    "i * 2.5", "i + 3", "i / 2", "i // 2", "i % 2", "i ** 2", "i ** 0.5", "i * v", "i + b",
    "b + 1", "b + b", "b * 2.0", "b & b", "i > 1", "i.sum()", "i.prod()", "i.float().mean()",
    "torch.ones(2) + torch.tensor(1.0, dtype=torch.float64)",
    "torch.ones(2) + torch.ones(2, dtype=torch.float64)",
    "torch.ones(2, dtype=torch.float64) * 2", "torch.ones(2, dtype=torch.float64, requires_grad=True) * 2",
    "torch.tensor(3, dtype=torch.int32) + torch.tensor([1, 2], dtype=torch.int64)",
    "torch.tensor([1, 2], dtype=torch.int32) + torch.tensor(3)",
    "torch.tensor([1, 2], dtype=torch.uint8) + torch.tensor([1, 2], dtype=torch.int8)",
    "torch.tensor([1, 2], dtype=torch.int32) * 2.5",
    "torch.tensor([1, 2], dtype=torch.float16) * 3", "i.to(torch.float64) + 1",
    "torch.tensor(2) * torch.tensor(1.5)", "torch.tensor([2]) * torch.tensor(1.5, dtype=torch.float64)",
    # creation
    "torch.tensor(3)", "torch.tensor(3.5)", "torch.tensor(3.5, dtype=torch.float64)", "torch.tensor(True)",
    "torch.tensor([[1, 2], [3, 4]])", "torch.tensor([1, 2.0])", "torch.tensor([True, False])",
    "torch.tensor([[True, 1]])", "torch.tensor([[1, 2.5], [True, 0]])", "torch.tensor([])",
    "torch.tensor(np.array([1, 2]))", "torch.tensor(np.array([1.0, 2.0]))",
    "torch.tensor(np.array([1, 2], dtype=np.int32))", "torch.tensor(np.array([0.5], dtype=np.float32))",
    "torch.tensor(np.float64(2.5))", "torch.tensor([np.float64(2.5), 1.0])", "torch.from_numpy(np.arange(3))",
    "torch.tensor([np.int32(1), np.int32(2)])", "torch.tensor([np.float16(1), 2])",
    "torch.tensor([np.uint8(1), np.int8(2)])", "torch.tensor([[np.float64(1)], [2]])",
    "torch.tensor([torch.tensor(2.5, dtype=torch.float64), 1])", "torch.tensor([torch.tensor(True), 1])",
    "torch.tensor(np.array([True, False]))", "torch.as_tensor([1, 2])", "torch.zeros(0, 3)",
    "torch.zeros(2, dtype=torch.int32)", "torch.arange(5)", "torch.arange(0, 1, 0.25)", "torch.arange(3.0)",
    "torch.linspace(0, 1, 5)", "torch.eye(2)", "torch.full((2,), 7)", "torch.full((2,), 7.0)",
    "torch.zeros_like(i)", "torch.ones_like(v)", "torch.arange(2000.0)", "torch.arange(12).reshape(3, 4)",
    "torch.tensor([float('nan'), float('inf'), -0.0])", "torch.tensor([1e-5, 1e5])",
    # metadata
    "x.shape", "x.size()", "x.size(0)", "v.shape", "torch.tensor(1.0).shape", "x.dtype", "i.dtype",
    "b.dtype", "torch.float", "torch.double", "torch.long", "x.device", "x.requires_grad", "x.is_leaf",
    "(x + 1).is_leaf", "(x + 1).requires_grad", "x.ndim", "x.dim()", "x.numel()", "len(v)",
    "x.stride()", "x.t().is_contiguous()", "x.grad", "(x * 2).grad_fn", "(x * 2).grad_fn.name()",
    "(x * 2).grad_fn.next_functions", "(x + v[:2]).grad_fn.next_functions", "x.sum().grad_fn",
    "(v.exp() * 2).grad_fn.next_functions[0][0].next_functions",
    "v.max(0)", "v.max(dim=0, keepdim=True)", "x.min(1)", "torch.max(x, 1)", "x.max(dim=0).indices",
    "x.sum().item()", "v.tolist()", "v.sum().item()", "i.tolist()", "v.argmax()", "v.dtype.is_floating_point",
    "str(x.dtype)", "str(x.shape)", "type(x.shape).__name__", "x.shape == (2, 2)", "list(x.shape)",
    "torch.Size([2, 3])", "x.shape[1:]", "x.shape.numel()",
]

STATEMENTS = {
    "grad after backward": "y = (x * x * 3).mean()\ny.backward()\nresult = x.grad",
    "grad of a vector": "y = v * 2\ny.backward(torch.tensor([1.0, 0.1, 0.001]))\nresult = v.grad",
    "grad accumulates": "(x * 2).sum().backward()\n(x * 3).sum().backward()\nresult = x.grad",
    "grad is float64": "w = torch.ones(2, dtype=torch.float64, requires_grad=True)\n(w * w).sum().backward()\n"
                       "result = w.grad",
    "print of a tensor": "print(x + 2)",
    "print of a list of tensors": "print([v.sum(), v.mean()])",
    "print of a dict": "print({'w': v})",
    "print of grad_fn": "print((x * 2).grad_fn)",
    "f-string of a 0-d tensor": "print(f'{v.sum():.3f}')",
    "format of a tensor": "print('{}'.format(v))",
    "the tutorial's doubling loop": "y = v * 2\nwhile y.data.norm() < 1000:\n    y = y * 2\nprint(y)\n"
                                    "y.backward(torch.tensor([1.0, 0.1, 0.001]))\nprint(v.grad)",
    "requires_grad under no_grad": "print(x.requires_grad)\nprint((x ** 2).requires_grad)\n"
                                   "with torch.no_grad():\n    print((x ** 2).requires_grad)",
    "detach keeps values": "print(x.detach().requires_grad, (x * 2).detach())",
    "a retained grad": "y = x * 2\ny.retain_grad()\ny.sum().backward()\nprint(y.grad, y.retains_grad)",
}


def _clean(text: str) -> str:
    return re.sub(r" object at 0x[0-9a-fA-F]+", " object at 0x…", text)


def _run(code: str, lib):
    import contextlib
    import io
    namespace = {"torch": lib, "np": np}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(SETUP + code, namespace)
    return _clean(out.getvalue()), _clean(repr(namespace.get("result")))


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_repr_of_api_result(expression, torch):
    code = f"result = {expression}"
    expected = _run(code, torch)
    actual = _run(code, gradstudio)
    assert actual == expected, f"{expression}\n torch:      {expected[1]}\n gradstudio: {actual[1]}"


@pytest.mark.parametrize("name", list(STATEMENTS))
def test_printed_output(name, torch):
    expected = _run(STATEMENTS[name], torch)
    actual = _run(STATEMENTS[name], gradstudio)
    assert actual[0].splitlines() == expected[0].splitlines(), f"{name}\n--- torch\n{expected[0]}\n" \
                                                              f"--- gradstudio\n{actual[0]}"
    assert actual[1] == expected[1]


def test_expressions_really_print_tensors(torch):
    """Guards the list: most expressions give tensors with suffixes worth checking."""
    texts = [_run(f"result = {e}", gradstudio)[1] for e in EXPRESSIONS]
    assert sum("grad_fn=<" in t for t in texts) >= 60
    assert sum("dtype=torch." in t for t in texts) >= 15
    assert any(t.startswith("torch.return_types.max(") for t in texts)


@pytest.mark.parametrize("seed", range(6))
def test_random_tensors_print_as_torchs(seed, torch):
    """Widths, signs, scientific and integral modes, NaN/inf, every dtype and layout:
    the common width comes from the extreme values and one template formats a row."""
    rng = np.random.default_rng(seed)
    for trial in range(40):
        shape = [(), (7,), (1000,), (3, 45), (2, 3, 17), (0,)][trial % 6]
        scale = 10.0 ** rng.integers(-7, 10)
        kind = trial % 5
        if kind == 0:
            values = rng.standard_normal(shape) * scale
        elif kind == 1:
            values = np.round(rng.standard_normal(shape) * 50)
        elif kind == 2:
            values = rng.standard_normal(shape) * scale
            if values.size:
                values.flat[rng.integers(0, values.size, 3)] = [np.nan, np.inf, -np.inf]
        elif kind == 3:
            values = rng.integers(-10 ** int(rng.integers(1, 12)), 10 ** 6, shape)
        else:
            values = rng.random(shape) > 0.5
        dtype = {0: np.float32, 1: np.float64, 2: np.float32}.get(kind)
        values = np.asarray(values, dtype=dtype) if dtype else np.asarray(values)
        assert repr(gradstudio.tensor(values)) == repr(torch.tensor(values)), (trial, shape, kind)
    with torch_printoptions(torch, precision=2, linewidth=50), torch_printoptions(gradstudio, precision=2,
                                                                                linewidth=50):
        values = (rng.standard_normal((4, 30)) * 1e3).astype(np.float32)
        assert repr(gradstudio.tensor(values)) == repr(torch.tensor(values))


class torch_printoptions:
    def __init__(self, lib, **options):
        self.lib, self.options = lib, options

    def __enter__(self):
        self.lib.set_printoptions(**self.options)

    def __exit__(self, *_):
        self.lib.set_printoptions(profile="default")
