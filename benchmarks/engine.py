"""Engine speed, as ratios against baselines timed in the same run.

    python benchmarks/engine.py [--rounds N] [--baseline REV] [--phases]

Cases (targets from the engine issue):
  chain300   y = y * 2, 300 times on a (3,) tensor, forward + backward    ≤ 0.5 × torch
  tutorial   (x * x * 3).mean().backward() on 2×2                          ≤ 0.5 × torch
  mlp        one SGD step of a 128×64 → 32 → 10 tanh MLP                   ≤ 1.0 × torch
  matmul512  (A @ B).tanh().sum().backward(), 512×512 float32               ≤ 1.15 × numpy by hand
  nn_sgd     one training step (forward, CrossEntropyLoss, backward, step) of
             Sequential(Linear(128,64), Tanh, Linear(64,32), Tanh, Linear(32,10)),
             batch 32, optim.SGD(momentum=0.9)                             ≤ 0.5 × torch
  nn_adam    the same step with optim.Adam                                 ≤ 0.5 × torch
  nn_floor   nn_sgd's step written by hand in numpy, against torch (no target: the
             floor under the two above)

Like with like: torch runs with one thread, and so does numpy's BLAS (set before numpy
is imported, unless OPENBLAS_NUM_THREADS says otherwise), on the same data, model and
optimizer settings; each implementation is warmed up (first-call work, optimizer state)
before it is timed.

Times are the process's CPU time (``time.process_time``: every thread of the process,
and none of the time the shared machine gives to other processes). A case runs many
short rounds; in each round every implementation runs its loop (sized once to take
about the same time as the others') back to back with the others, in an order that
alternates from round to round, so they see the same machine state. The ratio printed
is the median of the rounds' ratios, beside the lower and upper quartile of those
ratios (the spread; a shared VM's load changes from second to second, and a ratio of
adjacent loops is steadier than a ratio of best times); the times printed are the
median per-call times. Cases without torch installed print the gradstudio time only.

``--baseline REV`` (a git revision of this repository, e.g. ``HEAD`` or ``integ``)
also times that revision's engine in the same process, loaded under another package
name, in the same rounds: each case then prints both ratios against torch and the
ratio of this tree to the baseline (an A/B that a shared machine's load cannot tilt).

``--phases`` times only the training step, each phase apart (zero_grad, forward + loss,
backward, optimizer step) in µs of process CPU per step, gradstudio beside torch (and
the baseline with ``--baseline``), in the same alternating rounds; the ratio to torch is
the median of the rounds' ratios, with its quartiles.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pathlib
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before numpy starts its BLAS: one thread, as torch

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


def training_step(optimizer):
    """One step of a small classifier through nn.Module calls, a loss module and an
    optimizer — where torch's per-call overhead lives."""
    def make(lib):
        rng = np.random.default_rng(0)
        nn = lib.nn
        model = nn.Sequential(nn.Linear(128, 64), nn.Tanh(), nn.Linear(64, 32), nn.Tanh(),
                              nn.Linear(32, 10))
        with lib.no_grad():  # the same starting point for both libraries
            for p in model.parameters():
                p.copy_(lib.tensor(rng.uniform(-0.1, 0.1, tuple(p.shape)).astype(np.float32)))
        x = lib.tensor(rng.standard_normal((32, 128)).astype(np.float32))
        y = lib.tensor(rng.integers(0, 10, 32))
        loss_fn = nn.CrossEntropyLoss()
        opt = optimizer(lib, model.parameters())

        def run():
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        return run
    return make


nn_sgd = training_step(lambda lib, params: lib.optim.SGD(params, lr=0.01, momentum=0.9))
nn_adam = training_step(lambda lib, params: lib.optim.Adam(params, lr=1e-3))


