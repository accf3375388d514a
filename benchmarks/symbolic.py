"""Symbolic derivation cost, measured in one run.

    python benchmarks/symbolic.py

1. ``gradstudio check`` on ``z = (3*x*x).mean()`` with a 300×300 ``x`` against the
   same script on 2×2 (target: at most 1.5×). Naive per-element sympy takes
   ~21 s on 30×30 and grows as n⁴; the generic-element form does not grow.
   Best of three runs each, alternating.
2. Derivation time against graph depth (10, 100, 1,000 ops of ``y = sin(y/2)``),
   in-process, with and without simplification.
3. The effect of common-subexpression elimination: the size of a per-element
   gradient (softmax over 8 elements) before and after ``cse``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEAN_SCRIPT = "import torch\nx = torch.ones({n}, {n}, requires_grad=True)\nz = (3 * x * x).mean()\nz.backward()\n"


def time_check(path: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "gradstudio", "check", str(path)],
                            capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"check failed on {path}:\n{result.stdout}\n{result.stderr}")
    return elapsed


def check_scaling(rounds: int = 3):
    with tempfile.TemporaryDirectory() as folder:
        small, big = Path(folder, "small.py"), Path(folder, "big.py")
        small.write_text(MEAN_SCRIPT.format(n=2))
        big.write_text(MEAN_SCRIPT.format(n=300))
        best_small = best_big = float("inf")
        for _ in range(rounds):
            best_small = min(best_small, time_check(small))
            best_big = min(best_big, time_check(big))
    ratio = best_big / best_small
    print(f"gradstudio check, mean(3*x*x):  2×2 {best_small:.2f} s   300×300 {best_big:.2f} s   "
          f"ratio {ratio:.2f}  (target ≤ 1.5) {'✓' if ratio <= 1.5 else '✗'}")
    return ratio


def depth_scaling():
    sys.path.insert(0, str(ROOT))
    from gradstudio.studio import symbolic
    from gradstudio.studio.session import Session
    print("derivation time against graph depth (y = sin(y/2), generic-element form):")
    for depth in (10, 100, 1000):
        session = Session()
        session.run_cell("import torch\nx = torch.tensor([0.5], requires_grad=True)\ny = x\n"
                         f"for _ in range({depth}):\n    y = (y * 0.5).sin()\ny.sum().backward()\n")
        call = session.backward_calls[0]
        leaf = call.leaves[0].vertex
        timings = {}
        for simplify in (False, True):
            start = time.perf_counter()
            formula = symbolic.derive_leaf(call.graph, None, leaf, simplify=simplify)
            timings[simplify] = time.perf_counter() - start
        shown = "formula shown" if formula.formula else f"too large to show ({formula.size} ops after cse)"
        print(f"  depth {depth:>5}: {timings[False]:6.2f} s derive, {timings[True]:6.2f} s with simplify; "
              f"{formula.kind}, {shown}")


def cse_effect():
    import sympy
    from gradstudio.studio import symbolic
    from gradstudio.studio.session import Session
    session = Session()
    session.run_cell("import torch\nx = torch.linspace(-1, 1, 8, requires_grad=True)\n"
                     "y = (x.softmax(0) * torch.arange(8.)).sum()\ny.backward()\n")
    call = session.backward_calls[0]
    formula = symbolic.derive_leaf(call.graph, None, call.leaves[0].vertex, simplify=False)
    entries = list(formula.expression)
    plain = sum(sympy.count_ops(e) for e in entries)
    replacements, reduced = sympy.cse(entries)
    after = sum(sympy.count_ops(e) for _, e in replacements) + sum(sympy.count_ops(e) for e in reduced)
    text = len(sympy.sstr(sympy.Matrix(entries)))
    print(f"cse on the per-element gradient of a softmax over 8 elements: {plain} operations "
          f"({text} characters) → {after} operations with {len(replacements)} shared subexpressions")


if __name__ == "__main__":
    check_scaling()
    depth_scaling()
    cse_effect()
