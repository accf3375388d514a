"""Re-running a cell: how long until every panel shows the new run.

    python benchmarks/rerun.py [--runs N] [--example NAME] [--cell TEXT]

Opens the main window offscreen with an example (default: the autograd
tutorial), runs all its cells once (the first run also warms up sympy and, if
installed, torch in the worker), then re-runs one cell (default: the tutorial's
mean cell) N times. For each re-run it reports, from the moment the cell is
sent: the cell's output in the console, its backward call checked (symbolic
derivation, finite differences, the comparison), and every panel idle again
(graph laid out, formulas rendered, plots drawn). Target (issue 9 §4): every
panel updated within 100 ms (median), derivation included.

Wall-clock times stretch on a loaded machine, so it also reports the CPU the
window's process spent per re-run (GUI thread, and all its threads — the
plots render in a worker thread), which other processes do not inflate. The
polling that watches for idleness runs on the GUI thread too; it asks each
panel ``is_busy()`` about once a millisecond, so a costly ``is_busy`` shows here.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--example", default="autograd_tutorial.py")
    parser.add_argument("--cell", default="z = y.mean()", help="text that identifies the cell to re-run")
    args = parser.parse_args(argv)

    from gradstudio.ui.app import application
    from gradstudio.ui.snapshot import all_done, scratch_window, wait_until

    app = application()
    with scratch_window(app) as window:
        window.resize(1600, 1000)
        window.show()
        if not window.open_path(str(ROOT / "resources" / "examples" / args.example), interactive=False):
            raise SystemExit(window.documents.last_error)
        start = time.perf_counter()
        window.runner.run_all()
        if not wait_until(app, lambda: all_done(window), 180):
            raise SystemExit("the first run did not finish")
        print(f"first run of every cell: {time.perf_counter() - start:.2f} s")
        cell = next((c for c in window.model.script.cells() if args.cell in c.source), None)
        if cell is None:
            raise SystemExit(f"no cell contains {args.cell!r}")

        events = {}
        client = window.runner.client
        client.cellFinished.connect(lambda *_: events.setdefault("output", time.perf_counter()))
        client.callChecked.connect(lambda *_: events.setdefault("checked", time.perf_counter()))
        rows = []
        for _ in range(args.runs):
            events.clear()
            start, gui, process = time.perf_counter(), time.thread_time(), time.process_time()
            window.runner.run_cell(cell.index)
            if not wait_until(app, lambda: "checked" in events and all_done(window), 60, poll=0.001):
                raise SystemExit("a re-run did not finish")
            rows.append((events["output"] - start, events["checked"] - start, time.perf_counter() - start,
                         time.thread_time() - gui, time.process_time() - process))
            wait_until(app, lambda: False, 0.2)  # let idle repaints land between runs
    print(f"re-running the cell containing {args.cell!r}, {args.runs} times (ms; median, max):")
    for i, label in enumerate(["console output", "backward call checked", "every panel idle",
                               "GUI thread CPU", "window process CPU"]):
        values = [row[i] * 1e3 for row in rows]
        print(f"  {label:<22} {statistics.median(values):7.1f} {max(values):7.1f}")
    verdict = "✓" if statistics.median(row[2] for row in rows) <= 0.1 else "✗"
    print(f"target: every panel within 100 ms {verdict}")


if __name__ == "__main__":
    main()
