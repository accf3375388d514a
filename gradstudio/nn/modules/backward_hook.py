"""Full backward hooks of a module: ``hook(module, grad_input, grad_output)``.

As torch does, the tensors going into and coming out of the module pass
through an identity node, ``BackwardHookFunctionBackward``: the one on an
output catches ``grad_output``, the one on an input catches that input's
gradient; once every input that requires grad has its gradient the hooks run
(and may replace ``grad_input``). With no input requiring grad they run as soon
as ``grad_output`` is known, with ``grad_input`` all None.
"""
from __future__ import annotations

from ...autograd.function import Function
from ...tensor import Tensor


class BackwardHookFunction(Function):
    """Identity whose backward hands the gradient to a callback (which may replace it)."""

    @staticmethod
    def forward(ctx, x, callback):
        ctx.callback = callback
        return x

    @staticmethod
    def backward(ctx, grad):
        return ctx.callback(grad), None


class BackwardHook:
    """One module call's bookkeeping between its inputs' and outputs' identity nodes."""

    def __init__(self, module, hooks):
        self.module = module
        self.hooks = hooks
        self.n_inputs = 0
        self.input_positions = []      # positions in args of inputs that require grad
        self.grad_inputs = {}
        self.grad_outputs = None
        self.n_outputs = 0

    def setup_inputs(self, args):
        args = list(args)
        self.n_inputs = len(args)
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and a.requires_grad:
                self.input_positions.append(i)
                args[i] = BackwardHookFunction.apply(a, self._input_callback(i))
        return tuple(args)

    def setup_outputs(self, output):
        single = isinstance(output, Tensor)
        outputs = [output] if single else list(output)
        self.n_outputs = len(outputs)
        self.grad_outputs = [None] * len(outputs)
        self._pending_outputs = sum(isinstance(o, Tensor) and o.requires_grad for o in outputs)
        for i, o in enumerate(outputs):
            if isinstance(o, Tensor) and o.requires_grad:
                outputs[i] = BackwardHookFunction.apply(o, self._output_callback(i))
        return outputs[0] if single else type(output)(outputs)

    def _output_callback(self, i):
        def callback(grad):
            self.grad_outputs[i] = grad
            self._pending_outputs -= 1
            if self._pending_outputs == 0 and not self.input_positions:
                self._run_hooks((None,) * max(self.n_inputs, 1))
            return grad
        return callback

    def _input_callback(self, i):
        def callback(grad):
            self.grad_inputs[i] = grad
            if len(self.grad_inputs) < len(self.input_positions):
                return grad
            grad_input = tuple(self.grad_inputs.get(k) for k in range(self.n_inputs))
            replaced = self._run_hooks(grad_input)
            return replaced[i] if replaced is not None else grad
        return callback

    def _run_hooks(self, grad_input):
        replaced = None
        for hook in self.hooks:
            result = hook(self.module, grad_input, tuple(self.grad_outputs))
            if result is not None:
                replaced = grad_input = tuple(result)
        return replaced
