"""The examples shipped in ``gradstudio.resources.examples``: titles, descriptions, paths.

Each example is a ``.py`` script; its title and description come from the
comment lines at its top (``# GradStudio example: <title>`` then the rest).
The seed autograd tutorial comes first.
"""
from __future__ import annotations

import os
from importlib import resources

FIRST = "autograd_tutorial.py"


def examples_directory() -> str:
    return str(resources.files("gradstudio.resources") / "examples")


def list_examples() -> list:
    """[(title, description, path)], the tutorial first, then by file name."""
    directory = examples_directory()
    try:
        names = [n for n in os.listdir(directory)
                 if n.endswith((".py", ".gradstudio", ".ipynb")) and not n.startswith("_")]
    except OSError:
        return []
    names.sort(key=lambda n: (n != FIRST, n))
    return [(*describe(os.path.join(directory, n)), os.path.join(directory, n)) for n in names]


def describe(path: str) -> tuple:
    """(title, description) from the leading comment block."""
    title = os.path.splitext(os.path.basename(path))[0].replace("_", " ").capitalize()
    lines = []
    try:
        with open(path, encoding="utf-8") as handle:
            for raw in handle:
                line = raw.strip()
                if not line.startswith("#") or line.startswith("# %%"):
                    break
                lines.append(line.lstrip("#").strip())
    except OSError:
        return title, ""
    if lines and ":" in lines[0] and lines[0].lower().startswith("gradstudio example"):
        title = lines[0].split(":", 1)[1].strip().rstrip(".") or title
        title = title[:1].upper() + title[1:]
        lines = lines[1:]
    return title, " ".join(l for l in lines if l)
