"""The Editor dock: palette, one tab per design document (each with its own
canvas, undo stack and live evaluation), a toolbar, and a status line.

From here a design opens from a recorded backward call ("Open as nodes":
``codegen.graph_to_design``), from a graph example, or empty; it is exported as
a PyTorch script (opened as a new script document), a NumPy script, a LaTeX
derivation, or as a PNG or SVG of the canvas. The open designs are the
project file's ``designs`` section (:meth:`EditorPanel.designs`), so saving the
project saves them.
"""
from __future__ import annotations

import json
import pathlib

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QAction, QImage, QPainter
from PySide6.QtWidgets import (QLabel, QMenu, QSplitter, QTabWidget, QToolBar, QToolButton, QVBoxLayout,
                               QWidget)

from gradstudio.studio import codegen, derivation_tex, numpy_script
from gradstudio.studio.project import ProjectError, write_atomic
from gradstudio.studio.design import Design, DesignError, from_json

from .document import EditorDocument
from .live import LiveEvaluator
from .palette import Palette
from .results import graph_from_record
from .scene import DesignScene
from .view import DesignView

EXAMPLES = pathlib.Path(__file__).resolve().parents[1].parent / "resources" / "examples" / "designs"


def example_designs() -> list:
    """``(title, path)`` of the graph examples, in their files' order."""
    from importlib import resources
    try:
        folder = resources.files("gradstudio.resources") / "examples" / "designs"
        paths = sorted(p for p in folder.iterdir() if p.name.endswith(".json"))
    except (ModuleNotFoundError, FileNotFoundError):
        paths = sorted(EXAMPLES.glob("*.json"))
    found = []
    for path in paths:
        data = json.loads(path.read_text())
        found.append((data.get("title", path.stem), path))
    return found


