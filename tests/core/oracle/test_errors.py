"""The misuse errors learners hit, against PyTorch: same exception class, same message.

Each case is a snippet run twice, with ``torch`` bound to PyTorch and then to
GradStudio. What it raises (class and exact message), the warnings it emits,
and the value of ``result`` if it gets that far must be identical. Tutorials
quote these messages, and GradStudio's hints key on them.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle

SETUP = "x = torch.ones(2, 2, requires_grad=True)\n"

CASES = {
    # ------------------------------------------------------------------ backward
    "non-scalar backward": "y = x * 2\ny.backward()",
    "non-scalar backward via autograd.backward": "torch.autograd.backward(x + 1)",
    "non-scalar autograd.grad": "torch.autograd.grad(x * 3, x)",
    "second backward through MulBackward0": "y = (x * x).sum()\ny.backward()\ny.backward()",
    "second backward through the tutorial chain": "y = x * 2\ny = y * 2\nz = y.sum()\nz.backward()\nz.backward()",
    "second backward through ExpBackward0 (saved result)": "z = x.exp().sum()\nz.backward()\nz.backward()",
    "second backward after autograd.grad": "z = (x * x).sum()\ntorch.autograd.grad(z, x)\nz.backward()",
    "second backward through SumBackward0 is fine": "y = x.sum()\ny.backward()\ny.backward()\nresult = x.grad",
    "second backward through AddBackward0 is fine": "y = (x + 2).sum()\ny.backward()\ny.backward()\nresult = x.grad",
    "second backward through MeanBackward0 is fine": "y = (x - 1).mean()\ny.backward()\ny.backward()\nresult = x.grad",
    "second backward with retain_graph": "y = (x * x).sum()\ny.backward(retain_graph=True)\ny.backward()\nresult = x.grad",
    "backward of a tensor that does not require grad": "torch.ones(3).sum().backward()",
    "backward of a result made under no_grad": "with torch.no_grad():\n    y = (x * 2).sum()\ny.backward()",
    "backward of a detached tensor": "(x * 2).sum().detach().backward()",
    "autograd.grad of a tensor that does not require grad": "torch.autograd.grad(torch.ones(2).sum(), x)",
    "gradient= with the wrong shape": "y = x * 2\ny.backward(torch.ones(3))",
    "gradient= with the wrong shape (2-d)": "y = x * 2\ny.backward(torch.ones(4, 1))",
    "autograd.grad grad_outputs with the wrong shape": "torch.autograd.grad(x * 2, x, torch.ones(2))",
    "autograd.grad unused input": "w = torch.ones(3, requires_grad=True)\ntorch.autograd.grad((x * 2).sum(), [x, w])",
    "autograd.grad unused input allowed": "w = torch.ones(3, requires_grad=True)\n"
                                          "result = torch.autograd.grad((x * 2).sum(), [x, w], allow_unused=True)",
    "autograd.grad of an input that does not require grad": "torch.autograd.grad((x * 2).sum(), torch.ones(2))",
    "backward(inputs=) of a tensor that does not require grad": "(x * 2).sum().backward(inputs=[torch.ones(2)])",
    "backward(inputs=[])": "(x * 2).sum().backward(inputs=[])",
    "integer output backward": "torch.tensor(3).backward()",
    # ------------------------------------------------------------------ in place
    "add_ on a leaf that requires grad": "x.add_(1)",
    "+= on a leaf that requires grad": "x += 1",
    "*= on a leaf that requires grad": "x *= 2",
    "item assignment on a leaf that requires grad": "x[0, 0] = 5.0",
    "zero_ on a leaf that requires grad": "x.zero_()",
    "in place on a leaf under no_grad is allowed": "with torch.no_grad():\n    x.add_(1)\n    x[0, 1] = 7.0\n"
                                                  "    x *= 2\nresult = (x, x.requires_grad, x.is_leaf, x.grad_fn)",
    "in place on a view of a leaf under no_grad": "with torch.no_grad():\n    x[0].mul_(3)\nresult = x",
    "version error (saved input)": "a = x * 1\nb = a * a\na.add_(1)\nb.sum().backward()",
    "version error (saved result)": "y = x.exp()\ny.add_(1)\ny.sum().backward()",
    "version error (saved sigmoid result)": "y = torch.sigmoid(x)\ny.mul_(2)\ny.sum().backward()",
    "version error twice modified": "a = x + 0\nb = a.sin()\na.add_(1)\na.mul_(2)\nb.sum().backward()",
    "version error through setitem": "a = x * 1\nb = a.pow(2)\na[0, 0] = 3.0\nb.sum().backward()",
    "in place on a saved tensor that is not needed is fine": "a = x * 1\nb = a + a\na.add_(1)\n"
                                                            "b.sum().backward()\nresult = x.grad",
    # ------------------------------------------------------------------ shapes
    "shape mismatch in +": "torch.ones(2, 3) + torch.ones(3, 2)",
    "shape mismatch in * (3-d)": "torch.ones(2, 3, 4) * torch.ones(2, 5, 4)",
    "shape mismatch in -, leading dim": "torch.ones(4, 3) - torch.ones(2, 1, 3) * torch.ones(5, 1, 1)",
    "matmul 0-d": "torch.tensor(2.0) @ torch.ones(3)",
    "matmul 1-d @ 1-d": "torch.ones(3) @ torch.ones(4)",
    "matmul 2-d @ 1-d": "torch.ones(2, 3) @ torch.ones(4)",
    "matmul 1-d @ 2-d": "torch.ones(3) @ torch.ones(4, 5)",
    "matmul 2-d @ 2-d": "torch.ones(2, 3) @ torch.ones(4, 5)",
    "matmul 3-d @ 2-d": "torch.ones(2, 2, 3) @ torch.ones(4, 5)",
    "matmul 3-d @ 2-d requires grad": "torch.ones(2, 2, 3) @ torch.ones(4, 5, requires_grad=True)",
    "matmul 2-d @ 3-d": "torch.ones(2, 3) @ torch.ones(2, 4, 5)",
    "matmul 3-d @ 1-d": "torch.ones(2, 2, 3) @ torch.ones(4)",
    "matmul 1-d @ 3-d": "torch.ones(3) @ torch.ones(2, 4, 5)",
    "matmul 3-d @ 3-d": "torch.ones(2, 2, 3) @ torch.ones(2, 4, 5)",
    "matmul 3-d @ 3-d batch mismatch": "torch.ones(2, 2, 3) @ torch.ones(3, 3, 5)",
    "matmul dtype mismatch": "torch.ones(2, 3) @ torch.ones(3, 2, dtype=torch.float64)",
    "mm of a vector": "torch.mm(torch.ones(3), torch.ones(3, 2))",
    "mm shape mismatch": "torch.mm(torch.ones(2, 3), torch.ones(2, 3))",
    "mv shape mismatch": "torch.mv(torch.ones(2, 3), torch.ones(2))",
    "dot of matrices": "torch.dot(torch.ones(2, 2), torch.ones(2, 2))",
    "dot dtype mismatch": "torch.dot(torch.ones(2), torch.ones(2, dtype=torch.float64))",
    "bmm of matrices": "torch.bmm(torch.ones(2, 3), torch.ones(3, 2))",
    "bmm batch mismatch": "torch.bmm(torch.ones(2, 2, 3), torch.ones(3, 3, 2))",
    "view on a non-contiguous tensor": "x.t().view(-1)",
    "view on a transposed 3-d": "torch.ones(2, 3, 4).transpose(0, 1).view(6, 4)",
    "view with a bad size": "x.view(3)",
    "reshape with a bad size": "x.reshape(5, -1)",
    "view with two -1": "x.view(-1, -1)",
    "expand a non-singleton dim": "x.expand(3, 3)",
    "cat with mismatched sizes": "torch.cat([torch.ones(2, 3), torch.ones(2, 4)])",
    "cat of 0-d tensors": "torch.cat([torch.tensor(1.0), torch.tensor(2.0)])",
    "stack of different shapes": "torch.stack([torch.ones(2), torch.ones(3)])",
    "index out of range": "torch.ones(3)[3]",
    "dim out of range": "x.sum(2)",
    "softmax dim out of range": "x.softmax(-3)",
    "index a 0-d tensor": "torch.tensor(1.0)[0]",
    "too many indices": "x[0, 0, 0]",
    "mask of the wrong shape": "x[torch.tensor([True, False, True])]",
    # ------------------------------------------------------------------ dtypes and conversions
    "requires_grad on an int tensor": "torch.tensor([1, 2], requires_grad=True)",
    "requires_grad_ on an int tensor": "torch.tensor([1, 2]).requires_grad_()",
    "requires_grad on arange": "torch.arange(3, requires_grad=True)",
    "requires_grad on a bool tensor": "torch.ones(2, dtype=torch.bool, requires_grad=True)",
    "requires_grad = False on a non-leaf": "y = x * 2\ny.requires_grad = False",
    "numpy() of a tensor that requires grad": "x.numpy()",
    "numpy() of a non-leaf": "(x * 2).numpy()",
    "retain_grad on a tensor that does not require grad": "torch.ones(2).retain_grad()",
    "register_hook on a tensor that does not require grad": "torch.ones(2).register_hook(lambda g: g)",
    "item() of a multi-element tensor": "x.item()",
    "float() of a multi-element tensor": "float(x)",
    "bool() of a multi-element tensor": "bool(x > 0)",
    "mean of an int tensor": "torch.tensor([1, 2, 3]).mean()",
    "len of a 0-d tensor": "len(torch.tensor(1.0))",
    "iterate a 0-d tensor": "iter(torch.tensor(1.0))",
    "non-leaf .grad access": "y = x * 2\ny.sum().backward()\nresult = y.grad",
    "non-leaf .grad access before backward": "y = x + 1\nresult = y.grad",
    "retained non-leaf .grad access": "y = x * 2\ny.retain_grad()\ny.sum().backward()\nresult = y.grad",
    "leaf .grad before backward": "result = x.grad",
    "deepcopy of a non-leaf": "import copy\ncopy.deepcopy(x * 2)",
    "assign a grad of the wrong shape": "x.grad = torch.ones(3)",
    "assign a grad of the wrong dtype": "x.grad = torch.ones(2, 2, dtype=torch.float64)",
    # ------------------------------------------------------------------ bool subtraction
    "bool minus bool": "m = torch.tensor([True, False])\nm - m",
    "bool tensor minus True": "torch.tensor([True]) - True",
    "True minus a bool tensor": "True - torch.tensor([True])",
    "bool tensor minus an int": "torch.tensor([True]) - 1",
    "an int minus a bool tensor (inverting a mask)": "1 - torch.tensor([True, False])",
    "float tensor minus a bool tensor": "x - torch.tensor([True, False])",
    "torch.sub with a bool tensor and alpha": "torch.sub(torch.ones(2), torch.tensor([True, False]), alpha=2)",
    "sub_ of a bool tensor": "torch.tensor([True]).sub_(torch.tensor([False]))",
    "-= True": "with torch.no_grad():\n    x -= True",
    # ------------------------------------------------------------------ in-place and out= dtypes
    "in-place float result into a Short tensor": "torch.ones(2, dtype=torch.int16).mul_(1.5)",
    "in-place Half result into a Byte tensor": "torch.ones(2, dtype=torch.uint8).add_(torch.ones(2, dtype=torch.float16))",
    "in-place Int result into a Bool tensor": "torch.ones(2, dtype=torch.bool).add_(torch.ones(2, dtype=torch.int32))",
    "out= of a Short tensor for a float result": "torch.add(x.detach(), 1, out=torch.zeros(2, 2, dtype=torch.int16))",
    "an optimizer given a float": "torch.optim.SGD([1.0], lr=0.1)",
    "an Int tensor assigned as a parameter": "torch.nn.Linear(1, 1).weight = torch.ones(1, dtype=torch.int32)",
    "typename of tensors and builtins": "result = [torch.typename(v) for v in "
                                        "(torch.ones(1, dtype=torch.int16), x, 1.5, None, [x])]",
    "type of a tensor and of a parameter": "result = repr((type(x), type(torch.nn.Parameter(torch.ones(1)))))",
    # ------------------------------------------------------------------ linalg.vector_norm's dtypes
    "vector_norm of a Long tensor": "torch.linalg.vector_norm(torch.ones(2, dtype=torch.int64))",
    "vector_norm of a Short tensor with a float dtype": "torch.linalg.vector_norm(torch.ones(2, dtype=torch.int16), "
                                                         "dtype=torch.float32)",
    "vector_norm with an integer dtype": "torch.linalg.vector_norm(x, dtype=torch.int64)",
    "vector_norm narrowing Double to Float": "torch.linalg.vector_norm(x.double(), dtype=torch.float32)",
    "vector_norm widening Half to Float": "result = torch.linalg.vector_norm(torch.ones(2, dtype=torch.float16), "
                                          "dtype=torch.float32)",
    "norm of a Byte tensor": "torch.norm(torch.ones(2, dtype=torch.uint8))",
    # ------------------------------------------------------------------ losses with two float dtypes
    "smooth_l1_loss of Float and Double is Double": "result = torch.nn.functional.smooth_l1_loss(x, x.double() / 3)",
    "smooth_l1_loss of Half and Float backward": "h = torch.ones(3, dtype=torch.float16, requires_grad=True)\n"
                                                 "torch.nn.functional.smooth_l1_loss(h, torch.zeros(3)).backward()\n"
                                                 "result = h.grad",
    "huber_loss of Float and Double is Float": "result = torch.nn.functional.huber_loss(x.detach(), x.double() * 3)",
    "huber_loss backward with two dtypes": "torch.nn.functional.huber_loss(x, torch.zeros(2, 2, dtype=torch.float64)"
                                           ").backward()",
    "huber_loss backward into the target only": "t = torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)\n"
                                                "torch.nn.functional.huber_loss(x.detach(), t).backward()",
}


def _clean(text: str) -> str:
    text = re.sub(r" object at 0x[0-9a-fA-F]+", " object at 0x…", text)
    return re.sub(r" \(Triggered internally at [^)]*\)", "", text)


def _value(value):
    if isinstance(value, (tuple, list)):
        return tuple(_value(v) for v in value)
    if hasattr(value, "grad_fn") and hasattr(value, "detach"):
        return ("tensor", str(value.dtype), tuple(value.shape), value.requires_grad,
                value.grad_fn is None, repr(value))
    return _clean(repr(value))


def run_case(code: str, lib):
    """(exception class or None, message, warnings, value of `result`)."""
    namespace = {"torch": lib}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            exec(SETUP + code, namespace)
        except Exception as error:  # noqa: BLE001 — the error is what is compared
            outcome = (type(error), _clean(str(error)))
        else:
            outcome = (None, "")
    # Warnings torch gives once per process (which test triggers them first is luck):
    once = ("create_graph=True will create a reference cycle", "Converting a tensor with requires_grad")
    seen = [(w.category, _clean(str(w.message))) for w in caught
            if not any(text in str(w.message) for text in once)]
    return outcome + (seen, _value(namespace.get("result")))


@pytest.mark.parametrize("case", list(CASES))
def test_same_error_as_torch(case, torch):
    expected = run_case(CASES[case], torch)
    actual = run_case(CASES[case], gradstudio)
    assert actual[0] is expected[0], f"{case}: torch raised {expected[0]}: {expected[1]}\n" \
                                     f"gradstudio raised {actual[0]}: {actual[1]}"
    assert actual[1] == expected[1], f"{case}:\n torch      {expected[1]!r}\n gradstudio {actual[1]!r}"
    assert actual[2] == expected[2], f"{case}: warnings\n torch      {expected[2]}\n gradstudio {actual[2]}"
    assert actual[3] == expected[3], f"{case}: result\n torch      {expected[3]}\n gradstudio {actual[3]}"


def test_cases_cover_raising_and_passing(torch):
    """Guards the table itself: most cases must raise in torch, some must not."""
    outcomes = [run_case(code, torch) for code in CASES.values()]
    raised = sum(1 for o in outcomes if o[0] is not None)
    assert raised >= 70 and len(CASES) - raised >= 8
    assert any(w[0] is UserWarning for o in outcomes for w in o[2])


def test_second_backward_message_is_todays(torch):
    """The tutorial notebook shows the old short message; torch 2.13's is longer."""
    message = run_case(CASES["second backward through MulBackward0"], gradstudio)[1]
    assert message.startswith("Trying to backward through the graph a second time (or directly "
                              "access saved tensors after they have already been freed).")
    assert message.endswith("if you need to access saved tensors after calling backward.")


def test_version_error_names_the_tensor_and_versions(torch):
    message = run_case(CASES["version error twice modified"], gradstudio)[1]
    assert "[torch.FloatTensor [2, 2]], which is output 0 of Mul, is at version 2; " \
           "expected version 0 instead." in message


def test_in_place_under_no_grad_changes_the_leaf_values(torch):
    namespace = {"torch": gradstudio}
    exec(SETUP + "with torch.no_grad():\n    x.add_(1)\n", namespace)
    x = namespace["x"]
    assert x.requires_grad and x.is_leaf and x.grad_fn is None
    np.testing.assert_array_equal(x.detach().numpy(), np.full((2, 2), 2.0, np.float32))