def nn_sgd_numpy():
    """nn_sgd's step written by hand with numpy — no graph, no modules, no checks: the
    floor any numpy engine stands on (the fused float32 update as the optimizer does it)."""
    rng = np.random.default_rng(0)
    shapes = [(64, 128), (64,), (32, 64), (32,), (10, 32), (10,)]
    params = [rng.uniform(-0.1, 0.1, s).astype(np.float32) for s in shapes]
    x = rng.standard_normal((32, 128)).astype(np.float32)
    y = rng.integers(0, 10, 32)
    rows = np.arange(32)
    buffers = [np.zeros_like(p) for p in params]
    lr = np.float64(np.float32(-0.01))

    def run():
        w1, b1, w2, b2, w3, b3 = params
        h1 = np.tanh(b1 + x @ w1.T)
        h2 = np.tanh(b2 + h1 @ w2.T)
        out = b3 + h2 @ w3.T
        shifted = out - out.max(1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
        loss = -log_p[rows, y].sum() / np.float32(32)
        g = np.zeros_like(out)
        g[rows, y] = -1 / 32
        g_out = g - np.exp(log_p) * g.sum(1, keepdims=True)
        g_h2 = g_out @ w3
        g_z2 = g_h2 * (1 - h2 * h2)
        g_z1 = (g_z2 @ w2) * (1 - h1 * h1)
        grads = (g_z1.T @ x, g_z1.sum(0), g_z2.T @ h1, g_z2.sum(0), g_out.T @ h2, g_out.sum(0))
        for p, grad, buf in zip(params, grads, buffers):
            np.multiply(buf, np.float32(0.9), out=buf)
            np.add(buf, grad, out=buf)
            p[...] = p.astype(np.float64) + lr * buf.astype(np.float64)
        return loss
    return run


def training_phases(lib, adam: bool, steps: int):
    """A function timing ``steps`` training steps of nn_sgd (nn_adam with ``adam``),
    each phase apart: the process CPU time per step of zero_grad, forward + loss,
    backward and the optimizer step, in µs."""
    optimizer = ((lambda params: lib.optim.Adam(params, lr=1e-3)) if adam
                 else (lambda params: lib.optim.SGD(params, lr=0.01, momentum=0.9)))
    rng = np.random.default_rng(0)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(128, 64), nn.Tanh(), nn.Linear(64, 32), nn.Tanh(),
                          nn.Linear(32, 10))
    x = lib.tensor(rng.standard_normal((32, 128)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, 32))
    loss_fn = nn.CrossEntropyLoss()
    opt = optimizer(model.parameters())
    clock = time.process_time

    def run():
        totals = [0.0, 0.0, 0.0, 0.0]
        for _ in range(steps):
            a = clock()
            opt.zero_grad()
            b = clock()
            loss = loss_fn(model(x), y)
            c = clock()
            loss.backward()
            d = clock()
            opt.step()
            e = clock()
            totals[0] += b - a
            totals[1] += c - b
            totals[2] += d - c
            totals[3] += e - d
        return [t / steps * 1e6 for t in totals]
    run()  # warm: first-call work, optimizer state
    return run


PHASES = ("zero_grad", "forward + loss", "backward", "step")


def main_phases(rounds: int, baseline=None, steps: int = 200):
    """The per-phase table of nn_sgd and nn_adam: µs per step of process CPU, medians over
    ``rounds`` alternating rounds, for gradstudio, the baseline (if given) and torch."""
    libraries = [("gradstudio", gradstudio)] + ([("baseline", baseline)] if baseline else []) + (
        [("torch", torch)] if torch is not None else [])
    results = {}
    for adam in (False, True):
        runs = [training_phases(lib, adam, steps) for _, lib in libraries]
        times = [[] for _ in runs]
        order = list(range(len(runs)))
        for r in range(rounds):
            for i in (order if r % 2 == 0 else order[::-1]):
                times[i].append(runs[i]())
        case = "nn_adam" if adam else "nn_sgd"
        print(f"{case:<16}" + "".join(f"{name:>12}" for name, _ in libraries)
              + ("   ratio (quartiles) to torch" if torch is not None else ""))
        for k, phase in enumerate(PHASES):
            medians = [statistics.median(t[k] for t in lib_times) for lib_times in times]
            line = f"  {phase:<14}" + "".join(f"{m:>10.1f}us" for m in medians)
            if torch is not None and medians[-1] > 0:
                ratio, low, high = ratio_stats([t[k] for t in times[0]], [t[k] for t in times[-1]])
                line += f"   {ratio:.2f} ({low:.2f}–{high:.2f})"
            results[(case, phase)] = medians
            print(line)
    return results


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


def paired_times(functions, rounds: int, seconds_per_round: float = 0.2) -> list:
    """Per-call CPU times of each function, one list per function with one entry per
    round. Within a round the functions run back to back, each a loop of the length
    that takes it about ``seconds_per_round / len(functions)``, in an order that
    alternates between rounds (so no function always runs right after another)."""
    clock = time.process_time
    loops = []
    for f in functions:  # warm up, then size each loop
        for _ in range(3):
            f()
        start, n = clock(), 0
        while clock() - start < max(0.05, seconds_per_round / len(functions)):
            f()
            n += 1
        loops.append(max(1, n))
    times = [[] for _ in functions]
    order = list(range(len(functions)))
    for r in range(rounds):
        for i in (order if r % 2 == 0 else order[::-1]):
            f, n = functions[i], loops[i]
            start = clock()
            for _ in range(n):
                f()
            times[i].append((clock() - start) / n)
    return times


def ratio_stats(ours: list, theirs: list) -> tuple:
    """(median, lower quartile, upper quartile) of the per-round ratios."""
    ratios = [a / b for a, b in zip(ours, theirs)]
    if len(ratios) < 2:
        return ratios[0], ratios[0], ratios[0]
    low, median, high = statistics.quantiles(ratios, n=4, method="inclusive")
    return median, low, high


