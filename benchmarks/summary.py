"""Extra memory and time of the kernel's tensor summary (issue 8), against the
whole-array float64 way it replaced.

    python benchmarks/summary.py [GB]      (default 2 GB of float32)

Prints the tensor's size, the summary's peak extra memory (tracemalloc) as a
fraction of it, and seconds for both ways; the old way is skipped when it would
not fit in half the free memory."""
from __future__ import annotations

import sys
import time
import tracemalloc

import numpy as np

from gradstudio.studio.kernel.records import summary


def whole_array(a):
    f = a.astype(np.float64, copy=False)
    finite = f[np.isfinite(f)]
    return float(finite.min()), float(finite.max()), float(finite.mean()), float(np.sqrt(np.sum(finite * finite)))


def measure(function, a):
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    function(a)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return peak, seconds


def main():
    gigabytes = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    a = np.ones(int(gigabytes * 1e9) // 4, dtype=np.float32)
    print(f"tensor: {a.nbytes / 1e9:.2f} GB float32")
    peak, seconds = measure(summary, a)
    print(f"chunked summary:  {peak / 1e6:8.1f} MB extra ({peak / a.nbytes:.2%} of the tensor), {seconds:.2f} s")
    try:
        import os
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        free = 0
    if free > 2 * 6 * a.nbytes:
        peak, seconds = measure(whole_array, a)
        print(f"whole-array way:  {peak / 1e6:8.1f} MB extra ({peak / a.nbytes:.2%} of the tensor), {seconds:.2f} s")
    else:
        print("whole-array way: skipped (would not fit in half the free memory)")


if __name__ == "__main__":
    main()
