"""The model library: bundled models and recently opened files, each with its metadata as a
tooltip. Activating an entry opens it."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPalette
from PySide6.QtWidgets import (QPushButton, QStyle, QStyledItemDelegate, QStyleOptionViewItem,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from explorer.context import AppContext
from explorer.model_info import ModelInfo
from explorer.views.plain_text import plain_tooltip

SOURCE_ROLE = Qt.ItemDataRole.UserRole
SUMMARY_ROLE = Qt.ItemDataRole.UserRole + 1


class _TwoLineDelegate(QStyledItemDelegate):
    """Model entries: the name in bold over a one-line summary in a muted colour."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        size = super().sizeHint(option, index)
        if index.data(SUMMARY_ROLE):
            size.setHeight(option.fontMetrics.height() * 2 + 10)
        return size

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        summary = index.data(SUMMARY_ROLE)
        if not summary:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        rect = opt.rect.adjusted(6, 4, -4, -4)
        line = opt.fontMetrics.height()
        painter.save()
        name_font = QFont(opt.font)
        name_font.setBold(True)
        painter.setFont(name_font)
        painter.setPen(opt.palette.color(role))
        painter.drawText(QRect(rect.left(), rect.top(), rect.width(), line), Qt.AlignmentFlag.AlignLeft,
                         opt.fontMetrics.elidedText(text, Qt.TextElideMode.ElideRight, rect.width()))
        small = QFont(opt.font)
        small.setPointSizeF(max(6.0, opt.font.pointSizeF() * 0.9))
        painter.setFont(small)
        muted = opt.palette.color(role if selected else QPalette.ColorRole.PlaceholderText)
        painter.setPen(muted)
        painter.drawText(QRect(rect.left(), rect.top() + line + 2, rect.width(), line), Qt.AlignmentFlag.AlignLeft,
                         opt.fontMetrics.elidedText(summary, Qt.TextElideMode.ElideRight, rect.width()))
        painter.restore()


class ModelLibrary(QWidget):
    open_requested = Signal(str)       # the source to open
    browse_requested = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(8)
        self.tree.setItemDelegate(_TwoLineDelegate(self.tree))
        self.tree.setUniformRowHeights(False)
        self.tree.setToolTip("Click a model (or press Enter on it) to open it")
        self.open_button = QPushButton("Open file…")
        self.open_button.setToolTip("Open a checkpoint file (Ctrl+O)")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.open_button)
        self.tree.itemClicked.connect(self._activated)
        self.tree.itemActivated.connect(self._activated)
        self.open_button.clicked.connect(self.browse_requested)
        context.model_opened.connect(lambda info: self.set_current(info.source))
        context.recent_changed.connect(self.refresh)
        self._current: str | None = None
        self.refresh()

    def refresh(self) -> None:
        self.tree.clear()
        bundled = self._group("Bundled models")
        for info in self.context.models:
            self._add(bundled, info)
        if not self.context.models:
            empty = QTreeWidgetItem(bundled, ["none installed"])
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
        recent = self.context.recent_files()
        if recent:
            group = self._group("Recent files")
            for path in recent:
                self._add(group, _recent_info(path), path)
        self.tree.expandAll()
        self.set_current(self._current)

    def sources(self) -> list[str]:
        """The sources listed, bundled first."""
        out = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            for i in range(group.childCount()):
                source = group.child(i).data(0, SOURCE_ROLE)
                if source:
                    out.append(source)
        return out

    def set_current(self, source: str | None) -> None:
        self._current = source
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            for i in range(group.childCount()):
                item = group.child(i)
                font = item.font(0)
                font.setUnderline(source is not None and item.data(0, SOURCE_ROLE) == source)
                item.setFont(0, font)
                if item.data(0, SOURCE_ROLE) == source:
                    self.tree.setCurrentItem(item)

    def _group(self, title: str) -> QTreeWidgetItem:
        group = QTreeWidgetItem(self.tree, [title.upper()])
        group.setFlags(Qt.ItemFlag.ItemIsEnabled)
        font = group.font(0)
        font.setPointSizeF(font.pointSizeF() * 0.85)
        font.setBold(True)
        group.setFont(0, font)
        group.setForeground(0, self.palette().color(QPalette.ColorRole.PlaceholderText))
        return group

    def _add(self, group: QTreeWidgetItem, info: ModelInfo | str, source: str | None = None) -> None:
        if isinstance(info, str):   # a recent file that cannot be described: listed, opening explains
            item = QTreeWidgetItem(group, [Path(source or "").name])
            item.setData(0, SUMMARY_ROLE, info)
            item.setToolTip(0, plain_tooltip(f"{source}\n{info}"))
            item.setData(0, SOURCE_ROLE, source)
            return
        item = QTreeWidgetItem(group, [info.name])
        item.setData(0, SUMMARY_ROLE, info.summary())
        item.setToolTip(0, plain_tooltip(info.tooltip()))
        item.setData(0, SOURCE_ROLE, source or info.source)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        source = item.data(0, SOURCE_ROLE)
        if source and source != self._current:     # the open model stays as it is
            self.open_requested.emit(source)


def _recent_info(path: str) -> ModelInfo | str:
    """The ModelInfo of a recent file from its metadata, or a short note when it has none."""
    from models.checkpoint import CheckpointError, read_metadata

    if not Path(path).exists():
        return "the file no longer exists"
    if Path(path).suffix.lower() != ".safetensors":
        return "imported generator"
    try:
        return ModelInfo.from_metadata(path, read_metadata(path))
    except CheckpointError:
        return "cannot be read (open it to see why)"
