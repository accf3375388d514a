"""Opening and saving documents in the app: never runs a file, refuses bad ones
without changing anything, round-trips, autosave and recovery."""
from __future__ import annotations

import json
import os

import pytest

from gradstudio.studio import project as files
from gradstudio.ui import dialogs


@pytest.fixture
def shown_errors(monkeypatch):
    shown = []
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, text: shown.append((title, text)))
    return shown


@pytest.fixture
def no_questions(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("unexpected question")
    monkeypatch.setattr(dialogs, "ask_save_changes", fail)


@pytest.mark.parametrize("content, message", [
    ("{\"format\": \"gradstudio\", \"version\": 1, \"script\": ", "damaged or not JSON"),
    (json.dumps({"format": "gradstudio", "version": 2, "script": "x"}),
     "made by a newer GradStudio (version 2); this one reads version 1"),
    (json.dumps({"format": "something else"}), "not a GradStudio project"),
])
def test_opening_a_bad_project_changes_nothing(qtbot, window, helpers, tmp_path, shown_errors,
                                               monkeypatch, content, message):
    helpers.set_script(window, "x = 1  # my unsaved work\n")
    bad = tmp_path / "bad.gradstudio"
    bad.write_text(content)
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda parent, name: "discard")
    monkeypatch.setattr(dialogs, "ask_open_path", lambda parent, directory: str(bad))
    window.actions["open"].trigger()
    assert len(shown_errors) == 1
    title, text = shown_errors[0]
    assert title == "Cannot open bad.gradstudio" and message in text
    assert window.model.script.script_text() == "x = 1  # my unsaved work\n"
    assert window.model.script.is_dirty() and window.model.script.path is None
    assert bad.read_text() == content
    assert str(bad) not in window.settings.recent_files()


def test_save_and_reopen_round_trip(qtbot, window, helpers, tmp_path, monkeypatch, no_questions):
    script = "# %% One\nimport torch\nx = torch.ones(2)\n# %% Two\nprint(x * 2)\n"
    editor = helpers.set_script(window, script)
    editor.go_to_line(5)
    assert window.isWindowModified()
    path = tmp_path / "work" / "mine"
    path.parent.mkdir()
    monkeypatch.setattr(dialogs, "ask_save_path", lambda parent, suggested: str(path) + ".gradstudio")
    window.actions["save"].trigger()
    saved = tmp_path / "work" / "mine.gradstudio"
    data = json.loads(saved.read_text())
    assert data["format"] == "gradstudio" and data["version"] == 1 and data["script"] == script
    assert not window.model.script.is_dirty() and not window.isWindowModified()
    assert window.windowTitle().startswith("mine.gradstudio")
    assert window.settings.recent_files() == [str(saved)]

    window.actions["new"].trigger()
    assert window.model.script.script_text().startswith("# %%") and window.model.script.path is None
    assert window.documents.open(str(saved))
    assert window.model.script.script_text() == script and not window.model.script.is_dirty()
    assert editor.current_line() == 5, "the cursor position is part of the project"
    assert window.model.console.runs == [], "opening never runs the script"
    # Save again writes in place, atomically, with no temp file left
    editor.insertPlainText("# more\n")
    window.actions["save"].trigger()
    assert "# more" in json.loads(saved.read_text())["script"]
    assert sorted(os.listdir(saved.parent)) == ["mine.gradstudio"]


