"""What a cell prints: kept in order, in time linear in its size, and capped."""
from __future__ import annotations

import sys
import time

from gradstudio.studio import session as session_module
from gradstudio.studio.session import Session


def outputs(run):
    return [(o.stream, o.text) for o in run.outputs]


def test_a_million_prints_finish_and_the_cut_is_said():
    session = Session()
    started = time.thread_time()
    run = session.run_cell("for i in range(10**6):\n    print(i)\n")
    cpu = time.thread_time() - started
    printed = sum(len(f"{i}\n") for i in range(10 ** 6))
    limit = session_module.MAX_KEPT_OUTPUT
    ((stream, text),) = outputs(run)
    assert stream == "stdout" and run.ok
    kept, notice = text[:limit], text[limit:]
    assert kept == "".join(f"{i}\n" for i in range(10 ** 6))[:limit]
    newline = "" if kept.endswith("\n") else "\n"
    assert notice == f"{newline}… output cut: {printed - limit} more characters\n"
    # quadratic capture did not finish a million prints in a minute; this takes a second or two
    assert cpu < 30


def test_the_notice_starts_on_its_own_line_after_a_cut_mid_line(monkeypatch):
    monkeypatch.setattr(session_module, "MAX_KEPT_OUTPUT", 10)
    run = Session().run_cell("print('abcdefghijklmnop', end='')\n")
    assert outputs(run) == [("stdout", "abcdefghij\n… output cut: 6 more characters\n")]


def test_streams_stay_in_order_and_consecutive_writes_merge():
    run = Session().run_cell("import sys, warnings\n"
                             "print('a'); print('b')\n"
                             "print('e1', file=sys.stderr)\n"
                             "print('c')\n"
                             "warnings.warn('careful')\n"
                             "print('after warning', file=sys.stderr)\n"
                             "print('d')\n"
                             "7\n")
    streams = [s for s, _ in outputs(run)]
    assert streams == ["stdout", "stderr", "stdout", "stderr", "stdout", "result"]
    assert outputs(run)[0] == ("stdout", "a\nb\n") and outputs(run)[2] == ("stdout", "c\n")
    assert "UserWarning: careful" in outputs(run)[3][1] and outputs(run)[3][1].endswith("after warning\n")
    assert outputs(run)[4:] == [("stdout", "d\n"), ("result", "7\n")]


def test_output_before_an_error_comes_before_it():
    run = Session().run_cell("print('before')\nraise ValueError('boom')\n")
    assert outputs(run)[0] == ("stdout", "before\n")
    assert outputs(run)[1][0] == "error" and "boom" in outputs(run)[1][1]


def test_writing_something_else_than_text_raises_as_a_real_stream_does():
    run = Session().run_cell("import sys\nsys.stdout.write(5)\n")
    assert run.error_type == "TypeError" and "must be str, not int" in run.error


def test_a_stream_kept_past_its_cell_still_writes_into_that_cell():
    session = Session()
    first = session.run_cell("import sys\nkept = sys.stdout\nprint('one')\n")
    session.run_cell("kept.write('late\\n')\nkept.write('later\\n')\n")
    assert outputs(first) == [("stdout", "one\nlate\nlater\n")]
    assert sys.stdout is not session.namespace["kept"]
