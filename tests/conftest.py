"""What every test process shares: numpy's BLAS on one thread.

The suite runs on two worker processes (pyproject's addopts) on a two-core machine.
OpenBLAS starts a thread per core in each of them, and its threads wait for work by
spinning: four spinning threads on two cores made a 256×784 by 784×256 float32 matmul
take 13 ms instead of 2.3 ms on one thread (measured with the machine loaded), and a
tutorial replay that trains a small MLP took 11 s of CPU under GradStudio against 1.5 s
under single-threaded torch. This file is loaded before the workers start and before
anything imports numpy; they inherit the environment. A variable already set wins.
"""
from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
