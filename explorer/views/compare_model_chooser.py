"""A compare column's model chooser: the VAEs and GANs the view can show, then "Open
checkpoint…". Picking a model says `chosen`; picking the last item says `open_requested` and
puts the chooser back on the model shown until the file has loaded."""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox, QWidget

from explorer.model_info import ModelInfo

OPEN_ITEM = "Open checkpoint…"


def _item_text(info: ModelInfo) -> str:
    return f"{info.name}  ({info.kind_title})"


class ModelChooser(QComboBox):
    chosen = Signal(object)           # the ModelInfo picked
    open_requested = Signal()

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._shown: ModelInfo | None = None
        self.setToolTip(f"{title}: a VAE or a GAN (bundled, or a checkpoint you open)")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(8)
        self.activated.connect(self._activated)

    def populate(self, infos: list[ModelInfo], preferred: str | None) -> ModelInfo | None:
        """Fills the chooser with `infos` and selects `preferred` (a source), else the first;
        returns the model selected (None when there is none)."""
        with QSignalBlocker(self):
            self.clear()
            for info in infos:
                self.addItem(_item_text(info), info)
                self.setItemData(self.count() - 1, info.tooltip(), Qt.ItemDataRole.ToolTipRole)
            self.insertSeparator(self.count())
            self.addItem(OPEN_ITEM, None)
        index = self.index_of(preferred) if preferred is not None else -1
        if index < 0:
            index = next((i for i in range(self.count()) if isinstance(self.itemData(i), ModelInfo)), -1)
        if index < 0:
            return None
        with QSignalBlocker(self):
            self.setCurrentIndex(index)
        return self.itemData(index)

    def add_model(self, info: ModelInfo) -> None:
        """Adds an opened checkpoint (once) and selects it, without signalling."""
        index = self.index_of(info.source)
        if index < 0:
            index = max(0, self.count() - 2)    # before the separator and "Open…"
            self.insertItem(index, _item_text(info), info)
            self.setItemData(index, info.tooltip(), Qt.ItemDataRole.ToolTipRole)
        with QSignalBlocker(self):
            self.setCurrentIndex(index)

    def offer(self, info: ModelInfo) -> None:
        """Lists a checkpoint the other column opened (once), leaving the selection alone."""
        if self.index_of(info.source) < 0:
            self.insertItem(max(0, self.count() - 2), _item_text(info), info)

    def index_of(self, source: str) -> int:
        for i in range(self.count()):
            data = self.itemData(i)
            if isinstance(data, ModelInfo) and data.source == source:
                return i
        return -1

    def show_model(self, info: ModelInfo | None) -> None:
        """`info` is the model the column shows now."""
        self._shown = info
        self.setToolTip(info.tooltip() if info is not None else "No model")

    def _activated(self, index: int) -> None:
        data = self.itemData(index)
        if isinstance(data, ModelInfo):
            self.chosen.emit(data)
            return
        if self._shown is not None:
            with QSignalBlocker(self):
                self.setCurrentIndex(self.index_of(self._shown.source))
        self.open_requested.emit()
