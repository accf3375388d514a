"""torch.special against torch 2.13, and the gamma / Bessel / erfinv functions torch also
has at the top level and as Tensor methods: for float32 and float64, the values (at
edge values too: 0, −0, negatives, poles, ±1, ±inf, nan) to a few float rounding steps,
the printouts and grad_fn names, the node chain of composites (ndtr), the saved
attributes, first and second derivatives, in-place forms, and torch's errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle

EDGES = [0.0, -0.0, 1.0, -1.0, 2.0, -2.5, 0.5, 1e-30, 1e-6, 7.9, 8.0, 8.5, 30.0, 60.0, 1e5, -1e-3, -3.0,
         -7.3, -27.0, 0.999, 0.9999999, -0.99, math.inf, -math.inf, math.nan]
# (function name in torch.special, the inputs) — a spread of values plus the edges
UNARY = ("expit", "logit", "erf", "erfc", "erfcx", "erfinv", "exp2", "expm1", "log1p", "entr", "gammaln",
         "digamma", "psi", "i0", "i0e", "i1", "i1e", "ndtr", "ndtri", "log_ndtr", "sinc", "round")
TOLERANCE = {"float32": 3e-6, "float64": 5e-14}


def inputs(dtype_name):
    rng = np.random.default_rng(5)
    spread = np.concatenate([rng.uniform(-10, 10, 60), rng.uniform(0, 1, 40), 10 ** rng.uniform(-5, 2, 20)])
    return np.concatenate([np.array(EDGES), spread]).astype(dtype_name)


def close(ours, theirs, dtype_name, function=""):
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert np.array_equal(np.isnan(ours), np.isnan(theirs)), function
    assert np.array_equal(np.isinf(ours) & (ours > 0), np.isinf(theirs) & (theirs > 0)), function
    finite = np.isfinite(theirs)
    scale = np.maximum(np.abs(theirs[finite]), 1e-30 if dtype_name == "float64" else 1e-20)
    error = np.abs(ours[finite] - theirs[finite]) / scale
    # relative error, except next to a zero of the function (digamma's, lgamma's at 1 and 2)
    absolute = np.abs(ours[finite] - theirs[finite])
    assert np.all((error < TOLERANCE[dtype_name]) | (absolute < TOLERANCE[dtype_name])), (
        function, ours[finite][error >= TOLERANCE[dtype_name]], theirs[finite][error >= TOLERANCE[dtype_name]])


@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
@pytest.mark.parametrize("name", UNARY)
def test_unary_values_equal_torchs(name, dtype_name):
    torch = pytest.importorskip("torch")
    x = inputs(dtype_name)
    theirs = getattr(torch.special, name)(torch.from_numpy(x))
    ours = getattr(gradstudio.special, name)(gradstudio.from_numpy(x))
    assert ours.dtype.__repr__() == repr(theirs.dtype)
    close(ours.numpy(), theirs.numpy(), dtype_name, name)


@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_functions_with_an_argument_equal_torchs(dtype_name):
    torch = pytest.importorskip("torch")
    x = inputs(dtype_name)
    q = np.abs(inputs(dtype_name))[::-1].copy()
    for name, ours, theirs in [
            ("polygamma 0..4", [gradstudio.special.polygamma(n, gradstudio.from_numpy(x)) for n in range(5)],
             [torch.special.polygamma(n, torch.from_numpy(x)) for n in range(5)]),
            ("multigammaln", [gradstudio.special.multigammaln(gradstudio.from_numpy(np.abs(x) + 2), p)
                              for p in (1, 2, 4)],
             [torch.special.multigammaln(torch.from_numpy(np.abs(x) + 2), p) for p in (1, 2, 4)]),
            ("zeta", [gradstudio.special.zeta(gradstudio.from_numpy(np.abs(x) + 1), gradstudio.from_numpy(q)),
                      gradstudio.special.zeta(gradstudio.from_numpy(x), 2.5),
                      gradstudio.special.zeta(3.0, gradstudio.from_numpy(x))],
             [torch.special.zeta(torch.from_numpy(np.abs(x) + 1), torch.from_numpy(q)),
              torch.special.zeta(torch.from_numpy(x), 2.5), torch.special.zeta(3.0, torch.from_numpy(x))]),
            ("xlog1py", [gradstudio.special.xlog1py(gradstudio.from_numpy(x), gradstudio.from_numpy(q - 1)),
                         gradstudio.special.xlog1py(2.0, gradstudio.from_numpy(x)),
                         gradstudio.special.xlog1py(gradstudio.from_numpy(x), -1.0)],
             [torch.special.xlog1py(torch.from_numpy(x), torch.from_numpy(q - 1)),
              torch.special.xlog1py(2.0, torch.from_numpy(x)), torch.special.xlog1py(torch.from_numpy(x), -1.0)]),
            ("round decimals", [gradstudio.special.round(gradstudio.from_numpy(x), decimals=d) for d in (-1, 0, 2)],
             [torch.special.round(torch.from_numpy(x), decimals=d) for d in (-1, 0, 2)])]:
        for a, b in zip(ours, theirs):
            close(a.numpy(), b.numpy(), dtype_name, name)


def approx(t) -> str:
    """A second derivative to 4 significant digits (it goes through the float rounding
    of two backward passes)."""
    return "None" if t is None else str([float(f"{v:.4g}") for v in t.detach().tolist()])


def transcript(torch):
    """What a short session prints: values, grad_fns, saved attributes, gradients and
    second derivatives of every function, integer inputs, in-place forms and errors."""
    S = torch.special
    lines = []

    def show(*items):
        lines.append(" ".join(str(i) for i in items))

    for dtype in (torch.float32, torch.float64):
        def leaf(values):
            return torch.tensor(values, dtype=dtype, requires_grad=True)
        x = [0.3, 0.75, 1.6, 2.9]
        signed = [-1.7, -0.4, 0.0, 0.6, 2.2]
        cases = [
            ("expit", lambda t: S.expit(t), signed), ("logit", lambda t: S.logit(t), [0.2, 0.5, 0.9]),
            ("logit eps", lambda t: S.logit(t, eps=0.25), [0.1, 0.5, 0.9]),
            ("erf", S.erf, signed), ("erfc", S.erfc, signed), ("erfcx", S.erfcx, signed),
            ("erfinv", S.erfinv, [-0.8, 0.0, 0.3, 0.95]), ("exp2", S.exp2, signed), ("expm1", S.expm1, signed),
            ("log1p", S.log1p, x), ("entr", S.entr, x), ("gammaln", S.gammaln, x + [-2.5]),
            ("digamma", S.digamma, x + [-2.5]), ("psi", S.psi, x), ("i0", S.i0, signed),
            ("i0e", S.i0e, [-1.7, -0.4, 0.6, 2.2]), ("i1", S.i1, signed), ("i1e", S.i1e, signed),
            ("ndtr", S.ndtr, signed), ("ndtri", S.ndtri, [0.05, 0.3, 0.5, 0.9]),
            ("log_ndtr", S.log_ndtr, signed + [-6.0]), ("sinc", S.sinc, [-1.7, -0.4, 0.6, 2.2]),
            ("polygamma 1", lambda t: S.polygamma(1, t), x), ("polygamma 3", lambda t: S.polygamma(3, t), x),
            ("multigammaln", lambda t: S.multigammaln(t, 3), [1.2, 2.5, 4.0]),
            ("lgamma", torch.lgamma, x), ("Tensor.digamma", lambda t: t.digamma(), x),
            ("Tensor.polygamma", lambda t: t.polygamma(2), x), ("mvlgamma", lambda t: torch.mvlgamma(t, 2), x),
            ("Tensor.mvlgamma", lambda t: t.mvlgamma(p=2), x), ("torch.erfinv", torch.erfinv, [-0.5, 0.25]),
            ("torch.i0", lambda t: t.i0(), signed),
            ("xlog1py number other", lambda t: S.xlog1py(t, 1.5), signed),
            ("xlog1py number self", lambda t: S.xlog1py(2.0, t), x),
            ("zeta number self", lambda t: S.zeta(3.0, t), x),
            ("softmax", lambda t: S.softmax(t, 0), signed), ("log_softmax", lambda t: S.log_softmax(t, dim=0), signed),
            ("logsumexp", lambda t: S.logsumexp(t, 0), signed),
            ("round", lambda t: S.round(t, decimals=1), [0.25, 1.26, -2.35])]
        for name, function, values in cases:
            t = leaf(values)
            y = function(t)
            node = y.grad_fn
            saved = {a: (repr(getattr(node, a)) if not isinstance(getattr(node, a), torch.Tensor) else
                         f"tensor{tuple(getattr(node, a).shape)}") for a in dir(node) if a.startswith("_saved_")}
            chain = [type(f).__name__ if f else None for f, _ in node.next_functions]
            show(name, y, type(node).__name__, chain, saved)
            (g,) = torch.autograd.grad(y.sum(), t, create_graph=True)
            show("  grad", g.detach())
            if name in ("softmax", "log_softmax", "logsumexp"):
                continue  # the sum's second derivative is 0: both print their rounding noise
            if g.requires_grad:
                (h,) = torch.autograd.grad(g.sum(), t, allow_unused=True)
                show("  second", approx(h))
            else:  # a gradient that is a constant (round's 0)
                show("  second: none", g.requires_grad)
        a, b = leaf([1.0, 0.0, 0.0, 2.0]), leaf([0.5, -2.0, -1.0, -1.5])
        y = S.xlog1py(a, b)
        ga, gb = torch.autograd.grad(y.sum(), (a, b), create_graph=True)
        show("xlog1py", y, ga.detach(), gb.detach(), type(y.grad_fn).__name__)
        show("  second", torch.autograd.grad((ga.sum() + gb.sum()), (a, b), allow_unused=True))
        s, q = torch.tensor([2.0, 3.5, 5.0], dtype=dtype), leaf([0.5, 1.5, 4.0])
        z = S.zeta(s, q)
        (gq,) = torch.autograd.grad(z.sum(), q, create_graph=True)
        show("zeta", z, gq.detach(), torch.autograd.grad(gq.sum(), q))
        edges = torch.tensor([0.0, -0.0, -1.0, -2.0, 1.0, math.inf, -math.inf, math.nan], dtype=dtype,
                             requires_grad=True)
        for name in ("gammaln", "digamma", "entr", "erfinv", "ndtri", "i1", "i1e", "i0e", "erfcx", "log_ndtr"):
            y = getattr(S, name)(edges)
            (g,) = torch.autograd.grad(y.sum(), edges)
            show("edges", name, y.detach(), g)
        show("trigamma edges", S.polygamma(1, edges).detach(), S.polygamma(2, edges.detach()))
        # in place
        base = leaf([0.3, 0.75, 1.6])
        for method in ("lgamma_", "digamma_", "erfinv_", "i0_"):
            w = base * 0.5
            getattr(w, method)()
            (g,) = torch.autograd.grad(w.sum(), base)
            show(method, w, type(w.grad_fn).__name__, g)
        w = base * 1.0
        w.polygamma_(1)
        show("polygamma_", w, type(w.grad_fn).__name__, w.grad_fn._saved_n, torch.autograd.grad(w.sum(), base))
        w = base * 1.0 + 2
        w.mvlgamma_(2)
        show("mvlgamma_", w, type(w.grad_fn).__name__)
    ints = torch.tensor([1, 2, 3])
    for name in ("expit", "gammaln", "digamma", "erfinv", "i0", "i0e", "i1", "i1e", "erfcx", "ndtr", "ndtri",
                 "log_ndtr", "entr", "sinc", "erf", "exp2"):
        show("int", name, getattr(S, name)(ints))
    show("int", S.polygamma(2, ints), S.multigammaln(ints + 1, 2), S.xlog1py(ints, ints), S.zeta(ints + 1, ints))
    show("names", S.expit.__name__, S.gammaln.__name__, S.erf is torch.erf, S.i0 is torch.i0)
    for bad in (lambda: S.polygamma(-1, torch.tensor([1.0])), lambda: S.multigammaln(torch.tensor([3.0]), 0),
                lambda: torch.mvlgamma(torch.tensor([3.0]), 0), lambda: S.zeta(2, 3), lambda: S.xlog1py(2, 3),
                lambda: S.round(torch.tensor([1, 2])), lambda: S.round(torch.tensor([1.5]), decimals=1.5),
                lambda: S.polygamma(1.5, torch.tensor([1.0])), lambda: S.softmax(torch.tensor([1.0])),
                lambda: S.logsumexp(torch.tensor([1.0])),
                lambda: S.zeta(torch.tensor([2.0], requires_grad=True), torch.tensor([1.0])).sum().backward(),
                lambda: S.zeta(torch.tensor([2.0], requires_grad=True), 1.0).sum().backward(),
                lambda: torch.tensor([0.5], requires_grad=True).lgamma_()):
        try:
            show("ok", bad())
        except Exception as error:  # noqa: BLE001 — the transcript shows torch's error
            show(type(error).__name__, error)
    return lines


def test_the_transcript_is_torchs():
    torch = pytest.importorskip("torch")
    import torch.special  # noqa: F401
    import gradstudio.special  # noqa: F401
    from gradstudio.special import expit  # noqa: F401
    ours, theirs = transcript(gradstudio), transcript(torch)
    for a, b in zip(ours, theirs):
        assert a == b
    assert len(ours) == len(theirs)


def test_import_forms():
    import importlib
    special = importlib.import_module("gradstudio.special")
    assert special is gradstudio.special
    from gradstudio.special import expit, psi, zeta  # noqa: F401
    assert gradstudio.special.Tensor is gradstudio.Tensor
