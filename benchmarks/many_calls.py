"""A training loop in the window: how long until 200 recorded backward calls are shown.

    python benchmarks/many_calls.py [--steps N] [--runs R] [--profile] [--sort KEY] [--top K] [--stages]
    python benchmarks/many_calls.py --wire [--steps N]

Opens the main window offscreen with ``resources/examples/training_loop.py``
(its ``steps = 200`` replaced by ``--steps``), presses Run all and waits until
every part is idle — ``--runs`` times in the same window (default 2: the first
with a cold kernel, which imports torch and makes the symbolic worker's first
derivation; then warm) — console output in, the kernel idle with every check back,
the Calls list holding every call, Plots' loss curve drawn with one point per
step, every panel idle. In the same run it times the same script in a plain
``python`` process (``import gradstudio as torch``) as the baseline, and prints
the ratio. Target (issue 12): window ≤ 2 × plain + ~1 s.

Also reported:

* GUI thread CPU (``time.thread_time``) over the run, and the longest stretch of
  GUI-thread CPU between two events the application dispatched (an event
  filter on the application notes ``thread_time()`` at each event: the CPU spent
  between two of them is the work done for the first one — a slot, a paint, a
  read turn). Target: no stretch over ~50 ms.
* CPU seconds, which other processes on a loaded machine do not stretch: the
  window's process (all its threads) plus the kernel's, against the plain python
  process's, with the same target;
* when each part (the kernel and its checks, the console, the Calls list, the loss
  curve, each panel) was last seen busy: which one the run waited for last;
* the kernel process's CPU (and its symbolic worker's) over the run (psutil),
  the comm messages the window received and their bytes per type, and how
  many checks carried a derivation (formulas) — the lazy work the window asks for.

``--profile`` prints where the GUI thread spent the run (cProfile); ``--stages`` the
GUI-thread CPU of each stage of a cell's calls reaching the panels (:data:`STAGES`:
reading comm messages, the runner's slot that hands a cell to the model — which
includes the panels' slots below it —, the Calls list, Compare's headers, Plots'
pickers and loss curve, the idle checks), each inclusive of what it calls.
``--wire`` times only the kernel's side of the loop cell, in this process (records,
encoding, the window's decoding; messages, bytes, buffers).
"""
from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
EXAMPLE = ROOT / "resources" / "examples" / "training_loop.py"

PLAIN = """
import contextlib, io, runpy, sys, time
import gradstudio
sys.modules["torch"] = gradstudio
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    runpy.run_path(sys.argv[1], run_name="__main__")
print(time.perf_counter() - start)
"""


def script_text(steps: int) -> str:
    text, n = re.subn(r"^steps = \d+$", f"steps = {steps}", EXAMPLE.read_text(), flags=re.M)
    assert n == 1, "the example's `steps = 200` line moved"
    return text


def plain_seconds(path: str) -> tuple:
    """(seconds the script took inside, seconds of the whole process, its CPU seconds)
    under plain python."""
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PLAIN, path], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return float(out.stdout.split()[-1]), seconds, cpu


def cpu_of(pids: list) -> float:
    import psutil
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


class SlotMeter:
    """The longest GUI-thread CPU stretch between two dispatched events (see the docstring)."""

    def __init__(self, app):
        from PySide6.QtCore import QObject

        meter = self

        class Filter(QObject):
            def eventFilter(self, obj, event):
                meter.tick(obj, event)
                return False

        self.filter = Filter()
        self.last = time.thread_time()
        self.longest = 0.0
        self.stretches = []
        self.previous = ""          # the event whose work the next stretch measures
        app.installEventFilter(self.filter)
        self.app = app

    def tick(self, obj, event):
        now = time.thread_time()
        stretch = now - self.last
        self.last = now
        if stretch > 0.005:
            self.stretches.append((stretch, self.previous))
        self.longest = max(self.longest, stretch)
        self.previous = f"{type(obj).__name__}:{event.type().name}"

    def reset(self):
        self.last, self.longest, self.stretches, self.previous = time.thread_time(), 0.0, [], ""

    def close(self):
        self.app.removeEventFilter(self.filter)


# (label, module, class, method): GUI-thread work per stage, measured with --stages
STAGES = [
    ("read a comm message (decode, views)", "gradstudio.ui.jupyter_client", "JupyterClient", "_on_comm"),
    ("cell finished → model and panels", "gradstudio.ui.runner", "Runner", "_on_cell_finished"),
    ("  Calls list (Graph panel), per call", "gradstudio.ui.panels.graph", "GraphPanel", "_on_call_added"),
    ("  Compare's sections", "gradstudio.ui.panels.compare", "ComparePanel", "_on_calls_added"),
    ("  Plots' call pickers", "gradstudio.ui.panels.plots", "PlotsPanel", "_on_calls_changed"),
    ("Plots' loss curve (gathered on the GUI thread)", "gradstudio.ui.panels.plots", "PlotsPanel", "_render_loss"),
    ("Graph panel shows a call", "gradstudio.ui.panels.graph", "GraphPanel", "show_call"),
    ("a call's check arrives (Compare's rows)", "gradstudio.ui.panels.compare", "ComparePanel", "_refresh_call"),
    ("pending checks (every idle test)", "gradstudio.ui.model", "CallsModel", "pending_checks"),
]


