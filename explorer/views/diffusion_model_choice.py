"""The diffusion view's "Model" group: the list of DDPMs to sample from (bundled, opened in the app,
or opened here), an Open… button for a checkpoint, and a line about the model in use. The panel
opens the model the user picks, on the worker."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QSettings, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from explorer.jobs.diffusion import DiffusionModel
from explorer.model_info import ModelInfo
from explorer.settings import setting


class DiffusionModelChoice(QGroupBox):
    """Which DDPM the view uses; the last one used is kept as "diffusion/model" in `settings`."""

    chosen = Signal(str)        # the user picked this source in the list
    opened = Signal(str)        # the user opened this checkpoint file with Open…

    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__("Model", parent)
        self.settings = settings
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The DDPM this view samples from (bundled, opened in the app, or opened here)")
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(12)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a DDPM checkpoint for this view")
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.model_label.setStyleSheet("color: palette(mid);")
        gl = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(self.model_combo, 1)
        row.addWidget(self.open_button)
        gl.addLayout(row)
        gl.addWidget(self.model_label)
        self.model_combo.activated.connect(lambda _: self._picked())
        self.open_button.clicked.connect(self.open_file)

    def fill(self, models: Iterable[ModelInfo], current: ModelInfo | None) -> str | None:
        """List the DDPMs among `models`, `current` when it is one, and the file opened here last
        time; returns the one to use: `current`, else last time's, else the first listed (None
        when there is none)."""
        with QSignalBlocker(self.model_combo):
            self.model_combo.clear()
            for info in models:
                if info.can("sampler"):
                    self.add(info.name, info.source)
            if current is not None and current.can("sampler"):
                self.add(current.name, current.source)
        preferred = [current.source] if current is not None and current.can("sampler") else []
        saved = setting(self.settings, "diffusion/model", "")
        if saved and self.model_combo.findData(saved) < 0 and Path(saved).is_file():
            self.add(Path(saved).stem, saved)      # a file opened here last time
        preferred += [saved] if saved else []
        for source in preferred + [self.model_combo.itemData(i) for i in range(self.model_combo.count())]:
            if source and self.model_combo.findData(source) >= 0:
                return source
        return None

    def add(self, name: str, source: str) -> int:
        """List `source` under `name` unless it is listed already; returns its index."""
        index = self.model_combo.findData(source)
        if index < 0:
            self.model_combo.addItem(name, source)
            index = self.model_combo.count() - 1
            self.model_combo.setItemData(index, source, Qt.ItemDataRole.ToolTipRole)
        return index

    def _picked(self) -> None:
        source = self.model_combo.currentData()
        if source:
            self.chosen.emit(source)

    def open_file(self) -> None:
        start = setting(self.settings, "diffusion/last_dir", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open a DDPM checkpoint", start,
                                              "Checkpoints (*.safetensors *.pt *.pth);;All files (*)")
        if path:
            self.settings.setValue("diffusion/last_dir", str(Path(path).parent))
            self.opened.emit(str(Path(path).resolve()))

    def show_opening(self, source: str) -> None:
        self.model_label.setText(f"Opening {Path(source).name}…")

    def show_model(self, model: DiffusionModel) -> None:
        """`model` is open: select it in the list, remember it, and describe it."""
        info = model.info
        index = self.add(info.name, info.source)
        with QSignalBlocker(self.model_combo):
            self.model_combo.setCurrentIndex(index)
        self.settings.setValue("diffusion/model", info.source)
        self.model_label.setText(f"{info.summary()} · {model.schedule.kind} schedule, "
                                 f"T = {model.schedule.num_timesteps}")

    def show_none(self) -> None:
        self.model_label.setText("")
