"""Finite differences of the editor benchmark's 100-node design, this tree against a
git revision's ``gradstudio/studio/compare.py`` in the same process, in alternating
rounds (a shared machine's load tilts both alike): CPU time of one leaf's
``compare.finite_differences`` as a closed-form spot check samples it
(``compare.fd_elements``), median and quartiles, and whether both give the same numbers.

    python benchmarks/finite_differences.py [--baseline main] [--rounds 60] [--dense]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def baseline_compare(revision: str):
    """The revision's compare module (its other imports are this tree's)."""
    source = subprocess.run(["git", "show", f"{revision}:gradstudio/studio/compare.py"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType("baseline_compare")
    sys.modules[module.__name__] = module         # (its dataclasses look their module up)
    exec(compile(source, f"{revision}:gradstudio/studio/compare.py", "exec"), module.__dict__)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--dense", action="store_true", help="sample as without a closed form (256 elements)")
    args = parser.parse_args(argv)
    import numpy as np
    from editor_edit import edit_design
    from gradstudio.studio import compare
    from gradstudio.studio.codegen import design_to_script
    from gradstudio.studio.session import Session

    design, _constant = edit_design()
    (call,) = Session().run_cell(design_to_script(design, exact_values=True)).backward_calls
    (leaf,) = call.leaves
    count = compare.MAX_DENSE_ELEMENTS if args.dense else compare.fd_elements(call.graph)
    versions = {"this tree": compare, args.baseline: baseline_compare(args.baseline)}
    times = {name: [] for name in versions}
    for round_ in range(args.rounds):
        for name in (list(versions) if round_ % 2 else list(versions)[::-1]):
            start = time.thread_time()
            versions[name].finite_differences(call.graph, leaf.vertex, call.gradient, max_elements=count)
            times[name].append((time.thread_time() - start) * 1000)
    print(f"{len(call.graph.nodes)} vertices, a leaf of {np.size(leaf.grad)} elements, {count} sampled; "
          f"{args.rounds} alternating rounds, load average {os.getloadavg()[0]:.2f}")
    for name, values in times.items():
        q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
        print(f"  {name:12s} {median:6.2f} ms CPU (quartiles {q1:.2f}–{q3:.2f})")
    ours, theirs = (versions[name].finite_differences(call.graph, leaf.vertex, call.gradient, max_elements=count)
                    for name in versions)
    same = (np.array_equal(ours[0], theirs[0], equal_nan=True) and np.array_equal(ours[1], theirs[1])
            and (ours[2] is None) == (theirs[2] is None) and (ours[2] is None or ours[2][0] == theirs[2][0]))
    print(f"  the same numbers: {same}")


if __name__ == "__main__":
    main()
