"""Convolution and max pooling speed, as ratios against torch timed in the same run.

    python benchmarks/conv.py [--rounds N]

One training step (forward, cross-entropy, backward) of a small LeNet —
Conv2d(1, 6, 5, padding=2) → ReLU → MaxPool2d(2) → Conv2d(6, 16, 5) → ReLU →
MaxPool2d(2) → Flatten → Linear(400, 10) — on a batch of 16 28×28 images, and
a conv layer alone. GradStudio's numpy im2col (sliding_window_view + a
batched matmul per group) against torch, both on one thread. Each round times the two
loops back to back; the ratio printed is the median of the rounds' ratios (a
shared machine's load changes from second to second). No target: a reference.
"""
from __future__ import annotations

import os

# one BLAS thread, as torch gets one: on a shared 2-core machine a threaded BLAS spins
# against the other processes (a 16×1600 @ 1600×150 matmul measured 125 ms threaded, 0.2 ms not)
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import gradstudio  # noqa: E402

try:
    import torch
    torch.set_num_threads(1)
except ImportError:  # the oracle extra is optional
    torch = None


def lenet(lib):
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 10))
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((16, 1, 28, 28)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, 16))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        model.zero_grad()
        loss_fn(model(x), y).backward()
    return step


def conv_only(lib):
    rng = np.random.default_rng(1)
    x = lib.tensor(rng.standard_normal((16, 6, 14, 14)).astype(np.float32), requires_grad=True)
    w = lib.tensor(rng.standard_normal((16, 6, 5, 5)).astype(np.float32), requires_grad=True)

    def step():
        x.grad = w.grad = None
        lib.nn.functional.conv2d(x, w).sum().backward()
    return step


def _time(step, loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        step()
    return (time.perf_counter() - start) / loops


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loops", type=int, default=10)
    args = parser.parse_args()
    for name, case in (("lenet_step", lenet), ("conv2d_6to16", conv_only)):
        ours = case(gradstudio)
        ours()
        theirs = case(torch) if torch is not None else None
        if theirs is not None:
            theirs()
        ratios, best_ours, best_theirs = [], float("inf"), float("inf")
        for _ in range(args.rounds):
            a = _time(ours, args.loops)
            best_ours = min(best_ours, a)
            if theirs is not None:
                b = _time(theirs, args.loops)
                best_theirs = min(best_theirs, b)
                ratios.append(a / b)
        if ratios:
            print(f"{name:14s} gradstudio {best_ours * 1e3:7.2f} ms  torch {best_theirs * 1e3:7.2f} ms  "
                  f"ratio {statistics.median(ratios):.2f}× (rounds {min(ratios):.2f}–{max(ratios):.2f})")
        else:
            print(f"{name:14s} gradstudio {best_ours * 1e3:7.2f} ms  (torch not installed)")


if __name__ == "__main__":
    main()
