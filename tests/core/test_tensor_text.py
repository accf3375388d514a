"""Named tensors' reprs: a tensor list writes out torch's repr of a bounded number of
elements (the smallest tensors first); the rest are deferred and the kernel writes
one tensor's text when asked (a ``tensor_text`` request), the same text as before."""
from __future__ import annotations

from gradstudio.studio.kernel import records, schema
from gradstudio.studio.kernel.service import KernelService
from gradstudio.studio.session import Session

SCRIPT = ("import torch\n"
          "x = torch.linspace(-1, 1, 1000, requires_grad=True)\n"
          "s = torch.tensor(2.0)\n"
          + "".join(f"h{i} = (x * {i + 1}).tanh()\n" for i in range(10))
          + "loss = sum(h.sum() for h in [h0, h1, h2, h3, h4, h5, h6, h7, h8, h9])\n"
          "loss.backward()\n")


def session():
    s = Session()
    run = s.run_cell(SCRIPT)
    assert run.ok, run.error
    return s


def test_a_tensor_list_writes_out_reprs_within_its_budget_smallest_first():
    s = session()
    tensors = {t.name: t for t in records.tensors_data(s.named_tensors(), text_budget=2_500)}
    by_name = {name: tensor for name, tensor in s.named_tensors().values()}
    # the scalars cost 1 element each, each h 1,000, x 2,000 (value and grad): 2 + 2 × 1,000 fit
    written = {name for name, t in tensors.items() if not t.text_deferred}
    assert written == {"s", "loss", "h0", "h1"}
    for name in written:
        assert tensors[name].value_text == repr(by_name[name])
    assert tensors["loss"].grad_text is None
    for name in set(tensors) - written:
        t = tensors[name]
        assert t.text_deferred and t.value_text is None and t.grad_text is None
        assert t.value is not None and t.value_summary.size == 1000   # the numbers still travel
    assert tensors["x"].grad is not None


def test_the_default_budget_defers_most_of_a_big_list_and_keeps_small_lists_whole():
    s = session()
    tensors = records.tensors_data(s.named_tensors())
    deferred = [t.name for t in tensors if t.text_deferred]
    assert deferred and len(deferred) < len(tensors)
    small = Session()
    small.run_cell("import torch\nx = torch.ones(2, 2, requires_grad=True)\nz = (3 * x * x).mean()\n"
                   "z.backward()\n")
    assert not any(t.text_deferred for t in records.tensors_data(small.named_tensors()))


def test_a_summarised_repr_costs_its_threshold_not_its_size():
    from gradstudio.printing import PRINT_OPTS
    s = Session()
    s.run_cell("import torch\nbig = torch.zeros(100_000)\n")
    (name, big), = s.named_tensors().values()
    assert records.text_cost(big, int(PRINT_OPTS.threshold)) == PRINT_OPTS.threshold


def test_the_kernel_writes_a_deferred_tensors_text_on_request():
    s = session()
    sent = []
    service = KernelService(s, sent.append)
    deferred = next(t for t in records.tensors_data(s.named_tensors(), text_budget=0) if t.name == "h3")
    assert deferred.text_deferred
    assert service.handle({"type": "tensor_text", "name": "h3"})
    (answer,) = sent
    h3 = s.namespace["h3"]
    assert answer == schema.TensorText(name="h3", value_text=repr(h3), grad_text=None)
    assert service.handle({"type": "tensor_text", "name": "x"})
    assert sent[-1].grad_text == repr(s.namespace["x"].grad)
    service.handle({"type": "tensor_text", "name": "nope"})
    assert sent[-1].error and sent[-1].value_text is None
    back = schema.decode(*schema.encode(answer))
    assert back == answer
