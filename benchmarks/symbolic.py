"""Symbolic derivation cost, measured in one run.

    python benchmarks/symbolic.py          (python benchmarks/symbolic.py depth: part 2 only)

1. ``gradstudio check`` on ``z = (3*x*x).mean()`` with a 300×300 ``x`` against the
   same script on 2×2 (target: at most 1.5×). Naive per-element sympy takes
   ~21 s on 30×30 and grows as n⁴; the generic-element form does not grow.
   Best of three runs each, alternating.
2. The generic-element form against graph depth (10, 100, 1,000 steps of
   ``y = sin(y/2)``, of the tutorial's ``y = y*2`` and of ``y = sin(y/2) + tanh(y)/10``,
   whose paths double each step), in-process, derive + simplify; target under
   1 s at depth 1,000 and a depth-1000/depth-100 ratio near 10 (linear).
3. The effect of common-subexpression elimination: the size of a per-element
   gradient (softmax over 8 elements) before and after ``cse``.
4. The matrix form (gradstudio.studio.symbolic.matrix): derivation time
   (expression, reverse mode, simplification, text and LaTeX — not the numpy
   evaluation, which is the one step that must touch every element) for
   softmax cross-entropy of ``W @ x + b`` and for ½xᵀAx at 3×3 and 1000×1000
   (target: ratio ≈ 1), and against graph depth (``h = A @ tanh(h)``, 10, 100
   500 and 1,000 layers = 20 to 2,000 ops; target: under 1 s at 1,000 ops).
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


DEPTH_CHAINS = (("y = sin(y/2)", "    y = (y * 0.5).sin()\n"),
                ("y = y*2 (the tutorial's loop)", "    y = y * 2\n"),
                ("y = sin(y/2) + tanh(y)/10 (paths double)", "    y = (y * 0.5).sin() + y.tanh() * 0.1\n"))


def depth_scaling():
    """The generic-element form against depth: derive + simplify, best of three,
    wall-clock and this process's CPU time (a loaded machine stretches the first);
    target under 1 s at 1,000 steps, and a ratio 1000/100 near 10 (linear)."""
    sys.path.insert(0, str(ROOT))
    from gradstudio.studio import symbolic
    from gradstudio.studio.session import Session
    symbolic.sp()
    print("generic-element form against graph depth (derive + simplify, best of 3):")
    for title, body in DEPTH_CHAINS:
        cpu, written = {}, {}
        for depth in (10, 100, 1000):
            session = Session()
            session.run_cell("import torch\nx = torch.tensor([0.5, -0.2], requires_grad=True)\ny = x\n"
                             f"for _ in range({depth}):\n{body}y.sum().backward()\n")
            call = session.backward_calls[0]
            leaf = call.leaves[0].vertex
            ops = sum(1 for v in call.graph.nodes if v.kind == "op")
            wall = cpu[depth] = float("inf")
            for _ in range(3):
                start, start_cpu = time.perf_counter(), time.process_time()
                formula = symbolic.derive_leaf(call.graph, None, leaf, simplify=True)
                wall = min(wall, time.perf_counter() - start)
                cpu[depth] = min(cpu[depth], time.process_time() - start_cpu)
            written[depth] = formula.formula is not None
            shown = "formula shown" if formula.formula else f"values only, size {formula.size}"
            print(f"  {title:<42} depth {depth:>5} ({ops:>5} ops): {wall:6.3f} s wall, "
                  f"{cpu[depth]:6.3f} s cpu; {shown} {'✓' if cpu[depth] < 1 else '✗'}")
        same = "" if written[100] == written[1000] else " (depth 100 writes the chain form out, 1000 does not)"
        print(f"  {'':<42} cpu ratio depth 1000 / depth 100: {cpu[1000] / cpu[100]:.1f} (linear ≈ 10){same}")


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


def _matrix_derivation_seconds(graph, rounds: int = 5) -> float:
    """Best of ``rounds``: graph → expression → gradients → simplified → text + LaTeX
    (when not too large to show)."""
    from gradstudio.studio.symbolic import matrix as MF
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        f, builder = MF.function_of(graph, None)
        xs = [builder.exprs[leaf.id] for leaf in graph.leaves]
        for x, g in MF.gradients(f, xs).items():
            MF.written(MF.simplify(g), builder.names)
        best = min(best, time.perf_counter() - start)
    return best


def _traced(build):
    sys.path.insert(0, str(ROOT))
    from gradstudio.studio import trace
    with trace.tracing():
        root, named = build()
    return trace.capture(root, {id(t): (name, t) for name, t in named.items()})


def matrix_scaling():
    import numpy as np
    sys.path.insert(0, str(ROOT))
    import gradstudio as gs
    import gradstudio.nn.functional as F

    def cross_entropy(n):
        W = gs.randn(n, n, dtype=gs.float64, requires_grad=True)
        b = gs.zeros(n, dtype=gs.float64, requires_grad=True)
        x = gs.randn(n, dtype=gs.float64)
        return lambda: (F.cross_entropy(W @ x + b, gs.tensor(1)), {"W": W, "b": b, "x": x})

    def quadratic(n):
        A = gs.randn(n, n, dtype=gs.float64)
        x = gs.randn(n, dtype=gs.float64, requires_grad=True)
        return lambda: (0.5 * x @ A @ x, {"A": A, "x": x})

    print("matrix form, derivation time against size (best of 5):")
    for name, case in (("softmax cross-entropy of Wx + b", cross_entropy), ("½xᵀAx", quadratic)):
        small = _matrix_derivation_seconds(_traced(case(3)))
        big = _matrix_derivation_seconds(_traced(case(1000)))
        print(f"  {name:<32} 3×3 {small * 1e3:7.2f} ms   1000×1000 {big * 1e3:7.2f} ms   "
              f"ratio {big / small:.2f}")
    print("matrix form, derivation time against graph depth (h = A @ tanh(h)):")
    for depth in (10, 100, 500, 1000):
        def chain():
            A = gs.tensor(np.eye(50) * 0.5, dtype=gs.float64)
            x = gs.randn(50, dtype=gs.float64, requires_grad=True)
            h = x
            for _ in range(depth):
                h = A @ gs.tanh(h)
            return h.sum(), {"A": A, "x": x}
        graph = _traced(chain)
        ops = sum(1 for v in graph.nodes if v.kind == "op")
        seconds = _matrix_derivation_seconds(graph, rounds=3)
        print(f"  depth {depth:>5} ({ops:>5} ops): {seconds:6.3f} s  (target < 1 s at 1,000 ops)")


if __name__ == "__main__":
    if sys.argv[1:] == ["depth"]:
        depth_scaling()
        raise SystemExit
    matrix_scaling()
    check_scaling()
    depth_scaling()
    cse_effect()
