"""Every modal dialog the app opens goes through here.

One facade, so tests replace these functions (``monkeypatch.setattr(dialogs,
"ask_open_path", …)``) and a test never blocks on a real modal dialog. File
dialogs are Qt's own (not native) widgets.
"""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox

OPEN_FILTER = ("GradStudio files (*.gradstudio *.py *.ipynb);;GradStudio projects (*.gradstudio);;"
               "Python scripts (*.py);;Jupyter notebooks (*.ipynb);;All files (*)")
SAVE_FILTER = ("GradStudio project (*.gradstudio);;Python script (*.py);;"
               "Jupyter notebook (*.ipynb)")
_FILTER_SUFFIXES = {"Python": ".py", "Jupyter": ".ipynb"}
_OPTIONS = QFileDialog.Option.DontUseNativeDialog


def ask_open_path(parent, directory: str = "") -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open", directory, OPEN_FILTER, options=_OPTIONS)
    return path or None


def ask_save_path(parent, suggested: str) -> str | None:
    path, chosen = QFileDialog.getSaveFileName(parent, "Save As", suggested, SAVE_FILTER,
                                               options=_OPTIONS)
    if not path:
        return None
    if "." not in path.rsplit("/", 1)[-1]:
        path += next((suffix for name, suffix in _FILTER_SUFFIXES.items() if chosen.startswith(name)),
                     ".gradstudio")
    return path


def ask_directory(parent, title: str, directory: str = "") -> str | None:
    path = QFileDialog.getExistingDirectory(parent, title, directory,
                                            options=_OPTIONS | QFileDialog.Option.ShowDirsOnly)
    return path or None


def ask_save_changes(parent, name: str) -> str:
    """'save' | 'discard' | 'cancel'."""
    answer = QMessageBox.question(
        parent, "Unsaved changes", f"Save the changes to {name}?",
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)
    return {QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard"}.get(answer, "cancel")


def ask_recover(parent, description: str) -> str:
    """A crash left an autosaved copy: 'recover' | 'discard' | 'later'."""
    box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work",
                      f"GradStudio did not close properly last time. {description}\n\n"
                      "Recover it?", parent=parent)
    recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    clicked = box.clickedButton()
    return "recover" if clicked is recover else "discard" if clicked is discard else "later"


def show_error(parent, title: str, text: str):
    QMessageBox.warning(parent, title, text)


def choose_example(parent, examples: list) -> str | None:
    """The examples gallery: pick one of ``examples`` ([(title, description, path)])."""
    from .widgets.examples_dialog import ExamplesDialog
    dialog = ExamplesDialog(examples, parent)
    return dialog.selected_path() if dialog.exec() else None