class Stages:
    """GUI-thread CPU (``time.thread_time``) and calls per stage of :data:`STAGES`; the
    methods are wrapped on their classes before the window is made, so signal
    connections reach the wrappers."""

    def __init__(self):
        import importlib
        self.totals = collections.defaultdict(float)
        self.counts = collections.Counter()
        for label, module, cls, name in STAGES:
            owner = getattr(importlib.import_module(module), cls)
            setattr(owner, name, self._wrap(label, getattr(owner, name)))

    def _wrap(self, label, method):
        import functools
        stages = self

        @functools.wraps(method)
        def timed(*args, **kwargs):
            start = time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                stages.totals[label] += time.thread_time() - start
                stages.counts[label] += 1
        return timed

    def report(self):
        for label, *_ in STAGES:
            if self.counts[label]:
                print(f"    {label:<50} {self.totals[label] * 1e3:7.1f} ms  ({self.counts[label]} calls)")

    def reset(self):
        self.totals.clear()
        self.counts.clear()


def measure(app, args, path: str) -> list:
    """One window; Run all ``args.runs`` times (the first with a cold kernel: torch and
    the symbolic worker's first derivation; the later ones warm). A result per run."""
    from gradstudio.ui.snapshot import scratch_window, wait_until

    results = []
    with scratch_window(app) as window:
        window.resize(1600, 1000)
        window.show()
        if not window.open_path(path, interactive=False):
            raise SystemExit(window.documents.last_error)
        client = window.runner.client
        if not wait_until(app, lambda: client.state == "idle", 120):
            raise SystemExit("the kernel did not start")
        wait_until(app, lambda: False, 1.0)     # let the worker's sympy import settle
        received = collections.Counter()
        arrived: dict = {}                  # message type -> seconds after Run all of its last one
        start = time.perf_counter()

        def on_message(message):
            name = type(message).__name__
            received.update([name])
            arrived[name] = time.perf_counter() - start

        client.message.connect(on_message)
        client.cellFinished.connect(lambda m: arrived.__setitem__(f"cell {m.run.cell} finished",
                                                                  time.perf_counter() - start))
        plots = window.panels.get("plots")
        graph = window.panels.get("graph")
        calls_list = getattr(graph, "calls", None)         # the Graph panel's list of calls
        if plots is not None:                              # the user watches the loss curve
            from gradstudio.ui.panels.plots import TABS
            window.docks["plots"].raise_()                 # (a Plots panel behind a tab draws nothing)
            plots.tabs.setCurrentIndex(TABS.index("loss"))

        def plotted() -> int:
            view = getattr(plots, "views", {}).get("loss") if plots is not None else None
            lines = view.figure.axes[0].get_lines() if view is not None and view.figure.axes else []
            return len(lines[0].get_xdata()) if lines else 0

        meter = SlotMeter(app)
        for run in range(args.runs):
            inside, process, plain_cpu = plain_seconds(path)
            expected = args.steps * (run + 1)         # calls accumulate over the runs

            busy_until: dict = {}           # part -> seconds after Run all it was last seen busy

            def done() -> bool:
                now = time.perf_counter() - start
                parts = {"kernel and checks": not window.runner.is_idle(),
                         "calls listed": len(window.model.calls.records) < expected,
                         "console": window.model.console.running_cell is not None,
                         "loss curve": plotted() < expected,
                         **{f"{name} panel": getattr(panel, "is_busy", lambda: False)()
                            for name, panel in window.panels.items()}}
                busy_until.update((part, now) for part, busy in parts.items() if busy)
                return not any(parts.values())

            profile = None
            if args.profile:
                import cProfile
                profile = cProfile.Profile()
                profile.enable()
            received.clear()
            arrived.clear()
            if args.stages is not None:
                args.stages.reset()
            kernel_cpu = cpu_of(client.pids())
            meter.reset()
            start, gui, window_cpu = time.perf_counter(), time.thread_time(), time.process_time()
            window.runner.run_all()
            if not wait_until(app, done, 900, poll=0.002):
                raise SystemExit(f"the run did not finish: {len(window.model.calls.records)} calls")
            seconds, gui = time.perf_counter() - start, time.thread_time() - gui
            window_cpu = time.process_time() - window_cpu
            kernel_cpu = cpu_of(client.pids()) - kernel_cpu
            if profile is not None:
                profile.disable()
            checks = [r.check for r in window.model.calls.call_list() if r.check is not None]
            derived = sum(1 for c in checks if any(leaf.formula_kind not in (None, "none") for leaf in c.leaves))
            results.append(dict(inside=inside, process=process, plain_cpu=plain_cpu, window_cpu=window_cpu,
                                seconds=seconds, gui=gui, longest=meter.longest,
                                kernel=kernel_cpu, calls=len(window.model.calls.records), checks=len(checks),
                                derived=derived, received=dict(received), points=plotted(), arrived=dict(arrived),
                                listed=calls_list.count() if calls_list is not None else None,
                                busy_until=dict(busy_until),
                                slow=sorted(meter.stretches, reverse=True)[:5]))
            report(args, run, results[-1])
            if args.stages is not None:
                print("  GUI-thread CPU per stage (inclusive):")
                args.stages.report()
            if profile is not None:
                import pstats
                pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
        meter.close()
    return results


