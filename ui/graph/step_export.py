"""Export a step-through for slides: one PNG per step and an animated GIF.

Each frame is the graph scene as the step view draws it at that step (running
node, dimmed nodes, saved-tensor badges, edge gradients), with a caption: the
step number and what happened. PNGs are written by Qt; the GIF by Pillow, which
is installed with matplotlib (a dependency of GradStudio: matplotlib requires
Pillow for its own image output).
"""
from __future__ import annotations

import io
import pathlib

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter

MAX_FRAMES = 400          # a longer trace is sampled evenly (the first and last step kept)
MAX_WIDTH = 1400          # pixels
CAPTION = 56              # pixels under the graph for the caption


def frame_steps(count: int, limit: int = MAX_FRAMES) -> list:
    """The steps to export of a trace with ``count`` events: all, or ``limit`` spread evenly."""
    if count <= limit:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


def render_frame(scene, caption: str) -> QImage:
    """The scene as an image with ``caption`` under it."""
    source = scene.itemsBoundingRect().adjusted(-16, -16, 16, 16)
    scale = min(2.0, MAX_WIDTH / max(source.width(), 1.0))
    width, height = int(source.width() * scale), int(source.height() * scale)
    width = max(width, 480)
    image = QImage(width, height + CAPTION, QImage.Format.Format_RGB32)
    image.fill(scene.style.background)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    scene.render(painter, QRectF(0, 0, width, height), source, Qt.AspectRatioMode.KeepAspectRatio)
    painter.setPen(scene.style.text)
    painter.setFont(scene.style.small)
    painter.drawText(QRectF(10, height + 4, width - 20, CAPTION - 8),
                     Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap, caption)
    painter.end()
    return image


def export_steps(view, directory: str) -> dict:
    """Write ``step-NNN.png`` for each step of ``view`` (a StepView) and
    ``backward.gif`` into ``directory``; returns ``{"pngs": [...], "gif": path}``."""
    from PIL import Image

    folder = pathlib.Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stepper = view.stepper
    pngs, frames = [], []
    for step in frame_steps(len(stepper)):
        view.go(step)
        caption = f"step {step + 1} / {len(stepper)} — {stepper.explain(view.state)}"
        image = render_frame(view.scene, caption)
        path = folder / f"step-{step + 1:03d}.png"
        image.save(str(path), "PNG")
        pngs.append(str(path))
        frames.append(Image.open(io.BytesIO(_png_bytes(image))).convert("RGB"))
    gif = folder / "backward.gif"
    size = (max(f.width for f in frames), max(f.height for f in frames))
    frames = [f if f.size == size else _padded(f, size) for f in frames]
    frames[0].save(str(gif), save_all=True, append_images=frames[1:],
                   duration=int(view.speed.currentData()), loop=0)
    return {"pngs": pngs, "gif": str(gif)}


def _png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def _padded(frame, size):
    from PIL import Image
    canvas = Image.new("RGB", size, frame.getpixel((0, 0)))
    canvas.paste(frame, (0, 0))
    return canvas
