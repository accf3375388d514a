"""Autograd corners from public tutorials, against PyTorch: gradgradcheck, the
nodes of zero_/fill_/copy_ and of a leaf's .grad under create_graph, grad_fn's
_saved_* attributes, indexing with a range, out=, torch's two warn-once warnings."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def _both(torch, run):
    return run(torch), run(gradstudio)


def _cube_detached(lib):
    """A custom Function whose backward is right to first order only."""
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * 3 * a.detach() ** 2
    return Cube


def test_gradgradcheck_matches_torch(torch):
    def run(lib):
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = lib.tensor([1.5, 0.3, -0.7], dtype=lib.float64, requires_grad=True)
        cube = _cube_detached(lib)
        return (lib.autograd.gradgradcheck(lambda a: (a ** 3).sum(), (x,)),
                lib.autograd.gradgradcheck(lambda a, b: (a.sin() * b, a * b * b), (x, y)),
                lib.autograd.gradcheck(cube.apply, (x,)),
                lib.autograd.gradgradcheck(cube.apply, (x,), raise_exception=False))
    theirs, ours = _both(torch, run)
    assert ours == theirs == (True, True, True, False)


@pytest.mark.parametrize("call", ["(x * 2).zero_()", "(x * 2).fill_(3)", "(x * 2).copy_(torch.ones(2))",
                                  "(x * 2).copy_(x * x)", "(x * 2).copy_(torch.ones(2, dtype=torch.float64) * x)"])
def test_overwriting_ops_record_torchs_nodes(call, torch):
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = eval(call, {"x": x, "torch": lib})  # test-authored text
        names = (y.grad_fn.name(), [f.name() if f else None for f, _ in y.grad_fn.next_functions], repr(y))
        (y * lib.tensor([2.0, 5.0])).sum().backward()
        return names, x.grad.tolist()
    theirs, ours = _both(torch, run)
    assert ours == theirs


def test_grad_after_create_graph_is_a_copy_node(torch):
    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (x * x * x).sum().backward(create_graph=True)
            first = x.grad.grad_fn.name()
            (x * x).sum().backward(create_graph=True)
        return first, x.grad.grad_fn.name(), x.grad.tolist()
    theirs, ours = _both(torch, run)
    assert ours == theirs


def test_saved_attributes_match_torch(torch):
    def run(lib):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, 4.0], requires_grad=True)
        mul, scaled, exp, power, total = a * b, a * 2, a.exp(), a.pow(2), a.sum(0)
        seen = [repr(mul.grad_fn._saved_self), repr(mul.grad_fn._saved_other), repr(scaled.grad_fn._saved_other),
                repr(exp.grad_fn._saved_result), power.grad_fn._saved_exponent, repr(power.grad_fn._saved_self),
                total.grad_fn._saved_dim, tuple(total.grad_fn._saved_self_sym_sizes)]
        with pytest.raises(AttributeError) as missing:
            exp.grad_fn._saved_other
        mul.sum().backward()
        with pytest.raises(RuntimeError) as freed:
            mul.grad_fn._saved_self
        return seen, str(missing.value), str(freed.value)
    theirs, ours = _both(torch, run)
    assert ours == theirs


@pytest.mark.parametrize("index", ["x[range(1, 3)]", "x[:, range(2)]", "x[range(0)]", "x[range(2), 1]"])
def test_indexing_with_a_range_matches_torch(index, torch):
    def run(lib):
        x = lib.arange(12.0).reshape(3, 4).requires_grad_()
        y = eval(index, {"x": x})  # test-authored text
        y.sum().backward()
        target = lib.zeros(5)
        target[range(1, 4)] = 2.0
        return repr(y), x.grad.tolist(), target.tolist()
    theirs, ours = _both(torch, run)
    assert ours == theirs


def test_out_argument_matches_torch(torch):
    def run(lib):
        a = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
        o = lib.empty(2, 2)
        same = lib.matmul(a, a, out=o) is o
        lib.add(a, 1, out=o)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resized = lib.empty(3)
            lib.mul(a, a, out=resized)
        errors = []
        for call in (lambda: lib.add(a, a, out=lib.empty(2, 2, dtype=lib.int64)),
                     lambda: lib.matmul(a.requires_grad_(), a, out=lib.empty(2, 2))):
            with pytest.raises(RuntimeError) as error:
                call()
            errors.append(str(error.value))
        return same, o.tolist(), resized.tolist(), [str(w.message) for w in caught], errors
    theirs, ours = _both(torch, run)
    assert ours[:3] == theirs[:3]
    assert [m.split(" (Triggered")[0] for m in theirs[3]] == ours[3]
    assert ours[4] == theirs[4]


def test_out_on_sum_and_prod_needs_a_dim_as_in_torch(torch):
    """torch's parser has no dim-less overload of sum/prod with ``out=``: ``sum(x, out=o)``
    is a TypeError (two texts: with or without other keywords); ``dim=None`` passes."""
    def run(lib):
        x, seen = lib.ones(3), []
        for name in ("sum", "prod"):
            f = getattr(lib, name)
            for call in (lambda: f(x, out=lib.empty(())), lambda: f(x, out=lib.empty(()), keepdim=True),
                         lambda: f(x, dtype=lib.float32, out=lib.empty(()))):
                with pytest.raises(TypeError) as error:
                    call()
                seen.append(str(error.value))
            o = lib.empty(())
            f(x, 0, out=o)
            seen.append(o.tolist())
        o = lib.empty(())
        lib.sum(x, None, out=o)
        return seen + [o.tolist()]
    theirs, ours = _both(torch, run)
    assert ours == theirs


WARN_ONCE = """
import warnings
warnings.simplefilter("always")
import {lib} as torch
z = torch.tensor([1.0], requires_grad=True)
torch.autograd.grad((z * z).sum(), z, create_graph=True)  # no warning: autograd.grad is the advice
(z * z).sum().backward(create_graph=True)
(z * z).sum().backward(create_graph=True)
torch.tensor([z[0], 2.0])
torch.tensor([z[0], 2.0])
"""


def test_warn_once_warnings_match_torch(torch, tmp_path):
    """Each warning once per process, with torch's text (torch attributes the first to
    its own autograd/graph.py; GradStudio to the user's line)."""
    import subprocess
    import sys
    outputs = []
    for lib in ("torch", "gradstudio"):
        script = tmp_path / f"{lib}_warns.py"
        script.write_text(WARN_ONCE.format(lib=lib))
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
        lines = [line for line in done.stderr.splitlines() if "UserWarning" in line or line.startswith("Consider")]
        outputs.append([line.split("UserWarning: ")[-1].split(" (Triggered")[0] for line in lines])
    theirs, ours = outputs
    assert ours == theirs
    assert len(ours) == 3  # the create_graph warning, then the two lines of the scalar one


