"""nn.RNN / LSTM / GRU and their cells against torch 2.13, parameters copied over:
outputs and final states, the gradients of every parameter, the input and the initial
state, the graph's nodes (names and structure, walked from the output), printouts,
parameter names and shapes, the default init's bounds, and torch's errors and warnings.

The layers above run in float64, where torch's LSTM takes ATen's decomposed graph (the
one its LSTMCell records); in float32 it runs oneDNN's fused layer
(MkldnnRnnLayerBackward0), and so does GradStudio's: those graphs are compared in
test_float32_lstm_records_onednns_layers, with float32's tolerance."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle

CONFIGS = [
    ("RNN", dict(input_size=3, hidden_size=4)),
    ("RNN", dict(input_size=3, hidden_size=4, num_layers=2, nonlinearity="relu")),
    ("RNN", dict(input_size=3, hidden_size=4, bias=False, batch_first=True)),
    ("RNN", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)),
    ("GRU", dict(input_size=3, hidden_size=5)),
    ("GRU", dict(input_size=3, hidden_size=4, num_layers=2, batch_first=True, bidirectional=True)),
    ("LSTM", dict(input_size=3, hidden_size=4)),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, batch_first=True)),
    ("LSTM", dict(input_size=3, hidden_size=5, proj_size=2, bias=False)),
]


# torch records one node for all the pieces of unbind / unsafe_chunk and for the three
# results of an oneDNN LSTM layer, GradStudio one per piece (gradstudio/ops/splitting.py,
# ops/recurrent.py): pieces of one call are the same node here
_PIECES = {"UnbindBackward0", "UnsafeSplitBackward0", "MkldnnRnnLayerBackward0"}


def _identity(fn):
    if type(fn).__name__ in _PIECES:
        return (type(fn).__name__, tuple((id(f), i) for f, i in fn.next_functions))
    return fn


def graph(fn, seen=None) -> list:
    """The node names under ``fn``, depth first; a node met again is named with ^."""
    seen = set() if seen is None else seen
    if fn is None:
        return []
    if _identity(fn) in seen:
        return ["^" + type(fn).__name__]
    seen.add(_identity(fn))
    return [type(fn).__name__, [graph(f, seen) for f, _ in fn.next_functions if f is not None]]


def twins(kind: str, kwargs: dict, torch):
    """The torch module and GradStudio's, holding the same parameters."""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(**kwargs).double()
    ours = getattr(gradstudio.nn, kind)(**kwargs).double()
    with gradstudio.no_grad():
        for (name, p), (their_name, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert name == their_name
            p.copy_(gradstudio.tensor(q.detach().numpy()))
    return theirs, ours


def run(lib, module, x, state):
    """(output, final states, gradients of the parameters, input and initial state)."""
    x = lib.tensor(x, requires_grad=True)
    if state is None:
        out, final = module(x)
        leaves = [x]
    elif isinstance(state, tuple):
        h0, c0 = (lib.tensor(s, requires_grad=True) for s in state)
        out, final = module(x, (h0, c0))
        leaves = [x, h0, c0]
    else:
        h0 = lib.tensor(state, requires_grad=True)
        out, final = module(x, h0)
        leaves = [x, h0]
    finals = final if isinstance(final, tuple) else (final,)
    loss = (out * out).sum() + sum((f * f.cos()).sum() for f in finals)
    loss.backward()
    grads = [p.grad.numpy().copy() for p in module.parameters()] + [t.grad.numpy().copy() for t in leaves]
    return out, finals, grads


def _sizes(kind, kwargs, batch):
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    h = kwargs.get("proj_size") or kwargs["hidden_size"]
    shape = (layers, batch, h)
    if kind == "LSTM":
        return shape, (layers, batch, kwargs["hidden_size"])
    return shape, None


@pytest.mark.parametrize("kind,kwargs", CONFIGS, ids=[f"{k}-{'-'.join(f'{a}={b}' for a, b in kw.items())}"
                                                       for k, kw in CONFIGS])
def test_layer_as_torch(kind, kwargs, torch):
    theirs, ours = twins(kind, kwargs, torch)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
           [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    rng = np.random.default_rng(1)
    seq, batch = 4, 2
    x = rng.standard_normal((batch, seq, 3) if kwargs.get("batch_first") else (seq, batch, 3))
    h_shape, c_shape = _sizes(kind, kwargs, batch)
    for state in (None, rng.standard_normal(h_shape) if c_shape is None
                  else (rng.standard_normal(h_shape), rng.standard_normal(c_shape))):
        for p in list(ours.parameters()) + list(theirs.parameters()):
            p.grad = None
        want_out, want_finals, want_grads = run(torch, theirs, x, state)
        out, finals, grads = run(gradstudio, ours, x, state)
        np.testing.assert_allclose(out.detach().numpy(), want_out.detach().numpy(), rtol=1e-12, atol=1e-12)
        for f, w in zip(finals, want_finals):
            np.testing.assert_allclose(f.detach().numpy(), w.detach().numpy(), rtol=1e-12, atol=1e-12)
        for g, w in zip(grads, want_grads, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
        assert graph(out.grad_fn) == graph(want_out.grad_fn)
        for f, w in zip(finals, want_finals):
            assert graph(f.grad_fn) == graph(w.grad_fn)


ONEDNN_CONFIGS = [
    dict(input_size=3, hidden_size=4),
    dict(input_size=3, hidden_size=4, bias=False),
    dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, batch_first=True),
    dict(input_size=3, hidden_size=2, num_layers=3),
]


@pytest.mark.parametrize("kwargs", ONEDNN_CONFIGS, ids=["-".join(f"{a}={b}" for a, b in kw.items())
                                                        for kw in ONEDNN_CONFIGS])
def test_float32_lstm_records_onednns_layers(kwargs, torch):
    """torch's CPU LSTM on float32: one MkldnnRnnLayerBackward0 per layer and direction
    (each result of one node; GradStudio's three results are three nodes of that name),
    on hx[index] (SelectBackward0), with CatBackward0, StackBackward0, and for
    batch_first CloneBackward0 over TransposeBackward0 in and TransposeBackward0 out."""
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(**kwargs)
    ours = gradstudio.nn.LSTM(**kwargs)
    with gradstudio.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            p.copy_(gradstudio.tensor(q.detach().numpy()))
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 3) if kwargs.get("batch_first") else (5, 2, 3)).astype(np.float32)
    h_shape, c_shape = _sizes("LSTM", kwargs, 2)
    for state in (None, (rng.standard_normal(h_shape).astype(np.float32),
                         rng.standard_normal(c_shape).astype(np.float32))):
        for p in list(ours.parameters()) + list(theirs.parameters()):
            p.grad = None
        want_out, want_finals, want_grads = run(torch, theirs, x, state)
        out, finals, grads = run(gradstudio, ours, x, state)
        assert type(out.grad_fn).__name__ == type(want_out.grad_fn).__name__
        assert graph(out.grad_fn) == graph(want_out.grad_fn)
        for f, w in zip(finals, want_finals, strict=True):
            assert graph(f.grad_fn) == graph(w.grad_fn)
            np.testing.assert_allclose(f.detach().numpy(), w.detach().numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out.detach().numpy(), want_out.detach().numpy(), rtol=1e-5, atol=1e-6)
        for g, w in zip(grads, want_grads, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
    unbatched = [lib.nn.LSTM(3, 4)(lib.ones(5, 3)) for lib in (torch, gradstudio)]
    assert [(repr(o.grad_fn).split()[0], repr(h.grad_fn).split()[0]) for o, (h, c) in unbatched] == \
        [("<SqueezeBackward1",) * 2] * 2
    node = out.grad_fn if not kwargs.get("batch_first") else out.grad_fn.next_functions[0][0]
    want = want_out.grad_fn if not kwargs.get("batch_first") else want_out.grad_fn.next_functions[0][0]
    for name in ("_saved_reverse", "_saved_hidden_size", "_saved_mode", "_saved_has_biases",
                 "_saved_num_layers", "_saved_batch_first", "_saved_train", "_saved_batch_sizes"):
        if type(want).__name__ == "MkldnnRnnLayerBackward0":
            assert getattr(node, name) == getattr(want, name), name


def test_float32_lstm_with_projections_warns_as_torch(monkeypatch):
    """torch's TORCH_WARN_ONCE, text as torch 2.13 gives it (once per process, so not
    re-measured here: torch may have given it already in this process)."""
    monkeypatch.setattr(gradstudio.autograd.errors, "_warned", set())
    lstm = gradstudio.nn.LSTM(3, 4, proj_size=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lstm(gradstudio.ones(5, 1, 3))
        lstm(gradstudio.ones(5, 1, 3))
        lstm.double()(gradstudio.ones(5, 1, 3, dtype=gradstudio.float64))
    assert [str(w.message) for w in caught] == [
        "LSTM with projections is not supported with oneDNN. Using default implementation."]
    assert all(w.category is UserWarning for w in caught)


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cell_as_torch(kind, torch):
    rng = np.random.default_rng(2)
    for kwargs in (dict(input_size=3, hidden_size=4), dict(input_size=3, hidden_size=4, bias=False)):
        theirs, ours = twins(kind, kwargs, torch)
        assert repr(ours) == repr(theirs)
        for shape in ((2, 3), (3,)):
            x = rng.standard_normal(shape)
            hidden = rng.standard_normal(shape[:-1] + (4,))
            results = []
            for lib, module in ((torch, theirs), (gradstudio, ours)):
                for p in module.parameters():
                    p.grad = None
                xt, ht = lib.tensor(x, requires_grad=True), lib.tensor(hidden, requires_grad=True)
                out = module(xt, (ht, ht * 2) if kind == "LSTMCell" else ht)
                outs = out if isinstance(out, tuple) else (out,)
                sum((o * o.sin()).sum() for o in outs).backward()
                results.append(([o.detach().numpy() for o in outs],
                                [p.grad.numpy() for p in module.parameters()] + [xt.grad.numpy(), ht.grad.numpy()],
                                [graph(o.grad_fn) for o in outs]))
                without = module(xt)  # the zero state
                results[-1][0].extend(o.detach().numpy() for o in (without if isinstance(without, tuple) else (without,)))
            (want, want_grads, want_graph), (got, got_grads, got_graph) = results
            assert got_graph == want_graph
            for a, b in zip(got + got_grads, want + want_grads, strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    relu = (torch.nn.RNNCell(3, 4, nonlinearity="relu"), gradstudio.nn.RNNCell(3, 4, nonlinearity="relu"))
    assert repr(relu[1]) == repr(relu[0])


def test_default_init_bounds(torch):
    for module in (gradstudio.nn.LSTM(3, 16, num_layers=2), gradstudio.nn.GRUCell(5, 25)):
        bound = 1 / module.hidden_size ** 0.5
        for p in module.parameters():
            values = p.detach().numpy()
            assert values.min() >= -bound and values.max() <= bound
            assert values.max() - values.min() > bound  # drawn, not constant
        assert all(p.requires_grad for p in module.parameters())


def _outcome(call) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
            text = "ok" if not isinstance(result, tuple) else f"ok {[tuple(t.shape) if hasattr(t, 'shape') else [tuple(u.shape) for u in t] for t in result]}"
        except Exception as error:  # noqa: BLE001
            text = f"{type(error).__name__}: {error}"
    return text + "".join(f" | {w.category.__name__}: {w.message}" for w in caught)


def transcript(torch) -> list[str]:
    nn = torch.nn
    x3 = torch.randn(4, 2, 3)
    calls = [
        lambda: nn.RNN(3, 4, dropout=0.5), lambda: nn.RNN(3, 4, dropout=1.5), lambda: nn.RNN(3, 4, nonlinearity="sigmoid"),
        lambda: nn.RNN(3, 4, proj_size=2), lambda: nn.GRU(3, 4, proj_size=2), lambda: nn.LSTM(3, 4, proj_size=4),
        lambda: nn.LSTM(3, 4, proj_size=-1), lambda: nn.RNN(0, 4), lambda: nn.RNN(3, 0), lambda: nn.RNN(3, 4, num_layers=0),
        lambda: nn.RNN(3.0, 4), lambda: nn.RNN(3, 4, bias=1), lambda: nn.RNN(3, 4, batch_first=None),
        lambda: nn.RNN(3, 4)(torch.randn(4, 2, 5)), lambda: nn.RNN(3, 4)(torch.randn(4, 2, 3, 1)),
        lambda: nn.RNN(3, 4)(x3, torch.randn(2, 2, 4)), lambda: nn.RNN(3, 4)(x3, torch.randn(2, 4)),
        lambda: nn.RNN(3, 4)(torch.randn(4, 3), torch.randn(1, 2, 4)), lambda: nn.GRU(3, 4)(torch.randn(4, 3)),
        lambda: nn.GRU(3, 4)(torch.randn(3)), lambda: nn.RNN(3, 4)(x3.double()),
        lambda: nn.LSTM(3, 4)(x3, (torch.randn(1, 2, 4), torch.randn(1, 2, 5))),
        lambda: nn.LSTM(3, 4)(x3, (torch.randn(1, 2, 4), torch.randn(2, 5))),
        lambda: nn.LSTM(3, 4)(torch.randn(4, 3), (torch.randn(1, 4), torch.randn(1, 4))),
        lambda: nn.LSTM(3, 4, num_layers=2, dropout=0.2)(x3),
        lambda: nn.RNN(3, 4)(torch.randn(0, 2, 3)),
        lambda: nn.RNNCell(3, 4)(torch.randn(2, 2, 3)), lambda: nn.RNNCell(3, 4)(torch.randn(3), torch.randn(1, 1, 4)),
        lambda: nn.LSTMCell(3, 4)(torch.randn(3), (torch.randn(4), torch.randn(1, 1, 4))),
        lambda: nn.GRUCell(3, 4)(torch.randn(3)),
    ]
    out = [_outcome(call) for call in calls]
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    out.append(repr(lstm))
    out.append(repr([[tuple(w.shape) for w in ws] for ws in lstm.all_weights]))
    out.append(repr(lstm._flat_weights_names))
    out.append(repr(nn.GRU(3, 4, 2, True, True, 0.5, True)))
    out.append(repr(nn.RNN(3, 4, 2, "relu", False)))
    out.append(repr(nn.LSTMCell(3, 4, bias=False)))
    out.append(repr([n for n, _ in nn.GRUCell(3, 4).named_parameters()]))
    return out


def test_printouts_errors_and_warnings_as_torch(torch):
    assert transcript(gradstudio) == transcript(torch)
