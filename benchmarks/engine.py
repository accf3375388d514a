"""Engine speed, as ratios against baselines timed in the same run.

    python benchmarks/engine.py [--repeats N]

Cases (targets from the engine issue):
  chain300   y = y * 2, 300 times on a (3,) tensor, forward + backward    ≤ 0.5 × torch
  tutorial   (x * x * 3).mean().backward() on 2×2                          ≤ 0.5 × torch
  mlp        one SGD step of a 128×64 → 32 → 10 tanh MLP                   ≤ 1.0 × torch
  matmul512  (A @ B).tanh().sum().backward(), 512×512 float32               ≤ 1.15 × numpy by hand

torch runs with one thread. Each case alternates the two implementations and
keeps the best of several rounds of timed loops, so a noisy machine affects
both sides alike. Cases without torch installed print the gradstudio time only.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import gradstudio

try:
    import torch
    torch.set_num_threads(1)
except ImportError:  # the oracle extra is optional
    torch = None


def chain300(lib):
    def run():
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        for _ in range(299):
            y = y * 2
        y.backward(lib.ones(3))
    return run


def tutorial(lib):
    def run():
        x = lib.ones(2, 2, requires_grad=True)
        (x * x * 3).mean().backward()
    return run


def mlp(lib):
    rng = np.random.default_rng(0)
    data = {name: rng.standard_normal(shape).astype(np.float32) * scale
            for name, shape, scale in [("x", (128, 64), 1.0), ("y", (128, 10), 1.0),
                                       ("w1", (64, 32), 0.1), ("b1", (32,), 0.1),
                                       ("w2", (32, 10), 0.1), ("b2", (10,), 0.1)]}
    x, y = lib.tensor(data["x"]), lib.tensor(data["y"])
    params = [lib.tensor(data[n], requires_grad=True) for n in ("w1", "b1", "w2", "b2")]

    def run():
        w1, b1, w2, b2 = params
        hidden = (x @ w1 + b1).tanh()
        out = hidden @ w2 + b2
        loss = ((out - y) ** 2).mean()
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= 0.01 * p.grad
                p.grad.zero_()
    return run


def matmul512_gradstudio():
    rng = np.random.default_rng(0)
    a = gradstudio.tensor(rng.standard_normal((512, 512)).astype(np.float32), requires_grad=True)
    b = gradstudio.tensor(rng.standard_normal((512, 512)).astype(np.float32) * 0.05,
                          requires_grad=True)

    def run():
        a.grad = b.grad = None
        (a @ b).tanh().sum().backward()
    return run


def matmul512_numpy():
    """The same forward and backward written by hand with numpy."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((512, 512)).astype(np.float32)
    b = rng.standard_normal((512, 512)).astype(np.float32) * 0.05

    def run():
        t = np.tanh(a @ b)
        t.sum()
        g = 1 - t * t                 # d sum(tanh(m)) / dm
        grad_a = g @ b.T
        grad_b = a.T @ g
        return grad_a, grad_b
    return run


def best_time(functions, rounds: int, seconds_per_round: float = 0.25) -> list:
    """Best per-call time of each function, alternating them round by round."""
    for f in functions:  # warm up
        for _ in range(3):
            f()
    loops = []
    for f in functions:
        start, n = time.perf_counter(), 0
        while time.perf_counter() - start < seconds_per_round:
            f()
            n += 1
        loops.append(max(1, n))
    best = [float("inf")] * len(functions)
    for _ in range(rounds):
        for i, f in enumerate(functions):
            start = time.perf_counter()
            for _ in range(loops[i]):
                f()
            best[i] = min(best[i], (time.perf_counter() - start) / loops[i])
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    cases = [("chain300", chain300, 0.5), ("tutorial", tutorial, 0.5), ("mlp", mlp, 1.0)]
    print(f"{'case':<10} {'gradstudio':>12} {'baseline':>12} {'ratio':>7}  target")
    results = {}
    for name, make, target in cases:
        if torch is None:
            (ours,) = best_time([make(gradstudio)], args.repeats)
            print(f"{name:<10} {ours * 1e6:>10.1f}us {'(no torch)':>12}")
            continue
        ours, theirs = best_time([make(gradstudio), make(torch)], args.repeats)
        results[name] = ours / theirs
        print(f"{name:<10} {ours * 1e6:>10.1f}us {theirs * 1e6:>10.1f}us {ours / theirs:>7.2f}  "
              f"≤ {target} × torch {'✓' if ours / theirs <= target else '✗'}")
    ours, numpy_time = best_time([matmul512_gradstudio(), matmul512_numpy()], max(3, args.repeats // 2),
                                 seconds_per_round=1.0)
    results["matmul512"] = ours / numpy_time
    print(f"{'matmul512':<10} {ours * 1e3:>10.2f}ms {numpy_time * 1e3:>10.2f}ms {ours / numpy_time:>7.2f}  "
          f"≤ 1.15 × numpy {'✓' if ours / numpy_time <= 1.15 else '✗'}")
    return results


if __name__ == "__main__":
    main()
