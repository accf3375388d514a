"""Frame times of the node editor's canvas on big designs.

Builds a design of N nodes (a layered chain of elementwise ops with extra fan-in
links, about 1.4 links per node), shows it in the editor's view (1280×800) and
renders the view into a QImage per frame while panning, zooming and dragging
one node (its wires follow). Prints the median and 95th-percentile ms per frame
for the detailed look (zoom 1) and the fitted, simplified look (level of detail),
and for scale the cost of one frame of an empty view as a baseline ratio.

    QT_QPA_PLATFORM=offscreen python benchmarks/editor_canvas.py [--nodes 500 2000]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import gradstudio.ui  # noqa: E402,F401
from gradstudio.studio.design import Design  # noqa: E402
from gradstudio.ui.editor.document import EditorDocument  # noqa: E402
from gradstudio.ui.editor.scene import DesignScene  # noqa: E402
from gradstudio.ui.editor.view import DesignView  # noqa: E402

UNARY = ["elementwise.EXP", "elementwise.TANH", "elementwise.SIGMOID", "elementwise.NEG"]


def big_design(n: int, seed: int = 0) -> Design:
    rng = random.Random(seed)
    d = Design()
    with d.batch():
        return _fill(d, n, rng)


def _fill(d, n, rng):
    ids = [d.add_node("leaf", name="x", value="ones(4)", requires_grad=True, position=(0, 0))]
    columns = max(1, int(n ** 0.5))
    while len(ids) < n:
        i = len(ids)
        pos = ((i // columns) * 200.0, (i % columns) * 110.0)
        if rng.random() < 0.4 and len(ids) > 2:
            node = d.add_node("op", op="elementwise.ADD", position=pos)
            d.connect(rng.choice(ids[-columns:]), node, 0)
            d.connect(rng.choice(ids), node, 1)
        else:
            node = d.add_node("op", op=rng.choice(UNARY), position=pos)
            d.connect(rng.choice(ids[-columns:]), node, 0)
        ids.append(node)
    return d


def frame(view, image) -> float:
    start = time.perf_counter()
    image.fill(0)
    painter = QPainter(image)
    view.render(painter)
    painter.end()
    return (time.perf_counter() - start) * 1000


def measure(n: int, frames: int = 30):
    design = big_design(n)
    doc = EditorDocument(design)
    scene = DesignScene(doc)
    view = DesignView(doc, scene)
    view.resize(1280, 800)
    view.show()
    QApplication.processEvents()
    image = QImage(view.size(), QImage.Format.Format_ARGB32_Premultiplied)
    out = {}
    for look in ("detailed", "fitted"):
        view.resetTransform()
        if look == "fitted":
            view.fit()
        else:
            view.centerOn(600, 400)
        QApplication.processEvents()
        frame(view, image)
        pan = []
        for i in range(frames):
            bar = view.horizontalScrollBar()
            bar.setValue(bar.value() + (25 if i % 20 < 10 else -25))
            pan.append(frame(view, image))
        zoom = []
        for i in range(frames):
            view.zoom_by(1.05 if i % 2 == 0 else 1 / 1.05)
            zoom.append(frame(view, image))
        centre = view.mapToScene(view.viewport().rect().center())
        item = scene.node_at(centre) or next(iter(scene.nodes.values()))
        drag = []
        for i in range(frames):
            item.setPos(item.pos() + QPointF(3 if i % 10 < 5 else -3, 2 if i % 10 < 5 else -2))
            drag.append(frame(view, image))
        out[look] = {"pan": pan, "zoom": zoom, "drag": drag}
    empty_doc = EditorDocument(Design())
    empty = DesignView(empty_doc, DesignScene(empty_doc))
    empty.resize(1280, 800)
    base = statistics.median(frame(empty, image) for _ in range(10))
    return out, base, len(design.links)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="*", default=[500, 2000])
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])  # noqa: F841
    for n in args.nodes:
        start = time.perf_counter()
        results, base, links = measure(n)
        print(f"{n} nodes / {links} links (built and shown in {time.perf_counter() - start:.1f} s); "
              f"empty view {base:.2f} ms per frame")
        for look, gestures in results.items():
            parts = []
            for gesture, times in gestures.items():
                times = sorted(times)
                p95 = times[int(len(times) * 0.95) - 1]
                parts.append(f"{gesture} {statistics.median(times):.1f} ms (p95 {p95:.1f}, "
                             f"×{statistics.median(times) / base:.0f} empty)")
            print(f"  {look:9s} " + "; ".join(parts))


if __name__ == "__main__":
    main()
