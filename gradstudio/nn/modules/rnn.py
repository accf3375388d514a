"""The recurrent layers — RNN (tanh or relu), LSTM (with ``proj_size``), GRU — and
their one-step cells, with torch's parameters (``weight_ih_l0``, ``bias_hh_l1_reverse``…),
default init U(−1/√hidden, 1/√hidden), printouts, argument checks and errors.

A layer runs as ATen's CPU implementation runs it (aten/src/ATen/native/RNN.cpp), so
its graph has torch's nodes: the input's projection for every time step at once
(``linear(input, w_ih, b_ih)``, then ``unbind(0)``), then per step the cell on that
step's row and the hidden state, the step outputs stacked (StackBackward0), a
bidirectional layer's two directions concatenated (CatBackward0), dropout between
layers in training, and the final hidden states stacked. The cells are ATen's:

- RNN: ``h' = tanh(linear(h, w_hh, b_hh) + x_ih)`` (relu for ``nonlinearity='relu'``);
- GRU: gates from ``unsafe_chunk(3, 1)`` of both projections,
  ``r = σ(h_r + x_r)``, ``z = σ(h_z + x_z)``, ``n = tanh(x_n + h_n·r)``,
  ``h' = (h − n)·z + n``;
- LSTM: ``gates = linear(h, w_hh, b_hh) + x_ih`` cut by ``unsafe_chunk(4, 1)`` into
  i, f, g, o; ``c' = σ(f)·c + σ(i)·tanh(g)``, ``h' = σ(o)·tanh(c')`` (times ``w_hrᵀ``
  with a projection).

torch's LSTM on its CPU build with oneDNN runs float32 input without projections
through oneDNN instead (aten/src/ATen/native/mkldnn/RNN.cpp), and so does GradStudio's:
per layer and direction one fused ``mkldnn_rnn_layer`` (MkldnnRnnLayerBackward0,
gradstudio/ops/recurrent.py) on ``hx[index]`` and ``cx[index]`` (SelectBackward0), the
directions concatenated on the last dim, dropout between layers, the final states
stacked, and for ``batch_first`` the input transposed and made contiguous
(CloneBackward0) and the output transposed back (TransposeBackward0). Other dtypes, and
projections (with torch's once-per-process warning for float32), take the decomposed
graph. PackedSequence input is not supported.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ... import dtypes as _dt
from ...autograd.errors import warn_once
from ...ops.creation import empty, zeros
from ...ops.recurrent import lstm_update, mkldnn_rnn_layer
from ...ops.shape import TRANSPOSE_, cat, stack
from ...ops.table import apply
from .. import functional as F, init
from ..parameter import Parameter
from .module import Module

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}


# ----------------------------------------------------------------------------- cells
def _simple_step(activation):
    def step(x_ih, h, w_hh, b_hh, w_hr=None):
        return activation(F.linear(h, w_hh, b_hh) + x_ih)
    return step


_tanh_step = _simple_step(lambda t: t.tanh())
_relu_step = _simple_step(lambda t: t.relu())


def _gru_step(x_ih, h, w_hh, b_hh, w_hr=None):
    x_r, x_z, x_n = x_ih.unsafe_chunk(3, 1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).unsafe_chunk(3, 1)
    reset = (h_r + x_r).sigmoid()
    update = (h_z + x_z).sigmoid()
    new = (x_n + h_n * reset).tanh()
    return (h - new) * update + new


def _lstm_step(x_ih, state, w_hh, b_hh, w_hr=None):
    h, c = state
    h, c = lstm_update(F.linear(h, w_hh, b_hh) + x_ih, c)
    if w_hr is not None:
        h = h.matmul(w_hr.t())
    return h, c


_STEPS = {"RNN_TANH": _tanh_step, "RNN_RELU": _relu_step, "GRU": _gru_step, "LSTM": _lstm_step}


def _output_of(state):
    return state[0] if isinstance(state, tuple) else state


def _stack_states(states):
    if isinstance(states[0], tuple):
        return tuple(stack(list(part), 0) for part in zip(*states))
    return stack(states, 0)


# ---------------------------------------------------------------------------- layers
def _check_sizes(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size):
    if (not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1
            or isinstance(dropout, bool)):
        raise ValueError("dropout should be a number in range [0, 1] representing the probability "
                         "of an element being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero "
                      "dropout expects num_layers greater than 1, but got "
                      f"dropout={dropout} and num_layers={num_layers}", stacklevel=4)
    for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                              ("input_size", input_size, int), ("hidden_size", hidden_size, int)):
        if not isinstance(value, kind):
            raise TypeError(f"{name} should be of type {kind.__name__}, got: {type(value).__name__}")
        if kind is int and value <= 0:
            raise ValueError(f"{name} must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


class RNNBase(Module):
    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        if mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        _check_sizes(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size)
        dtype = dtype or _dt.get_default_dtype()
        gate_size = _GATES[mode] * hidden_size
        real_hidden_size = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else real_hidden_size * directions
            for direction in range(directions):
                shapes = {"weight_ih": (gate_size, layer_input_size),
                          "weight_hh": (gate_size, real_hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                suffix = "_reverse" if direction else ""
                names = [f"{kind}_l{layer}{suffix}" for kind in shapes]
                for name, shape in zip(names, shapes.values()):
                    setattr(self, name, Parameter(empty(*shape, dtype=dtype)))
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """cuDNN's contiguous weight buffer: nothing to do on the CPU, as in torch."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name, None) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------ checks
    def check_input(self, input, batch_sizes=None) -> None:
        weight = self._flat_weights[0]
        if input.dtype != weight.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight.dtype}). Convert input: input.to({weight.dtype}), or "
                             f"convert model: model.to({input.dtype})")
        if input.dim() != 3:
            raise RuntimeError(f"input must have 3 dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError("input.size(-1) must be equal to input_size. "
                               f"Expected {self.input_size}, got {input.size(-1)}")

    def get_expected_hidden_size(self, input, batch_sizes=None) -> tuple:
        mini_batch = input.size(0) if self.batch_first else input.size(1)
        directions = 2 if self.bidirectional else 1
        return (self.num_layers * directions, mini_batch, self.proj_size or self.hidden_size)

    def check_hidden_size(self, hx, expected_hidden_size, msg: str = "Expected hidden size {}, got {}"):
        if hx.size() != expected_hidden_size:
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes=None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        return hx if permutation is None else hx.index_select(1, permutation)

    # ------------------------------------------------------------------ running
    def _batched(self, input, name: str, what: str):
        """(input, is_batched): unbatched (2-D) input given a batch dim of one."""
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{what} instead")
        is_batched = input.dim() == 3
        if not is_batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
        return input, is_batched

    def _zeros(self, input, size):
        batch = input.size(0) if self.batch_first else input.size(1)
        directions = 2 if self.bidirectional else 1
        return zeros(self.num_layers * directions, batch, size, dtype=input.dtype)

    def _layer_weights(self, index: int) -> dict:
        """The parameters of layer-and-direction ``index`` by kind (None where absent)."""
        weights = dict.fromkeys(("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))
        for name in self._all_weights[index]:
            weights[name.split("_l")[0]] = getattr(self, name)
        return weights

    def _run(self, input, states: list):
        """ATen's layer stack on time-major ``input``: (output, final states)."""
        if self.batch_first:
            input = input.transpose(0, 1)
        step = _STEPS[self.mode]
        directions = 2 if self.bidirectional else 1
        finals = []
        x = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                weights = self._layer_weights(index)
                rows = F.linear(x, weights["weight_ih"], weights["bias_ih"]).unbind(0)
                if not rows:
                    raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
                state = states[index]
                steps = []
                for row in (reversed(rows) if direction else rows):
                    state = step(row, state, weights["weight_hh"], weights["bias_hh"], weights["weight_hr"])
                    steps.append(_output_of(state))
                if direction:
                    steps.reverse()
                outputs.append(stack(steps, 0))
                finals.append(state)
            x = outputs[0] if directions == 1 else cat(outputs, outputs[0].dim() - 1)
            if self.dropout != 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        if self.batch_first:
            # ATen's _rnn_impl_with_concat (RNN, GRU) transposes in place, its lstm_impl not
            x = x.transpose(0, 1) if self.mode == "LSTM" else apply(TRANSPOSE_, (x,), {"dim0": 0, "dim1": 1})
        return x, finals


class RNN(RNNBase):
    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.__dict__["nonlinearity"] = args[3]
            args = args[:3] + args[4:]
        else:
            self.__dict__["nonlinearity"] = kwargs.pop("nonlinearity", "tanh")
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if self.nonlinearity not in modes:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(modes[self.nonlinearity], *args, **kwargs)

    def forward(self, input, hx=None):
        return _single_state_forward(self, "RNN", " tensor", input, hx)


class GRU(RNNBase):
    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        return _single_state_forward(self, "GRU", "", input, hx)


def _single_state_forward(self, name: str, what: str, input, hx):
    """RNN's and GRU's forward: (output, h_n)."""
    input, is_batched = self._batched(input, name, what)
    if hx is not None:
        if is_batched and hx.dim() != 3:
            raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
        if not is_batched:
            if hx.dim() != 2:
                raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D tensor")
            hx = hx.unsqueeze(1)
    else:
        hx = self._zeros(input, self.hidden_size)
    self.check_forward_args(input, hx)
    output, finals = self._run(input, list(hx.unbind(0)))
    hidden = stack(finals, 0)
    if not is_batched:
        output = output.squeeze(0 if self.batch_first else 1)
        hidden = hidden.squeeze(1)
    return output, hidden


class LSTM(RNNBase):
    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input, batch_sizes=None) -> tuple:
        mini_batch = input.size(0) if self.batch_first else input.size(1)
        return (self.num_layers * (2 if self.bidirectional else 1), mini_batch, self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes=None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return hx[0].index_select(1, permutation), hx[1].index_select(1, permutation)

    def forward(self, input, hx=None):
        input, is_batched = self._batched(input, "LSTM", "")
        if hx is None:
            hx = (self._zeros(input, self.proj_size or self.hidden_size), self._zeros(input, self.hidden_size))
        else:
            dims = (hx[0].dim(), hx[1].dim())
            want = 3 if is_batched else 2
            if dims != (want, want):
                kind = "batched 3-D" if is_batched else "unbatched 2-D"
                raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got "
                                   f"({dims[0]}-D, {dims[1]}-D) tensors")
            if not is_batched:
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        self.check_forward_args(input, hx)
        if self._runs_on_onednn(input):
            output, (h_n, c_n) = self._run_onednn(input, hx)
        else:
            output, finals = self._run(input, list(zip(hx[0].unbind(0), hx[1].unbind(0))))
            h_n, c_n = _stack_states(finals)
        if not is_batched:
            output = output.squeeze(0 if self.batch_first else 1)
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return output, (h_n, c_n)


    def _runs_on_onednn(self, input) -> bool:
        """Whether torch's CPU build would take its oneDNN kernel (RNN.cpp's use_mkldnn)."""
        if input.dtype != _dt.float32 or input.numel() == 0:
            return False
        if self.proj_size > 0:
            warn_once("LSTM with projections is not supported with oneDNN. Using default implementation.")
            return False
        return True

    def _run_onednn(self, input, hx):
        """ATen's oneDNN LSTM on (time or batch)-major ``input``: (output, (h_n, c_n))."""
        if self.batch_first:
            input = input.transpose(0, 1).contiguous()
        directions = 2 if self.bidirectional else 1
        hy, cy = [], []
        x = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                w = self._layer_weights(index)
                gates = w["weight_hh"].shape[0]
                b_ih, b_hh = ((w["bias_ih"], w["bias_hh"]) if self.bias else
                              (zeros(gates, dtype=x.dtype), zeros(gates, dtype=x.dtype)))
                out, h, c = mkldnn_rnn_layer(x, w["weight_ih"], w["weight_hh"], b_ih, b_hh,
                                             hx[0][index], hx[1][index], bool(direction),
                                             num_layers=self.num_layers, has_biases=self.bias,
                                             bidirectional=self.bidirectional,
                                             batch_first=self.batch_first, train=self.training)
                outputs.append(out)
                hy.append(h)
                cy.append(c)
            x = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout != 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        if self.batch_first:
            x = x.transpose(0, 1)
        return x, (stack(hy, 0), stack(cy, 0))


# ----------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        dtype = dtype or _dt.get_default_dtype()
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += f", bias={self.bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    reset_parameters = RNNBase.reset_parameters

    def _step(self, step, input, state):
        return step(F.linear(input, self.weight_ih, self.bias_ih), state, self.weight_hh, self.bias_hh)

    @staticmethod
    def _check_input(input, name: str) -> bool:
        """Whether ``input`` is batched (2-D; 1-D is one example)."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        return input.dim() == 2

    def _zeros(self, input):
        return zeros(input.size(0), self.hidden_size, dtype=input.dtype)


class _SingleStateCell(RNNCellBase):
    _name = ""

    def _step_function(self):
        raise NotImplementedError

    def forward(self, input, hx=None):
        is_batched = self._check_input(input, self._name)
        if hx is not None and hx.dim() not in (1, 2):
            raise ValueError(f"{self._name}: Expected hidden to be 1D or 2D, got {hx.dim()}D instead")
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            hx = self._zeros(input)
        elif not is_batched:
            hx = hx.unsqueeze(0)
        result = self._step(self._step_function(), input, hx)
        return result if is_batched else result.squeeze(0)


class RNNCell(_SingleStateCell):
    _name = "RNNCell"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _step_function(self):
        if self.nonlinearity == "tanh":
            return _tanh_step
        if self.nonlinearity == "relu":
            return _relu_step
        raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")


class GRUCell(_SingleStateCell):
    _name = "GRUCell"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, dtype=dtype)

    def _step_function(self):
        return _gru_step


class LSTMCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, dtype=dtype)

    def forward(self, input, hx=None):
        is_batched = self._check_input(input, "LSTMCell")
        if hx is not None:
            for index, value in enumerate(hx):
                if value.dim() not in (1, 2):
                    raise ValueError(f"LSTMCell: Expected hx[{index}] to be 1D or 2D, got "
                                     f"{value.dim()}D instead")
        if not is_batched:
            input = input.unsqueeze(0)
        if hx is None:
            zero = self._zeros(input)
            hx = (zero, zero)
        elif not is_batched:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        h, c = self._step(_lstm_step, input, hx)
        return (h, c) if is_batched else (h.squeeze(0), c.squeeze(0))
