"""The command that starts GradStudio's IPython kernel (``python -m gradstudio.studio.kernel.launch -f FILE``).

Before handing over to ipykernel it puts the limits the app promises on the
kernel process: a memory limit (half of the machine, so a runaway tensor raises
MemoryError in the cell instead of taking the machine down) and a watch on the
parent (when the app that started it is gone — even killed with SIGKILL — the
kernel's process group, the symbolic worker included, ends too). The kernel
then loads the GradStudio extension (:mod:`gradstudio.studio.kernel.extension`).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time


def memory_limit() -> int:
    """Half of the machine's memory, at least 2 GiB."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        total = 8 * 1024 ** 3
    return max(2 * 1024 ** 3, total // 2)


def watch_parent(parent: int):
    """Kill this process's group once the process that started it is gone (it may
    be stuck in a loop and never notice its closed pipes)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            try:
                if os.getpgrp() == os.getpid():
                    os.killpg(os.getpid(), signal.SIGKILL)
            finally:
                os._exit(1)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    limit = int(os.environ.pop("GRADSTUDIO_KERNEL_MEMORY", "0") or 0) or memory_limit()
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # not permitted here: run without the cap
        pass
    parent = os.getppid()
    threading.Thread(target=watch_parent, args=(parent,), daemon=True, name="parent-watch").start()
    from ipykernel.kernelapp import IPKernelApp
    # jedi's inference takes seconds on a first completion (measured: >3 s on a loaded
    # machine); IPython's namespace completion answers at once from the live objects
    # (cells named by a C hash, not ipykernel's pure-Python murmur2: see kernel/compiler.py)
    IPKernelApp.launch_instance(argv=argv + ["--IPKernelApp.extensions=['gradstudio']",
                                             "--IPCompleter.use_jedi=False",
                                             "--IPKernelApp.kernel_class="
                                             "gradstudio.studio.kernel.compiler.Kernel"])


if __name__ == "__main__":
    main()
