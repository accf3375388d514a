"""New, Open, Save, Save As, examples, recent files, autosave and crash recovery.

:class:`DocumentController` moves documents between disk
(:mod:`gradstudio.studio.project`) and the model. Opening a file never runs it; it
gives the document a fresh kernel. A file that cannot be opened leaves the
current document exactly as it was and says why: :func:`project.load`
checks the whole file (view state included) before anything in the window
changes. A notebook opens as itself and saves back as a notebook.

While the document has unsaved changes it is copied to a recovery file in the
platform's state directory (never over the user's file) a few seconds after
the last edit (debounced, and at the latest :data:`AUTOSAVE_MAX_WAIT` seconds
after the first unsaved edit while the user keeps typing); that copy is
offered on the next start if the app did not exit cleanly, and deleted after a
clean save, New/Open, or exit. Damaged recovery files are set aside and
reported without hiding the good ones.
"""
from __future__ import annotations

import os
import time

from PySide6.QtCore import QObject, QTimer, Signal

from gradstudio.studio import project as files
from . import dialogs

AUTOSAVE_MAX_WAIT = 30.0      # seconds: continuous typing still gets a copy this often
SAVABLE_SUFFIXES = (files.PROJECT_SUFFIX, ".py", files.NOTEBOOK_SUFFIX)