def report(args, run: int, r: dict):
    target = 2 * r["process"] + 1.0
    print(f"run {run + 1} ({'cold kernel' if run == 0 else 'warm kernel'}): {args.steps} steps")
    print(f"  plain python: {r['inside']:.2f} s in the script, {r['process']:.2f} s for the process")
    print(f"  window: {r['seconds']:.2f} s from Run all to every part idle "
          f"({r['seconds'] / r['process']:.1f}× plain; target ≤ 2× + 1 s = {target:.1f} s: "
          f"{'met' if r['seconds'] <= target else 'NOT met'})")
    print(f"  GUI thread CPU {r['gui']:.2f} s, longest stretch between two events "
          f"{r['longest'] * 1e3:.0f} ms (slowest, after the event named: "
          f"{', '.join(f'{s * 1e3:.0f} ms {what}' for s, what in r['slow'])})")
    print(f"  kernel CPU (kernel + symbolic worker) {r['kernel']:.2f} s")
    total = r["window_cpu"] + r["kernel"]
    print(f"  CPU (what a loaded machine does not stretch): window process {r['window_cpu']:.2f} s + kernel "
          f"{r['kernel']:.2f} s = {total:.2f} s; plain python's process {r['plain_cpu']:.2f} s "
          f"({total / r['plain_cpu']:.1f}×; target ≤ 2× + 1 s = {2 * r['plain_cpu'] + 1:.1f} s: "
          f"{'met' if total <= 2 * r['plain_cpu'] + 1 else 'NOT met'})")
    print(f"  calls {r['calls']} (listed {r['listed']}), checked {r['checks']}, with formulas {r['derived']}, "
          f"loss curve points {r['points']}")
    print(f"  comm messages: {r['received']}")
    print("  last seen busy (s after Run all): " + ", ".join(
        f"{part} {when:.2f}" for part, when in sorted(r["busy_until"].items(), key=lambda item: item[1])))
    print("  last arrivals (s after Run all): " + ", ".join(
        f"{name} {when:.2f}" for name, when in sorted(r["arrived"].items(), key=lambda item: item[1])), flush=True)


def wire(args, path: str):
    """``--wire``: the kernel's side of the loop cell, in this process — building its
    records (``KernelService.cell_finished``), encoding them and decoding them as the
    window does (CPU ms, medians of ``args.runs``), the messages, bytes and buffers."""
    import statistics

    from gradstudio.studio.kernel import codec
    from gradstudio.studio.kernel.service import KernelService
    from gradstudio.studio.session import Session

    session = Session()
    session.step_trace = True               # as for the window
    runs = session.run_script(Path(path).read_text())
    (run,) = [r for r in runs if len(r.backward_calls) == args.steps]
    service, sent = KernelService(session, send=lambda message: sent.append(message)), []
    times = collections.defaultdict(list)
    for _ in range(max(3, args.runs)):
        sent = []
        start = time.process_time()
        service.cell_finished(run, 1)
        built = time.process_time()
        encoded = [codec.encode(message) for message in sent]
        coded = time.process_time()
        for text, buffers in encoded:
            codec.decode(text, buffers)
        decoded = time.process_time()
        times["records"].append(built - start)
        times["encode"].append(coded - built)
        times["decode (the window's)"].append(decoded - coded)
    size = sum(len(text) + sum(len(b) for b in buffers) for text, buffers in encoded)
    print(f"the {args.steps}-call cell on the wire: {len(sent)} messages "
          f"({', '.join(sorted({m.type for m in sent}))}), {size / 1e6:.2f} MB, "
          f"{sum(len(b) for _, b in encoded)} buffers")
    print("  CPU ms (median): " + ", ".join(f"{name} {statistics.median(v) * 1e3:.0f}" for name, v in times.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--runs", type=int, default=2, help="presses of Run all in one window (the first cold)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--stages", action="store_true", help="GUI-thread CPU per stage")
    parser.add_argument("--wire", action="store_true",
                        help="only the kernel's records, encoding and decoding of the loop cell, in this process")
    args = parser.parse_args(argv)
    if args.wire:
        with tempfile.TemporaryDirectory(prefix="gradstudio-many-") as folder:
            path = os.path.join(folder, "training_loop.py")
            Path(path).write_text(script_text(args.steps))
            wire(args, path)
        return
    args.stages = Stages() if args.stages else None

    from gradstudio.ui.app import application

    app = application()
    with tempfile.TemporaryDirectory(prefix="gradstudio-many-") as folder:
        path = os.path.join(folder, "training_loop.py")
        Path(path).write_text(script_text(args.steps))
        measure(app, args, path)


if __name__ == "__main__":
    main()
