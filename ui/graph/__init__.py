"""The Graph panel's canvas, split the way Orange's canvas is.

* :mod:`.document` — what is shown for one backward call: the recorded
  vertices, the groups of repetitive chains and of module calls (and which
  are expanded), the
  layout, the positions the user dragged. Plain data behind Qt signals.
* :mod:`.commands` — every user edit (drag, expand/collapse, reset) as a
  ``QUndoCommand`` on the document.
* :mod:`.scene` / :mod:`.items` — a ``QGraphicsScene`` that fills itself from a
  document and then listens to it; node and edge items are views of its data.
* :mod:`.view` — zoom and pan; :mod:`.legend` — the colour scale;
  :mod:`.style` — colours from the palette; :mod:`.text` — labels and tooltips.

The panel (``gradstudio.ui.panels.graph``) wires these to the app model.
"""
