"""The main window: dock panels from the registry, menus, toolbar, status bar.

It owns the model, the runner (and through it the kernel), the document
controller and the settings, builds every available panel from
:data:`gradstudio.ui.panels.PANELS`, and persists the layout. Menu and
toolbar commands are :class:`QAction`\\s kept in :attr:`MainWindow.actions`
(tests trigger them by name).
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QLabel, QMainWindow, QTabWidget,
                               QPushButton, QTextBrowser, QDialog, QVBoxLayout, QWidget)

from gradstudio.studio import project as files

from . import dialogs, examples, theme
from .documents import DocumentController
from .errors import ErrorReporter
from .model import AppModel
from .panels import PanelContext, available_panels
from .runner import Runner
from .settings import Settings, recovery_directory
from .widgets.busy_indicator import BusyIndicator
from .widgets.error_log import ErrorLog
from .zoom import Zoom

AREAS = {"left": Qt.DockWidgetArea.LeftDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
         "top": Qt.DockWidgetArea.TopDockWidgetArea, "bottom": Qt.DockWidgetArea.BottomDockWidgetArea}
LAYOUT_VERSION = 1
APP_NAME = "GradStudio"


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, *, reporter: ErrorReporter | None = None,
                 recovery_dir: str | None = "default", autosave: bool = True,
                 restore_layout: bool = True, start_kernel: bool = True):
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.settings = settings or Settings()
        self.reporter = reporter or ErrorReporter(self)
        self.model = AppModel(self)
        self.runner = Runner(self.model, parent=self, derive_timeout=self.settings.derive_timeout())
        if recovery_dir == "default":
            recovery_dir = recovery_directory()
        self.documents = DocumentController(self, self.model, self.runner, self.settings,
                                            recovery_dir=recovery_dir, autosave=autosave)
        self.context = PanelContext(self.model, self.runner, self.settings, self)
        self.actions: dict = {}
        self.panels: dict = {}
        self.docks: dict = {}
        self.specs: dict = {}
        self.error_log: ErrorLog | None = None
        self._closed = False
        self._sized = False

        # A hidden central widget: every panel is a dock the user can move or hide.
        central = QWidget()
        central.hide()
        self.setCentralWidget(central)
        self.setDockNestingEnabled(True)
        self.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowNestedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        self._build_panels()
        self.zoom = Zoom(self.panels.values(), self)
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self.model.script.set_script("", None)
        self.resize(1440, 900)
        self.place_docks()
        if restore_layout:
            self.restore_layout()
        self._update_title()
        if start_kernel:
            self.runner.start()

    # -- panels --------------------------------------------------------------------------------------
    def _build_panels(self):
        for panel in available_panels():
            spec = panel.spec
            widget = panel.factory(self.context)
            widget.setObjectName(f"panel_{spec.name}")
            dock = QDockWidget(spec.title, self)
            dock.setObjectName(f"dock_{spec.name}")
            dock.setWidget(widget)
            dock.setToolTip(spec.tooltip)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                             | QDockWidget.DockWidgetFeature.DockWidgetClosable)
            self.panels[spec.name] = widget
            self.docks[spec.name] = dock
            self.specs[spec.name] = spec

    def place_docks(self):
        """The default layout: Script on the left, the rest on the right as the registry
        says. Splits are made first and tabs last (splitting a tabbed dock would only
        add another tab)."""
        for dock in self.docks.values():
            dock.setFloating(False)
            self.removeDockWidget(dock)
        chosen = {}
        for name in self.docks:
            relation = other = None
            for candidate, target in self.specs[name].placement:
                if target in self.docks:
                    relation, other = candidate, target
                    break
            chosen[name] = (relation, other)
        order = [n for n in self.docks if chosen[n][0] != "tab"] + \
                [n for n in self.docks if chosen[n][0] == "tab"]
        placed = set()
        for name in order:
            dock, spec = self.docks[name], self.specs[name]
            relation, other = chosen[name]
            if relation is not None and other in placed:
                if relation == "tab":
                    self.tabifyDockWidget(self.docks[other], dock)
                else:
                    orientation = (Qt.Orientation.Vertical if relation == "below"
                                   else Qt.Orientation.Horizontal)
                    self.splitDockWidget(self.docks[other], dock, orientation)
            else:
                self.addDockWidget(AREAS.get(spec.area, Qt.DockWidgetArea.RightDockWidgetArea), dock)
            dock.setVisible(spec.visible)
            placed.add(name)
        for name in order:
            relation, other = chosen[name]
            if relation == "tab":
                self.docks[other].raise_()      # the panel tabbed onto stays behind its host
        self._default_sizes()

    def reset_layout(self):
        self.place_docks()
        QTimer.singleShot(0, self._default_sizes)

    def _default_sizes(self):
        """Script ≈ 40 % of the width; on the right the Graph above, Compare (and its
        tabs) below with the Inspector beside it."""
        width, height = self.width(), self.height()
        shown = {n for n, d in self.docks.items() if not d.isHidden() and not d.isFloating()}
        right = next((n for n in ("graph", "compare", "plots", "inspector") if n in shown), None)
        if "script" in shown and right:
            self.resizeDocks([self.docks["script"], self.docks[right]],
                             [int(width * 0.40), int(width * 0.60)], Qt.Orientation.Horizontal)
        if "compare" in shown and "inspector" in shown:
            self.resizeDocks([self.docks["compare"], self.docks["inspector"]],
                             [int(width * 0.44), int(width * 0.16)], Qt.Orientation.Horizontal)
        if "graph" in shown and "compare" in shown:
            self.resizeDocks([self.docks["graph"], self.docks["compare"]],
                             [int(height * 0.52), int(height * 0.48)], Qt.Orientation.Vertical)

    def panel(self, name: str):
        return self.panels.get(name)

    def open_as_nodes(self, call_index: int):
        """A recorded backward call as an editable design in the node editor (its dock raised):
        "Open as nodes" from the Graph and Compare panels."""
        editor = self.panels.get("editor")
        record = self.model.calls.call(call_index)
        if editor is None or record is None:
            return None
        self.docks["editor"].show()
        self.docks["editor"].raise_()
        return editor.editor.open_call(record)

    # -- actions and menus ----------------------------------------------------------------------------
    def _action(self, name, text, slot, shortcut=None, tip="", checkable=False) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcuts([QKeySequence(s) for s in (shortcut if isinstance(shortcut, (list, tuple))
                                                           else [shortcut])])
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{text.replace('&', '').rstrip('…')}"
                              f"{' (' + action.shortcut().toString(QKeySequence.SequenceFormat.NativeText) + ')' if shortcut else ''}"
                              f" — {tip}")
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.actions[name] = action
        self.addAction(action)
        return action

    def _build_actions(self):
        a = self._action
        a("new", "&New", lambda: self.documents.new(), QKeySequence.StandardKey.New, "Start an empty script")
        a("open", "&Open…", lambda: self.documents.open(), QKeySequence.StandardKey.Open,
          "Open a .gradstudio project, a .py script or an .ipynb notebook (nothing runs until you press Run)")
        a("save", "&Save", lambda: self.documents.save(), QKeySequence.StandardKey.Save, "Save the document")
        a("save_as", "Save &As…", lambda: self.documents.save_as(), QKeySequence.StandardKey.SaveAs,
          "Save the document under a new name")
        a("quit", "&Quit", self.close, QKeySequence.StandardKey.Quit, "Close GradStudio")
        a("run_cell", "Run &Cell", self._run_cell, ["Ctrl+Return", "Ctrl+Enter"],
          "Run the cell under the cursor")
        a("run_cell_advance", "Run Cell and &Advance", self._run_cell_advance,
          ["Shift+Return", "Shift+Enter"], "Run the cell under the cursor and move to the next")
        a("run_all", "Run &All", self.runner.run_all, "Ctrl+Shift+Return",
          "Run every cell from the top (a failed backward() does not stop the run)")
        a("interrupt", "&Interrupt", self.runner.interrupt, "Ctrl+I",
          "Stop the running cell or derivation (variables are kept)")
        a("restart", "&Restart Kernel", lambda: self.runner.restart(), "Ctrl+Shift+K",
          "Start a fresh kernel: all variables are cleared")
        a("clear_console", "C&lear Console", self.model.console.clear_console, None, "Clear the console output")
        a("examples", "&Examples…", self._choose_example, None, "Browse the examples")
        a("shortcuts", "&Keyboard Shortcuts", self._show_shortcuts, "F1", "List the keyboard shortcuts")
        a("about", "&About GradStudio", self._show_about, None, "About GradStudio")
        a("reset_layout", "&Reset Layout", self.reset_layout, None, "Put every panel back in its place")
        a("show_errors", "Show &Errors", self.show_error_log, None, "Show errors that happened in the app")
        a("zoom_in", "Zoom &In", self.zoom.zoom_in, ["Ctrl+=", "Ctrl++"],
          "Larger text in the editor, the console and the panels (also Ctrl+wheel)")
        a("zoom_out", "Zoom &Out", self.zoom.zoom_out, "Ctrl+-", "Smaller text")
        a("zoom_reset", "&Actual Size", self.zoom.reset, "Ctrl+0", "Text at its normal size")
        self.zoom.changed.connect(lambda level: self.statusBar().showMessage(f"Zoom {level} %", 3000))
        script = self.panels.get("script")
        if script is not None:
            self.zoom.watch_wheel(script.editor, script.console)
        self.actions["interrupt"].setEnabled(False)

    def _build_menus(self):
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for name in ("new", "open"):
            file_menu.addAction(self.actions[name])
        self.examples_menu = file_menu.addMenu("Open &Example")
        for title, description, path in examples.list_examples():
            action = self.examples_menu.addAction(title)
            action.setStatusTip(description)
            action.setToolTip(description)
            action.triggered.connect(lambda checked=False, p=path: self.documents.open_example(p))
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        file_menu.addSeparator()
        for name in ("save", "save_as"):
            file_menu.addAction(self.actions[name])
        file_menu.addSeparator()
        file_menu.addAction(self.actions["quit"])

        run_menu = bar.addMenu("&Run")
        for name in ("run_cell", "run_cell_advance", "run_all"):
            run_menu.addAction(self.actions[name])
        run_menu.addSeparator()
        for name in ("interrupt", "restart", "clear_console"):
            run_menu.addAction(self.actions[name])

        view_menu = bar.addMenu("&View")
        for name, dock in self.docks.items():
            toggle = dock.toggleViewAction()
            if self.specs[name].shortcut:
                toggle.setShortcut(QKeySequence(self.specs[name].shortcut))
            self.actions[f"show_{name}"] = toggle
            view_menu.addAction(toggle)
        view_menu.addSeparator()
        for name in ("zoom_in", "zoom_out", "zoom_reset"):
            view_menu.addAction(self.actions[name])
        view_menu.addSeparator()
        theme_menu = view_menu.addMenu("&Theme")
        group = QActionGroup(self)
        current = self.settings.theme()
        for value, label in (("system", "Follow the System"), ("light", "Light"), ("dark", "Dark")):
            action = theme_menu.addAction(label)
            action.setCheckable(True)
            action.setChecked(value == current)
            action.triggered.connect(lambda checked=False, v=value: self.set_theme(v))
            group.addAction(action)
            self.actions[f"theme_{value}"] = action
        view_menu.addAction(self.actions["reset_layout"])
        view_menu.addAction(self.actions["show_errors"])

        editor = self.panels.get("editor")
        if editor is not None:              # the node editor's Design menu
            bar.addMenu(editor.menu())

        help_menu = bar.addMenu("&Help")
        for name in ("examples", "shortcuts", "about"):
            help_menu.addAction(self.actions[name])

    def _build_toolbar(self):
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("toolbar_main")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for name in ("new", "open", "save", None, "run_cell", "run_cell_advance", "run_all", None,
                     "interrupt", "restart"):
            if name is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(self.actions[name])
        self.toolbar = toolbar

    def _build_status_bar(self):
        bar = self.statusBar()
        self.busy_indicator = BusyIndicator()
        self.busy_indicator.cancelRequested.connect(self.runner.interrupt)
        bar.addWidget(self.busy_indicator)
        self.error_button = QPushButton()
        self.error_button.setFlat(True)
        self.error_button.setStyleSheet(f"color: {theme.colors()['bad']}; font-weight: bold;")
        self.error_button.clicked.connect(self.show_error_log)
        self.error_button.hide()
        bar.addPermanentWidget(self.error_button)
        self.kernel_label = QLabel()
        self.kernel_label.setToolTip("The kernel runs your script in a separate process")
        bar.addPermanentWidget(self.kernel_label)

    def _connect(self):
        m = self.model
        m.script.dirtyChanged.connect(lambda dirty: self._update_title())
        m.script.pathChanged.connect(lambda path: self._update_title())
        m.kernel.busyChanged.connect(self._on_busy_changed)
        m.kernel.statusChanged.connect(self.busy_indicator.set_text)
        m.kernel.kernelStateChanged.connect(self._on_kernel_state)
        self.documents.message.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.documents.recentChanged.connect(self._fill_recent_menu)
        self.reporter.errorReported.connect(self._on_error)
        self.runner.internalError.connect(self.reporter.report)

    # -- commands ---------------------------------------------------------------------------------------
    def _script(self):
        return self.panels.get("script")

    def _run_cell(self):
        script = self._script()
        if script is not None:
            script.run_current_cell()

    def _run_cell_advance(self):
        script = self._script()
        if script is not None:
            script.run_current_cell_and_advance()

    def open_path(self, path: str, *, interactive: bool = True) -> bool:
        return self.documents.open(path, interactive=interactive)

    def _fill_recent_menu(self):
        menu = self.recent_menu
        menu.clear()
        recent = self.settings.recent_files()
        for path in recent:
            action = menu.addAction(os.path.basename(path))
            action.setStatusTip(path)
            action.setToolTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.documents.open(p))
        if not recent:
            menu.addAction("(none)").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear the List").triggered.connect(self._clear_recent)

    def _clear_recent(self):
        self.settings.clear_recent()
        self._fill_recent_menu()

    def _choose_example(self):
        path = dialogs.choose_example(self, examples.list_examples())
        if path:
            self.documents.open_example(path)

    def _show_shortcuts(self):
        rows = []
        for action in self.actions.values():
            keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
            if keys:
                rows.append(f"<tr><td><b>{keys}</b></td><td>&nbsp;&nbsp;{action.text().replace('&', '')}</td></tr>")
        rows.append("<tr><td><b>Ctrl+Enter</b> (in the editor)</td><td>&nbsp;&nbsp;Run the cell under the cursor</td></tr>")
        rows.append("<tr><td><b>Shift+Enter</b> (in the editor)</td><td>&nbsp;&nbsp;Run it and move to the next cell</td></tr>")
        self._info_window("Keyboard shortcuts", "<table>" + "".join(rows) + "</table>")

    def _show_about(self):
        from gradstudio import __version__
        self._info_window("About GradStudio",
                          f"<h3>GradStudio {__version__}</h3><p>A desktop explorer for automatic "
                          "differentiation: PyTorch-style code on a numpy autograd engine, every "
                          "gradient beside the closed form sympy derives and a finite-difference "
                          "estimate.</p><p>Scripts run in a separate kernel process; opening a file "
                          "never runs it.</p>")

    def _info_window(self, title: str, html: str):
        """A non-modal window (help text never blocks the app)."""
        window = QDialog(self)
        window.setWindowTitle(title)
        window.setModal(False)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        text = QTextBrowser()
        text.setHtml(html)
        layout = QVBoxLayout(window)
        layout.addWidget(text)
        window.resize(520, 420)
        window.show()
        return window

    def set_theme(self, value: str):
        self.settings.set_theme(value)
        theme.apply_theme(QApplication.instance(), value)
        self.error_button.setStyleSheet(f"color: {theme.colors()['bad']}; font-weight: bold;")

    def show_error_log(self):
        if self.error_log is None:
            self.error_log = ErrorLog(self)
            for summary, details in self.reporter.errors:
                self.error_log.add(summary, details)
        self.error_log.show()
        self.error_log.raise_()

    def _on_error(self, summary: str, details: str):
        count = len(self.reporter.errors)
        self.error_button.setText(f"⚠ {count} error{'s' if count != 1 else ''}: {summary[:80]}")
        self.error_button.setToolTip("Click to see the details")
        self.error_button.show()
        if self.error_log is not None:
            self.error_log.add(summary, details)
        self.statusBar().showMessage(f"Error: {summary}", 10000)

    # -- state ------------------------------------------------------------------------------------------
    def _on_busy_changed(self, busy: bool):
        self.actions["interrupt"].setEnabled(busy)
        self.busy_indicator.set_busy(busy)
        self.busy_indicator.set_text(self.model.kernel.status)

    def _on_kernel_state(self, state: str):
        text = {"starting": "starting…", "idle": "idle", "busy": "busy", "interrupting": "interrupting…",
                "stopped": "stopped"}.get(state, state)
        color = {"idle": theme.colors()["ok"], "busy": theme.colors()["hint"],
                 "interrupting": theme.colors()["bad"]}.get(state, theme.colors()["muted"])
        self.kernel_label.setText(f"<span style='color:{color}'>●</span> Kernel: {text}")

    def _update_title(self):
        self.setWindowTitle(f"{self.model.script.display_name()}[*] — {APP_NAME}")
        self.setWindowModified(self.model.script.is_dirty())

    # -- view state saved in projects -------------------------------------------------------------------
    def collect_view_state(self) -> dict:
        view = {}
        script = self._script()
        if script is not None:
            view["cursor"] = script.editor.textCursor().position()
        for name, panel in self.panels.items():
            if hasattr(panel, "view_state"):
                try:
                    # checked as loading checks it: what is saved always opens again
                    view[name] = files.clean_view_section(name, panel.view_state())
                except Exception as error:   # a panel's view state is never worth losing a save
                    self.reporter.report(f"{name} panel: could not save its view", repr(error))
        return view

    def collect_designs(self) -> tuple:
        """The node editor's designs for the project file's ``designs`` section."""
        editor = self.panels.get("editor")
        return editor.designs() if editor is not None and hasattr(editor, "designs") else ([], 0)

    def restore_designs(self, entries, current: int = 0):
        editor = self.panels.get("editor")
        if entries and editor is not None and hasattr(editor, "restore_designs"):
            editor.restore_designs(entries, current)

    def restore_view_state(self, view: dict):
        script = self._script()
        cursor = view.get("cursor")
        if script is not None and isinstance(cursor, int) and not isinstance(cursor, bool):
            c = script.editor.textCursor()
            c.setPosition(max(0, min(cursor, self.model.script.document.characterCount() - 1)))
            script.editor.setTextCursor(c)
        for name, panel in self.panels.items():
            if hasattr(panel, "restore_view_state") and isinstance(view.get(name), dict):
                # the values were checked on load (project.parse_view); a panel that still
                # fails is a bug to report, never an Open left half done
                try:
                    panel.restore_view_state(view[name])
                except Exception as error:
                    self.reporter.report(f"{name} panel: could not restore its view", repr(error))

    # -- layout persistence -----------------------------------------------------------------------------
    def save_layout(self):
        self.settings.set_geometry(self.saveGeometry())
        self.settings.set_window_state(self.saveState(LAYOUT_VERSION))
        self.settings.sync()

    def restore_layout(self):
        geometry = self.settings.geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.window_state()
        if state is not None and self.restoreState(state, LAYOUT_VERSION):
            self._sized = True

    def showEvent(self, event):
        super().showEvent(event)
        if not self._sized:
            # dock sizes only take once the window has its real size
            self._sized = True
            QTimer.singleShot(0, self._default_sizes)

    # -- closing ----------------------------------------------------------------------------------------
    def closeEvent(self, event):
        if not self._closed and not self.documents.confirm_discard():
            event.ignore()
            return
        self.save_layout()
        self.shutdown()
        event.accept()

    def shutdown(self):
        """Stop the kernel and timers, drop the recovery copy (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.documents.close_document()
        self.runner.shutdown()
        if self.error_log is not None:
            self.error_log.close()
