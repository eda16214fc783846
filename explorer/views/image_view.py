"""A widget that shows one uint8 image as large as it fits, with crisp (nearest-neighbour) pixels.

A pixmap item in a plain QGraphicsView, fitted to the view with its aspect ratio kept. Used by
every panel. It can carry a text overlay (hints, errors), outline one rectangle (a grid's centre
cell), and tells when a given image has actually been painted (`frame_painted`), which is what
latency is measured against, when asked to (`report_paints`). The pixmap is made once per image
and Qt scales it while painting, in C++; a view that does not report its paints runs no Python at
all while painting, so one that follows a run at screen rate leaves Python's lock to the worker
thread computing the next step.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QFrame, QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene, QGraphicsView,
                               QLabel, QSizePolicy, QVBoxLayout, QWidget)

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


class _PaintReportingPixmapItem(QGraphicsPixmapItem):
    """A pixmap item (pixel (x, y) covers the unit square at (x, y)) that reports the tag of each
    new image the first time it is painted."""

    def __init__(self, owner: ImageView):
        super().__init__()
        self._owner = owner
        self.tag: int | None = None
        self.painted_tag: int | None = None

    def paint(self, painter: QPainter, *args) -> None:
        super().paint(painter, *args)
        if self.tag is not None and self.tag != self.painted_tag:
            self.painted_tag = self.tag
            self._owner.frame_painted.emit(self.tag)


class _FittingView(QGraphicsView):
    """A graphics view that fits its scene whenever its own size changes. The view's size is what
    the fit depends on, and it changes later than its owner's: a resize made while the tab was
    hidden reaches the view only when the tab is shown again."""

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if not self.sceneRect().isEmpty():
            self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)


class ImageView(QWidget):
    """Shows (H, W) or (H, W, C) uint8 images, upscaled with nearest-neighbour."""

    frame_painted = Signal(int)     # the tag passed to set_image, once that image is on screen

    def __init__(self, parent: QWidget | None = None, minimum: int = 96, report_paints: bool = False):
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self._view = _FittingView(self._scene, self)
        self._view.setBackgroundBrush(QBrush(QColor(BACKGROUND)))
        self._view.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self._view.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self._view.setFrameShape(QFrame.Shape.NoFrame)
        self._view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._view.setInteractive(False)
        self._item = _PaintReportingPixmapItem(self) if report_paints else QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.FastTransformation)   # crisp pixels
        self._scene.addItem(self._item)
        self._highlight = highlight_rect(z=10)
        self._scene.addItem(self._highlight)
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
        """Shows `image` (uint8, (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)). In a view made with
        `report_paints`, `tag` comes back through `frame_painted` once the image is painted."""
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
            raise TypeError(f"ImageView shows uint8 (H, W[, 1|3|4]) images, got {image.dtype} {image.shape}")
        self._image = image
        if isinstance(self._item, _PaintReportingPixmapItem):
            self._item.tag = tag
        self._item.setPixmap(QPixmap.fromImage(_qimage(image)))
        if image.shape[:2] != self._shape:
            self._shape = image.shape[:2]
            self._scene.setSceneRect(QRectF(0, 0, image.shape[1], image.shape[0]))
            self._fit()

    def clear(self) -> None:
        self._image = None
        self._item.setPixmap(QPixmap())
        if isinstance(self._item, _PaintReportingPixmapItem):
            self._item.tag = None
        self._shape = None
        self._scene.setSceneRect(QRectF())
        self._highlight.hide()

    def image(self) -> np.ndarray | None:
        """The image shown now (the array given to set_image, 2-D for one channel)."""
        return self._image

    @property
    def painted_tag(self) -> int | None:
        """The tag of the newest image painted (views made with report_paints only)."""
        return getattr(self._item, "painted_tag", None)

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
        super().resizeEvent(event)     # the inner view refits itself when its own size changes
        self._place_overlay()

    def _fit(self) -> None:
        """The whole image as large as the view allows, its aspect ratio kept."""
        if self._shape is not None:
            self._view.fitInView(self._scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def _place_overlay(self) -> None:
        if self._overlay.isHidden():
            return
        width = max(120, min(self.width() - 24, 460))
        self._overlay.setFixedWidth(width)
        self._overlay.adjustSize()
        self._overlay.move((self.width() - width) // 2, (self.height() - self._overlay.height()) // 2)


def _qimage(image: np.ndarray) -> QImage:
    """A QImage that owns a copy of a uint8 (H, W) grey or (H, W, 3|4) colour array."""
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    formats = {1: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888,
               4: QImage.Format.Format_RGBA8888}
    # copy(): the QImage would otherwise point into the array's memory
    return QImage(image.data, w, h, w * channels, formats[channels]).copy()