def compare(ours, baseline, rounds: int, seconds_per_round: float = 0.2):
    """(median time of ours, median time of the baseline, median of the per-round ratios,
    their lower and upper quartile)."""
    mine, theirs = paired_times([ours, baseline], rounds, seconds_per_round)
    ratio, low, high = ratio_stats(mine, theirs)
    return statistics.median(mine), statistics.median(theirs), ratio, low, high


def _row(name, ours, theirs, ratio, low, high, target, baseline, unit=1e6, suffix="us"):
    ok = "✓" if ratio <= target else "✗"
    return (f"{name:<10} {ours * unit:>10.1f}{suffix} {theirs * unit:>10.1f}{suffix} {ratio:>7.2f} "
            f"{low:>5.2f}–{high:<5.2f} ≤ {target} × {baseline} {ok}")


def load_baseline(revision: str):
    """The engine as it is at git ``revision``, imported as ``_gradstudio_baseline``
    (the engine imports itself only relatively, so a renamed copy is independent)."""
    root = pathlib.Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", revision, "gradstudio"],
                             check=True, capture_output=True).stdout
    folder = pathlib.Path(tempfile.mkdtemp(prefix="gradstudio-baseline-"))
    with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (folder / "gradstudio").rename(folder / "_gradstudio_baseline")
    sys.path.insert(0, str(folder))
    return importlib.import_module("_gradstudio_baseline")


def main_against(baseline, rounds: int):
    """Each case timed three ways in the same rounds: this tree, the baseline, torch."""
    cases = [("chain300", chain300), ("tutorial", tutorial), ("mlp", mlp), ("nn_sgd", nn_sgd),
             ("nn_adam", nn_adam)]
    print(f"{'case':<10} {'new':>10} {'baseline':>10} {'torch':>10} {'new/torch':>10} "
          f"{'base/torch':>10} {'new/base':>9} {'quartiles':^11}")
    results = {}
    for name, make in cases:
        functions = [make(gradstudio), make(baseline)] + ([make(torch)] if torch is not None else [])
        times = paired_times(functions, rounds)
        line = (f"{name:<10} {statistics.median(times[0]) * 1e6:>8.1f}us "
                f"{statistics.median(times[1]) * 1e6:>8.1f}us ")
        if torch is not None:
            line += (f"{statistics.median(times[2]) * 1e6:>8.1f}us {ratio_stats(times[0], times[2])[0]:>10.2f} "
                     f"{ratio_stats(times[1], times[2])[0]:>10.2f} ")
        else:
            line += f"{'':>10} {'':>10} {'':>10} "
        ratio, low, high = ratio_stats(times[0], times[1])
        results[name] = ratio
        print(line + f"{ratio:>9.2f} {low:>5.2f}–{high:<5.2f}")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--baseline", metavar="REV", help="also time the engine at this git revision")
    parser.add_argument("--phases", action="store_true",
                        help="only the training step, per phase (zero_grad, forward + loss, "
                             "backward, step), against torch (and the baseline if given)")
    args = parser.parse_args(argv)
    if args.phases:
        return main_phases(args.rounds, load_baseline(args.baseline) if args.baseline else None)
    if args.baseline:
        return main_against(load_baseline(args.baseline), args.rounds)
    cases = [("chain300", chain300, 0.5), ("tutorial", tutorial, 0.5), ("mlp", mlp, 1.0),
             ("nn_sgd", nn_sgd, 0.5), ("nn_adam", nn_adam, 0.5)]
    print(f"{'case':<10} {'gradstudio':>12} {'baseline':>12} {'ratio':>7} {'quartiles':^11} target")
    results = {}
    for name, make, target in cases:
        if torch is None:
            (ours,) = paired_times([make(gradstudio)], args.rounds)
            print(f"{name:<10} {min(ours) * 1e6:>10.1f}us {'(no torch)':>12}")
            continue
        ours, theirs, ratio, low, high = compare(make(gradstudio), make(torch), args.rounds)
        results[name] = ratio
        print(_row(name, ours, theirs, ratio, low, high, target, "torch"))
    if torch is not None:  # not a target: how close the 0.5 targets of nn_* sit to numpy's own time
        floor, theirs, ratio, low, high = compare(nn_sgd_numpy(), nn_sgd(torch), args.rounds)
        results["nn_floor"] = ratio
        print(_row("nn_floor", floor, theirs, ratio, low, high, 0.5, "torch (numpy by hand)"))
    ours, theirs, ratio, low, high = compare(matmul512_gradstudio(), matmul512_numpy(),
                                             max(5, args.rounds // 2), seconds_per_round=0.5)
    results["matmul512"] = ratio
    print(_row("matmul512", ours, theirs, ratio, low, high, 1.15, "numpy", unit=1e3, suffix="ms"))
    return results


if __name__ == "__main__":
    main()
