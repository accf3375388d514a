"""The registry of dock panels the main window builds.

Each panel is one module in this package with one ``QWidget`` subclass whose
constructor takes a :class:`PanelContext` — the model, the runner and the
settings — and connects to the model's signals (see ``gradstudio.ui.model``).
A panel never reaches into another panel.

To add a panel, write ``ui/panels/<name>.py`` with the class named in
:data:`PANELS`. Entries whose module does not exist yet are skipped, so the
Graph and Plots panels appear as soon as their files do. ``placement`` says
where the dock goes relative to panels already placed: a list of
``(relation, other panel)`` with relation "below", "right" or "tab", tried in
order; otherwise the dock goes to ``area``.

Optional methods a panel may define (the window calls them if present):

* ``view_state() -> dict`` / ``restore_view_state(dict)`` — plain-JSON view
  state saved in the project under the panel's name (zoom, scroll, tab…);
* ``is_busy() -> bool`` — work still pending (a coalesced redraw, a layout in
  progress); ``gradstudio snapshot`` waits until every panel says False.

Ask the kernel for more through the runner (``runner.recheck``,
``runner.request_sweep``), never directly.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field


@dataclass
class PanelContext:
    """What a panel is built from."""

    model: object            # gradstudio.ui.model.AppModel
    runner: object           # gradstudio.ui.runner.Runner
    settings: object         # gradstudio.ui.settings.Settings
    window: object = None    # the QMainWindow (for actions and the status bar; rarely needed)


@dataclass(frozen=True)
class PanelSpec:
    name: str                 # object name and settings key, e.g. "script"
    title: str                # dock title and View menu entry
    module: str               # module in this package, e.g. "script"
    factory: str              # class in that module, called as factory(context)
    area: str = "right"       # "left" | "right" | "top" | "bottom"
    placement: tuple = ()     # ((relation, other panel name), …)
    shortcut: str = ""        # View menu shortcut that shows and focuses the panel
    visible: bool = True      # shown in the default layout
    tooltip: str = ""


PANELS = [
    PanelSpec("script", "Script", "script", "ScriptPanel", area="left", shortcut="Ctrl+1",
              tooltip="The script, in # %% cells, and its console"),
    PanelSpec("graph", "Graph", "graph", "GraphPanel", area="right", shortcut="Ctrl+2",
              tooltip="The recorded autograd graph"),
    PanelSpec("compare", "Compare", "compare", "ComparePanel", area="right",
              placement=(("below", "graph"),), shortcut="Ctrl+3",
              tooltip="Engine gradient vs closed form vs finite differences"),
    PanelSpec("plots", "Plots", "plots", "PlotsPanel", area="right",
              placement=(("tab", "compare"), ("below", "graph")), shortcut="Ctrl+4",
              tooltip="Gradient magnitudes and sweeps"),
    PanelSpec("inspector", "Inspector", "inspector", "InspectorPanel", area="right",
              placement=(("right", "compare"), ("right", "graph")), shortcut="Ctrl+5",
              tooltip="The selected tensor"),
    PanelSpec("editor", "Editor", "editor", "EditorPanel", area="right",
              placement=(("tab", "graph"),), shortcut="Ctrl+6",
              tooltip="Build a graph from nodes: shapes checked as you wire, gradients live"),
]


@dataclass
class AvailablePanel:
    spec: PanelSpec
    factory: object = field(repr=False)


def available_panels(specs: list | None = None) -> list:
    """The registered panels whose module exists, with their factories."""
    found = []
    for spec in specs if specs is not None else PANELS:
        module_name = f"{__name__}.{spec.module}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue            # not written yet
            raise
        found.append(AvailablePanel(spec, getattr(module, spec.factory)))
    return found
