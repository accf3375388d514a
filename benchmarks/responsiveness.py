"""The event loop while a 2,000-node graph arrives: wall-clock gaps and the GUI
thread's own work, side by side.

    python benchmarks/responsiveness.py [--links N]

A 10 ms heartbeat runs while one cell builds a chain of N multiplications
(default 1000: 2,002 vertices), runs backward and every panel settles. Printed:
the worst and 99th-percentile wall-clock gap between beats (what a user feels;
it grows when other processes take the cores) and the GUI thread's CPU time
between beats (``time.thread_time()``: what the test suite asserts, in
tests/ui/test_responsiveness.py), and their ratio.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=1000)
    args = parser.parse_args(argv)

    from PySide6.QtCore import QTimer

    from gradstudio.ui.app import application
    from gradstudio.ui.snapshot import all_done, scratch_window, wait_until

    app = application()
    with scratch_window(app) as window:
        window.resize(1440, 900)
        window.show()
        window.runner.start()
        if not wait_until(app, window.runner.is_idle, 60):
            raise SystemExit("the kernel did not start")
        window.model.script.set_script("import torch\nx = torch.randn(3, requires_grad=True)\ny = x\n"
                                f"for i in range({args.links}):\n    y = y * 1.001\ny.sum().backward()\n", None)
        wall, cpu, last = [], [], [None]

        def beat():
            now = (time.perf_counter(), time.thread_time())
            if last[0] is not None:
                wall.append(now[0] - last[0][0])
                cpu.append(now[1] - last[0][1])
            last[0] = now

        heartbeat = QTimer(interval=10, timeout=beat)
        heartbeat.start()
        start = time.perf_counter()
        window.runner.run_all()
        if not wait_until(app, lambda: all_done(window) and window.model.calls.records, 120, poll=0.001):
            raise SystemExit("the run did not finish")
        heartbeat.stop()
    total = time.perf_counter() - start

    def p99(values):
        return sorted(values)[int(0.99 * (len(values) - 1))]

    print(f"{args.links} links, {len(wall)} beats over {total:.1f} s (ms):")
    print(f"  wall-clock gap     worst {max(wall) * 1e3:7.1f}   p99 {p99(wall) * 1e3:7.1f}")
    print(f"  GUI thread's work  worst {max(cpu) * 1e3:7.1f}   p99 {p99(cpu) * 1e3:7.1f}")
    print(f"  worst wall / worst work: {max(wall) / max(max(cpu), 1e-9):.1f}x")


if __name__ == "__main__":
    main()