def test_open_python_and_notebook_never_runs(qtbot, window, helpers, tmp_path, no_questions):
    canary = tmp_path / "canary"
    py = tmp_path / "script.py"
    py.write_text(f"open({str(canary)!r}, 'w').write('ran')\n")
    assert window.documents.open(str(py))
    assert window.model.script.script_text() == py.read_text() and window.model.script.path == str(py)
    nb = tmp_path / "lesson.ipynb"
    nb.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["import torch\n", "x = torch.ones(2)"]},
        {"cell_type": "markdown", "metadata": {}, "source": "text"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": f"open({str(canary)!r}, 'w')"}]}))
    assert window.documents.open(str(nb))
    assert window.model.script.script_text().startswith(
        "# %%\nimport torch\nx = torch.ones(2)\n\n# %% [markdown]\n# text\n\n# %%\n")
    assert window.model.script.path == str(nb) and window.windowTitle().startswith("lesson.ipynb")
    qtbot.wait(300)
    assert not canary.exists() and window.model.console.runs == []
    # the notebook's cells run when asked
    window.actions["run_all"].trigger()
    helpers.wait_idle(qtbot, window)
    assert canary.exists()


def test_save_failure_keeps_the_original(qtbot, window, helpers, tmp_path, shown_errors, monkeypatch):
    saved = tmp_path / "keep.gradstudio"
    files.save(files.Project(script="old"), str(saved))
    before = saved.read_bytes()
    assert window.documents.open(str(saved))
    helpers.set_script(window, "new text\n")

    def no_space(src, dst):
        raise OSError(28, "No space left on device")
    with monkeypatch.context() as m:
        m.setattr(os, "replace", no_space)
        window.actions["save"].trigger()
    assert shown_errors and "No space left on device" in shown_errors[0][1]
    assert saved.read_bytes() == before and os.listdir(tmp_path).count("keep.gradstudio") == 1
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []
    assert window.model.script.is_dirty()


def test_open_example_is_an_untitled_copy(qtbot, window, helpers, monkeypatch, no_questions):
    monkeypatch.setattr(dialogs, "choose_example", lambda parent, examples: examples[0][2])
    window.actions["examples"].trigger()
    assert window.model.script.script_text() == helpers.tutorial.read_text()
    assert window.model.script.path is None and window.windowTitle().startswith("autograd_tutorial.gradstudio")
    titles = [a.text() for a in window.examples_menu.actions()]
    assert titles[0] == "The PyTorch autograd tutorial, cell by cell"


def test_autosave_and_recovery_after_a_crash(qtbot, make_window, helpers, tmp_path, monkeypatch):
    recovery = tmp_path / "recovery"
    first = make_window(recovery_dir=str(recovery))
    helpers.set_script(first, "# %%\nunsaved = 'work'\n")
    assert first.documents.autosave_now()
    copies = list(recovery.iterdir())
    assert len(copies) == 1
    # simulate a crash: the process that wrote it is gone, and the window never closed cleanly
    data = json.loads(copies[0].read_text())
    data["recovery"]["pid"] = 2 ** 22 + 4321
    copies[0].write_text(json.dumps(data))
    first.documents.recovery_path = None          # so its own shutdown does not tidy up
    first.model.script.mark_clean()

    asked = []
    monkeypatch.setattr(dialogs, "ask_recover", lambda parent, text: asked.append(text) or "recover")
    second = make_window(recovery_dir=str(recovery))
    assert second.documents.offer_recovery()
    assert asked and "unsaved document" in asked[0]
    assert second.model.script.script_text() == "# %%\nunsaved = 'work'\n" and second.model.script.is_dirty()
    assert not copies[0].exists()
    # a clean exit removes the new window's own recovery copy
    assert os.listdir(recovery)
    second.model.script.mark_clean()
    second.close()
    assert os.listdir(recovery) == []


def test_declining_recovery_deletes_the_copy(qtbot, make_window, tmp_path, monkeypatch):
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    path = recovery / "recovery-1-abc.gradstudio"
    path.write_text(files.to_json(files.Project(script="old draft"),
                                  {"recovery": {"original": None, "saved_at": 1.0, "pid": 2 ** 22 + 99}}))
    monkeypatch.setattr(dialogs, "ask_recover", lambda parent, text: "discard")
    window = make_window(recovery_dir=str(recovery))
    assert not window.documents.offer_recovery()
    assert not path.exists() and window.model.script.script_text() == ""


def test_close_with_unsaved_changes_asks(qtbot, window, helpers, monkeypatch):
    helpers.set_script(window, "x = 1\n")
    answers = iter(["cancel", "discard"])
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda parent, name: next(answers))
    window.close()
    assert window.isVisible(), "Cancel keeps the window open"
    window.close()
    assert not window.isVisible()
    assert window.runner.client.pid is None, "closing stops the kernel"


# --------------------------------------------------------------------------- hostile files
def _window_state(window):
    """Everything of the window an Open could change."""
    plots, graph = window.panel("plots"), window.panel("graph")
    return (window.model.script.script_text(), window.model.script.path, window.model.script.is_dirty(),
            window.windowTitle(), plots.view_state() if plots else None,
            graph.view_state() if graph else None, window.runner.client.pid)


