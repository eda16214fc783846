"""A widget that shows one uint8 image as large as it fits, with crisp (nearest-neighbour) pixels.

Built on a pyqtgraph ImageItem in a ViewBox with the aspect ratio locked and no axes. Used by
every panel. It can carry a text overlay (hints, errors), outline one rectangle (a grid's centre
cell), and tells when a given image has actually been painted (`frame_painted`), which is what
latency is measured against.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QSizePolicy, QVBoxLayout, QWidget

BACKGROUND = "#1e1f22"


def highlight_rect(z: float) -> QGraphicsRectItem:
    """A hidden rectangle outlined in the accent colour, 2 px at any zoom, drawn at depth `z`."""
    rect = QGraphicsRectItem()
    pen = QPen(QColor("#f9ab00"))
    pen.setCosmetic(True)
    pen.setWidthF(2.0)
    rect.setPen(pen)
    rect.setZValue(z)
    rect.hide()
    return rect


class _PaintReportingImageItem(pg.ImageItem):
    """An ImageItem that reports the tag of each new image the first time it is painted."""

    def __init__(self, owner: ImageView):
        super().__init__(axisOrder="row-major")
        self._owner = owner
        self.tag: int | None = None
        self.painted_tag: int | None = None

    def paint(self, painter: QPainter, *args) -> None:
        super().paint(painter, *args)
        if self.image is not None and self.tag is not None and self.tag != self.painted_tag:
            self.painted_tag = self.tag
            self._owner.frame_painted.emit(self.tag)


class ImageView(QWidget):
    """Shows (H, W) or (H, W, C) uint8 images, upscaled with nearest-neighbour."""

    frame_painted = Signal(int)     # the tag passed to set_image, once that image is on screen

    def __init__(self, parent: QWidget | None = None, minimum: int = 96):
        super().__init__(parent)
        self._view = pg.GraphicsView(self, background=BACKGROUND)
        self._view.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self._view.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self._view.setFrameShape(pg.GraphicsView.Shape.NoFrame)
        self._box = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False,
                               defaultPadding=0.0)
        self._view.setCentralItem(self._box)
        self._item = _PaintReportingImageItem(self)
        self._box.addItem(self._item)
        self._highlight = highlight_rect(z=10)
        self._box.addItem(self._highlight)
        self._shape: tuple[int, ...] | None = None
        self._image: np.ndarray | None = None

        self._overlay = QLabel(self._view)
        self._overlay.setWordWrap(True)
        self._overlay.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._overlay.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._overlay.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._view)
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # -- images ---------------------------------------------------------------------------------
    def set_image(self, image: np.ndarray, tag: int | None = None) -> None:
        """Shows `image` (uint8, (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)). `tag` comes back
        through `frame_painted` once this image has been painted."""
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
            raise TypeError(f"ImageView shows uint8 (H, W[, 1|3|4]) images, got {image.dtype} {image.shape}")
        self._image = image
        self._item.tag = tag
        # Four channels with explicit levels become a 32-bit QImage, which QPainter scales about
        # ten times faster than the 8-bit indexed image a grey array would give; explicit levels
        # also skip the per-frame min/max search.
        self._item.setImage(_rgba(image), levels=(0, 255))
        if image.shape[:2] != self._shape:
            self._shape = image.shape[:2]
            self._box.setRange(QRectF(0, 0, image.shape[1], image.shape[0]), padding=0.0)

    def clear(self) -> None:
        self._image = None
        self._item.clear()
        self._item.tag = None
        self._shape = None
        self._highlight.hide()

    def image(self) -> np.ndarray | None:
        """The image shown now (the array given to set_image, 2-D for one channel)."""
        return self._image

    @property
    def painted_tag(self) -> int | None:
        return self._item.painted_tag

    def set_highlight(self, rect: tuple[float, float, float, float] | None) -> None:
        """Outlines (x, y, width, height) in image pixels, or nothing."""
        if rect is None:
            self._highlight.hide()
            return
        self._highlight.setRect(QRectF(*rect))
        self._highlight.show()

    # -- overlay text -----------------------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        """A centred note over the image: a hint on an empty view, or an error in red."""
        color = "#ffb4ab" if error else "#c4c7c5"
        border = "#93000a" if error else "#44474e"
        self._overlay.setStyleSheet(
            f"QLabel {{ color: {color}; background: rgba(30, 31, 34, 225); border: 1px solid {border};"
            f" border-radius: 6px; padding: 10px 14px; font-size: 10.5pt; }}")
        self._overlay.setText(text)
        self._overlay.show()
        self._place_overlay()

    def clear_message(self) -> None:
        self._overlay.hide()

    def message(self) -> str:
        """The overlay's text, "" when none is shown."""
        return "" if self._overlay.isHidden() else self._overlay.text()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._place_overlay()

    def _place_overlay(self) -> None:
        if self._overlay.isHidden():
            return
        width = max(120, min(self.width() - 24, 460))
        self._overlay.setFixedWidth(width)
        self._overlay.adjustSize()
        self._overlay.move((self.width() - width) // 2, (self.height() - self._overlay.height()) // 2)


def _rgba(image: np.ndarray) -> np.ndarray:
    """(H, W) grey or (H, W, 3) colour -> opaque (H, W, 4)."""
    if image.ndim == 3 and image.shape[2] == 4:
        return image
    out = np.empty((*image.shape[:2], 4), dtype=np.uint8)
    out[..., :3] = image[..., None] if image.ndim == 2 else image
    out[..., 3] = 255
    return out
