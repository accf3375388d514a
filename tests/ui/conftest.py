"""Fixtures for the app's tests (pytest-qt, offscreen).

* Qt runs offscreen; settings and the platform's state/config directories
  point at the test's tmp_path, so no test touches the user's files.
* A test that opens a real modal dialog fails (the dialog is closed so the
  run goes on): dialogs go through ``gradstudio.ui.dialogs``, which tests patch.
* Every window is shut down and closed, and every kernel process — with
  everything in its process group (the symbolic worker) — is gone after each
  test; no Python thread is left behind.
"""
from __future__ import annotations

import contextlib
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"     # before anything imports Qt
os.environ.setdefault("MPLBACKEND", "Agg")

import pathlib
import threading
import time

import pytest

import gradstudio.ui  # noqa: F401  (first: applies the PySide6 work-arounds before any emit())
from PySide6.QtCore import QCoreApplication, QSettings, QTimer
from PySide6.QtWidgets import QApplication

ROOT = pathlib.Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "resources" / "examples" / "autograd_tutorial.py"


# --------------------------------------------------------------------------- processes
def _live_processes():
    """(pid, parent pid, process group) of every live (non-zombie) process, from /proc."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            yield int(entry), int(fields[1]), int(fields[2])


def group_members(pgids) -> list:
    """Live processes whose process group is one of ``pgids``."""
    pgids = {p for p in pgids if p}
    return [pid for pid, _, pgrp in _live_processes() if pgrp in pgids]


def children_of_this_process() -> list:
    me = os.getpid()
    return [pid for pid, parent, _ in _live_processes() if parent == me]


def wait_gone(pgids, timeout: float = 5.0) -> list:
    deadline = time.monotonic() + timeout
    while True:
        left = group_members(pgids)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


# --------------------------------------------------------------------------- isolation
@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / "xdg" / name.lower()))
    QCoreApplication.setOrganizationName("GradStudioTests")
    QCoreApplication.setApplicationName("GradStudioTests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield


@pytest.fixture(autouse=True)
def no_modal_dialogs(qapp):
    """Fail a test that opens a real modal dialog (and close it so the test ends)."""
    opened = []

    def check():
        widget = QApplication.activeModalWidget()
        if widget is not None:
            opened.append(widget.windowTitle() or type(widget).__name__)
            widget.close()

    timer = QTimer()
    timer.timeout.connect(check)
    timer.start(50)
    yield
    timer.stop()
    if opened:
        pytest.fail(f"the test opened a real modal dialog: {opened}")


@pytest.fixture(autouse=True)
def nothing_left_running(qapp):
    threads_before = set(threading.enumerate())
    yield
    from gradstudio.ui.main_window import MainWindow
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow):
            widget.model.script.mark_clean()
            widget.shutdown()
            widget.close()
            widget.deleteLater()
    qapp.processEvents()
    children = children_of_this_process()
    assert not children, f"child processes left running: {children}"
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - threads_before and time.monotonic() < deadline:
        time.sleep(0.02)
    left = [t.name for t in set(threading.enumerate()) - threads_before if t.is_alive()]
    assert not left, f"threads left running: {left}"


# --------------------------------------------------------------------------- the window
class KernelPids:
    """Every kernel a window started (their process groups include the symbolic workers)."""

    def __init__(self):
        self.pgids: list = []

    def record(self, message):
        self.pgids.append(message.pid)


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Build main windows (kernel ready); at teardown they are shut down and
    nothing of their kernels is left."""
    from gradstudio.ui.main_window import MainWindow
    from gradstudio.ui.settings import Settings

    made = []

    def make(settings=None, *, recovery_dir=None, autosave=False, wait=True, **options):
        window = MainWindow(settings or Settings(), recovery_dir=recovery_dir or str(tmp_path / "recovery"),
                            autosave=autosave, start_kernel=False, **options)
        pids = KernelPids()
        window.runner.client.ready.connect(pids.record)
        window.kernel_pids = pids
        window.runner.start()
        window.show()        # not qtbot.addWidget: that closes it before our teardown, possibly dirty
        if wait:
            qtbot.waitUntil(lambda: window.model.kernel.kernel_state == "idle", timeout=30000)
        made.append(window)
        return window

    yield make
    for window in made:
        window.model.script.mark_clean()
        window.shutdown()
        window.close()
        left = wait_gone(window.kernel_pids.pgids)
        assert not left, f"kernel processes left running: {left}"


@pytest.fixture
def window(make_window):
    return make_window()


# --------------------------------------------------------------------------- helpers
def wait_idle(qtbot, window, timeout=60000):
    qtbot.waitUntil(window.runner.is_idle, timeout=timeout)


def console_text(window) -> str:
    return window.panel("script").console.toPlainText()


def set_script(window, text: str):
    """Put text in the editor as if typed (marks the document modified)."""
    editor = window.panel("script").editor
    editor.selectAll()
    editor.insertPlainText(text)
    return editor


@contextlib.contextmanager
def gui_work_between_beats(interval_ms: int = 10):
    """The GUI thread's CPU seconds (``time.thread_time()``) between consecutive beats
    of an ``interval_ms`` timer while the block runs: one event (or a burst between
    two beats) that costs the GUI thread far more than the interval is a stall the
    user would see. Unlike wall-clock gaps, this does not grow when other processes
    take the cores (the kernel, other test runs).

    Everything alive before the block is frozen out of the garbage collector while
    it runs: in a long pytest session a full collection walks every earlier test's
    objects (measured: 300 ms in the GUI thread), which is the test run's heap,
    not the app's."""
    import gc
    from PySide6.QtCore import QTimer
    work, last = [], [None]
    gc.collect()
    gc.freeze()

    def beat():
        now = time.thread_time()
        if last[0] is not None:
            work.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(interval_ms)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    try:
        yield work
    finally:
        heartbeat.stop()
        gc.unfreeze()


@pytest.fixture
def helpers():
    class H:
        pass
    h = H()
    h.wait_idle = wait_idle
    h.console_text = console_text
    h.set_script = set_script
    h.gui_work_between_beats = gui_work_between_beats
    h.tutorial = TUTORIAL
    return h
