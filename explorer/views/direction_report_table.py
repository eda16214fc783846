"""The report of a set of directions as a table: for each direction, what moving ±2σ along it
changes (models/direction_report.py). Click a column's header to sort by it."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QToolButton, QVBoxLayout, QWidget)

from explorer.views.plain_text import plain_label
from models.direction_report import COLUMNS, DirectionFigures, DirectionReport

SHOWN = ("name", "scale", "top_class_moves", "towards_gain", "away_loss", "leakage", "pixel_change", "leaves_data")


class _Number(QTableWidgetItem):
    """A cell that sorts by its number, not its text (unmeasured figures last)."""

    def __init__(self, text: str, value: float | None):
        super().__init__(text)
        self.value = -math.inf if value is None else float(value)
        self.setTextAlignment(Qt.AlignmentFlag.AlignCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        return self.value < getattr(other, "value", -math.inf)


def cells(row: DirectionFigures, report: DirectionReport) -> list[tuple[str, float | None]]:
    """(text, sort value) of each shown column of one row."""
    share = "—" if row.leaves_data is None else f"{row.leaves_data:.0%}"
    return [
        (row.name, float(row.index)),
        (f"{row.scale:.3g}", row.scale),
        (f"{row.top_class_moves:.0%}", row.top_class_moves),
        (f"{row.towards} +{row.towards_gain:.2f}" if row.towards else "—", row.towards_gain),
        (f"{row.away} −{row.away_loss:.2f}" if row.away else "—", row.away_loss),
        (f"{row.leakage:.2f}", row.leakage),
        (f"{row.pixel_change:.3f}", row.pixel_change),
        (share, row.leaves_data),
    ]


class DirectionReportTable(QWidget):
    closed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.report: DirectionReport | None = None
        self.title = plain_label(QLabel())
        self.title.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Hide the report")
        close.clicked.connect(self.hide)
        close.clicked.connect(self.closed)
        self.table = QTableWidget(0, len(SHOWN))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(90)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.table, 1)
        self.hide()

    def show_report(self, report: DirectionReport) -> None:
        self.report = report
        table = self.table
        table.setSortingEnabled(False)
        table.clearContents()
        table.setRowCount(len(report.rows))
        for c, key in enumerate(SHOWN):
            title, tip, _ = COLUMNS[key]
            header = QTableWidgetItem(report.scale_name if key == "scale" else title)
            header.setToolTip(tip)
            table.setHorizontalHeaderItem(c, header)
        for r, row in enumerate(report.rows):
            for c, (text, value) in enumerate(cells(row, report)):
                item = _Number(text, value)
                item.setToolTip(COLUMNS[SHOWN[c]][1])
                table.setItem(r, c, item)
        table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        table.setSortingEnabled(True)
        self._fit_rows()
        off = ("" if report.starts_off_data is None
               else f"; {report.starts_off_data:.0%} of the starts themselves are off the data")
        self.title.setText(f"What ±{report.reach:g}σ along each direction changes, over {report.starts} starts "
                           f"(seed {report.seed}){off}. " + " ".join(report.notes))
        self.show()

    def _fit_rows(self) -> None:
        """No taller than its rows need, so the splitter gives the rest to the image."""
        table = self.table
        rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
        chrome = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
        chrome += table.horizontalScrollBar().sizeHint().height()
        table.setMaximumHeight(rows + chrome)
        self.setMaximumHeight(table.maximumHeight() + self.title.sizeHint().height() + 24)

    def column_values(self, key: str) -> list[str]:
        """The texts of column `key` in the order shown."""
        c = SHOWN.index(key)
        return [self.table.item(r, c).text() for r in range(self.table.rowCount())]

    def sort_by(self, key: str, descending: bool = True) -> None:
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        self.table.sortItems(SHOWN.index(key), order)