@pytest.mark.parametrize("view, field", [
    ('{"plots": {"points": 2147483648}}', "view.plots.points"),
    ('{"graph": {"zoom": 1' + "0" * 400 + "}}", "view.graph.zoom"),
    ('{"graph": {"zoom": 1.5}, "plots": {"points": 1e999}}', "damaged or not JSON"),
])
def test_out_of_range_view_state_changes_nothing(qtbot, window, helpers, tmp_path, shown_errors,
                                                 monkeypatch, view, field):
    helpers.set_script(window, "x = 1  # my unsaved work\n")
    sessions = []
    monkeypatch.setattr(window.runner, "new_session", lambda: sessions.append(1))
    before = _window_state(window)
    bad = tmp_path / "bad.gradstudio"
    bad.write_text('{"format": "gradstudio", "version": 1, "script": "new", "view": %s}' % view)
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda parent, name: "discard")
    assert not window.documents.open(str(bad))
    [(title, text)] = shown_errors
    assert title == "Cannot open bad.gradstudio" and field in text and len(text) < 300
    assert _window_state(window) == before and sessions == [], "nothing in the window changed"


def test_valid_view_state_is_applied(qtbot, window, tmp_path, no_questions):
    path = tmp_path / "v.gradstudio"
    path.write_text(files.to_json(files.Project(
        script="x = 1\n", view={"plots": {"points": 401, "auto_range": False, "lo": -3, "hi": 7.5}})))
    assert window.documents.open(str(path))
    plots = window.panel("plots")
    assert (plots.points.value(), plots.lo.value(), plots.hi.value()) == (401, -3.0, 7.5)


def test_the_view_schema_matches_the_panels_widgets(window):
    """The ranges project.py checks are the ranges the widgets take (no silent clamping)."""
    from gradstudio.ui.graph import view as graph_view
    plots = window.panel("plots")
    spec = {f.name: f.metadata for f in __import__("dataclasses").fields(files.PlotsView)}
    assert (spec["points"]["lo"], spec["points"]["hi"]) == (plots.points.minimum(), plots.points.maximum())
    assert (spec["lo"]["lo"], spec["lo"]["hi"]) == (plots.lo.minimum(), plots.lo.maximum())
    assert set(spec["tab"]["choices"]) == set(__import__("gradstudio.ui.panels.plots", fromlist=["TABS"]).TABS)
    zoom = {f.name: f.metadata for f in __import__("dataclasses").fields(files.GraphView)}["zoom"]
    assert (zoom["lo"], zoom["hi"]) == (graph_view.MIN_ZOOM, graph_view.MAX_ZOOM)


def test_a_saved_project_never_holds_infinity(qtbot, window, helpers, tmp_path, monkeypatch, no_questions):
    reported = []
    monkeypatch.setattr(window.reporter, "report", lambda summary, details="": reported.append(summary))
    monkeypatch.setattr(window.panel("graph"), "view_state", lambda: {"zoom": float("inf")})
    helpers.set_script(window, "x = 1\n")
    path = tmp_path / "inf.gradstudio"
    assert window.documents.save_as(str(path))
    assert "Infinity" not in path.read_text() and "graph" not in files.load(str(path)).view
    assert reported and "graph panel" in reported[0]
    assert window.documents.open(str(path))


def test_bad_recovery_files_do_not_hide_a_good_one(qtbot, make_window, tmp_path, monkeypatch):
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    dead = 2 ** 22 + 99
    for name, info in [("recovery-1-pid.gradstudio", {"original": None, "saved_at": 5.0, "pid": 2 ** 63}),
                       ("recovery-2-time.gradstudio", {"original": None, "saved_at": 1e300, "pid": dead}),
                       ("recovery-3-text.gradstudio", "text"),
                       ("recovery-4-good.gradstudio", {"original": None, "saved_at": 1.0, "pid": dead})]:
        (recovery / name).write_text(files.to_json(files.Project(script=name), {"recovery": info}))
    asked = []
    monkeypatch.setattr(dialogs, "ask_recover", lambda parent, text: asked.append(text) or "recover")
    window = make_window(recovery_dir=str(recovery))
    messages = []
    window.documents.message.connect(messages.append)
    assert window.documents.offer_recovery()
    assert window.model.script.script_text() == "recovery-4-good.gradstudio" and len(asked) == 1
    assert any("3 damaged recovery files were set aside" in m for m in messages)
    assert sorted(n for n in os.listdir(recovery) if n.endswith(".damaged")) == [
        "recovery-1-pid.gradstudio.damaged", "recovery-2-time.gradstudio.damaged",
        "recovery-3-text.gradstudio.damaged"]


