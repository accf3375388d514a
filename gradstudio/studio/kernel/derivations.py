"""The kernel's memory of closed forms it already derived.

Re-running a cell (the most common thing a learner does) records the same graph
again: the same ops, wiring, names and values. Deriving its closed form again
costs a round trip to the symbolic worker and tens of milliseconds of sympy (for
the tutorial's ``z = y.mean()`` about a third of the re-run's kernel time), and
gives the same answer, because a derivation depends on nothing but what it is
given. :class:`DerivationCache` keeps the last :data:`KEEP` answers keyed by
everything :func:`gradstudio.studio.symbolic.derive_call` reads — the graph's
structure (:func:`gradstudio.studio.derive_plan.structure`), its vertices'
names and values, the seed gradient and the leaves asked for — so a hit is the
answer a fresh derivation would give, and a graph that differs in anything
misses. Answers cut short (a time limit, the worker gone) are never kept: a
later try, maybe with a longer limit, derives again.

:meth:`DerivationCache.prefetch` starts a derivation that is not in memory
without waiting for it (the worker derives while the kernel writes and sends
the cell's records); the :meth:`~DerivationCache.derive` that follows with the
same graph collects that answer instead of asking again.

Each hit hands out fresh copies of the :class:`~gradstudio.studio.symbolic.LeafFormula`
records (the comparison adds notes to what it is given).
"""
from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict

import numpy as np

from gradstudio.studio import derive_plan

KEEP = 32
# notes of answers that depend on time or on the worker's health, not on the graph
_TRANSIENT = ("timed out", "symbolic worker", "out of memory")


def _feed(digest, value):
    if value is None:
        digest.update(b"N")
        return
    array = np.asarray(value)
    if array.dtype == object:               # never expected in a recorded graph: be exact anyway
        digest.update(repr(value).encode())
        return
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(np.ascontiguousarray(array).tobytes())


def key(graph, gradient, leaf_ids) -> tuple:
    """What a derivation of ``leaf_ids`` in ``graph`` (seeded with ``gradient``) depends on."""
    digest = hashlib.blake2b(digest_size=20)
    for vertex in graph.nodes:
        digest.update(repr((vertex.name, type(vertex.value).__name__)).encode())
        _feed(digest, vertex.value)
    _feed(digest, gradient)
    return derive_plan.structure(graph), tuple(int(i) for i in leaf_ids), digest.digest()


def _lasting(formulas: dict) -> bool:
    return all(not any(word in (f.note or "") for word in _TRANSIENT) for f in formulas.values())


class DerivationCache:
    """See the module docstring."""

    def __init__(self, keep: int = KEEP):
        self.keep = keep
        self._answers: OrderedDict = OrderedDict()
        self._pending = None          # (key, PendingDerivation) of the prefetched derivation
        self._last = None             # (graph, gradient, leaf ids, key): a cell's call is keyed once
        self.hits = self.misses = 0

    def _key(self, graph, gradient, leaf_ids) -> tuple:
        """:func:`key`, remembered for the last graph asked about: prefetch, the quick
        check and the derivation of one call ask for it in turn (it hashes every value).
        A recorded graph is not changed after its call, so the same object has the same key."""
        leaf_ids = tuple(int(i) for i in leaf_ids)
        last = self._last
        if last is not None and last[0] is graph and last[1] is gradient and last[2] == leaf_ids:
            return last[3]
        found = key(graph, gradient, leaf_ids)
        self._last = (graph, gradient, leaf_ids, found)
        return found

    def prefetch(self, worker, graph, gradient, leaf_ids, timeout: float) -> bool:
        """Send the derivation :meth:`derive` will ask for, unless it is in memory; True if
        sent. Only the last one prefetched is collected (a worker works on one job at a time)."""
        submit = getattr(worker, "submit_derive", None)
        if submit is None:
            return False
        leaf_ids = list(leaf_ids)
        found_key = self._key(graph, gradient, leaf_ids)
        if found_key in self._answers:
            return False
        pending = submit(graph, gradient, leaf_ids, timeout)
        self._pending = (found_key, pending) if pending is not None else None
        return pending is not None

    def derive(self, worker, graph, gradient, leaf_ids, timeout: float) -> dict:
        """``worker.derive(graph, gradient, leaf_ids, timeout)``, or what it gave before
        for the same graph, values and leaves."""
        leaf_ids = list(leaf_ids)
        found_key = self._key(graph, gradient, leaf_ids)
        found = self._answers.get(found_key)
        if found is not None:
            self.hits += 1
            self._answers.move_to_end(found_key)
            return copy.deepcopy(found)
        self.misses += 1
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == found_key and pending[1].worker is worker \
                and pending[1].timeout == timeout:      # (a retry with a longer limit asks anew)
            formulas = pending[1].result()          # prefetched: derived meanwhile
        else:
            formulas = worker.derive(graph, gradient, leaf_ids, timeout)
        if _lasting(formulas):
            self._answers[found_key] = copy.deepcopy(formulas)
            while len(self._answers) > self.keep:
                self._answers.popitem(last=False)
        return formulas

    def knows(self, graph, gradient, leaf_ids) -> bool:
        """Whether :meth:`derive` would answer from memory (no sympy, no worker)."""
        return self._key(graph, gradient, leaf_ids) in self._answers

    def clear(self):
        self._answers.clear()
        self._pending = self._last = None

    def __len__(self) -> int:
        return len(self._answers)
