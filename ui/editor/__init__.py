"""The node editor: a canvas over a :class:`gradstudio.studio.design.Design`.

Orange-canvas style, one job per module:

* :mod:`.commands` — every gesture as one ``QUndoCommand`` calling the design's own methods;
* :mod:`.document` — a design with its own undo stack, and the gestures as methods;
* :mod:`.clipboard` — a selection as JSON (copy, paste, duplicate between documents);
* :mod:`.style` — colours and sizes (dtype port colours, gradient scale);
* :mod:`.items` — what a node, a port and a wire look like (simplified when zoomed out);
* :mod:`.group_item` — a collapsed group drawn as one node, its external ports, the wires to them;
* :mod:`.scene` — fills itself from the design, then follows its events;
* :mod:`.view` — pan, zoom, fit, minimap, and the mouse and keyboard gestures;
* :mod:`.palette` — the op list generated from the op table, dragged onto the canvas;
* :mod:`.search` — type-to-search and the "ops that accept this wire" menu;
* :mod:`.live` — each edit compiled to a script and run in the kernel, results on the nodes;
* :mod:`.results` — reading a run back onto the nodes (open as nodes, gradients, errors);
* :mod:`.panel` — the Editor dock that puts these together.
"""
