"""Instructions per nn_sgd training step under callgrind: a count the shared machine's
load cannot move, for this tree and (``--baseline REV``) a git revision of it.

    python benchmarks/step_instructions.py [--baseline REV] [--steps 10 60] [--optimizer adam]

Each tree runs the step (``zero_grad``, ``loss_fn(model(x), y).backward()``,
``step()`` of benchmarks/engine.py's nn_sgd: three Linear layers, SGD with momentum;
with ``--optimizer adam``, nn_adam's: the same with Adam at lr 1e-3)
``steps[0]`` and ``steps[1]`` times in a process of its own under ``valgrind
--tool=callgrind``; the difference of the two totals over the difference of the
counts is one step, without imports and warm-up. PYTHONHASHSEED=0 keeps dict layouts
the same between runs (with random seeds the count swings by about 2%).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

STEP = """
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import gradstudio as gs
assert gs.__file__.startswith(sys.argv[1]), gs.__file__
rng = np.random.default_rng(0)
nn = gs.nn
model = nn.Sequential(nn.Linear(128, 64), nn.Tanh(), nn.Linear(64, 32), nn.Tanh(), nn.Linear(32, 10))
x = gs.tensor(rng.standard_normal((32, 128)).astype(np.float32))
y = gs.tensor(rng.integers(0, 10, 32))
loss_fn = nn.CrossEntropyLoss()
opt = OPTIMIZER
for _ in range(int(sys.argv[2])):
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    opt.step()
"""
OPTIMIZERS = {"sgd": "gs.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)",
              "adam": "gs.optim.Adam(model.parameters(), lr=1e-3)"}


def instructions(root: Path, steps: int, workdir: Path, optimizer: str = "sgd") -> int:
    script = workdir / "step.py"
    script.write_text(STEP.replace("OPTIMIZER", OPTIMIZERS[optimizer]))
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
    run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={workdir}/cg.out",
                          sys.executable, str(script), str(root), str(steps)],
                         env=env, capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", run.stderr).group(1))


def per_step(root: Path, steps: tuple, workdir: Path, optimizer: str = "sgd") -> float:
    low, high = (instructions(root, n, workdir, optimizer) for n in steps)
    return (high - low) / (steps[1] - steps[0])


def checkout(revision: str, workdir: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision, "gradstudio"],
                             capture_output=True, check=True).stdout
    target = workdir / "baseline"
    target.mkdir()
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", metavar="REV", help="also count the engine at this git revision")
    parser.add_argument("--steps", type=int, nargs=2, default=(10, 60))
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        ours = per_step(ROOT, tuple(args.steps), workdir, args.optimizer)
        print(f"this tree: {ours:,.0f} instructions a step ({args.optimizer})")
        if args.baseline:
            theirs = per_step(checkout(args.baseline, workdir), tuple(args.steps), workdir, args.optimizer)
            print(f"{args.baseline}: {theirs:,.0f} instructions a step; this tree / baseline = {ours / theirs:.4f}")


if __name__ == "__main__":
    main()
