"""Jupyter notebooks as scripts and back, through ``nbformat``.

A notebook becomes one script in jupytext's percent format: ``# %%`` before
each code cell (IPython magics commented out: ``# %matplotlib inline``),
``# %% [markdown]`` before each markdown cell, whose lines are ``# ``-commented.
Writing reverses it, cell for cell and in order: known magics are uncommented,
markdown is uncommented; outputs are dropped except for code cells whose source
did not change from the notebook being overwritten, whose outputs, execution
count and id are kept, as is that notebook's metadata. Raw cells are not
kept. Reading checks the notebook against nbformat's schema; any problem is a
:class:`~gradstudio.studio.project.ProjectError` with a short message.
"""
from __future__ import annotations

import json
import re

from gradstudio.studio.project import ProjectError, quote

MARKDOWN_CELL_LINE = "# %% [markdown]"
_MAGIC = re.compile(r"^(\s*)([%!].*)$")
# Only these are uncommented when a notebook is written (as jupytext does): a comment
# such as "# %d is the format" stays a comment.
_KNOWN_MAGICS = ("matplotlib|time|timeit|pip|conda|load_ext|reload_ext|autoreload|env|cd|pwd|"
                 "ls|run|load|who|whos|debug|prun|capture|writefile|config|precision|history|"
                 "store|sx|system|bash|sh|html|javascript|latex|markdown|script|svg|file")
_KNOWN_SHELL = "pip|conda|ls|cat|wget|curl|git|echo|nvidia-smi|mkdir|rm|cp|mv|python|apt|unzip"
_COMMENTED_MAGIC = re.compile(rf"^(\s*)# (%%?(?:{_KNOWN_MAGICS})\b.*|!(?:{_KNOWN_SHELL})\b.*)$")


def read(text: str, source: str):
    """The notebook as nbformat 4, checked against its schema (nbformat's own validator)."""
    import warnings
    import nbformat                       # only when a notebook is opened or saved
    try:
        with warnings.catch_warnings():   # "missing cell id" in older files: not the user's problem
            warnings.simplefilter("ignore")
            raw = json.loads(text)
            major = raw.get("nbformat") if isinstance(raw, dict) else None
            if not isinstance(major, int) or isinstance(major, bool):
                raise ProjectError(f"{source} is not a valid notebook (no \"nbformat\" version).")
            if major < 3:
                raise ProjectError(f"{source} is an old (version {major}) notebook; save it again "
                                   "with Jupyter to update it.")
            if major > 4:
                raise ProjectError(f"{source} was made by a newer Jupyter (nbformat {quote(major)}); "
                                   "this one reads nbformat 4.")
            captured = {}                 # reads() validates once and only warns: keep the error
            notebook = nbformat.reads(text, as_version=4, capture_validation_error=captured)
            if "ValidationError" in captured:
                raise captured["ValidationError"]
    except ProjectError:
        raise
    except RecursionError:
        raise ProjectError(f"{source} is not a valid notebook: it is nested too deeply.") from None
    except Exception as error:            # nbformat raises many types for damaged files
        detail = str(error).splitlines()[0][:200] if str(error) else ""
        raise ProjectError(f"{source} is not a valid notebook ({type(error).__name__}: "
                           f"{detail}).") from None
    return notebook


def to_script(text: str, source: str = "the notebook") -> str:
    """A Jupyter notebook as one script in the percent format: ``# %%`` before each code
    cell (IPython magics commented out: ``# %matplotlib inline``), ``# %% [markdown]``
    before each markdown cell, whose lines are ``# ``-commented."""
    notebook = read(text, source)
    parts = []
    for cell in notebook.cells:
        body = cell.get("source", "")
        if cell.cell_type == "markdown":
            lines = [("# " + line) if line.strip() else "#" for line in body.splitlines()]
            parts.append(MARKDOWN_CELL_LINE + "\n" + "\n".join(lines).rstrip() + "\n")
        elif cell.cell_type == "code":
            lines = [_MAGIC.sub(r"\1# \2", line) for line in body.splitlines()]
            parts.append("# %%\n" + "\n".join(lines).rstrip() + "\n")
    return "\n".join(parts)


def from_script(script: str, previous: str | None = None) -> str:
    """The script as an nbformat-4 notebook: every cell of :func:`~gradstudio.studio.session.split_cells` becomes a
    code or markdown cell, in order. Outputs are not kept, except that a code cell whose
    source is unchanged from ``previous`` (the notebook being overwritten) keeps its
    outputs and execution count; the old notebook's metadata is kept too. Raw cells of
    the old notebook are not kept (the script has no form for them)."""
    import nbformat
    from nbformat.corpus.words import generate_corpus_id as new_cell_id
    from gradstudio.studio.session import CELL_MARKER, split_cells
    old_cells, notebook = {}, nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    if previous is not None:
        try:
            old = read(previous, "the old notebook")
        except ProjectError:
            old = None                    # overwriting a damaged notebook: nothing to keep
        if old is not None:
            notebook.metadata = old.metadata          # kernelspec, language_info, the user's own
            for cell in old.cells:
                if cell.cell_type == "code":
                    old_cells.setdefault(cell.source, cell)
    for cell in split_cells(script):
        lines = cell.source.splitlines()
        if lines and (cell.kind == "markdown" or CELL_MARKER.match(lines[0])):
            lines = lines[1:]             # the marker line belongs to the script, not the cell
        # cells built as plain nodes: nbformat's new_*_cell validate each one against the
        # schema (measured: ~5 s for 1,000 cells); these are valid by construction
        if cell.kind == "markdown":
            body = "\n".join(_uncomment(line) for line in lines).strip("\n")
            notebook.cells.append(nbformat.from_dict({"id": new_cell_id(), "cell_type": "markdown",
                                                      "metadata": {}, "source": body}))
            continue
        body = "\n".join(_COMMENTED_MAGIC.sub(r"\1\2", line) for line in lines).strip("\n")
        old = old_cells.pop(body, None)   # each old cell used once: ids stay unique
        notebook.cells.append(nbformat.from_dict({
            "id": old.get("id") if old is not None and old.get("id") else new_cell_id(),
            "cell_type": "code", "metadata": {}, "source": body,
            "outputs": old.outputs if old is not None else [],
            "execution_count": old.execution_count if old is not None else None}))
    return nbformat.versions[4].writes_json(notebook)


def _uncomment(line: str) -> str:
    stripped = line.lstrip()
    if stripped.startswith("# "):
        return stripped[2:]
    return stripped[1:] if stripped.startswith("#") else line
