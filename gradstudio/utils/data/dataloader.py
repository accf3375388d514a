"""DataLoader: batches of a dataset, in order or shuffled with a generator,
collated as torch's default_collate does (tensors stacked, numbers to tensors,
tuples/lists/dicts collated field by field). Single process: ``num_workers`` is
accepted and ignored."""
from __future__ import annotations

import collections.abc
import math
import numbers

import numpy as np

from ...generator import rng as _rng
from ...tensor import Tensor


def default_collate(batch):
    elem = batch[0]
    if isinstance(elem, Tensor):
        from ...ops.shape import stack
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        from ...ops.creation import as_tensor
        return default_collate([as_tensor(b) for b in batch])
    if isinstance(elem, bool):
        from ...ops.creation import tensor
        return tensor(batch)
    if isinstance(elem, float):
        from ...ops.creation import tensor
        from ... import dtypes
        return tensor(batch, dtype=dtypes.float64)
    if isinstance(elem, numbers.Integral):
        from ...ops.creation import tensor
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [default_collate(samples) for samples in zip(*batch)]
        # torch returns a list for a tuple too ("backwards compatibility")
        return transposed if isinstance(elem, (list, tuple)) else type(elem)(transposed)
    raise TypeError("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                    f"lists; found {type(elem)}")


class DataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *, prefetch_factor=None,
                 persistent_workers=False, pin_memory_device="", in_order=True):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.drop_last = drop_last
        self.generator = generator
        self.collate_fn = collate_fn if collate_fn is not None else \
            (default_collate if batch_size is not None else (lambda x: x))
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")

    def _indices(self):
        if self.sampler is not None:
            return list(iter(self.sampler))
        n = len(self.dataset)
        if self.shuffle:
            return _rng(self.generator).permutation(n).tolist()
        return list(range(n))

    def __iter__(self):
        if self.batch_sampler is not None:
            for batch in self.batch_sampler:
                yield self.collate_fn([self.dataset[i] for i in batch])
            return
        indices = self._indices()
        if self.batch_size is None:
            for i in indices:
                yield self.collate_fn(self.dataset[i])
            return
        for start in range(0, len(indices), self.batch_size):
            batch = indices[start:start + self.batch_size]
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield self.collate_fn([self.dataset[i] for i in batch])

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