class EditorTab(QWidget):
    """One design document on its canvas."""

    def __init__(self, document: EditorDocument, runner=None, model=None, parent=None):
        super().__init__(parent)
        self.document = document
        self.scene = DesignScene(document, self)
        self.view = DesignView(document, self.scene, self)
        self.live = LiveEvaluator(document, self.scene, runner, model, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

    def close_document(self):
        self.live.close()
        self.scene.close()


class EditorPanel(QWidget):
    def __init__(self, context, parent=None):
        super().__init__(parent)
        self.context = context
        self.model = getattr(context, "model", None)
        self.runner = getattr(context, "runner", None)
        # not self.window / self.palette: those would shadow QWidget.window() and QWidget.palette()
        self.main_window = getattr(context, "window", None)
        self.op_palette = Palette(self)
        self.tabs = QTabWidget(self)
        self.tabs.setTabsClosable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.currentChanged.connect(lambda *_: self._on_tab_changed())
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.actions: dict = {}
        self.toolbar = self._build_toolbar()
        splitter = QSplitter(self)
        splitter.addWidget(self.op_palette)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([190, 700])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.toolbar)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        self.op_palette.tree.placeRequested.connect(self._place_at_centre)
        self._saved_tabs: set = set()        # the tabs whose designs the project file holds
        self._marking_saved = False
        if self.model is not None:           # saved, opened or new: the designs are as saved
            self.model.script.dirtyChanged.connect(lambda dirty: None if dirty else self._mark_saved())
        self.new_design()

    # -- toolbar -----------------------------------------------------------------------------
    def _build_toolbar(self) -> QToolBar:
        bar = QToolBar(self)
        bar.setIconSize(QSize(14, 14))

        def add(name, text, slot, tip):
            action = QAction(text, self)
            action.setToolTip(tip)
            action.triggered.connect(lambda checked=False: slot())
            bar.addAction(action)
            self.actions[name] = action
            return action
        add("new_design", "New", self.new_design, "A new, empty design")
        add("open_as_nodes", "Open as nodes", self.open_selected_call,
            "The selected backward call's recorded graph as an editable design")
        examples = QMenu("Examples", self)
        for title, path in example_designs():
            examples.addAction(title, lambda p=path: self.open_example(p))
        button = QToolButton(self)
        button.setText("Examples")
        button.setMenu(examples)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        bar.addWidget(button)
        self.examples_menu = examples
        bar.addSeparator()
        add("undo", "Undo", lambda: self.current().document.undo_stack.undo(), "Undo the last edit of this design")
        add("redo", "Redo", lambda: self.current().document.undo_stack.redo(), "Redo")
        add("layout", "Auto-layout", lambda: self._say(self.current().document.auto_layout()),
            "Place the nodes in layers, inputs on the left")
        add("fit", "Fit", lambda: self.current().view.fit(), "Show the whole design")
        add("collapse", "Collapse", self.collapse_selected,
            "Draw the selected nodes' group as one node (its name and external ports)")
        add("expand", "Expand", self.expand_selected, "Draw the selected collapsed groups' members again")
        bar.addSeparator()
        add("export_script", "PyTorch script", self.export_script,
            "The design as a PyTorch script, opened as a new script document")
        add("export_numpy", "NumPy script…", self.export_numpy_dialog,
            "f and its gradients computed with numpy alone (the matrix form's fAndG), saved as a .py file")
        add("export_latex", "LaTeX derivation…", self.export_latex_dialog,
            "The forward definitions, the local derivatives and each gradient's closed forms, as a .tex file")
        add("export_image", "Picture (PNG or SVG)…", self.export_image_dialog, "The canvas as a PNG or SVG picture")
        exports = QMenu("Export", self)
        for name in ("export_script", "export_numpy", "export_latex", "export_image"):
            bar.removeAction(self.actions[name])
            exports.addAction(self.actions[name])
        button = QToolButton(self)
        button.setText("Export")
        button.setMenu(exports)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        bar.addWidget(button)
        self.export_menu = exports
        return bar

    def menu(self) -> QMenu:
        """The window's Design menu (the same actions as the toolbar)."""
        menu = QMenu("&Design", self)
        for name in ("new_design", "open_as_nodes", "layout", "fit", "collapse", "expand"):
            menu.addAction(self.actions[name])
        menu.addMenu(self.examples_menu)
        menu.addMenu(self.export_menu)
        return menu

    # -- documents ---------------------------------------------------------------------------
    def current(self) -> EditorTab:
        return self.tabs.currentWidget()

    def add_document(self, design: Design, title: str) -> EditorTab:
        tab = EditorTab(EditorDocument(design), self.runner, self.model, self.tabs)
        tab.document.undo_stack.cleanChanged.connect(lambda clean: self._update_modified())
        tab.view.message.connect(self._say)
        tab.live.statusChanged.connect(lambda text, t=tab: self._say(text) if t is self.current() else None)
        self.tabs.addTab(tab, title)
        self.tabs.setCurrentWidget(tab)
        tab.view.request_fit()
        tab.live.schedule()
        self._update_modified()
        return tab

    def new_design(self) -> EditorTab:
        return self.add_document(Design(), f"design {self.tabs.count() + 1}")

    def close_tab(self, index: int):
        tab = self.tabs.widget(index)
        if tab is None:
            return
        tab.close_document()
        self.tabs.removeTab(index)
        tab.deleteLater()
        if self.tabs.count() == 0:
            self.new_design()
        self._update_modified()

    def _on_tab_changed(self):
        tab = self.current()
        if tab is not None:
            self._say(tab.live.status)

    def open_example(self, path) -> EditorTab | None:
        data = json.loads(pathlib.Path(path).read_text())
        try:
            design = from_json(data["design"])
        except (DesignError, KeyError) as error:
            self._say(f"The example cannot be opened: {error}")
            return None
        return self.add_document(design, data.get("title", pathlib.Path(path).stem))

    def open_call(self, record) -> EditorTab | None:
        """'Open as nodes': a recorded backward call as a new design."""
        data = record.data if hasattr(record, "data") else record
        graph = data.get("graph") if isinstance(data, dict) else getattr(data, "graph", None)
        if not graph:
            self._say("This backward call has no recorded graph to open.")
            return None
        try:
            design = codegen.graph_to_design(graph_from_record(graph), gradient=_get(data, "gradient"))
        except (DesignError, KeyError, ValueError) as error:
            self._say(f"Cannot open as nodes: {error}")
            return None
        root = _get(data, "root") or {}
        name = _get(root, "name") or "expression"
        return self.add_document(design, f"{name}.backward()")

    def open_selected_call(self):
        if self.model is None:
            return None
        index = self.model.selection.current.call
        calls = self.model.calls.call_list()
        record = self.model.calls.call(index) if index is not None else (calls[-1] if calls else None)
        if record is None:
            self._say("Run a script with a backward() call first, then open its graph as nodes.")
            return None
        return self.open_call(record)

    def collapse_selected(self) -> str | None:
        """Collapse the groups of the selected nodes (Ctrl+G first makes one)."""
        tab = self.current()
        groups = dict.fromkeys(g for g in (tab.document.design.group_of(n) for n in tab.scene.selected_ids()) if g)
        if not groups:
            self._say("Select nodes of a group (Ctrl+G groups the selection), then collapse it.")
            return None
        for name in groups:
            self._say(tab.document.collapse(name))
        return next(iter(groups))

    def expand_selected(self) -> list:
        from .group_item import CollapsedGroupItem
        tab = self.current()
        names = [i.name for i in tab.scene.selectedItems() if isinstance(i, CollapsedGroupItem)]
        for name in names:
            self._say(tab.document.expand(name))
        return names

    def _place_at_centre(self, key: str):
        tab = self.current()
        centre = tab.view.mapToScene(tab.view.viewport().rect().center())
        tab.view.place(key, centre)

    # -- exports -----------------------------------------------------------------------------
    def export_script(self) -> str | None:
        try:
            text = codegen.design_to_script(self.current().document.design)
        except DesignError as error:
            self._say(f"Cannot export: {error}")
            return None
        documents = getattr(self.main_window, "documents", None)
        if documents is not None and hasattr(documents, "open_text") and documents.open_text(text, "design.py"):
            self._saved_tabs = set()        # the new untitled document holds the designs, unsaved
            self._update_modified()
        return text

    def export_numpy(self, path: str | None = None) -> str | None:
        """The design as a NumPy script (:mod:`gradstudio.studio.numpy_script`), written
        to ``path`` if given; None (and the reason in the status line) when it has none."""
        try:
            text = numpy_script.design_to_numpy(self.current().document.design)
        except DesignError as error:
            self._say(f"Cannot export as NumPy: {error}")
            return None
        return self._write_export(text, path)

    def export_latex(self, path: str | None = None) -> str | None:
        """The design's derivation as a LaTeX document (:mod:`gradstudio.studio.derivation_tex`),
        its closed forms from the design's latest checked run (Compare's), else derived here."""
        tab = self.current()
        design = tab.document.design
        try:
            leaves = self._derivations(tab)
            text = derivation_tex.derivation_document(design, leaves, self.tabs.tabText(self.tabs.currentIndex()))
        except DesignError as error:
            self._say(f"Cannot export the derivation: {error}")
            return None
        return self._write_export(text, path)

    def _derivations(self, tab) -> list:
        record = self.model.calls.call(tab.live.call_index) if (
            self.model is not None and tab.live.call_index is not None) else None
        check = getattr(record, "check", None)
        if check is not None and not check.cancelled and check.leaves:
            return [derivation_tex.from_formula(leaf.name or f"leaf{leaf.vertex}", leaf) for leaf in check.leaves]
        if self.runner is not None:
            raise DesignError("its closed forms are still being derived; export again when Compare shows them")
        return derivation_tex.derive_locally(tab.document.design)

    def _write_export(self, text: str, path: str | None) -> str | None:
        if path is not None:
            try:
                write_atomic(str(path), text.encode("utf-8"))
            except ProjectError as error:
                self._say(str(error))
                return None
            self._say(f"Exported {pathlib.Path(path).name}")
        return text

    def export_numpy_dialog(self):
        self._export_dialog("Export as a NumPy script", "design_numpy.py", "Python script (*.py)", self.export_numpy)

    def export_latex_dialog(self):
        self._export_dialog("Export the derivation", "derivation.tex", "LaTeX document (*.tex)", self.export_latex)

    def _export_dialog(self, title: str, name: str, filter: str, export):
        from PySide6.QtWidgets import QFileDialog
        path, _ = QFileDialog.getSaveFileName(self, title, name, filter)
        if path:
            export(path)

    def export_image_dialog(self):
        from PySide6.QtWidgets import QFileDialog
        path, _ = QFileDialog.getSaveFileName(self, "Export the canvas", "design.png",
                                              "PNG picture (*.png);;SVG drawing (*.svg)")
        if path:
            self.export_image(path)

    def export_image(self, path: str) -> bool:
        """PNG or SVG (by the file's suffix) of the whole design."""
        return self._render_to(self.current().scene, path)

    def _render_to(self, scene, path: str) -> bool:
        rect = scene.itemsBoundingRect().adjusted(-20, -20, 20, 20)
        if rect.isEmpty():
            rect = QRectF(0, 0, 400, 300)
        if str(path).lower().endswith(".svg"):
            from PySide6.QtSvg import QSvgGenerator
            generator = QSvgGenerator()
            generator.setFileName(str(path))
            generator.setSize(rect.size().toSize())
            generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
            generator.setTitle("GradStudio design")
            painter = QPainter(generator)
            scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
            painter.end()
            return pathlib.Path(path).exists()
        image = QImage(rect.size().toSize() * 2, QImage.Format.Format_ARGB32)
        image.fill(scene.colors["background"])
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        scene.render(painter, QRectF(0, 0, image.width(), image.height()), rect)
        painter.end()
        return image.save(str(path))

    # -- the window's hooks ---------------------------------------------------------------------
    def designs(self) -> tuple:
        """``([DesignEntry], current index)``: the designs the project file keeps (its
        own ``designs`` section, :mod:`gradstudio.studio.project`); empty tabs are not kept."""
        from gradstudio.studio.project import DesignEntry
        entries, current = [], 0
        for i in range(self.tabs.count()):
            tab = self.tabs.widget(i)
            if tab.document.design.nodes:
                if i == self.tabs.currentIndex():
                    current = len(entries)
                entries.append(DesignEntry(self.tabs.tabText(i), tab.document.design.to_json()))
        return entries, current

    def restore_designs(self, entries, current: int = 0) -> bool:
        """A project's designs in place of the open ones. The project module has read
        each one already; one that still cannot be built is named and nothing changes."""
        if not entries:
            return False
        try:
            loaded = [(entry.title, from_json(entry.design)) for entry in entries]
        except DesignError as error:
            self._say(f"The project's designs were not opened: {error}")
            return False
        while self.tabs.count():
            self.close_tab_silently(0)
        for title, design in loaded:
            self.add_document(design, title)
        if isinstance(current, int) and 0 <= current < self.tabs.count():
            self.tabs.setCurrentIndex(current)
        self._mark_saved()               # what the project file holds
        return True

    def close_tab_silently(self, index: int):
        tab = self.tabs.widget(index)
        tab.close_document()
        self.tabs.removeTab(index)
        tab.deleteLater()

    # -- unsaved edits -------------------------------------------------------------------------
    def _kept_tabs(self) -> set:
        """The tabs :meth:`designs` would save (empty designs are not kept)."""
        return {w for w in map(self.tabs.widget, range(self.tabs.count())) if w.document.design.nodes}

    def designs_modified(self) -> bool:
        """Whether saving now would write other designs than the project file holds: an
        edit not undone back to the saved state (each stack's clean index), or a design
        opened or closed since."""
        tabs = [self.tabs.widget(i) for i in range(self.tabs.count())]
        return (self._kept_tabs() != self._saved_tabs
                or any(not tab.document.undo_stack.isClean() for tab in tabs))

    def _update_modified(self):
        if self.model is not None and not self._marking_saved:
            self.model.script.set_part_modified("designs", self.designs_modified())

    def _mark_saved(self):
        """The designs as they are now are the saved ones: each stack's clean state here."""
        self._marking_saved = True
        try:
            for i in range(self.tabs.count()):
                self.tabs.widget(i).document.undo_stack.setClean()
            self._saved_tabs = self._kept_tabs()
        finally:
            self._marking_saved = False
        self._update_modified()

    def is_busy(self) -> bool:
        return any(self.tabs.widget(i).live.busy() for i in range(self.tabs.count()))

    def _say(self, text: str | None):
        self.status.setText(text or "")


def _get(record, key):
    return record.get(key) if isinstance(record, dict) else getattr(record, key, None)
