"""Re-running a cell: how long until every panel shows the new run.

    python benchmarks/rerun.py [--runs N] [--example NAME] [--cell TEXT] [--layout default|all]
                               [--profile] [--breakdown]

It opens the main window (on its IPython kernel) offscreen with an example (default: the autograd
tutorial), runs all its cells once (the first run also warms up sympy and, if
installed, torch in the worker), then re-runs one cell (default: the tutorial's
mean cell) N times. For each re-run it reports, from the moment the cell is
sent: the cell's output in the console, its backward call checked (symbolic
derivation, finite differences, the comparison), and every panel idle again
(graph laid out, formulas rendered, plots drawn). Target (issue 9 §4): every
panel updated within 100 ms (median), derivation included.

``--layout``: ``default`` is the window's own layout, where the Plots panel is a
tab behind Compare (it draws when its tab is raised, so a re-run waits only for
the panels on screen); ``all`` moves the Plots dock below the Inspector, so every
panel is on screen and the re-run waits for the Plots to show the new call too.
It prints which panels are on screen.

Wall-clock times stretch on a loaded machine, so it also reports the CPU the
window's process spent per re-run (GUI thread, and all its threads — the
plots render in a worker thread), which other processes do not inflate. The
polling that watches for idleness runs on the GUI thread too; it asks each
panel ``is_busy()`` about once a millisecond, so a costly ``is_busy`` shows here.
``--profile`` prints where the GUI thread spent the re-runs (cProfile; ``--sort``, ``--top``).
``--breakdown`` (IPython kernel) prints the re-run stage by stage: in the kernel, the
extension's steps (records, checks, derivation, encoding, the comm send; a probe run
silently in the kernel first); for each message, when the kernel made it, when the GUI
thread took it and what its dispatch and slots cost; reading, decoding, read turns; the
slots' share (cProfile, inflated). A check that cost no derivation (a re-run cell's
graph, derived before) comes in the cell's own CellFinished: "checked" is then when
the cell's records arrived.

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


# --breakdown, in the kernel: times (time.time(), comparable with the window's) of each stage
# of a cell's run, kept in ``_gs_events`` until DUMP writes them to a file
KERNEL_PROBE = r'''
import json as _json, time as _time
def _gs_probe():
    from gradstudio.studio.kernel import extension, records, codec, service as service_module
    from gradstudio.studio import compare
    ext = next(iter(extension._EXTENSIONS.values()))
    events = []
    def timed(label, fn):
        def wrapper(*a, **k):
            start = _time.time()
            try:
                return fn(*a, **k)
            finally:
                events.append((label, start, _time.time()))
        return wrapper
    shell = ext.shell
    shell.events.register("pre_run_cell", lambda info=None: events.append(("pre_run_cell", _time.time(), _time.time())))
    shell.events.register("post_run_cell", lambda result=None: events.append(("post_run_cell end", _time.time(), _time.time())))
    bridge, service = ext.bridge, ext.service
    bridge.cell_finished = timed("extension post-run (records + checks)", bridge.cell_finished)
    service.cell_finished = timed("CellFinished: records built and sent", service.cell_finished)
    service.check_calls = timed("checks (derive + compare + send)", service.check_calls)
    service.quick_checks = timed("  checks sent with the cell (derived before)", service.quick_checks)
    worker = service.worker
    worker.derive = timed("  sympy derivation (symbolic worker)", worker.derive)
    service_module._torch_gradients = timed("  torch replay (oracle)", service_module._torch_gradients)
    compare.check_call = timed("  three-way comparison (incl. torch)", compare.check_call)
    records.check_data = timed("  check record built", records.check_data)
    records.call_data = timed("  call record built", records.call_data)
    records.tensors_data = timed("  tensors record built", records.tensors_data)
    codec.encode = timed("  codec.encode (records → JSON + buffers)", codec.encode)
    bridge.comm.send = timed("  comm send (ipykernel: sign + zmq)", bridge.comm.send)
    return events
_gs_events = _gs_probe()
'''
KERNEL_DUMP = "import json as _j; open({path!r}, 'w').write(_j.dumps(_gs_events))"

LABELS = ["console output", "backward call checked", "every panel idle", "GUI thread CPU",
          "window process CPU"]


class Breakdown:
    """--breakdown: where a re-run's time goes, stage by stage (IPython kernel only).

    In the window: every message the client dispatches (when the kernel made it — its
    header's date —, when the GUI thread took it, what dispatching it and its slots
    cost in GUI-thread CPU), the reading (zmq + jupyter_client's verify and
    deserialise), the codec's decoding, and how many read turns it took. In the
    kernel (KERNEL_PROBE, run silently before the re-runs): the extension's stages.
    Both clocks are time.time(), one machine."""

    SLOTS = ("ui/panels/", "ui/model.py", "ui/runner.py", "ui/widgets/console.py", "ui/plots/")

    def __init__(self, window, path: str):
        import cProfile
        from gradstudio.studio.kernel import codec
        self.window, self.path = window, path
        self.client = client = window.runner.client
        self.runs: list = []               # per run: {"t0", "messages": [...], "read", "decode", "turns"}
        self.current = None
        self.profile = cProfile.Profile()
        dispatch, read_turn, kernel = client._dispatch, client._read_turn, client._kernel
        read, decode = kernel.read, codec.decode

        def timed_dispatch(channel, message):
            run = self.current
            if run is None or not isinstance(message, dict):
                return dispatch(channel, message)
            wall, cpu = time.time(), time.thread_time()
            run["record"] = None
            try:
                return dispatch(channel, message)
            finally:
                kind = message.get("msg_type")
                if kind == "status":
                    kind += " " + str((message.get("content") or {}).get("execution_state"))
                label = f"{channel} {kind}" + (f" {run['record']}" if run["record"] else "")
                date = (message.get("header") or {}).get("date")
                sent = date.timestamp() if hasattr(date, "timestamp") else None
                run["messages"].append((label, sent, wall, time.thread_time() - cpu))

        def timed_read(*a, **k):
            cpu = time.thread_time()
            try:
                return read(*a, **k)
            finally:
                if self.current is not None:
                    self.current["read"] += time.thread_time() - cpu

        def timed_decode(*a, **k):
            cpu = time.thread_time()
            record = decode(*a, **k)
            if self.current is not None:
                self.current["decode"] += time.thread_time() - cpu
                self.current["record"] = type(record).__name__
            return record

        def counted_turn():
            if self.current is not None:
                self.current["turns"] += 1
            return read_turn()

        client._dispatch, client._read_turn, kernel.read, codec.decode = (
            timed_dispatch, counted_turn, timed_read, timed_decode)
        kernel.execute(KERNEL_PROBE, silent=True, store_history=False)

    def begin(self):
        self.current = {"t0": time.time(), "messages": [], "read": 0.0, "decode": 0.0, "turns": 0}
        self.profile.enable()

    def end(self, idle_at: float):
        self.profile.disable()
        self.current["idle"] = idle_at
        self.runs.append(self.current)
        self.current = None

    def kernel_events(self) -> list:
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.client._kernel.execute(KERNEL_DUMP.format(path=self.path), silent=True, store_history=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not os.path.exists(self.path):
            time.sleep(0.01)
        time.sleep(0.05)
        import json
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return []

    def report(self, kernel_name: str):
        import pstats
        med = statistics.median
        events = self.kernel_events()
        print(f"[{kernel_name}] breakdown (ms after the cell was sent; medians of {len(self.runs)} re-runs)")
        print("  in the kernel (start → end, duration):")
        stages: dict = {}
        for run in self.runs:
            seen: dict = {}
            for label, start, end in events:
                if run["t0"] <= start <= run["idle"]:
                    first = seen.setdefault(label, [start, end, 0.0])
                    first[1] = end
                    first[2] += end - start
            for label, (start, end, total) in seen.items():
                stages.setdefault(label, []).append(((start - run["t0"]) * 1e3, (end - run["t0"]) * 1e3, total * 1e3))
        for label, rows in sorted(stages.items(), key=lambda item: med(r[0] for r in item[1])):
            print(f"    {label:<44} {med(r[0] for r in rows):7.1f} → {med(r[1] for r in rows):7.1f}"
                  f"  {med(r[2] for r in rows):6.1f} ms")
        print("  messages (made in the kernel, taken by the GUI thread, GUI CPU of its dispatch and slots):")
        by_label: dict = {}
        for run in self.runs:
            counts: dict = {}
            for label, sent, taken, cost in run["messages"]:
                counts[label] = counts.get(label, 0) + 1
                key = label if counts[label] == 1 else f"{label} #{counts[label]}"
                by_label.setdefault(key, []).append(
                    (None if sent is None else (sent - run["t0"]) * 1e3, (taken - run["t0"]) * 1e3, cost * 1e3))
        for label, rows in sorted(by_label.items(), key=lambda item: med(r[1] for r in item[1])):
            sent = [r[0] for r in rows if r[0] is not None]
            made = f"{med(sent):7.1f}" if sent else "      ?"
            print(f"    {label:<44} {made} → {med(r[1] for r in rows):7.1f}  {med(r[2] for r in rows):6.1f} ms"
                  f"  ({len(rows)})")
        print("  the window:")
        for label, values in (
                ("reading (zmq recv, verify, deserialise)", [r["read"] * 1e3 for r in self.runs]),
                ("codec.decode (JSON → schema records)", [r["decode"] * 1e3 for r in self.runs]),
                ("dispatch incl. slots, all messages", [sum(m[3] for m in r["messages"]) * 1e3 for r in self.runs]),
                ("read turns", [r["turns"] for r in self.runs]),
                ("last message → every panel idle",
                 [(r["idle"] - max((m[2] for m in r["messages"]), default=r["t0"])) * 1e3 for r in self.runs])):
            print(f"    {label:<44} {med(values):7.1f}")
        print("  GUI slots (cProfile cumulative, ms per re-run; the profiler inflates them):")
        stats = pstats.Stats(self.profile).stats
        rows = []
        for (filename, line, name), (_, _, _, cumulative, _) in stats.items():
            where = filename.replace(str(ROOT) + "/", "")
            if where.startswith(self.SLOTS) and (name.startswith("_on_") or name in (
                    "finish_cell", "set_check", "select", "show_call", "_refresh", "_relayout", "flush_batch")):
                rows.append((cumulative * 1e3 / max(1, len(self.runs)), f"{where}:{line} {name}"))
        for cost, where in sorted(rows, reverse=True)[:16]:
            print(f"    {cost:7.1f}  {where}")


def show_every_panel(app, window):
    """--layout all: the Plots dock out of its tab behind Compare, below the Inspector, so
    that every panel the re-run changes is on screen (and must draw the new call)."""
    from PySide6.QtCore import Qt
    from gradstudio.ui.snapshot import wait_until
    plots = window.docks["plots"]
    window.removeDockWidget(plots)
    window.splitDockWidget(window.docks["inspector"], plots, Qt.Orientation.Vertical)
    plots.show()
    wait_until(app, lambda: False, 0.3)


def measure(app, args, kernel: str) -> list:
    """The rows (seconds, one per re-run, in LABELS' order) of one kernel."""
    from gradstudio.ui.snapshot import all_done, scratch_window, wait_until

    with scratch_window(app) as window:
        window.resize(1600, 1000)
        window.show()
        if args.layout == "all":
            show_every_panel(app, window)
        if not window.open_path(str(ROOT / "resources" / "examples" / args.example), interactive=False):
            raise SystemExit(window.documents.last_error)
        start = time.perf_counter()
        window.runner.run_all()
        if not wait_until(app, lambda: all_done(window), 180):
            raise SystemExit("the first run did not finish")
        print(f"[{kernel}] first run of every cell: {time.perf_counter() - start:.2f} s "
              f"({type(window.runner.client).__name__})")
        print(f"[{kernel}] layout {args.layout!r}: on screen " + ", ".join(
            f"{name} {'yes' if not panel.visibleRegion().isEmpty() else 'no'}"
            for name, panel in window.panels.items()))
        cell = next((c for c in window.model.script.cells() if args.cell in c.source), None)
        if cell is None:
            raise SystemExit(f"no cell contains {args.cell!r}")

        events = {}
        client = window.runner.client
        client.cellFinished.connect(lambda *_: events.setdefault("output", time.perf_counter()))
        client.callChecked.connect(lambda *_: events.setdefault("checked", time.perf_counter()))
        client.cellFinished.connect(lambda message: getattr(message, "checks", None)   # checks with the cell
                                    and events.setdefault("checked", time.perf_counter()))
        plots = window.panels.get("plots")

        def frames():
            views = getattr(plots, "views", {}).values()
            return sum(v.draws for v in views), sum(getattr(v, "overlay_draws", 0) for v in views)

        frames_before = frames()
        breakdown = None
        if args.breakdown and kernel == "jupyter":
            breakdown = Breakdown(window, f"/tmp/gradstudio-rerun-{os.getpid()}.json")
            wait_until(app, lambda: False, 0.5)
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
            if breakdown is not None:
                breakdown.begin()
            start, gui, process = time.perf_counter(), time.thread_time(), time.process_time()
            window.runner.run_cell(cell.index)
            if not wait_until(app, finished, 60, poll=0.001):
                raise SystemExit("a re-run did not finish")
            if breakdown is not None:
                breakdown.end(time.time())
            rows.append((events["output"] - start, events["checked"] - start, time.perf_counter() - start,
                         time.thread_time() - gui, time.process_time() - process))
            for name, when in last_busy.items():
                busy_until.setdefault(name, []).append(when - start)
            if profile is not None:
                profile.disable()
            wait_until(app, lambda: False, 0.2)  # let idle repaints land between runs
        frames_after = frames()
        if breakdown is not None:
            breakdown.report(kernel)
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
    parser.add_argument("--layout", choices=("default", "all"), default="default",
                        help="default: the window's own layout (Plots tabbed behind Compare); all: Plots "
                             "split out below the Inspector, every panel on screen")
    parser.add_argument("--profile", action="store_true", help="print the GUI thread's profile of the re-runs")
    parser.add_argument("--breakdown", action="store_true",
                        help="where a re-run's time goes, stage by stage, in the kernel and the window (IPython kernel)")
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