def test_autosave_follows_the_last_edit_by_seconds(qtbot, make_window, helpers, tmp_path):
    from gradstudio.ui.settings import Settings
    settings = Settings()
    assert settings.autosave_seconds() <= 5, "the default loses at most a few seconds of typing"
    settings.set_autosave_seconds(1)
    recovery = tmp_path / "recovery"
    window = make_window(settings, recovery_dir=str(recovery), autosave=True)
    timer = window.documents._autosave
    assert timer.isSingleShot() and not timer.isActive()
    helpers.set_script(window, "# %%\ntyped = 1\n")
    assert timer.isActive(), "an edit starts the countdown"
    qtbot.waitUntil(lambda: recovery.exists() and len(os.listdir(recovery)) == 1, timeout=5000)
    [copy] = os.listdir(recovery)
    assert json.loads((recovery / copy).read_text())["script"] == "# %%\ntyped = 1\n"
    assert not timer.isActive(), "no edits, no more writes"


def test_save_as_notebook_from_the_window(qtbot, window, helpers, tmp_path, monkeypatch, no_questions):
    import nbformat
    helpers.set_script(window, "# %%\nimport torch\n# %% [markdown]\n# Some *notes*\n# %%\nx = 2\n")
    target = tmp_path / "lesson"
    monkeypatch.setattr(dialogs, "ask_save_path", lambda parent, suggested: str(target) + ".ipynb")
    window.actions["save_as"].trigger()
    saved = tmp_path / "lesson.ipynb"
    nb = nbformat.read(str(saved), as_version=4)
    assert [(c.cell_type, c.source) for c in nb.cells] == [
        ("code", "import torch"), ("markdown", "Some *notes*"), ("code", "x = 2")]
    assert window.model.script.path == str(saved) and not window.model.script.is_dirty()
    # Save writes the notebook in place, without asking for a name
    monkeypatch.setattr(dialogs, "ask_save_path", lambda *a: pytest.fail("asked for a name"))
    window.panel("script").editor.insertPlainText("# top")
    window.actions["save"].trigger()
    assert nbformat.read(str(saved), as_version=4).cells[-1].source == "x = 2\n# top"
    assert [n for n in os.listdir(tmp_path) if n.startswith("lesson") or n.endswith(".tmp")] == \
        ["lesson.ipynb"]


def test_the_save_dialog_offers_notebooks(monkeypatch):
    from PySide6.QtWidgets import QFileDialog
    seen = {}

    def fake(parent, title, suggested, filters, options=None):
        seen["filters"] = filters
        return "/tmp/x/lesson", "Jupyter notebook (*.ipynb)"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", fake)
    assert dialogs.ask_save_path(None, "/tmp/x/lesson.gradstudio") == "/tmp/x/lesson.ipynb"
    assert "Jupyter notebook (*.ipynb)" in seen["filters"]


def test_a_panel_that_fails_to_restore_does_not_leave_open_half_done(qtbot, window, tmp_path,
                                                                     monkeypatch, no_questions):
    reported = []
    monkeypatch.setattr(window.reporter, "report", lambda summary, details="": reported.append(summary))

    def broken(state):
        raise RuntimeError("a bug in the panel")
    monkeypatch.setattr(window.panel("graph"), "restore_view_state", broken)
    sessions = []
    monkeypatch.setattr(window.runner, "new_session", lambda: sessions.append(1))
    path = tmp_path / "p.gradstudio"
    path.write_text(files.to_json(files.Project(script="y = 2\n", view={"graph": {"zoom": 2},
                                                                        "plots": {"points": 7}})))
    assert window.documents.open(str(path))
    assert window.model.script.script_text() == "y = 2\n" and window.panel("plots").points.value() == 7
    assert sessions == [1], "the new document got its fresh kernel"
    assert reported == ["graph panel: could not restore its view"]
