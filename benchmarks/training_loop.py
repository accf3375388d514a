"""The training-loop example through the app's kernel: run every cell, check every
backward call (finite differences, torch when installed), derive formulas for the
calls the plan keeps (gradstudio.studio.derive_plan). Prints how many calls were
checked and derived, and the seconds from the run request to the last check.

    .venv/bin/python benchmarks/training_loop.py
"""
from __future__ import annotations

import pathlib
import time

from gradstudio.studio.kernel.worker import KernelProcess
from gradstudio.studio.session import split_cells

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "resources" / "examples" / "training_loop.py"


def main():
    kernel = KernelProcess("training_loop.py").start()
    try:
        kernel.wait_for("ready", 60)
        cells = [{"index": c.index, "source": c.source, "first_line": c.first_line}
                 for c in split_cells(EXAMPLE.read_text()) if c.kind == "code"]
        start = time.perf_counter()
        kernel.send({"type": "run", "cells": cells})
        messages = kernel.wait_for("done", 900)
        seconds = time.perf_counter() - start
    finally:
        kernel.shutdown()
    checks = [m["check"] for m in messages if m["type"] == "call_checked"]
    derived = [c for c in checks if any(leaf.get("formula") for leaf in c["leaves"])]
    agree = sum(1 for c in checks if c["agree"])
    print(f"{len(checks)} backward calls checked ({agree} agree), {len(derived)} with formulas, "
          f"{seconds:.1f} s from run to the last check")


if __name__ == "__main__":
    main()
