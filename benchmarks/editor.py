"""The script editor and the console on huge inputs: wall-clock figures and ratios.

    QT_QPA_PLATFORM=offscreen python benchmarks/editor.py [--lines 200000] [--cells 100000] [--outputs 50000]

For each case it prints the wall-clock time of the large input next to a
baseline 100× smaller, and their ratio (1.0 = the cost does not grow with the
input). Cases:

* open — ``setPlainText`` of a script with one huge cell, until the window
  could draw (the colouring then goes on in the background: "colour all" is
  how long that takes, spread over event-loop turns, and "worst turn" the
  longest turn meanwhile);
* move/type — 10 cursor moves, a typed line and Enter in the middle of that
  cell, and the same in a script of many one-line cells;
* console — N lines each of stdout and stderr interleaved as one cell's output:
  the slot that receives them, the longest later turn, and all of it.

Before issue 8 (the issue's figures): a 200k-line cell blocked the window
6.3 s, a 100k-cell script over 20 s, and the console flood 4–5 s in one slot.
The tests assert the same shapes with GUI-thread CPU time (tests/ui/test_editor.py,
tests/ui/test_console.py); the wall-clock numbers live here.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import gradstudio.ui  # noqa: E402,F401  (PySide6 work-arounds first)
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def big_cell(lines: int) -> str:
    return "# %% one cell\n" + "".join(f"x{i} = torch.ones({i % 9}) * 2  # a comment\n" for i in range(lines))


def many_cells(cells: int) -> str:
    return "".join(f"# %% cell {i}\nx = {i}\n" for i in range(cells))


CPU: dict = {}          # case -> GUI-thread CPU seconds, beside the wall clock


def timed(action, key: str | None = None) -> float:
    start, cpu = time.perf_counter(), time.thread_time()
    action()
    QApplication.processEvents()
    if key:
        CPU[key] = time.thread_time() - cpu
    return time.perf_counter() - start


def editor_case(text: str) -> dict:
    from gradstudio.ui.widgets.code_editor import CodeEditor
    editor = CodeEditor()
    editor.resize(900, 700)
    editor.show()
    QApplication.processEvents()
    result = {"open": timed(lambda: editor.setPlainText(text), "open")}
    worst, start = 0.0, time.perf_counter()
    while editor.highlighter.pending():
        worst = max(worst, timed(lambda: None))
    result["colour all"] = time.perf_counter() - start
    result["worst turn"] = worst
    editor.go_to_line(editor.document().blockCount() // 2)
    QApplication.processEvents()

    def session():
        for _ in range(10):
            QTest.keyClick(editor, Qt.Key.Key_Down)
        QTest.keyClicks(editor, "y = x + 1")
        QTest.keyClick(editor, Qt.Key.Key_Return)
    result["move/type"] = timed(session, "move/type")
    editor.close()
    editor.deleteLater()
    QApplication.processEvents()
    return result


def console_case(lines: int) -> dict:
    from gradstudio.ui.widgets.console import ConsoleView
    view = ConsoleView()
    view.resize(700, 500)
    view.show()
    QApplication.processEvents()
    outputs = []
    for i in range(lines):
        outputs.append({"stream": "stdout", "text": f"out {i}\n"})
        outputs.append({"stream": "stderr", "text": f"err {i}\n"})
    start, cpu = time.perf_counter(), time.thread_time()
    view.append_outputs(outputs)
    slot = time.perf_counter() - start
    CPU["slot"] = time.thread_time() - cpu
    worst = 0.0
    while view.pending():
        worst = max(worst, timed(lambda: None))
    result = {"slot": slot, "worst turn": worst, "all": time.perf_counter() - start}
    view.close()
    view.deleteLater()
    QApplication.processEvents()
    return result


def report(title: str, run, small_n: int, large_n: int):
    small = run(small_n)
    small_cpu = dict(CPU)
    large = run(large_n)
    print(f"\n{title}: {large_n:,} vs {small_n:,}   (GUI-thread CPU in brackets)")
    for key in large:
        ratio = large[key] / small[key] if small[key] > 1e-6 else float("nan")
        cpu = f"   [{CPU[key] * 1000:8.1f} ms vs {small_cpu[key] * 1000:7.1f} ms]" if key in CPU else ""
        print(f"  {key:<11} {large[key] * 1000:9.1f} ms   baseline {small[key] * 1000:8.1f} ms   "
              f"ratio {ratio:7.1f}{cpu}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--outputs", type=int, default=50_000)
    args = parser.parse_args()
    QApplication.instance() or QApplication([])
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall clock grows with it)")
    report("one huge cell (lines)", lambda n: editor_case(big_cell(n)), args.lines // 100, args.lines)
    report("many cells", lambda n: editor_case(many_cells(n)), args.cells // 100, args.cells)
    report("console, lines each of stdout and stderr", console_case, args.outputs // 100, args.outputs)


if __name__ == "__main__":
    main()
