"""``gradstudio check`` leaves no process behind, however it ends or is ended."""
from __future__ import annotations

import os
import signal
import subprocess

from checkrun import (ROOT, alive, command, descendants, environment, pid_writer, start, wait_dead,
                      wait_for_file)


def loop_script(tmp_path, pids, before_loop=""):
    script = tmp_path / "loop.py"
    script.write_text("# %%\nimport torch\n# %%\n" + pid_writer(pids) + before_loop + "while True:\n    pass\n")
    return script


def test_sigterm_as_timeout_sends_it_kills_the_child_and_its_symbolic_worker(tmp_path):
    # ``timeout 3 gradstudio check loop.py`` sends SIGTERM after 3 s; here it is sent
    # once the script runs, however long a busy machine takes to get there
    pids = tmp_path / "pids"
    process = start(loop_script(tmp_path, pids))
    (child,) = map(int, wait_for_file(pids).split())
    started = descendants(process.pid)
    assert child in started and len(started) >= 2      # the checker child and its symbolic worker
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert err == "gradstudio check: stopped by SIGTERM\n"
    assert wait_dead(started) == []


def test_the_timeout_command_itself(tmp_path):
    pids = tmp_path / "pids"
    result = subprocess.run(["timeout", "10", *command(loop_script(tmp_path, pids))], capture_output=True,
                            text=True, env=environment(), cwd=ROOT, timeout=120)
    assert result.returncode == 124 and "Traceback" not in result.stderr
    if pids.exists():  # the script got to run before the 10 s were over
        assert wait_dead(list(map(int, pids.read_text().split()))) == []


def test_a_script_that_kills_its_parent_does_not_outlive_it(tmp_path):
    pids = tmp_path / "pids"
    script = loop_script(tmp_path, pids, "import os, signal\nos.kill(os.getppid(), signal.SIGTERM)\n")
    process = start(script)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM
    (child,) = map(int, wait_for_file(pids, timeout=1).split())
    assert wait_dead([child]) == []
    assert err == "gradstudio check: stopped by SIGTERM\n"


def test_a_fork_that_calls_setsid_is_found_and_killed(tmp_path):
    pids = tmp_path / "pids"
    script = tmp_path / "escape.py"
    script.write_text("import os, time\n"
                      "if os.fork() == 0:\n"
                      "    os.setsid()\n"
                      "    if os.fork() == 0:\n"       # a daemon: its parent exits at once
                      + "".join("        " + line + "\n" for line in pid_writer(pids).splitlines()) +
                      "        time.sleep(3600)\n"
                      "    os._exit(0)\n"
                      "time.sleep(1)\n"
                      "import torch\n"
                      "x = torch.ones(2, requires_grad=True)\n"
                      "(x * x).sum().backward()\n")
    process = start(script)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    (escaped,) = map(int, wait_for_file(pids, timeout=1).split())
    assert wait_dead([escaped]) == []


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path):
    pids = tmp_path / "pids"
    process = start(loop_script(tmp_path, pids))
    wait_for_file(pids)
    started = descendants(process.pid)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err == "gradstudio check: interrupted\n"
    assert wait_dead(started) == []


def test_the_child_dies_with_a_killed_parent(tmp_path):
    pids = tmp_path / "pids"
    process = start(loop_script(tmp_path, pids))
    (child,) = map(int, wait_for_file(pids).split())
    started = descendants(process.pid)
    assert alive(child) and child in started
    os.kill(process.pid, signal.SIGKILL)   # no handler runs: only the parent-death signal helps
    process.communicate(timeout=60)
    assert wait_dead(started) == []