def test_a_function_saving_its_output_keeps_the_second_order_graph(torch):
    def run(lib):
        class Exp(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                result = a.exp()
                ctx.save_for_backward(result)
                return result

            @staticmethod
            def backward(ctx, g):
                (result,) = ctx.saved_tensors
                return g * result
        x = lib.tensor([0.5, 1.0], dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        return g.grad_fn.name(), g.tolist(), h.tolist()
    theirs, ours = _both(torch, run)
    assert ours == theirs


def test_saved_tensors_hooks_match_torch(torch):
    """The saved-tensor hooks tutorial: what is packed, when it is unpacked, and a pack
    hook that stores the tensor elsewhere and returns a key."""
    def run(lib):
        log, storage = [], []

        def pack(t):
            log.append(("pack", repr(t)))
            storage.append(t)
            return len(storage) - 1

        def unpack(key):
            log.append(("unpack", key))
            return storage[key]
        a = lib.ones(3, requires_grad=True)
        b = lib.full((3,), 2.0, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = a * b
            z = a.pow(2)
            w = a + b           # saves nothing: no pack
        log.append(("saved", repr(y.grad_fn._saved_other)))
        (y.sum() + z.sum() + w.sum()).backward()
        outside = (a * b).sum()  # after the block: no hooks
        outside.backward()
        return log, a.grad.tolist()
    theirs, ours = _both(torch, run)
    assert ours == theirs


def test_a_function_with_several_outputs_matches_torch(torch):
    def run(lib):
        class SinCos(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a, b):
                ctx.save_for_backward(a, b)
                return a.sin() * b, a.cos()

            @staticmethod
            def backward(ctx, g_sin, g_cos):
                a, b = ctx.saved_tensors
                return g_sin * a.cos() * b - g_cos * a.sin(), g_sin * a.sin()
        a = lib.tensor([0.5, 1.0, -2.0], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([1.5, -1.0, 0.25], dtype=lib.float64, requires_grad=True)
        s, c = SinCos.apply(a, b)
        names = (s.grad_fn.name(), c.grad_fn.name())
        (s * 2 + c * c).sum().backward()
        grads = (a.grad.tolist(), b.grad.tolist())
        a.grad = b.grad = None
        SinCos.apply(a, b)[0].sum().backward()           # one output used: the other's gradient is 0
        (g,) = lib.autograd.grad(SinCos.apply(a, b)[1].pow(2).sum(), a, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), a)
        checked = lib.autograd.gradcheck(SinCos.apply, (a, b))
        return names, grads, a.grad.tolist(), b.grad.tolist(), g.tolist(), h.tolist(), checked
    theirs, ours = _both(torch, run)
    assert ours[0] == theirs[0] == ("SinCosBackward", "SinCosBackward")
    np.testing.assert_allclose(np.array(ours[1]), np.array(theirs[1]), rtol=1e-12)
    for mine, reference in zip(ours[2:6], theirs[2:6]):
        np.testing.assert_allclose(mine, reference, rtol=1e-12)
    assert ours[6] is theirs[6] is True
