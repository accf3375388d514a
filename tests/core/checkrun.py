"""Running ``gradstudio check`` from the tests, and looking at the processes it left.

Imported by the test modules next to it (pytest puts this folder on sys.path)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# How the script under check finds the result pipe of its checking process (the
# child's command line names it), to attack it the way a hostile script would.
RESULT_FD = "int(__import__('sys').argv[__import__('sys').argv.index('--result-fd') + 1])"


def command(script, *args) -> list:
    """The ``gradstudio check`` command line; a generous --timeout unless one is given
    (the machine running the tests may be busy)."""
    limit = [] if "--timeout" in args else ["--timeout", "120"]
    return [sys.executable, "-m", "gradstudio", "check", str(script), *map(str, args), *limit]


def environment() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def check(script, *args, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(command(script, *args), capture_output=True, text=True, timeout=timeout,
                          env=environment(), cwd=ROOT)


def start(script, *args) -> subprocess.Popen:
    return subprocess.Popen(command(script, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=environment(), cwd=ROOT)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is dead: it only waits to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_dead(pids, timeout: float = 10.0) -> list:
    """The pids still alive after waiting up to ``timeout`` seconds for them to go."""
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in pids if alive(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def wait_for_file(path: Path, timeout: float = 120.0) -> str:
    """The file's text once it exists and ends with a newline (written by the script)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text()
            if text.endswith("\n"):
                return text
        time.sleep(0.05)
    raise AssertionError(f"{path} was never written")


def pid_writer(path: Path) -> str:
    """Script lines that append this process's pid to ``path``."""
    return (f"with open({str(path)!r}, 'a') as _f:\n"
            f"    _f.write(str(__import__('os').getpid()) + '\\n')\n")


def descendants(pid: int) -> list:
    """Live descendants of ``pid``, from /proc."""
    children: dict = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, queue = [], list(children.get(pid, ()))
    while queue:
        found.append(queue.pop())
        queue.extend(children.get(found[-1], ()))
    return found
