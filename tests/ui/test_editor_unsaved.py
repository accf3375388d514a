"""Design edits are unsaved changes of the project: the title's asterisk and the
save prompt follow each design's undo stack (undo back to the saved state is clean)."""
from __future__ import annotations

import pytest

from gradstudio.ui import dialogs
from gradstudio.ui.editor.panel import example_designs

from test_editor_canvas import editor_panel

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def quiet(tab):
    """No live runs: this test is about the file, not the kernel."""
    tab.live.timer.stop()
    tab.live.enabled = False
    return tab


def test_a_design_edit_marks_the_project_modified_and_undo_to_the_saved_state_clears_it(
        qtbot, window, tmp_path, monkeypatch):
    panel = editor_panel(qtbot, window)
    script = window.model.script
    assert not script.is_dirty() and not window.isWindowModified()
    tab = quiet(panel.open_example(next(p for t, p in example_designs() if "sigmoid" in t)))
    assert script.is_dirty() and window.isWindowModified()      # saving would add this design
    path = tmp_path / "designs.gradstudio"
    assert window.documents.save_as(str(path))
    assert not script.is_dirty() and not window.isWindowModified() and tab.document.undo_stack.isClean()
    # an edit in the editor: the title's asterisk, and closing asks to save
    leaf = next(n for n, node in tab.document.design.nodes.items() if node.name == "w")
    assert tab.document.set_value(leaf, "[0.25, -0.5, 1.0]") is None
    assert script.is_dirty() and window.isWindowModified()
    asked = []
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda parent, name: asked.append(name) or "cancel")
    assert not window.documents.confirm_discard() and asked == ["designs.gradstudio"]
    # undo back to the saved state: clean again, no prompt
    tab.document.undo_stack.undo()
    assert not script.is_dirty() and not window.isWindowModified()
    assert window.documents.confirm_discard() and len(asked) == 1
    # redo, save: clean; the reopened file holds the edit and opens clean
    tab.document.undo_stack.redo()
    assert script.is_dirty()
    assert window.documents.save()
    assert not script.is_dirty() and not window.isWindowModified()
    assert window.documents.open(str(path), interactive=False), window.documents.last_error
    for i in range(panel.tabs.count()):
        quiet(panel.tabs.widget(i))
    reopened = panel.current().document.design
    assert reopened.nodes[leaf].value == "[0.25, -0.5, 1.0]"
    assert not script.is_dirty() and not window.isWindowModified()
    # closing a design the file holds is an unsaved change too
    panel.close_tab(panel.tabs.currentIndex())
    assert script.is_dirty()


def test_exporting_a_script_keeps_the_designs_and_asks_nothing_about_them(qtbot, window, monkeypatch):
    panel = editor_panel(qtbot, window)
    tab = quiet(panel.open_example(next(p for t, p in example_designs() if "seed" in p.name)))
    leaf = next(n for n, node in tab.document.design.nodes.items() if node.kind == "leaf")
    assert tab.document.set_value(leaf, "ones(3, 3)") is None and window.model.script.is_dirty()
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda parent, name: pytest.fail("asked to save"))
    text = panel.export_script()
    assert window.model.script.script_text() == text
    # the new untitled document holds the open designs, which no file holds yet
    assert panel.current() is tab and window.model.script.is_dirty() and window.isWindowModified()
