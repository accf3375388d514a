"""Output capture and ``gradstudio check`` limits, timed.

1. A session cell that prints N short lines (``print(i)`` N times), for growing
   N: capture is linear when the time per print stays flat.
2. ``gradstudio check --timeout T`` on an infinite loop: how long the command
   takes in all (the promise is T + 1 s).

Run: ``.venv/bin/python benchmarks/capture.py``
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from gradstudio.studio.session import Session


def prints(n: int) -> float:
    session = Session()
    started = time.perf_counter()
    run = session.run_cell(f"for i in range({n}):\n    print(i)\n")
    elapsed = time.perf_counter() - started
    assert run.ok, run.error
    return elapsed


def check_timeout(limit: float) -> float:
    with tempfile.TemporaryDirectory() as folder:
        script = os.path.join(folder, "loop.py")
        with open(script, "w") as handle:
            handle.write("# %%\nimport torch\n# %%\nwhile True:\n    pass\n")
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "gradstudio", "check", script, "--timeout", str(limit)],
                       capture_output=True)
        return time.monotonic() - started


def main():
    for n in (10 ** 4, 10 ** 5, 10 ** 6):
        elapsed = prints(n)
        print(f"{n:>9,} prints: {elapsed:6.2f} s   {elapsed / n * 1e6:5.2f} µs per print")
    for limit in (2, 5):
        took = check_timeout(limit)
        print(f"gradstudio check --timeout {limit} on an infinite loop: {took:.2f} s "
              f"(limit + {took - limit:.2f} s)")


if __name__ == "__main__":
    main()
