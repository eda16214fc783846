"""The latent panel's Levels tab, for a model whose latent is one noise vector per pyramid level
(a LAPGAN): the sliders grouped by level, coarse to fine, each group with a button that draws
new noise for its level, and one that holds it and the coarser levels while the finer ones are
drawn anew, so only detail changes."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from explorer.model_info import ModelInfo
from explorer.views.latent_widgets import SliderList, ValueSlider, scrolled


def model_levels(info: ModelInfo) -> tuple:
    """The pyramid levels of the model `info` describes (models.lapgan_levels.Level), from its
    config; () for a model without the pyramid capability."""
    if not info.can("pyramid"):
        return ()
    from models.lapgan_levels import declared_levels

    return declared_levels(info.metadata.get("config") or {})


class LevelsTab(QWidget):
    moved = Signal(int, float)            # latent dimension, new value
    slider_pressed = Signal()
    slider_released = Signal()
    resample_requested = Signal(object)   # the levels (list of indices) to draw new noise for

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.levels: tuple = ()
        self.sliders: list[ValueSlider] = []
        self.resample_buttons: list[QPushButton] = []
        self.finer_buttons: list[QPushButton] = []
        self.body = QWidget()
        self._body_layout = QVBoxLayout(self.body)
        self._body_layout.setContentsMargins(0, 0, 4, 0)
        note = QLabel("Each level adds the detail of its side to the coarser image; a finer level "
                      "never changes a coarser one.")
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scrolled(self.body), 1)
        layout.addWidget(note)

    def set_model(self, info: ModelInfo) -> None:
        while self._body_layout.count():
            item = self._body_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.levels = model_levels(info)
        self.sliders, self.resample_buttons, self.finer_buttons = [], [], []
        for level in self.levels:
            self._body_layout.addWidget(self._group(level, last=level.index == len(self.levels) - 1))
        self._body_layout.addStretch(1)

    def _group(self, level, last: bool) -> QGroupBox:
        box = QGroupBox(f"Level {level.index + 1}: {level.name}" + (" (base)" if level.index == 0 else ""))
        resample = QPushButton("Resample")
        resample.setToolTip(f"New noise for the {level.name} level only; the other levels keep theirs")
        resample.clicked.connect(lambda: self.resample_requested.emit([level.index]))
        buttons = QHBoxLayout()
        buttons.addWidget(resample)
        self.resample_buttons.append(resample)
        if not last:
            finer = QPushButton("Hold, resample finer")
            finer.setToolTip(f"Keep this level and the coarser ones, draw new noise for every finer level: "
                             f"the {level.name} image stays, only detail changes")
            finer.clicked.connect(lambda: self.resample_requested.emit(list(range(level.index + 1, len(self.levels)))))
            buttons.addWidget(finer)
            self.finer_buttons.append(finer)
        buttons.addStretch(1)
        rows = []
        for i in range(level.start, level.stop):
            row = ValueSlider(i, f"z{i - level.start}")
            row.setToolTip(f"Noise {i - level.start} of the {level.name} level (latent dimension {i})")
            row.moved.connect(self.moved)
            row.slider.sliderPressed.connect(self.slider_pressed)
            row.slider.sliderReleased.connect(self.slider_released)
            rows.append(row)
        sliders = SliderList(margins=(0, 0, 0, 0), stretch=False)
        sliders.set_rows(rows)
        self.sliders += rows
        layout = QVBoxLayout(box)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(buttons)
        layout.addWidget(sliders)
        return box

    def show_point(self, z: np.ndarray) -> None:
        """Puts each slider at its dimension of `z` without moving the point."""
        for row in self.sliders:
            row.set_value(float(z[row.index]))
