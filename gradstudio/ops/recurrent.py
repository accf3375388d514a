"""One LSTM layer over a whole sequence as a single op: ``mkldnn_rnn_layer``, which
torch's CPU build with oneDNN runs for ``nn.LSTM`` on float32 input without projections
(one MkldnnRnnLayerBackward0 node per layer and direction, on the input, the four
weights and that layer's initial h and c; nn.LSTM's stack of them is in
gradstudio/nn/modules/rnn.py). The LSTM step itself, :func:`lstm_update`, is shared
with the decomposed layers and cells there.

torch's node has three results — the output sequence, the final h and the final c —
and GradStudio's nodes have one output each, so, as two_results' rows, each result
gets a node of its own of that name (``MKLDNN_RNN_LAYER_OUTPUT``, ``_HY``, ``_CY``);
the gradients of the three add up at the inputs as torch's one node adds them.

The layer is ATen's: the input's projection for all steps at once, then per step
``gates = h·w_hhᵀ + b_hh + x_ih`` cut into i, f, g, o, ``c' = σ(f)·c + σ(i)·tanh(g)``,
``h' = σ(o)·tanh(c')`` (:func:`lstm_update`, which nn.LSTMCell and the decomposed
nn.LSTM share), from the last step back for ``reverse``. The backward pass re-runs that
layer on the node's saved inputs with tensor ops and differentiates it (with
``create_graph`` the gradients are differentiable again, as torch's are).
"""
from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import enable_grad, no_grad, state as _grad_state
from ..autograd.saved import Arg, Computed, Const, Input
from ..tensor import Tensor, make
from . import samples
from .shape import stack
from .table import SAVES_INPUTS, Op, record

_MKLDNN_LSTM_MODE = 2  # oneDNN's algorithm code for an LSTM, as torch's node saves it


def lstm_update(gates, c):
    """(h', c') of an LSTM step from its gate pre-activations (i, f, g, o side by side)."""
    i, f, g, o = gates.unsafe_chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def lstm_layer(x, w_ih, w_hh, b_ih, b_hh, h, c, reverse: bool):
    """(output, h_n, c_n) of one LSTM layer on time-major ``x`` (seq, batch, features)."""
    rows = (x.matmul(w_ih.t()) + b_ih).unbind(0)
    outputs = []
    for row in (reversed(rows) if reverse else rows):
        h, c = lstm_update(h.matmul(w_hh.t()) + b_hh + row, c)
        outputs.append(h)
    if reverse:
        outputs.reverse()
    return stack(outputs, 0), h, c


_PARTS = ("output", "hy", "cy")
# what the node saves of the nn.LSTM around the layer (the kernel's arguments), and
# their values for a lone layer
STACK = {"num_layers": 1, "has_biases": True, "bidirectional": False, "batch_first": False, "train": True}


def _as_tensors(arrays):
    return [a if isinstance(a, Tensor) else make(np.asarray(a)) for a in arrays]


def _forward(part: int):
    def forward(*arrays, reverse, **_stack):
        with no_grad():
            return lstm_layer(*_as_tensors(arrays), reverse)[part]._data
    return forward


def _layer_gradients(part: int, inputs, grad, wanted: list, reverse: bool) -> list:
    """The gradients of the ``part`` result w.r.t. the inputs at ``wanted`` (None at the
    others): the layer re-run on ``inputs`` and differentiated. With grad mode on (a
    backward with ``create_graph``) they are differentiable again."""
    from ..autograd.api import grad as gradient
    create = _grad_state.enabled
    with enable_grad():
        leaves = list(inputs) if create else [t.detach().requires_grad_(i in wanted) for i, t in enumerate(inputs)]
        result = lstm_layer(*leaves, reverse)[part]
        found = gradient(result, [leaves[i] for i in wanted], grad, create_graph=create, allow_unused=True)
    grads = [None] * len(inputs)
    for i, g in zip(wanted, found):
        grads[i] = g
    return grads


