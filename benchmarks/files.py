"""Opening and saving documents: notebooks (nbformat) and projects (typed loading).

    python benchmarks/files.py [--cells 100,1000,10000]

For notebooks of N cells (half markdown, half code) it times
:func:`project.load` (nbformat read + schema validation + percent-format
script) and :func:`project.save` to ``.ipynb``, and, for comparison, what
nbformat itself takes to read and write the same notebook. For a project with
a script of the same size it times load and save. Each figure is the best of
three runs; the ratio column is ours / nbformat's own read+write.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import nbformat

from gradstudio.studio import project as P


def best(call, runs=3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", default="100,1000,10000")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="gradstudio-bench-")
    print(f"{'cells':>7} {'load':>8} {'save':>8} {'nbformat r+w':>13} {'ratio':>6} "
          f"{'project load':>13} {'project save':>13}")
    for n in (int(c) for c in args.cells.split(",")):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(f"Cell {i}: *why* this step.") if i % 2 == 0
                    else nbformat.v4.new_code_cell(f"x{i} = torch.ones(2) * {i}") for i in range(n)]
        path = os.path.join(folder, f"n{n}.ipynb")
        nbformat.write(nb, path)
        out = os.path.join(folder, f"out{n}.ipynb")
        loaded = P.load(path)
        t_load = best(lambda: P.load(path))
        t_save = best(lambda: P.save(loaded, out))
        t_nb = best(lambda: nbformat.write(nbformat.read(path, as_version=4), out + ".ref"))
        project = os.path.join(folder, f"p{n}.gradstudio")
        P.save(loaded, project)
        t_pload = best(lambda: P.load(project))
        t_psave = best(lambda: P.save(loaded, project))
        print(f"{n:>7} {t_load:>7.3f}s {t_save:>7.3f}s {t_nb:>12.3f}s {(t_load + t_save) / t_nb:>6.2f} "
              f"{t_pload:>12.4f}s {t_psave:>12.4f}s")


if __name__ == "__main__":
    main()