class DocumentController(QObject):
    recentChanged = Signal()
    documentOpened = Signal(str)          # display name
    message = Signal(str)                 # a short status-bar message

    def __init__(self, window, model, runner, settings, *, recovery_dir: str | None = None,
                 autosave: bool = True):
        super().__init__(window)
        self.window = window
        self.model = model
        self.runner = runner
        self.settings = settings
        self.recovery_dir = recovery_dir
        self.recovery_path = files.new_recovery_path(recovery_dir) if recovery_dir else None
        self.last_error: str | None = None
        # single-shot, restarted by every edit: the copy is written once typing pauses
        self._autosave = QTimer(self, singleShot=True, timeout=self.autosave_now)
        self._autosave.setInterval(self.settings.autosave_seconds() * 1000)
        self._first_unsaved_edit: float | None = None
        if autosave and recovery_dir:
            model.script.document.contentsChanged.connect(self._edited)
            model.script.dirtyChanged.connect(self._on_dirty_changed)

    # -- commands --------------------------------------------------------------------------------
    def new(self) -> bool:
        if not self.confirm_discard():
            return False
        self._replace(files.Project(script="# %%\nimport torch\n\n"), None, "untitled.gradstudio")
        return True

    def open_text(self, text: str, untitled_name: str) -> bool:
        """A new untitled script document holding ``text`` (the node editor's export; its
        designs stay open in the new document, so only the script's changes are asked about)."""
        if not self.confirm_discard(parts=False):
            return False
        self._replace(files.Project(script=text), None, untitled_name)
        return True

    def open(self, path: str | None = None, *, interactive: bool = True) -> bool:
        """Open ``path`` (ask for one if None). On failure nothing changes and the
        reason is shown (or, with ``interactive=False``, kept in :attr:`last_error`)."""
        if interactive and not self.confirm_discard():
            return False
        if path is None:
            path = dialogs.ask_open_path(self.window, self.settings.last_directory())
            if not path:
                return False
        path = os.path.abspath(path)
        try:
            loaded = files.load(path)
        except files.ProjectError as error:
            self._fail(f"Cannot open {os.path.basename(path)}", str(error), interactive)
            if not os.path.exists(path):
                self.settings.remove_recent(path)
                self.recentChanged.emit()
            return False
        self._replace(loaded, path, None)
        self.settings.set_last_directory(os.path.dirname(path))
        self.settings.add_recent(path)
        self.recentChanged.emit()
        return True

    def open_example(self, path: str) -> bool:
        """An example opens as an untitled copy (the installed file stays as shipped)."""
        if not self.confirm_discard():
            return False
        try:
            loaded = files.load(path)
        except files.ProjectError as error:
            self._fail("Cannot open the example", str(error), True)
            return False
        stem = os.path.splitext(os.path.basename(path))[0]
        self._replace(loaded, None, f"{stem}.gradstudio")
        return True

    def save(self) -> bool:
        path = self.model.script.path
        if path is None or os.path.splitext(path)[1].lower() not in SAVABLE_SUFFIXES:
            return self.save_as()
        return self._write(path)

    def save_as(self, path: str | None = None) -> bool:
        if path is None:
            suggested = self.model.script.path or os.path.join(self.settings.last_directory() or
                                                        os.path.expanduser("~"),
                                                        self.model.script.untitled_name)
            path = dialogs.ask_save_path(self.window, suggested)
            if not path:
                return False
        return self._write(os.path.abspath(path))

    def confirm_discard(self, *, parts: bool = True) -> bool:
        """True when the current document may be replaced (saved, discarded, or clean);
        ``parts`` False: its designs are kept, only the script's own changes count."""
        if not self.model.script.is_dirty(parts=parts):
            return True
        answer = dialogs.ask_save_changes(self.window, self.model.script.display_name())
        if answer == "save":
            return self.save()
        return answer == "discard"

    def close_document(self):
        """The window is closing cleanly: the recovery copy is not needed."""
        self._autosave.stop()
        files.remove_file(self.recovery_path)

    # -- recovery ------------------------------------------------------------------------------------
    def _edited(self):
        """An edit: (re)start the countdown to the recovery copy, unless the first unsaved
        edit is already :data:`AUTOSAVE_MAX_WAIT` old (then let the running one fire).
        Re-colouring also says the contents changed (``markContentsDirty``) without
        modifying the text: that is not an edit."""
        if not self.model.script.document.isModified():
            return
        now = time.monotonic()
        if self._first_unsaved_edit is None:
            self._first_unsaved_edit = now
        if self._autosave.isActive() and now - self._first_unsaved_edit >= AUTOSAVE_MAX_WAIT:
            return
        self._autosave.start()

    def _on_dirty_changed(self, dirty: bool):
        if dirty:
            self._edited()
        else:  # saved, opened or new: nothing unsaved, no copy pending
            self._autosave.stop()
            self._first_unsaved_edit = None

    def autosave_now(self) -> bool:
        self._first_unsaved_edit = None
        if not self.recovery_path or not self.model.script.is_dirty():
            return False
        try:
            files.write_recovery(self.recovery_path, self.current_project(), self.model.script.path)
        except (files.ProjectError, OSError) as error:
            self.message.emit(f"Autosave failed: {error}")
            return False
        self.message.emit(f"Autosaved a recovery copy at {time.strftime('%H:%M')}")
        return True

    def offer_recovery(self) -> bool:
        """Offer the newest copy left by a crashed session. True if one was recovered."""
        if not self.recovery_dir:
            return False
        scan = files.scan_recoveries(self.recovery_dir)
        if scan.damaged:
            where = os.path.dirname(scan.damaged[0][0])
            self.message.emit(f"{len(scan.damaged)} damaged recovery file"
                              f"{'s were' if len(scan.damaged) != 1 else ' was'} set aside in "
                              f"{where}: {scan.damaged[0][1]}")
        if not scan.found:
            return False
        newest = scan.found[0]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(newest.saved_at))
        what = os.path.basename(newest.original) if newest.original else "an unsaved document"
        answer = dialogs.ask_recover(self.window, f"An autosaved copy of {what} from {when} was found.")
        if answer == "later":
            return False
        if answer == "discard":
            files.remove_file(newest.path)
            return False
        original = newest.original if newest.original and os.path.exists(os.path.dirname(newest.original)) else None
        self._replace(newest.project, original, None if original else "recovered.gradstudio")
        self.model.script.mark_dirty()
        self.model.script.document.setModified(True)
        files.remove_file(newest.path)
        self.autosave_now()
        return True

    # -- helpers ---------------------------------------------------------------------------------------
    def current_project(self) -> files.Project:
        view = self.window.collect_view_state() if hasattr(self.window, "collect_view_state") else {}
        designs, current = self.window.collect_designs() if hasattr(self.window, "collect_designs") else ([], 0)
        return files.Project(script=self.model.script.script_text(), view=view, designs=designs,
                             current_design=current)

    def _replace(self, loaded: files.Project, path: str | None, untitled_name: str | None):
        self.model.script.set_script(loaded.script, path, untitled_name=untitled_name)
        self.model.script.view_state = dict(loaded.view)
        if hasattr(self.window, "restore_view_state"):
            self.window.restore_view_state(loaded.view)
        if hasattr(self.window, "restore_designs"):
            self.window.restore_designs(loaded.designs, loaded.current_design)
        self.runner.new_session()
        files.remove_file(self.recovery_path)
        self.documentOpened.emit(self.model.script.display_name())

    def _write(self, path: str) -> bool:
        try:
            files.save(self.current_project(), path)
        except files.ProjectError as error:
            self._fail("Cannot save", str(error), True)
            return False
        self.model.script.set_path(path)
        self.model.script.mark_clean()
        files.remove_file(self.recovery_path)
        self.settings.set_last_directory(os.path.dirname(path))
        self.settings.add_recent(path)
        self.recentChanged.emit()
        self.message.emit(f"Saved {os.path.basename(path)}")
        return True

    def _fail(self, title: str, text: str, interactive: bool):
        self.last_error = text
        if interactive:
            dialogs.show_error(self.window, title, text)
        else:
            self.message.emit(text)
