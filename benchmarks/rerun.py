"""Re-running a cell: how long until every panel shows the new run.

    python benchmarks/rerun.py [--runs N] [--example NAME] [--cell TEXT] [--profile]

It opens the main window (on its IPython kernel) offscreen with an example (default: the autograd
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
``--profile`` prints where the GUI thread spent the re-runs (cProfile; ``--sort``, ``--top``).

"Busy until" is when the poll last found a part busy; a poll waits for the GUI
thread, so a part that finished while the thread was busy elsewhere is seen
busy until the thread is free. It also counts the Plots panel's frames: a
re-run of a cell that gives the same bars draws only the new title (a
"title-only" frame over the kept one), and the same chart with the same title
is not drawn at all.
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


LABELS = ["console output", "backward call checked", "every panel idle", "GUI thread CPU",
          "window process CPU"]


def measure(app, args, kernel: str) -> list:
    """The rows (seconds, one per re-run, in LABELS' order) of one kernel."""
    from gradstudio.ui.snapshot import all_done, scratch_window, wait_until

    with scratch_window(app) as window:
        window.resize(1600, 1000)
        window.show()
        if not window.open_path(str(ROOT / "resources" / "examples" / args.example), interactive=False):
            raise SystemExit(window.documents.last_error)
        start = time.perf_counter()
        window.runner.run_all()
        if not wait_until(app, lambda: all_done(window), 180):
            raise SystemExit("the first run did not finish")
        print(f"[{kernel}] first run of every cell: {time.perf_counter() - start:.2f} s "
              f"({type(window.runner.client).__name__})")
        cell = next((c for c in window.model.script.cells() if args.cell in c.source), None)
        if cell is None:
            raise SystemExit(f"no cell contains {args.cell!r}")

        events = {}
        client = window.runner.client
        client.cellFinished.connect(lambda *_: events.setdefault("output", time.perf_counter()))
        client.callChecked.connect(lambda *_: events.setdefault("checked", time.perf_counter()))
        plots = window.panels.get("plots")

        def frames():
            views = getattr(plots, "views", {}).values()
            return sum(v.draws for v in views), sum(getattr(v, "overlay_draws", 0) for v in views)

        frames_before = frames()
        profile = None
        if args.profile:
            import cProfile
            profile = cProfile.Profile()
        rows, busy_until = [], {}
        for _ in range(args.runs):
            events.clear()
            last_busy: dict = {}

            def finished():
                # who is still busy, and since when: the last one is where the time goes
                now = time.perf_counter()
                busy = {"kernel": not window.runner.is_idle()}
                busy.update({name: bool(getattr(p, "is_busy", lambda: False)())
                             for name, p in window.panels.items()})
                for name, is_busy in busy.items():
                    if is_busy:
                        last_busy[name] = now
                return "checked" in events and not any(busy.values()) and all_done(window)

            if profile is not None:
                profile.enable()
            start, gui, process = time.perf_counter(), time.thread_time(), time.process_time()
            window.runner.run_cell(cell.index)
            if not wait_until(app, finished, 60, poll=0.001):
                raise SystemExit("a re-run did not finish")
            rows.append((events["output"] - start, events["checked"] - start, time.perf_counter() - start,
                         time.thread_time() - gui, time.process_time() - process))
            for name, when in last_busy.items():
                busy_until.setdefault(name, []).append(when - start)
            if profile is not None:
                profile.disable()
            wait_until(app, lambda: False, 0.2)  # let idle repaints land between runs
        frames_after = frames()
    print(f"[{kernel}] busy until (ms after the cell was sent; median, in {args.runs} re-runs): " + ", ".join(
        f"{name} {statistics.median(t) * 1e3:.0f} ({len(t)})" for name, t in
        sorted(busy_until.items(), key=lambda item: statistics.median(item[1]))))
    drawn, titled = (after - before for after, before in zip(frames_after, frames_before))
    print(f"[{kernel}] Plots panel: {drawn} frames in {args.runs} re-runs, {titled} of them title-only")
    if profile is not None:
        import pstats
        print(f"[{kernel}] where the GUI thread spent the re-runs:")
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--example", default="autograd_tutorial.py")
    parser.add_argument("--cell", default="z = y.mean()", help="text that identifies the cell to re-run")
    parser.add_argument("--profile", action="store_true", help="print the GUI thread's profile of the re-runs")
    parser.add_argument("--sort", default="tottime", help="the profile's order (a pstats key: tottime, cumulative…)")
    parser.add_argument("--top", type=int, default=25, help="how many of the profile's lines to print")
    args = parser.parse_args(argv)

    from gradstudio.ui.app import application

    app = application()
    kernels = ["jupyter"]
    results = {kernel: measure(app, args, kernel) for kernel in kernels}
    print(f"re-running the cell containing {args.cell!r}, {args.runs} times (ms; median, max):")
    print(f"  {'':<22} " + "".join(f"{k + ' median':>15}{'max':>8}" for k in kernels))
    for i, label in enumerate(LABELS):
        cells = []
        for kernel in kernels:
            values = [row[i] * 1e3 for row in results[kernel]]
            cells.append(f"{statistics.median(values):15.1f}{max(values):8.1f}")
        print(f"  {label:<22} " + "".join(cells))
    for kernel in kernels:
        median = statistics.median(row[2] for row in results[kernel])
        print(f"target [{kernel}]: every panel within 100 ms {'✓' if median <= 0.1 else '✗'} ({median * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
