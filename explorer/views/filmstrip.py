"""A horizontal strip of thumbnails of every frame of a path, scrolled sideways.

Frames can arrive piece by piece (decoding streams them): a frame not decoded yet is a grey
placeholder. The current frame is outlined, keyframes get a tag above their thumbnail, and frames
where the path leaves the training data get a red marker. Clicking (or dragging over) the strip
picks a frame.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap, QPolygon
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QWidget

GAP = 4
TAG_HEIGHT = 14
MARGIN = 4
BACKGROUND = QColor("#1e1f22")
PLACEHOLDER = QColor("#3a3c40")
CURRENT = QColor("#f9ab00")
WARNING = QColor("#ff5449")
TAG = QColor("#c4c7c5")


def to_qimage(frame: np.ndarray) -> QImage:
    """A uint8 (H, W), (H, W, 1) or (H, W, 3) array as a QImage that owns its pixels."""
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    frame = np.ascontiguousarray(frame)
    h, w = frame.shape[:2]
    if frame.ndim == 2:
        return QImage(frame.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    return QImage(frame.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class _Strip(QWidget):
    clicked = Signal(int)

    def __init__(self, owner: Filmstrip):
        super().__init__(owner)
        self._owner = owner
        self.setMouseTracking(False)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        o = self._owner
        p = QPainter(self)
        p.fillRect(event.rect(), BACKGROUND)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        size = o.thumb_size
        first = max(0, (event.rect().left() - MARGIN) // (size + GAP))
        last = min(o.count - 1, (event.rect().right() - MARGIN) // (size + GAP) + 1)
        for i in range(first, last + 1):
            rect = o.thumb_rect(i)
            pixmap = o.pixmap(i)
            if pixmap is None:
                p.fillRect(rect, PLACEHOLDER)
            else:
                p.drawPixmap(rect, pixmap)
            tag = o.tags.get(i)
            if tag:
                p.setPen(TAG)
                p.drawText(QRect(rect.left(), 0, rect.width(), TAG_HEIGHT),
                           Qt.AlignmentFlag.AlignCenter, tag)
            if i in o.warnings:
                cx = rect.center().x()
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(WARNING)
                p.drawPolygon(QPolygon([QPoint(cx - 5, rect.bottom() + 9), QPoint(cx + 5, rect.bottom() + 9),
                                        QPoint(cx, rect.bottom() + 3)]))
                p.setBrush(Qt.BrushStyle.NoBrush)
        if 0 <= o.current < o.count:
            pen = QPen(CURRENT)
            pen.setWidth(2)
            p.setPen(pen)
            p.drawRect(o.thumb_rect(o.current).adjusted(-2, -2, 1, 1))
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self._pick(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._pick(event)

    def _pick(self, event: QMouseEvent) -> None:
        index = self._owner.index_at(int(event.position().x()))
        if index is not None:
            self.clicked.emit(index)


class Filmstrip(QScrollArea):
    """Thumbnails of all frames in one scrollable row."""

    frame_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None, thumb_size: int = 56):
        super().__init__(parent)
        self.thumb_size = thumb_size
        self.count = 0
        self.current = -1
        self.tags: dict[int, str] = {}
        self.warnings: set[int] = set()
        self._frames: list[np.ndarray | None] = []
        self._pixmaps: dict[int, QPixmap] = {}
        self._strip = _Strip(self)
        self._strip.clicked.connect(self._clicked)
        self.setWidget(self._strip)
        self.setWidgetResizable(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        # Arrow keys step through frames in the panel; a focused scroll area would eat them.
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setToolTip("Every frame of the path. Click or drag to pick a frame; the tags mark the "
                        "keyframes, red markers the frames where the path jumps away from the training data.")
        self._resize_strip()

    # -- content ------------------------------------------------------------------------------
    def set_count(self, count: int) -> None:
        """Empties the strip and makes room for `count` frames (shown as placeholders)."""
        self.count = max(0, int(count))
        self._frames = [None] * self.count
        self._pixmaps.clear()
        self.warnings = set()
        self.current = min(self.current, self.count - 1)
        self._resize_strip()
        self._strip.update()

    def set_frames(self, frames: np.ndarray, start: int = 0) -> None:
        """Puts uint8 frames (n, H, W[, C]) at positions start, start + 1, ..."""
        end = start + len(frames)
        if end > self.count:
            self._frames += [None] * (end - self.count)
            self.count = end
            self._resize_strip()
        for i, frame in enumerate(frames, start):
            self._frames[i] = frame
            self._pixmaps.pop(i, None)
        self._strip.update()

    def frame(self, index: int) -> np.ndarray | None:
        return self._frames[index] if 0 <= index < self.count else None

    def set_tags(self, tags: dict[int, str]) -> None:
        self.tags = dict(tags)
        self._strip.update()

    def set_warnings(self, frames: set[int] | list[int] | tuple[int, ...]) -> None:
        self.warnings = set(frames)
        self._strip.update()

    def set_current(self, index: int) -> None:
        """Outlines frame `index` and scrolls it into view."""
        if index == self.current:
            return
        self.current = index
        if 0 <= index < self.count:
            rect = self.thumb_rect(index)
            self.ensureVisible(rect.center().x(), rect.center().y(), self.thumb_size, 0)
        self._strip.update()

    # -- geometry -----------------------------------------------------------------------------
    def thumb_rect(self, index: int) -> QRect:
        return QRect(MARGIN + index * (self.thumb_size + GAP), TAG_HEIGHT, self.thumb_size, self.thumb_size)

    def index_at(self, x: int) -> int | None:
        if self.count == 0:
            return None
        index = (x - MARGIN) // (self.thumb_size + GAP)
        return int(min(max(index, 0), self.count - 1))

    def pixmap(self, index: int) -> QPixmap | None:
        frame = self._frames[index] if 0 <= index < self.count else None
        if frame is None:
            return None
        if index not in self._pixmaps:
            self._pixmaps[index] = QPixmap.fromImage(to_qimage(frame))
        return self._pixmaps[index]

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(400, self._strip_height() + self.horizontalScrollBar().sizeHint().height())

    def _strip_height(self) -> int:
        return TAG_HEIGHT + self.thumb_size + 12

    def _resize_strip(self) -> None:
        width = MARGIN * 2 + max(self.count, 1) * (self.thumb_size + GAP)
        self._strip.resize(width, self._strip_height())
        self.setFixedHeight(self._strip_height() + self.horizontalScrollBar().sizeHint().height())

    def _clicked(self, index: int) -> None:
        self.frame_clicked.emit(index)
