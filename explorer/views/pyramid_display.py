"""The pyramid display of a LAPGAN point: one row per level, coarse to fine, each showing the
low-pass image the level starts from (the coarser level's image brought up), the band-pass
residual it draws (mid-grey is no change, white and black its largest value either way) and
the image they compose. Painted by hand in one paint event: it follows every frame of a drag."""
from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from explorer.jobs.pyramid import PyramidFrame
from explorer.views.filmstrip import to_qimage

COLUMNS = ("low-pass", "+ band-pass", "= image")
GAP = 6
MAX_CELL = 140          # the largest side of a picture: the decoded image above keeps the room


class PyramidDisplay(QWidget):
    """Shows a PyramidFrame; empty until the first one arrives."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.frame: PyramidFrame | None = None
        self._images: list[list] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 150)
        self._limit_height(3)
        self.setToolTip("What each level of the pyramid draws: the coarser level's image brought up, "
                        "the detail this level adds (grey is none), and their sum")

    def set_frame(self, frame: PyramidFrame) -> None:
        self.frame = frame
        self._images = [[None if p is None else to_qimage(p) for p in (lv.low_pass, lv.band_pass, lv.image)]
                        for lv in frame.levels]
        self._limit_height(len(frame.levels))
        self.update()

    def _limit_height(self, rows: int) -> None:
        self.setMaximumHeight(self.fontMetrics().height() + 2 + rows * (MAX_CELL + GAP))

    def clear(self) -> None:
        self.frame = None
        self._images = []
        self.update()

    def caption(self, row: int) -> str:
        """The text beside a row: the level's side, and the largest residual it adds."""
        level = self.frame.levels[row]
        if level.band_pass is None:
            return f"{level.name}\nbase"
        return f"{level.name}\n±{level.band_scale:.2f}"

    def cell_rects(self) -> list[list[QRect]]:
        """Where each row's three pictures go, as large as the widget allows, square."""
        rows = len(self._images)
        if not rows:
            return []
        metrics = self.fontMetrics()
        label_w = metrics.horizontalAdvance("28×28 ") + GAP
        header = metrics.height() + 2
        side = int(min((self.width() - label_w - GAP * 3) / 3, (self.height() - header - GAP * rows) / rows))
        side = max(8, min(MAX_CELL, side))
        rects = []
        for r in range(rows):
            y = header + r * (side + GAP)
            rects.append([QRect(label_w + c * (side + GAP), y, side, side) for c in range(3)])
        return rects

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        faint = palette.color(QPalette.ColorRole.PlaceholderText)
        rects = self.cell_rects()
        if not rects:
            painter.setPen(faint)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "The pyramid appears with the first image")
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)   # pixels stay pixels
        line = self.fontMetrics().height()
        painter.setPen(text)
        for c, title in enumerate(COLUMNS):
            cell = rects[0][c]
            painter.drawText(QRectF(cell.x(), 0, cell.width(), line), Qt.AlignmentFlag.AlignHCenter, title)
        for r, row in enumerate(rects):
            painter.setPen(text)
            painter.drawText(QRectF(0, row[0].y(), row[0].x() - GAP, row[0].height()),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, self.caption(r))
            for c, cell in enumerate(row):
                image = self._images[r][c]
                if image is None:
                    painter.setPen(faint)
                    painter.drawRect(cell.adjusted(0, 0, -1, -1))
                    painter.drawText(cell, Qt.AlignmentFlag.AlignCenter, "—")
                else:
                    painter.drawImage(cell, image)
