"""The node editor's palette, listed from the op table.

:func:`entries` is every row a person can place on the canvas — rows torch only
builds inside double-backward graphs (``internal``) and stand-ins without a
forward are left out — grouped by the rows' palette ``category`` in a fixed
order (unknown categories last, alphabetically), and within a category in the
order the rows were declared. Each entry carries what the palette shows and
what the editor needs to place the op: label, description, inputs and typed
params. It is plain data: the Qt side only draws it.
"""
from __future__ import annotations

from dataclasses import dataclass

from .table import rows

CATEGORY_ORDER = ("arithmetic", "elementwise", "activation", "selection", "reduction",
                  "linear algebra", "shape", "indexing", "loss")


@dataclass(frozen=True)
class Entry:
    id: str            # the row's id: what the editor's model stores
    label: str
    doc: str
    category: str
    arity: int         # inputs; -1 for a list of tensors (cat, stack)
    params: tuple      # the row's Param list
    name: str          # the torch grad_fn name the op records


def _category_key(category: str):
    try:
        return (CATEGORY_ORDER.index(category), "")
    except ValueError:
        return (len(CATEGORY_ORDER), category)


def entries() -> tuple:
    """Every placeable row as an :class:`Entry`, by category."""
    listed = [op for op in rows() if not op.internal and op.forward is not None]
    order = {op.id: i for i, op in enumerate(listed)}
    listed.sort(key=lambda op: (_category_key(op.category), order[op.id]))
    return tuple(Entry(op.id, op.label or op.name, op.doc, op.category, op.arity, op.params, op.name)
                 for op in listed)


def categories() -> dict:
    """{category: [Entry, …]} in palette order."""
    grouped: dict = {}
    for entry in entries():
        grouped.setdefault(entry.category, []).append(entry)
    return grouped
