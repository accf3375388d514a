"""What ``gradstudio check`` says when its child crashes, lies, runs out of memory or
sends junk: exit 2 and a message that says what happened — never code run in the parent."""
from __future__ import annotations

import json
import pickle
import struct

import pytest
from checkrun import RESULT_FD, check, start


def cells(tmp_path, *sources, name="script.py"):
    """A script of ``# %%`` cells; cell 1 imports torch."""
    script = tmp_path / name
    script.write_text("".join(f"# %%\n{source}\n" for source in ("import torch",) + sources))
    return script


@pytest.mark.parametrize("source, says", [
    ("import os\nos._exit(3)", "the checking process exited with code 3 before it sent its report "
                               "while running cell 2 (line 3)"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "the checking process was killed by SIGKILL"),
    ("import ctypes\nx = 1\nctypes.string_at(0)", "the checking process was killed by SIGSEGV "
                                                   "(Segmentation fault) while running cell 2 (line 3), "
                                                   "at line 6 of the script"),
    ("import os\nos.abort()", "the checking process was killed by SIGABRT (Aborted) while running cell 2 "
                              "(line 3), at line 5 of the script"),
])
def test_a_crash_says_the_exit_code_or_signal_and_where(tmp_path, source, says):
    result = check(cells(tmp_path, source))
    assert result.returncode == 2
    assert says in result.stderr
    assert "running cell 2 (line 3)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_pickle_on_the_result_pipe_is_not_run(tmp_path):
    marker = tmp_path / "ran-in-the-parent"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    payload = pickle.dumps(Payload())
    frame = struct.pack("!i", len(payload)) + payload   # what multiprocessing's Connection reads
    script = cells(tmp_path, f"import os\nos.write({RESULT_FD}, {frame!r})\nimport time\ntime.sleep(3600)")
    result = check(script)
    assert result.returncode == 2
    assert "the checking process sent something unreadable" in result.stderr
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    b"junk on the pipe\n",
    # a well-formed frame of the wire format with a message the parent does not know
    "__import__('gradstudio.studio.wire', fromlist=['_']).encode_frame({'kind': 'exec', 'code': 'x'})",
    # a report in the wrong shape
    "__import__('gradstudio.studio.wire', fromlist=['_']).encode_frame({'kind': 'done', 'report': "
    "{'script': 1}, 'code': 0, 'error': None, 'torch': {}})",
])
def test_junk_or_a_crafted_message_is_exit_2(tmp_path, payload):
    text = repr(payload) if isinstance(payload, bytes) else payload
    result = check(cells(tmp_path, f"import os\nos.write({RESULT_FD}, {text})\nimport time\ntime.sleep(3600)"))
    assert result.returncode == 2
    assert "gradstudio check: the checking process sent something unreadable" in result.stderr
    assert "Traceback" not in result.stderr


def test_half_a_frame_cannot_hold_the_parent_past_the_limit(tmp_path):
    # a header announcing a body that never comes, then the script sleeps
    script = cells(tmp_path, f"import os, struct\nos.write({RESULT_FD}, b'GSWI\\x01\\x00' + "
                             "struct.pack('!HI', 0, 1000))\nimport time\ntime.sleep(3600)")
    process = start(script, "--timeout", "8", "--no-torch")   # no torch import to wait for
    out, err = process.communicate(timeout=90)   # the blocking read this replaces never returned
    assert process.returncode == 2
    assert "timed out after 8 s while running cell 2 (line 3)" in err


def test_running_out_of_memory_names_the_limit(tmp_path):
    script = cells(tmp_path, "a = []\nwhile True:\n    a.append(b'x' * 10**8)")
    result = check(script, "--memory", "1.5")
    assert result.returncode == 2
    assert "cell 2, line 6: ran out of memory (limit 1.5 GB)" in result.stderr


def test_json_is_strict_json(tmp_path):
    script = cells(tmp_path, "x = torch.tensor([0.0, 1.0, -1.0], requires_grad=True)\n"
                             "y = torch.tensor([0.0, 0.0, 0.0], requires_grad=True)\n"
                             "(x / y).sum().backward()")

    def refuse(token):
        raise AssertionError(f"{token} is not JSON")

    result = check(script, "--json")
    report = json.loads(result.stdout, parse_constant=refuse)
    (call,) = report["backward_calls"]
    x = next(leaf for leaf in call["leaves"] if leaf["name"] == "x")
    y = next(leaf for leaf in call["leaves"] if leaf["name"] == "y")
    assert x["numeric"] == ["Infinity", "Infinity", "Infinity"]
    assert y["numeric"] == ["NaN", "-Infinity", "Infinity"]


def test_a_script_with_a_bom_is_checked(tmp_path):
    script = tmp_path / "bom.py"
    script.write_bytes(b"\xef\xbb\xbfimport torch\nx = torch.ones(2, requires_grad=True)\n(x * x).sum().backward()\n")
    result = check(script, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["backward_calls"][0]["leaves"][0]["numeric"] == [2.0, 2.0]


def test_a_script_that_is_not_utf8_is_exit_2_with_a_message(tmp_path):
    script = tmp_path / "latin1.py"
    script.write_bytes("x = 'café'\n".encode("latin-1"))
    result = check(script)
    assert result.returncode == 2
    assert "is not UTF-8 text" in result.stderr and "Traceback" not in result.stderr
