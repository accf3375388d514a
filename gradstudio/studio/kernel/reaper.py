"""Ending a kernel with everything it started, before its window goes on.

Killing the kernel's process group (what ``jupyter_client`` does, and the pipe
kernel did) misses what the user's code moved out of the group (``setsid``, a
``subprocess`` with ``start_new_session=True``), and returns while the killed
processes may still be exiting. :func:`end_tree` stops and kills the kernel's
whole tree while the kernel still lives (so its descendants can still be found
by their parent links), kills its group too, and waits until none of them is
alive; the ones that became our children (we are a child subreaper, as
``gradstudio check`` makes itself) are reaped. The kernel process itself is left
to its ``Popen`` to reap.
"""
from __future__ import annotations

import os
import signal
import time

from gradstudio.studio import lifeline


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not); reaps it if it is our ended child."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    fields = stat[stat.rfind(b")") + 2:].split()
    if fields and fields[0] == b"Z":
        if len(fields) > 1 and int(fields[1]) == os.getpid():
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        return False
    return True


def end_tree(pid: int | None, *, timeout: float = 5.0, reap_root: bool = False) -> list:
    """SIGKILL ``pid``, its descendants and its process group, and wait (at most
    ``timeout`` seconds) until none of them is alive; the pids still alive then
    (empty when all went). ``reap_root``: ``pid`` is ours to reap too (no Popen owns it)."""
    if pid is None:
        return []
    tree = lifeline.kill_tree(pid)
    try:
        os.killpg(pid, signal.SIGKILL)      # the kernel leads its own group (start_new_session)
    except (ProcessLookupError, PermissionError):
        pass
    others = [p for p in tree if p != pid or reap_root]
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in others if _alive(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.005)
