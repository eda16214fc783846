"""A compare column's linked path: the strip of the path's frames (each over a bar in the colour
of its predicted class, the current frame outlined), a caption, and for real-image endpoints the
targets beside their reconstructions with the inversion's loss curve as it runs."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer.jobs.compare import InversionProgress, PathStrip
from explorer.views.image_view import BACKGROUND, ImageView
from explorer.views.latent_map import class_rgb_table

STRIP_GAP = 2
STRIP_BAR = 5
STRIP_BACKGROUND = 30


def strip_picture(frames: np.ndarray, classes: np.ndarray | None, gap: int = STRIP_GAP,
                  bar: int = STRIP_BAR) -> np.ndarray:
    """Frames (F, H, W, C) side by side as one RGB picture, each over a bar in its class colour."""
    f, h, w, c = frames.shape
    rgb = frames if c == 3 else np.repeat(frames[..., :1], 3, axis=3)
    out = np.full((h + gap + bar, f * w + (f - 1) * gap, 3), STRIP_BACKGROUND, dtype=np.uint8)
    table = class_rgb_table()
    for i in range(f):
        x = i * (w + gap)
        out[:h, x:x + w] = rgb[i]
        if classes is not None and classes[i] >= 0:
            out[h + gap:, x:x + w] = table[int(classes[i]) % len(table)]
    return out


class PathView(QWidget):
    """The strip, its caption, and the real-image ends with the inversion loss."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._history: list[tuple[int, float]] = []   # (step, loss) of the running inversion
        self.strip_view = ImageView(minimum=40)
        self.strip_view.setToolTip("The path's frames, each over a bar in the colour of its predicted class; "
                                   "more colour changes mean more class changes along the path")
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: palette(mid);")
        self.ends_view = ImageView(minimum=40)
        self.ends_view.setToolTip("Target A, its reconstruction, the reconstruction of B, target B")
        self.loss_plot = pg.PlotWidget(background=BACKGROUND)
        self.loss_plot.setMenuEnabled(False)
        self.loss_plot.hideButtons()
        self.loss_plot.setLogMode(False, True)
        small = QFont()
        small.setPointSizeF(7.0)
        for side in ("left", "bottom"):
            axis = self.loss_plot.getAxis(side)
            axis.setStyle(tickFont=small, tickLength=-3)
            axis.setTextPen("#9aa0a6")
        self.loss_plot.getAxis("left").setWidth(30)
        self.loss_plot.getAxis("bottom").setHeight(14)
        self.loss_plot.setToolTip("Inversion loss per Adam step (log scale): pixel MSE + weighted "
                                  "classifier-feature distance")
        self.loss_plot.setMinimumHeight(70)
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#f9ab00", width=2))
        ends_row = QHBoxLayout()
        ends_row.setContentsMargins(0, 0, 0, 0)
        ends_row.addWidget(self.ends_view, 1)
        ends_row.addWidget(self.loss_plot, 1)
        self.ends_box = QWidget()
        self.ends_box.setLayout(ends_row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.strip_view, 2)
        layout.addWidget(self.caption)
        layout.addWidget(self.ends_box, 2)

    def begin(self, real_images: bool, inverting: bool) -> None:
        """A new path was asked for: between real test images (`real_images`), and found by
        inverting a generator (`inverting`) rather than by encoding."""
        self._history = []
        self.loss_curve.setData([], [])
        self.ends_box.setVisible(real_images)
        self.loss_plot.setVisible(inverting)
        self.caption.setText("Inverting the generator onto the test images…" if inverting else "")

    def show_inversion(self, progress: InversionProgress) -> None:
        self._history.append((progress.step, progress.loss))
        steps, losses = zip(*self._history)
        self.loss_curve.setData(np.asarray(steps), np.maximum(np.asarray(losses), 1e-12))
        self.ends_view.set_image(strip_picture(progress.images, None))
        self.caption.setText(f"Inverting: step {progress.step} of {progress.total}, "
                             f"loss {progress.loss:.4f}")

    def show_strip(self, strip: PathStrip) -> None:
        self.strip_view.set_image(strip_picture(strip.frames, strip.classes))
        text = f"{len(strip.frames)} frames, {strip.method}"
        if strip.classes is not None:
            changes = int((np.diff(strip.classes) != 0).sum())
            text += f" · {changes} class change{'s' if changes != 1 else ''}"
        if strip.final_loss is not None and strip.initial_loss is not None:
            text += f" · loss {strip.initial_loss:.4f} → {strip.final_loss:.4f}"
        if strip.note:
            text += f" · {strip.note}"
        self.caption.setText(text)
        if strip.targets is not None and strip.reconstructions is not None:
            ends = np.stack([strip.targets[0], strip.reconstructions[0], strip.reconstructions[1],
                             strip.targets[1]])
            self.ends_view.set_image(strip_picture(ends, None))
        if strip.history:
            self._history = list(enumerate(strip.history, start=1))
            self.loss_curve.setData(np.arange(1, len(strip.history) + 1),
                                    np.maximum(np.asarray(strip.history), 1e-12))

    def outline(self, index: int, frame_shape: tuple[int, int]) -> None:
        """Outlines frame `index` (of frames `frame_shape` (H, W)) in the strip."""
        h, w = frame_shape
        self.strip_view.set_highlight((index * (w + STRIP_GAP) - 0.5, -0.5, w + 1, h + 1 + STRIP_GAP + STRIP_BAR))

    def failed(self) -> None:
        self.caption.setText("")
        self.strip_view.clear()

    def cancelled(self) -> None:
        self.caption.setText("Cancelled.")

    def clear(self) -> None:
        self.strip_view.clear()
        self.ends_view.clear()
