"""Layout speed for the Graph panel: 100 / 1,000 / 5,000 vertices.

    python benchmarks/layout.py [--repeats N] [--sizes 100,1000,5000]

Shapes:
  chain    the tutorial's doubling loop: y = y * 2 repeated, each step a
           MulBackward0 with its own constant (so n vertices = n/2 steps)
  motif    y = y * 1.5 + x repeated (a two-op motif, x shared by every step)
  random   a random DAG in data-flow style: each op takes 1–3 inputs, mostly
           recent results, sometimes older ones or constants (seeded)

For each, the time to find groups, and to lay out the graph collapsed and
not collapsed (best of N runs). The target: a 1,000-vertex graph in < 1 s on
a slow 2-core machine. Nothing asserts a time; this prints it.
"""
from __future__ import annotations

import argparse
import random
import time

from gradstudio.studio.figures.layout import Vertex, collapse, find_groups, layout


def chain(n: int) -> list:
    vs = [Vertex(0, (), "", "leaf", "x")]
    last = 0
    while len(vs) < n - 1:
        c = len(vs)
        vs.append(Vertex(c, (), "", "const"))
        vs.append(Vertex(c + 1, (last, c), "MulBackward0", "op"))
        last = c + 1
    vs.append(Vertex(len(vs), (last,), "SumBackward0", "op", "z"))
    return vs


def motif(n: int) -> list:
    vs = [Vertex(0, (), "", "leaf", "x")]
    last = 0
    while len(vs) < n - 3:
        c = len(vs)
        vs.append(Vertex(c, (), "", "const"))
        vs.append(Vertex(c + 1, (last, c), "MulBackward0"))
        vs.append(Vertex(c + 2, (c + 1, 0), "AddBackward0"))
        last = c + 2
    vs.append(Vertex(len(vs), (last,), "SumBackward0", "op", "loss"))
    return vs


def random_dag(n: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    leaves = max(2, n // 20)
    vs = [Vertex(i, (), "", "leaf", f"w{i}") for i in range(leaves)]
    ops = ["MulBackward0", "AddBackward0", "TanhBackward0", "MmBackward0", "SumBackward0"]
    while len(vs) < n:
        k = len(vs)
        arity = rng.choice((1, 2, 2, 3))
        inputs = []
        for _ in range(arity):
            r = rng.random()
            if r < 0.7:
                inputs.append(rng.randrange(max(0, k - 8), k))
            elif r < 0.9:
                inputs.append(rng.randrange(0, k))
            else:
                inputs.append(rng.randrange(0, leaves))
        vs.append(Vertex(k, tuple(inputs), rng.choice(ops)))
    # one root: a sum over every vertex nobody uses yet
    used = {i for v in vs for i in v.inputs}
    loose = tuple(v.id for v in vs if v.id not in used)
    vs.append(Vertex(len(vs), loose, "AddBackward0", "op", "loss"))
    return vs


def best_of(repeats: int, fn) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="100,1000,5000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'shape':8} {'n':>6} {'groups':>7} {'shown':>6} {'find':>8} {'collapsed':>10} {'full':>9} "
          f"{'dummies':>8} {'crossings':>9}")
    for shape, make in (("chain", chain), ("motif", motif), ("random", random_dag)):
        for n in sizes:
            vs = make(n)
            groups = find_groups(vs)
            shown, _ = collapse(vs, groups)
            repeats = args.repeats if n <= 1000 else 1
            t_find = best_of(repeats, lambda: find_groups(vs))
            t_collapsed = best_of(repeats, lambda: layout(collapse(vs, find_groups(vs))[0]))
            full = [None]

            def run_full():
                full[0] = layout(vs)
            t_full = best_of(repeats, run_full)
            dummies = len({p for e in full[0].edges for p in e.points[1:-1]})
            print(f"{shape:8} {len(vs):6d} {len(groups):7d} {len(shown):6d} {t_find * 1000:7.1f}ms "
                  f"{t_collapsed * 1000:8.1f}ms {t_full * 1000:7.1f}ms {dummies:8d} {full[0].crossings:9d}")


if __name__ == "__main__":
    main()
