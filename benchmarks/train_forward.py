"""The forward half of nn_sgd's training step, ``loss_fn(model(x), y)``, as ratios.

    python benchmarks/train_forward.py [--rounds N] [--baseline REV]

``Sequential(Linear(128,64), Tanh, Linear(64,32), Tanh, Linear(32,10))`` and
``CrossEntropyLoss`` on a batch of 32 (issue 12's step without its backward pass and
optimizer), against torch at one thread and against the same forward written by hand
in numpy (the floor: no graph, no modules). With ``--baseline REV`` the engine at that
git revision is timed in the same rounds too (new/base: an A/B that the load of a
shared machine cannot tilt). Timing as in ``benchmarks/engine.py``, whose helpers this
uses: process CPU time, short alternating rounds, medians of the per-round ratios with
their quartiles.
"""
from __future__ import annotations

import argparse
import statistics
import sys

from engine import load_baseline, paired_times, ratio_stats, torch  # one BLAS thread, as torch

import numpy as np

import gradstudio


def forward(lib):
    """``loss_fn(model(x), y)`` of nn_sgd's model and data (the graph is built and dropped)."""
    rng = np.random.default_rng(0)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(128, 64), nn.Tanh(), nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
    x = lib.tensor(rng.standard_normal((32, 128)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, 32))
    loss_fn = nn.CrossEntropyLoss()
    return lambda: loss_fn(model(x), y)


def forward_numpy():
    """The same forward by hand in numpy, in the engine's order of operations."""
    rng = np.random.default_rng(0)
    shapes = ((64, 128), (32, 64), (10, 32))
    weights = [rng.uniform(-0.1, 0.1, s).astype(np.float32) for s in shapes]
    biases = [rng.uniform(-0.1, 0.1, s[:1]).astype(np.float32) for s in shapes]
    x = rng.standard_normal((32, 128)).astype(np.float32)
    y = rng.integers(0, 10, 32)
    rows = np.arange(32)

    def run():
        h = x
        for i, (w, b) in enumerate(zip(weights, biases)):
            h = b + h @ w.T
            if i < 2:
                h = np.tanh(h)
        shifted = h - np.maximum.reduce(h, axis=1, keepdims=True)
        log_p = shifted - np.log(np.add.reduce(np.exp(shifted), axis=1, keepdims=True))
        return np.asarray(-np.add.reduce(log_p[rows, y]) / np.int64(32), dtype=np.float32)
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--baseline", metavar="REV", help="also time the engine at this git revision")
    args = parser.parse_args(argv)
    names = ["gradstudio", "numpy"]
    functions = [forward(gradstudio), forward_numpy()]
    if args.baseline:
        names.append("baseline")
        functions.append(forward(load_baseline(args.baseline)))
    if torch is not None:
        names.append("torch")
        functions.append(forward(torch))
    times = dict(zip(names, paired_times(functions, args.rounds)))
    for name in names:
        print(f"{name:<11} {statistics.median(times[name]) * 1e6:8.1f} us per forward (median)")
    for other in names[1:]:
        ratio, low, high = ratio_stats(times["gradstudio"], times[other])
        print(f"gradstudio / {other:<10} {ratio:5.2f}  quartiles {low:.2f}–{high:.2f}")
    return times


if __name__ == "__main__":
    sys.exit(main() and None)
