"""A spatial index of scene rects: :class:`Grid`, cells of a fixed size, each holding
the keys whose rects meet it. The canvas's layers ask it which of their thousand
things meet an exposed rect instead of testing every one per frame."""
from __future__ import annotations

import math

from PySide6.QtCore import QRectF


class Grid:
    def __init__(self, cell: float = 400.0):
        self.cell = cell
        self.cells: dict = {}       # (column, row) -> set of keys

    def _cells(self, rect: QRectF):
        size = self.cell
        left, right = math.floor(rect.left() / size), math.floor(rect.right() / size)
        top, bottom = math.floor(rect.top() / size), math.floor(rect.bottom() / size)
        return ((i, j) for i in range(left, right + 1) for j in range(top, bottom + 1))

    def add(self, key, rects: list):
        cells = self.cells
        for rect in rects:
            for cell in self._cells(rect):
                cells.setdefault(cell, set()).add(key)

    def remove(self, key, rects: list):
        cells = self.cells
        for rect in rects:
            for cell in self._cells(rect):
                held = cells.get(cell)
                if held is not None:
                    held.discard(key)
                    if not held:
                        del cells[cell]

    def near(self, rect: QRectF) -> set:
        """The keys whose rects share a cell with ``rect`` (a superset of those meeting it)."""
        found = set()
        cells = self.cells
        for cell in self._cells(rect):
            held = cells.get(cell)
            if held:
                found |= held
        return found
