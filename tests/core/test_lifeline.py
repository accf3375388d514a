"""Killing a process tree, an escaped group included; how long this process has run."""
from __future__ import annotations

import subprocess
import sys
import time

from checkrun import alive, descendants, wait_dead

from gradstudio.studio import lifeline

# A process that starts a child in its own session (escaping the group) and one in its group.
TREE = """
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("ready", flush=True)
time.sleep(600)
"""


def test_kill_tree_kills_every_descendant_also_one_in_another_session():
    root = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    try:
        assert root.stdout.readline() == "ready\n"
        tree = descendants(root.pid)
        assert len(tree) == 2
        signalled = lifeline.kill_tree(root.pid)
        assert sorted(signalled) == sorted([root.pid] + tree)
        root.wait(30)
        assert wait_dead(tree) == []
    finally:
        if root.poll() is None:
            root.kill()
            root.wait()


def test_kill_tree_can_spare_the_root():
    root = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    try:
        assert root.stdout.readline() == "ready\n"
        tree = descendants(root.pid)
        lifeline.kill_tree(root.pid, include_root=False)
        assert wait_dead(tree) == [] and alive(root.pid)
    finally:
        root.kill()
        root.wait()


def test_seconds_since_start_counts_from_the_process_start():
    probe = subprocess.run([sys.executable, "-c", "import time; time.sleep(1.0)\n"
                            "from gradstudio.studio import lifeline; print(lifeline.seconds_since_start())"],
                           capture_output=True, text=True, timeout=120)
    assert float(probe.stdout) >= 1.0
    assert 0 < lifeline.seconds_since_start() < time.clock_gettime(time.CLOCK_BOOTTIME)
