"""Frame times of the node editor's canvas on big designs: GUI-thread CPU per frame.

Builds a design of N nodes (a layered chain of elementwise ops with extra fan-in
links from anywhere upstream, about 1.4 links per node, many of them long),
shows it in the editor's view (1280×800) and times, with ``time.thread_time()``
(the GUI thread's own work, which a loaded machine does not stretch), each
frame of:

* pan — a scroll step and the event-loop turn that paints it, from a view drawn
  crisp (its zoom settled);
* zoom — a zoom gesture with the mouse over the middle of the view, as a wheel
  does it: 8 steps out (÷1.1) then 8 in, each step and its paint, the gesture's
  first step included;
* settle — the frames after the zoom stops that draw the nodes and wires crisp at
  the new scale (during the zoom they are scaled pictures: scene.DesignScene.zooming),
  each frame's paint timed on its own (the layers draw it a few tiles a frame);
* drag — a real mouse drag of the node nearest the view's middle (press, 30
  moves, release), each move event and the paint of what it changed (the node
  and its own wires);
* full — ``viewport().repaint()`` of the whole view;
* image — the view rendered into an ARGB32-premultiplied QImage of its size
  (the format desktop backing stores use; the offscreen platform's own backing
  store blends about twice as slowly, so "full" overstates a real screen).

at four zooms: 1 (all detail), 0.6 (detail, the most items per frame), 0.35
(the overview look: boxes and lines) and fitted (the whole design in view; it
cannot pan); then the frames that switch between the detailed look and the
overview (``style.SIMPLE_BELOW``): zoom steps back and forth across it, each of
which crosses it ("into" the overview and "out of" it, timed apart), and one
gesture from zoom 1 out to 0.3 and back, which crosses it twice ("crossing" is
those two frames). Prints the median, the 95th percentile and the worst frame
in ms, and the empty view's frame for scale.

The nodes (``node_layer.NodeLayer``), the wires (``wire_layer.WireLayer``) and the
overview are each kept as a picture of the view (``picture.PictureLayer``): a pan
blits it and a zoom scales it (a step that brings in what is beyond it grows it by
those bands), and the frame that draws it again (settle, full after a change)
costs about 1.7 of a plain frame, for the margin drawn around the view. "image"
blits those pictures too.

    QT_QPA_PLATFORM=offscreen python benchmarks/editor_canvas.py [--nodes 500 2000]
"""
from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import gradstudio.ui  # noqa: E402,F401
from gradstudio.studio.design import Design  # noqa: E402
from gradstudio.ui.editor.document import EditorDocument  # noqa: E402
from gradstudio.ui.editor.scene import SETTLE, DesignScene  # noqa: E402
from gradstudio.ui.editor.style import SIMPLE_BELOW  # noqa: E402
from gradstudio.ui.editor.view import DesignView  # noqa: E402

UNARY = ["elementwise.EXP", "elementwise.TANH", "elementwise.SIGMOID", "elementwise.NEG"]


def big_design(n: int, seed: int = 0, local: bool = False) -> Design:
    """N nodes in columns; each op's first input from the column before it, an add's
    second input from anywhere upstream (long wires across the design) or, ``local``,
    from the two columns before it (what a laid-out design looks like)."""
    rng = random.Random(seed)
    d = Design()
    with d.batch():
        return _fill(d, n, rng, local)


