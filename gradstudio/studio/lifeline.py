"""Keeping processes that run user code from outliving the command that started them.

A user's script can loop forever, kill its parent, or ``fork`` + ``setsid()``
out of its process group. This module owns the three things that make sure
nothing is left behind anyway, all on Linux (elsewhere they do nothing and
say so by returning False):

- :func:`die_with_parent` — the kernel sends the calling process a signal the
  moment its parent dies (``PR_SET_PDEATHSIG``), so a killed parent does not
  leave its child running;
- :func:`become_subreaper` — orphans among our descendants are re-parented to
  us instead of to init (``PR_SET_CHILD_SUBREAPER``), so one that escaped its
  process group can still be found;
- :func:`kill_tree` — stop a process and every descendant (stopped processes
  cannot fork any more), then kill them all.

It also tells how long the current process has been running
(:func:`seconds_since_start`), so a time limit can count from the moment the
command started, not from the moment Python had finished importing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import time

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> bool:
    """Get ``sig`` when the parent dies; exit now if it already has (the parent
    may have died before the watch was set). False where not supported."""
    armed = _prctl(_PR_SET_PDEATHSIG, int(sig))
    if os.getppid() != parent_pid:
        os._exit(1)
    return armed


def become_subreaper() -> bool:
    """Adopt our orphaned descendants (see the module docstring)."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def _parents() -> dict:
    """``{pid: parent pid}`` of every live (not zombie) process, from /proc."""
    parents = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return parents
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name is in parentheses and may itself hold spaces or ")"
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and fields[0] != b"Z":
            parents[int(entry)] = int(fields[1])
    return parents


def descendants(pid: int) -> list:
    """Live descendants of ``pid`` (children first)."""
    children: dict = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found, queue = [], list(children.get(pid, ()))
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue.extend(children.get(child, ()))
    return found


def _signal(pid: int, sig: int):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_tree(root: int, *, include_root: bool = True) -> list:
    """SIGKILL ``root`` (unless ``include_root`` is False) and all its descendants;
    the pids signalled. Everything is stopped first, until the tree stops growing,
    so nothing forks between the look and the kill."""
    stopped: list = []
    for _ in range(1000):
        live = _parents()
        tree = ([root] if include_root and root in live else []) + descendants(root)
        new = [pid for pid in tree if pid not in stopped]
        if not new:
            break
        for pid in new:
            _signal(pid, signal.SIGSTOP)
        stopped += new
    for pid in stopped:
        _signal(pid, signal.SIGKILL)
    return stopped


def reap_children():
    """Collect the exit status of every child that has ended (adopted orphans too)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def seconds_since_start() -> float:
    """How long this process has been running (0 where /proc cannot tell)."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            stat = handle.read()
        start_ticks = int(stat[stat.rfind(b")") + 2:].split()[19])
        elapsed = time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0
    return max(0.0, elapsed)
