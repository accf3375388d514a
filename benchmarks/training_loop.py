"""The training-loop example through the app's kernel (the IPython kernel with
GradStudio's comm, as the window drives it): run every cell, check every backward
call (finite differences, torch when installed), derive formulas for the calls the
plan keeps (gradstudio.studio.derive_plan). Prints how many calls were checked and
derived, and the seconds from the first cell sent to the last check.

    .venv/bin/python benchmarks/training_loop.py
"""
from __future__ import annotations

import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gradstudio.studio.kernel.blocking import KernelSession  # noqa: E402
from gradstudio.studio.session import split_cells  # noqa: E402

EXAMPLE = ROOT / "resources" / "examples" / "training_loop.py"


def main():
    cells = [c for c in split_cells(EXAMPLE.read_text()) if c.kind == "code"]
    with KernelSession() as kernel:
        start = time.perf_counter()
        checks = []
        for cell in cells:
            ran = kernel.run(cell.source, cell=cell.index, first_line=cell.first_line, wait=900)
            checks += [m.check for m in ran.of_type("call_checked")]
            if ran.reply.get("status") != "ok":
                raise SystemExit(f"cell {cell.index} failed: {ran.reply.get('ename')}: {ran.reply.get('evalue')}")
        seconds = time.perf_counter() - start
    derived = [c for c in checks if any(leaf.formula for leaf in c.leaves)]
    agree = sum(1 for c in checks if c.agree)
    print(f"{len(checks)} backward calls checked ({agree} agree), {len(derived)} with formulas, "
          f"{seconds:.1f} s from run to the last check")


if __name__ == "__main__":
    main()
