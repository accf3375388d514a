"""A script's cells: where ``# %%`` lines split it, the way the console and Compare number them.

Its own module, importing only the standard library, so the window can split a
script into cells without loading the engine (:mod:`gradstudio.studio.session`,
which runs them, imports these names from here).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# "# %%" alone or followed by a space, a title or "[markdown]" — but "# %%timeit" is a
# commented cell magic from a notebook, not a marker (jupytext's percent format agrees)
CELL_MARKER = re.compile(r"^\s*#\s*%%(?!\w)")
MARKDOWN_MARKER = re.compile(r"^\s*#\s*%%(.*?)\[(?:markdown|md)\]\s*$")
# A line as Python counts them: ended by \n, \r\n or \r only (str.splitlines also
# breaks at U+2028, U+2029, form feeds …, which would put cells on the wrong lines).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


# --------------------------------------------------------------------------- cells
@dataclass
class Cell:
    """A piece of the script: ``first_line`` is 1-based. A code cell's ``index`` counts
    the code cells from 1 (what the console and Compare call "cell n"); a markdown cell
    (``# %% [markdown]``, the percent format of jupytext) is text, is never run and has
    no index (``None``), so it never shifts the numbers of the code cells."""

    index: int | None
    source: str
    first_line: int
    title: str = ""
    kind: str = "code"                  # "code" | "markdown"


def split_cells(text: str) -> list:
    """Cells separated by ``# %%`` lines (the marker line starts the cell). A
    script without markers is one cell; ``# %% [markdown]`` starts a markdown cell."""
    lines = _LINE.findall(text)
    cells, current, start, marker = [], [], 1, None
    code_cells = 0

    def close():
        nonlocal code_cells
        if not (current and any(s.strip() for s in current)):
            return
        markdown = marker is not None and MARKDOWN_MARKER.match(marker) is not None
        if markdown:
            title = MARKDOWN_MARKER.match(marker).group(1).strip()
        else:
            code_cells += 1
            title = marker.split("%%", 1)[1].strip() if marker is not None else ""
        cells.append(Cell(None if markdown else code_cells, "".join(current), start, title,
                          "markdown" if markdown else "code"))

    for number, line in enumerate(lines, start=1):
        if CELL_MARKER.match(line):
            close()
            current, start, marker = [line], number, line
        else:
            current.append(line)
    close()
    return cells