def _fill(d, n, rng, local=False):
    ids = [d.add_node("leaf", name="x", value="ones(4)", requires_grad=True, position=(0, 0))]
    columns = max(1, int(n ** 0.5))
    while len(ids) < n:
        i = len(ids)
        pos = ((i // columns) * 200.0, (i % columns) * 110.0)
        if rng.random() < 0.4 and len(ids) > 2:
            node = d.add_node("op", op="elementwise.ADD", position=pos)
            d.connect(rng.choice(ids[-columns:]), node, 0)
            d.connect(rng.choice(ids[-2 * columns:] if local else ids), node, 1)
        else:
            node = d.add_node("op", op=rng.choice(UNARY), position=pos)
            d.connect(rng.choice(ids[-columns:]), node, 0)
        ids.append(node)
    return d


PAINTS: list = []          # GUI-thread ms of each paint of a DesignView, as they come


def _timing_paints():
    """Time every DesignView paint (set on the class before any view is made)."""
    paint = DesignView.paintEvent

    def timed_paint(self, event):
        start = time.thread_time()
        paint(self, event)
        PAINTS.append((time.thread_time() - start) * 1000)
    DesignView.paintEvent = timed_paint


def settle_frames(scene) -> list:
    """The paints from a zoom's last step until its layers are crisp again, each timed."""
    PAINTS.clear()
    QTest.qWait(SETTLE + 30)
    layers = (scene.node_layer, scene.wire_layer, scene.overview) if hasattr(scene, "node_layer") \
        else (scene.wire_layer, scene.overview)
    deadline = time.perf_counter() + 5
    while any(getattr(layer, "tiles", None) and getattr(layer, "active", True) for layer in layers) \
            and time.perf_counter() < deadline:         # (a layer of the other look keeps its tiles for later)
        QTest.qWait(10)
    QTest.qWait(30)
    return list(PAINTS)


def timed(action) -> list:
    """GUI-thread ms of ``action`` and the event-loop turn after it, as frames: the turn
    may paint more than once (a layer drawing tiles asks for the next frame at once),
    and each further paint is a frame of its own."""
    PAINTS.clear()
    start = time.thread_time()
    action()
    QApplication.processEvents()
    total = (time.thread_time() - start) * 1000
    later = PAINTS[1:]
    return [total - sum(later)] + later


def render_image(view, image):
    image.fill(0)
    painter = QPainter(image)
    view.render(painter)
    painter.end()


def measure(n: int, frames: int = 30, local: bool = False):
    design = big_design(n, local=local)
    doc = EditorDocument(design)
    scene = DesignScene(doc)
    view = DesignView(doc, scene)
    view.resize(1280, 800)
    view.show()
    QApplication.processEvents()
    viewport = view.viewport()
    image = QImage(viewport.size(), QImage.Format.Format_ARGB32_Premultiplied)
    out = {}
    for look in ("zoom 1", "zoom 0.6", "zoom 0.35", "fitted"):
        view.resetTransform()
        if look == "fitted":
            view.fit()
        else:
            view.zoom_by(float(look.split()[1]))
            view.centerOn(scene.overview.boundingRect().center())
        QApplication.processEvents()
        viewport.repaint()
        settle_frames(scene)        # the look is set: the pan starts from crisp pictures (settle is timed below)
        bar = view.horizontalScrollBar()
        pan = [t for i in range(frames) for t in timed(lambda: bar.setValue(bar.value() + (25 if i % 20 < 10 else -25)))] \
            if bar.maximum() > bar.minimum() else []
        QTest.mouseMove(viewport, viewport.rect().center())     # the wheel zooms at the mouse
        zoom = [t for i in range(16) for t in timed(lambda: view.zoom_by(1 / 1.1 if i < 8 else 1.1))]
        # the frame that draws the nodes crisp again once the zoom stops (CPU only: the wait is idle)
        settle = settle_frames(scene)
        centre = view.mapToScene(viewport.rect().center())
        item = min(scene.nodes.values(), key=lambda node: (node.pos() - centre).manhattanLength())
        grab = view.mapFromScene(item.mapToScene(QPointF(0, 8)))
        QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, grab)
        drag = []
        for i in range(frames):
            step = QPoint(4 * (i % 10), 3 * (i % 10))
            drag.extend(timed(lambda: QTest.mouseMove(viewport, grab + step)))
        QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, grab)
        QApplication.processEvents()
        full = [t for _ in range(10) for t in timed(viewport.repaint)]
        rendered = [t for _ in range(10) for t in timed(lambda: render_image(view, image))]
        out[f"{look} ({view.zoom():.2f}{', overview' if scene.overview_shown else ''})"] = {
            "pan": pan, "zoom": zoom, "settle": settle, "drag": drag, "full": full, "image": rendered}
    # zoom steps back and forth across SIMPLE_BELOW: each one switches between the detailed look and
    # the overview (a new picture of the other layer), then the frame that settles
    view.resetTransform()
    view.zoom_by(SIMPLE_BELOW * 1.04)
    view.centerOn(scene.overview.boundingRect().center())
    QTest.mouseMove(viewport, viewport.rect().center())
    QTest.qWait(SETTLE + 60)
    viewport.repaint()
    cross = [timed(lambda: view.zoom_by(1 / 1.08 if i % 2 == 0 else 1.08)) for i in range(frames)]
    out[f"across {SIMPLE_BELOW}"] = {"into": [c[0] for c in cross[0::2]], "out of": [c[0] for c in cross[1::2]],
                                     "after": [t for c in cross for t in c[1:]],
                                     "settle": settle_frames(scene)}
    # one gesture from zoom 1 out to 0.3 and back in: the steps that cross, and all of them
    view.resetTransform()
    view.centerOn(scene.overview.boundingRect().center())
    QTest.qWait(SETTLE + 60)
    viewport.repaint()
    steps, crossing = [], []
    for factor in [1 / 1.15] * 9 + [1.15] * 9:
        before = scene.overview_shown
        step = timed(lambda: view.zoom_by(factor))
        steps.extend(step)
        if scene.overview_shown != before:
            crossing.append(step[0])
    out["gesture 1 → 0.3 → 1"] = {"zoom": steps, "crossing": crossing,
                                   "settle": settle_frames(scene)}
    empty_doc = EditorDocument(Design())
    empty = DesignView(empty_doc, DesignScene(empty_doc))
    empty.resize(1280, 800)
    empty.show()
    QApplication.processEvents()
    base = statistics.median(timed(empty.viewport().repaint)[0] for _ in range(10))
    return out, base, len(design.links)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="*", default=[500, 2000])
    parser.add_argument("--links", choices=["random", "local", "both"], default="both",
                        help="second inputs from anywhere upstream (long wires) or from nearby columns")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])  # noqa: F841
    _timing_paints()
    kinds = ["random", "local"] if args.links == "both" else [args.links]
    for n, kind in [(n, kind) for n in args.nodes for kind in kinds]:
        start = time.perf_counter()
        results, base, links = measure(n, local=kind == "local")
        print(f"{n} nodes / {links} links, {kind} links (built, shown and measured in {time.perf_counter() - start:.1f} s); "
              f"empty view {base:.2f} ms per frame (GUI-thread CPU)")
        for look, gestures in results.items():
            parts = []
            for gesture, times in gestures.items():
                if not times:
                    continue
                times = sorted(times)
                if len(times) == 1:
                    parts.append(f"{gesture} {times[0]:.1f}")
                    continue
                p95 = times[max(0, math.ceil(len(times) * 0.95) - 1)]
                parts.append(f"{gesture} {statistics.median(times):.1f} (p95 {p95:.1f}, worst {times[-1]:.1f})")
            print(f"  {look:24s} ms: " + "; ".join(parts))


if __name__ == "__main__":
    main()
