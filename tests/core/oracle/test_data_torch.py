"""torch.utils.data against PyTorch: samplers (sequential, random, subset, weighted,
batch), DataLoader with each of them, batch_size=None, iterable datasets,
StackDataset/ChainDataset, default_convert and the argument errors — the same
calls under both libraries, every result and message compared; and shuffling
through ``randperm`` with the loader's generator, as torch's RandomSampler does."""
from __future__ import annotations

import numpy as np
import pytest

import gradstudio

pytestmark = pytest.mark.oracle


def exercise(lib) -> list:
    """Every line compared between torch and GradStudio; only orders that do not depend
    on the random stream (sorted, or lengths)."""
    D = lib.utils.data
    out = []
    x = lib.arange(10)
    ds = D.TensorDataset(x.float(), x)
    dl = D.DataLoader(ds, batch_size=4)
    out.append([type(dl.sampler).__name__, type(dl.batch_sampler).__name__, len(dl), dl.batch_size, dl.drop_last])
    out.append(list(D.BatchSampler(D.SequentialSampler(range(10)), batch_size=3, drop_last=False)))
    out.append(list(D.BatchSampler(D.SequentialSampler(range(10)), batch_size=3, drop_last=True)))
    out.append(len(D.RandomSampler(range(7), replacement=True, num_samples=40)))
    out.append(sorted(D.RandomSampler(range(7))))
    out.append(sorted(D.SubsetRandomSampler([3, 5, 9])))
    out.append(len(list(D.WeightedRandomSampler([0.1, 0.9, 0.4], 5))))
    out.append(sorted(D.WeightedRandomSampler([0.9, 0.4, 0.05, 0.2], 4, replacement=False)))
    dl = D.DataLoader(ds, batch_size=None)
    out.append([repr(b) for b in list(dl)[:2]])
    dl = D.DataLoader(ds, batch_sampler=D.BatchSampler(D.SequentialSampler(ds), 3, False))
    out.append([b[1].tolist() for b in dl])
    class Stream(D.IterableDataset):
        def __iter__(self):
            return iter(range(7))
        def __len__(self):
            return 7
    out.append([b.tolist() for b in D.DataLoader(Stream(), batch_size=3)])
    out.append(len(D.DataLoader(Stream(), batch_size=3, drop_last=True)))
    out.append(list(D.ChainDataset([Stream(), Stream()]))[:9])
    out.append(list(D.DataLoader(Stream(), batch_size=None))[:3])
    st = D.StackDataset(x, x * 2)
    out.append([repr(v) for v in st[3]])
    st = D.StackDataset(a=x, b=x * 2)
    out.append(sorted(st[2].keys()))
    out.append(repr(D.default_convert(np.arange(3))))
    out.append(D.get_worker_info())
    for bad in [lambda: D.DataLoader(ds, batch_size=2, batch_sampler=[[0]]),
                lambda: D.DataLoader(ds, batch_size=None, drop_last=True),
                lambda: D.DataLoader(Stream(), shuffle=True),
                lambda: D.DataLoader(ds, shuffle=True, sampler=[0, 1]),
                lambda: D.DataLoader(ds, num_workers=-1),
                lambda: D.RandomSampler(ds, num_samples=0),
                lambda: D.BatchSampler(range(3), 0, False),
                lambda: D.WeightedRandomSampler([[1.0]], 3),
                lambda: D.ConcatDataset([ds, Stream()]),
                lambda: D.StackDataset(x, lib.arange(3)),
                lambda: lib.multinomial(lib.tensor([1., 2.]), 3),
                lambda: lib.multinomial(lib.tensor([1, 2]), 1)]:
        try:
            bad(); out.append("no error")
        except Exception as e:
            out.append(f"{type(e).__name__}: {e}")
    return out


def test_the_data_api_answers_as_torch(torch):
    assert exercise(gradstudio) == exercise(torch)


def test_a_shuffled_loader_draws_its_order_from_randperm_with_its_generator(torch, monkeypatch):
    """With both libraries' randperm giving the same permutations, a shuffled loader
    visits the same batches: the order comes from randperm(n, generator=…), per epoch."""
    def loader_batches(lib, module):
        orders = [np.array([3, 1, 4, 0, 2]), np.array([2, 4, 0, 1, 3])]
        seen = []

        def randperm(n, generator=None, **_):
            # torch's sampler asks twice an epoch: a whole permutation, then one it slices
            # to num_samples % n (nothing here)
            seen.append(generator)
            return lib.tensor(orders[(len(seen) - 1) // 2])
        monkeypatch.setattr(module, "randperm", randperm)
        g = lib.Generator().manual_seed(5)
        loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.arange(5)), batch_size=2,
                                           shuffle=True, generator=g)
        epochs = [[b[0].tolist() for b in loader] for _ in range(2)]
        monkeypatch.undo()
        assert seen == [g] * 4
        return epochs
    import gradstudio.ops.random as ours
    assert loader_batches(gradstudio, ours) == loader_batches(torch, torch) == [
        [[3, 1], [4, 0], [2]], [[2, 4], [0, 1], [3]]]
