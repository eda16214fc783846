"""A canvas to draw a sketch on with the mouse: white strokes on black at the translator's own
resolution (28 x 28 for the bundled ones), shown enlarged. Pen draws, eraser clears, Clear wipes
everything; every stroke step emits `sketch_changed` with the pixels, so a translation can follow
the pen as it moves (the view's channel keeps only the newest request)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

PEN, ERASER = "pen", "eraser"


def stamp_line(canvas: np.ndarray, start: tuple[float, float], end: tuple[float, float], radius: float,
               value: int) -> None:
    """Sets every pixel whose centre lies within `radius` of the segment start-end (image
    coordinates (x, y), pixel (i, j) centred at (j + 0.5, i + 0.5)) to `value`, in place."""
    h, w = canvas.shape
    ys, xs = np.mgrid[0:h, 0:w]
    cx, cy = xs + 0.5, ys + 0.5
    (x0, y0), (x1, y1) = start, end
    dx, dy = x1 - x0, y1 - y0
    length2 = dx * dx + dy * dy
    t = np.zeros_like(cx) if length2 == 0 else np.clip(((cx - x0) * dx + (cy - y0) * dy) / length2, 0, 1)
    dist2 = (cx - (x0 + t * dx)) ** 2 + (cy - (y0 + t * dy)) ** 2
    canvas[dist2 <= radius * radius] = value


class SketchCanvas(QWidget):
    """Construct with the image size (height, width); `pixels()` is the sketch, uint8 (H, W)."""

    sketch_changed = Signal(object)       # np.ndarray uint8 (H, W)

    def __init__(self, size: tuple[int, int] = (28, 28), parent: QWidget | None = None):
        super().__init__(parent)
        self._pixels = np.zeros(size, dtype=np.uint8)
        self.tool = PEN
        self.pen_radius = 0.6              # in image pixels: a one-pixel line, like an edge map's
        self.eraser_radius = 2.0
        self._last: tuple[float, float] | None = None
        self.setMinimumSize(140, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw with the left mouse button; the translation follows the pen")

    # -- the sketch -----------------------------------------------------------------------------
    def pixels(self) -> np.ndarray:
        return self._pixels.copy()

    def set_pixels(self, pixels: np.ndarray) -> None:
        self._pixels = np.array(pixels, dtype=np.uint8).reshape(self._pixels.shape)
        self.update()
        self.sketch_changed.emit(self.pixels())

    def resize_image(self, size: tuple[int, int]) -> None:
        """A new, empty canvas of another size (a translator with other images)."""
        if tuple(size) != self._pixels.shape:
            self._pixels = np.zeros(size, dtype=np.uint8)
            self.update()

    def clear(self) -> None:
        self._pixels[:] = 0
        self.update()
        self.sketch_changed.emit(self.pixels())

    def set_tool(self, tool: str) -> None:
        if tool not in (PEN, ERASER):
            raise ValueError(f"unknown tool {tool!r}")
        self.tool = tool

    # -- geometry ---------------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the image is drawn: the largest square (or the image's aspect) centred in the widget."""
        h, w = self._pixels.shape
        scale = min(self.width() / w, self.height() / h)
        return QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)

    def to_image(self, point: QPointF) -> tuple[float, float]:
        """Widget coordinates to image coordinates (x, y), in pixels of the sketch."""
        rect = self.image_rect()
        h, w = self._pixels.shape
        return ((point.x() - rect.x()) * w / rect.width(), (point.y() - rect.y()) * h / rect.height())

    # -- drawing ----------------------------------------------------------------------------------
    def _stroke(self, point: QPointF) -> None:
        here = self.to_image(point)
        start = self._last if self._last is not None else here
        radius, value = (self.pen_radius, 255) if self.tool == PEN else (self.eraser_radius, 0)
        stamp_line(self._pixels, start, here, radius, value)
        self._last = here
        self.update()
        self.sketch_changed.emit(self.pixels())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._last = None
            self._stroke(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        # a stroke lasts from press to release (not asked of event.buttons(), which synthetic
        # moves do not carry)
        if self._last is not None:
            self._stroke(event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._last = None

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.darkGray)
        h, w = self._pixels.shape
        image = QImage(self._pixels.data, w, h, w, QImage.Format.Format_Grayscale8)
        painter.drawImage(self.image_rect(), image)
        painter.end()
