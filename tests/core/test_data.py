"""torch.utils.data without torch: datasets, random_split, DataLoader batching,
shuffling with a generator, drop_last and default_collate."""
from __future__ import annotations

import pytest

import gradstudio as torch
from gradstudio.utils.data import (ConcatDataset, DataLoader, Dataset, Subset, TensorDataset,
                                   default_collate, random_split)


def test_tensor_dataset_indexes_every_tensor():
    x, y = torch.arange(10).reshape(5, 2), torch.arange(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    assert [t.tolist() for t in ds[3]] == [[6, 7], 3]
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(x, torch.arange(4))


def test_dataloader_batches_in_order_and_drops_the_last():
    ds = TensorDataset(torch.arange(10).float(), torch.arange(10))
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[0].tolist() for b in batches] == [[0., 1., 2., 3.], [4., 5., 6., 7.], [8., 9.]]
    assert isinstance(batches[0], list) and batches[0][1].dtype == torch.int64
    assert len(DataLoader(ds, batch_size=4)) == 3
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert [len(b[0]) for b in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]


def test_shuffle_with_a_generator_is_reproducible_and_a_permutation():
    ds = TensorDataset(torch.arange(20))
    def order(seed):
        loader = DataLoader(ds, batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(seed))
        return [v for (b,) in loader for v in b.tolist()]
    assert order(1) == order(1)
    assert order(1) != list(range(20)) and sorted(order(1)) == list(range(20))
    assert order(1) != order(2)


def test_default_collate_of_numbers_tuples_and_dicts():
    assert default_collate([1, 2, 3]).tolist() == [1, 2, 3]
    assert default_collate([1.5, 2.5]).dtype == torch.float64
    pairs = default_collate([(torch.ones(2), 0), (torch.zeros(2), 1)])
    assert isinstance(pairs, list) and pairs[0].shape == torch.Size([2, 2]) and pairs[1].tolist() == [0, 1]
    d = default_collate([{"x": torch.ones(3), "name": "a"}, {"x": torch.zeros(3), "name": "b"}])
    assert d["x"].shape == torch.Size([2, 3]) and d["name"] == ["a", "b"]


def test_custom_dataset_and_concat():
    class Squares(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return torch.tensor(float(i * i)), i
    both = Squares() + Squares()
    assert isinstance(both, ConcatDataset) and len(both) == 8 and both[5][1] == 1
    batch = next(iter(DataLoader(Squares(), batch_size=4)))
    assert batch[0].tolist() == [0.0, 1.0, 4.0, 9.0]


def test_random_split_sizes_fractions_and_disjointness():
    ds = TensorDataset(torch.arange(10))
    a, b = random_split(ds, [7, 3], generator=torch.Generator().manual_seed(0))
    assert isinstance(a, Subset) and (len(a), len(b)) == (7, 3)
    values = sorted(a[i][0].item() for i in range(7)) + sorted(b[i][0].item() for i in range(3))
    assert sorted(values) == list(range(10))
    c, d, e = random_split(ds, [0.5, 0.3, 0.2])
    assert (len(c), len(d), len(e)) == (5, 3, 2)
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(ds, [3, 3])