def _node_rule(part: int):
    def vjp_all(node, grad):
        wanted = [i for i, (fn, _) in enumerate(node.next_functions) if fn is not None]
        return _layer_gradients(part, node.saved_inputs(), grad, wanted, node._params["reverse"])
    return vjp_all


def _input_rule(part: int, i: int):
    def rule(g, r, *inputs, reverse, **_stack):
        return _layer_gradients(part, _as_tensors(inputs), g, [i], reverse)[i]
    return rule


def _sample(rng):
    steps, batch, features, hidden = 3, 2, 3, 2
    shapes = [(steps, batch, features), (4 * hidden, features), (4 * hidden, hidden), (4 * hidden,),
              (4 * hidden,), (batch, hidden), (batch, hidden)]
    return [samples.uniform(rng, s, -1.0, 1.0) for s in shapes], {"reverse": bool(rng.integers(2)), **STACK}


def _torch(part: int):
    def replay(torch, *inputs, reverse=False, num_layers=1, has_biases=True, bidirectional=False,
               batch_first=False, train=True):  # oneDNN's kernel takes float32 only
        x, w_ih, w_hh, b_ih, b_hh, h, c = (t.float() for t in inputs)
        return torch.mkldnn_rnn_layer(x, w_ih, w_hh, b_ih, b_hh, h, c, reverse, [], _MKLDNN_LSTM_MODE,
                                      h.shape[-1], num_layers, has_biases, bidirectional, batch_first,
                                      train)[part]
    return replay


def _row(part: int) -> Op:
    name = _PARTS[part]
    return Op(
        id=f"recurrent.MKLDNN_RNN_LAYER_{name.upper()}",
        name="MkldnnRnnLayerBackward0",
        forward=_forward(part),
        # one rule per input (each re-runs the layer); the engine runs vjp_all, once per node
        vjp=tuple(_input_rule(part, i) for i in range(7)),
        vjp_all=_node_rule(part),
        saves=SAVES_INPUTS,
        saved={"input": Input(0), "weight0": Input(1), "weight1": Input(2), "weight2": Input(3),
               "weight3": Input(4), "hx_": Input(5), "cx_": Input(6), "reverse": Arg("reverse"),
               "batch_sizes": Const(()), "mode": Const(_MKLDNN_LSTM_MODE),
               "hidden_size": Computed(lambda *shapes, **params: shapes[5][-1], tensor=False),
               **{name: Arg(name) for name in STACK}},
        kind="composite",
        label=f"LSTM layer ({name})",
        doc=f"the {name} of one LSTM layer over a sequence (oneDNN's kernel)",
        category="nn",
        arity=7,
        params=(),
        sample=_sample,
        torch=_torch(part),
        # oneDNN's kernel runs float32 only, and the table's torch replays are float64:
        # these rows are compared with torch through nn.LSTM in float32 instead
        # (tests/core/oracle/test_rnn_torch.py), like the rows torch builds in its kernels
        internal=True,
    )


MKLDNN_RNN_LAYER_OUTPUT, MKLDNN_RNN_LAYER_HY, MKLDNN_RNN_LAYER_CY = (_row(p) for p in range(3))
LAYER_ROWS = (MKLDNN_RNN_LAYER_OUTPUT, MKLDNN_RNN_LAYER_HY, MKLDNN_RNN_LAYER_CY)


def mkldnn_rnn_layer(x, w_ih, w_hh, b_ih, b_hh, h, c, reverse: bool = False, **stack):
    """(output, h_n, c_n) of one LSTM layer as torch's oneDNN kernel records it: the layer
    run once, each result a MkldnnRnnLayerBackward0 node on the seven inputs. ``stack``
    (STACK's keys) describes the nn.LSTM the layer is part of, as the node saves it."""
    args = (x, w_ih, w_hh, b_ih, b_hh, h, c)
    with no_grad():
        results = lstm_layer(*args, reverse)
    if _grad_state.enabled and any(a.requires_grad for a in args):
        params = {"reverse": reverse, **STACK, **stack}
        return tuple(record(row, args, params, r._data) for row, r in zip(LAYER_ROWS, results))
    return results
