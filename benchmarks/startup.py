"""Cold start: how long until the main window is visible.

    python benchmarks/startup.py [--runs N] [--with-engine]

Each run starts a fresh Python (offscreen Qt), builds the main window as
``gradstudio`` does, shows it, and reports when the first paint has been
processed; the time is measured by this parent process from just before the
child starts. Target (app issue): visible within 1.5 s. The child also lists
which heavy libraries were already imported at that moment (sympy, matplotlib
and torch should load lazily, after the window is up).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import sys
if "--with-engine" in sys.argv:  # what the window process did before it loaded the engine lazily
    import gradstudio._api
from PySide6.QtWidgets import QApplication
from gradstudio.ui.app import application, follow_platform_theme
app = application()
from gradstudio.ui.main_window import MainWindow
from gradstudio.ui.settings import Settings
settings = Settings()
follow_platform_theme(app, settings)
window = MainWindow(settings)
window.show()
app.processEvents()
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sympy', 'matplotlib', 'torch'})
if any(m == 'gradstudio.tensor' or m.startswith('gradstudio.ops') for m in sys.modules):
    heavy.append('gradstudio-engine')
print('visible', ','.join(heavy) or '-', flush=True)
window.shutdown()
"""


def one_run(settings_dir: str, *flags: str) -> tuple:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT),
               XDG_CONFIG_HOME=settings_dir)
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", CHILD, *flags], stdout=subprocess.PIPE, text=True,
                             env=env, stderr=subprocess.DEVNULL)
    line = child.stdout.readline()
    elapsed = time.perf_counter() - start
    child.wait(60)
    if not line.startswith("visible"):
        raise SystemExit("the window did not come up")
    return elapsed, line.split()[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--with-engine", action="store_true",
                        help="also start windows that import the engine first (as before it loaded "
                             "lazily), alternating with the others, and print both")
    args = parser.parse_args(argv)
    import tempfile
    variants = [()] + ([("--with-engine",)] if args.with_engine else [])
    with tempfile.TemporaryDirectory() as settings_dir:
        one_run(settings_dir)  # the first start also fills the OS file cache
        times, heavy = {v: [] for v in variants}, {}
        for _ in range(args.runs):
            for flags in variants:  # alternating: a shared machine's load hits both alike
                elapsed, heavy[flags] = one_run(settings_dir, *flags)
                times[flags].append(elapsed)
    for flags in variants:
        best, median = min(times[flags]), statistics.median(times[flags])
        label = "with the engine imported first: " if flags else ""
        print(f"{label}main window visible after {median:.2f} s (median of {args.runs}; best {best:.2f} s)  "
              f"target ≤ 1.5 s {'✓' if median <= 1.5 else '✗'}")
        print(f"  heavy libraries already imported at that moment: {heavy[flags]}")


if __name__ == "__main__":
    main()
