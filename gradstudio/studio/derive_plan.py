"""Which backward calls of a cell get a symbolic derivation, and which are checked at all.

A training loop makes hundreds of backward calls whose graphs differ only in
their values. Deriving each one symbolically takes seconds, and the formulas
say the same thing every step; so of the calls that share one graph structure
(the same ops, parameters, shapes and wiring — :func:`structure`) only the last
:data:`KEEP_LAST` (one) is derived. When several calls are checked together
(one ``check`` request), the others are still checked: engine against finite
differences (and torch), with :func:`skipped_note` saying why there is no formula.

After a cell, the kernel does not even check those others (:func:`deferred`):
finite differences and torch's replay of 200 calls cost seconds for results
nobody looks at. Each is recorded and listed with its graph and gradients, its
``check_deferred`` set; the window asks for its whole check (derivation
included) when the user selects it.
"""
from __future__ import annotations

import numpy as np

KEEP_LAST = 1


def structure(graph) -> tuple:
    """A hashable description of ``graph`` without its values: per vertex its kind, op,
    parameters, shape, inputs and whether it requires grad."""
    key = []
    for v in graph.nodes:
        params = tuple(sorted((k, repr(p)) for k, p in (v.params or {}).items()))
        key.append((v.kind, v.op.id or v.op.name if v.op is not None else None, params,
                    tuple(np.shape(v.value)), tuple(v.inputs), v.requires_grad))
    return (graph.root, tuple(key))


def plan(calls: list, keep_last: int = KEEP_LAST) -> tuple:
    """``(derive, skip)``: the calls to derive, and ``{call index: number of calls sharing
    its structure}`` for the ones left to numbers."""
    if len(calls) <= 1:         # one call is its structure's last (no need to describe it: a
        return list(calls), {}  # node-editor edit's cell plans its one call four times)
    by_structure: dict = {}
    for call in calls:
        by_structure.setdefault(structure(call.graph), []).append(call)
    derive, skip = [], {}
    kept = set()
    for group in by_structure.values():
        for call in group[-keep_last:]:
            kept.add(call.index)
        for call in group[:-keep_last]:
            skip[call.index] = len(group)
    derive = [c for c in calls if c.index in kept]
    return derive, skip


def deferred(calls: list, keep_last: int = KEEP_LAST) -> set:
    """Indices of the calls whose check waits until the window asks for it: all but
    the last ``keep_last`` of each group sharing a structure (see :func:`plan`)."""
    return set(plan(calls, keep_last)[1])


def skipped_note(count: int, keep_last: int = KEEP_LAST) -> str:
    last = "the last one carries" if keep_last == 1 else f"the last {keep_last} of them carry"
    return (f"not derived symbolically: {count} backward calls in this cell share this graph and "
            f"{last} the formulas; this one is checked against finite differences.")


def noted(check, note: str | None):
    """``check`` with ``note`` in front of each leaf's own note (what Compare shows
    beside the missing formula); ``check`` itself when there is no note."""
    if note:
        for leaf in check.leaves:
            leaf.note = note if not leaf.note else f"{note} {leaf.note}"
    return check
