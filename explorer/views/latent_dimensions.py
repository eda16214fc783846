"""The latent panel's Dimensions tab: one slider per latent dimension (the first 32 of a larger
latent), each over ±3σ of the prior, and a line saying how many there are."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from explorer.model_info import ModelInfo
from explorer.views.latent_widgets import SIGMAS, SliderList, ValueSlider, scrolled

MAX_SLIDERS = 32        # more dimensions than this: the first 32, and the directions mode


class DimensionsTab(QWidget):
    moved = Signal(int, float)            # dimension, new value
    slider_pressed = Signal()
    slider_released = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.list = SliderList()
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scrolled(self.list), 1)
        layout.addWidget(self.note)

    @property
    def sliders(self) -> list[ValueSlider]:
        return self.list.rows

    def set_model(self, info: ModelInfo) -> None:
        rows = []
        for i in range(min(info.latent_dim, MAX_SLIDERS)):
            row = ValueSlider(i, f"z{i}")
            row.setToolTip(f"Latent dimension {i}; ←/→ nudge by 0.1, PgUp/PgDn by 0.5")
            row.moved.connect(self.moved)
            row.slider.sliderPressed.connect(self.slider_pressed)
            row.slider.sliderReleased.connect(self.slider_released)
            rows.append(row)
        self.list.set_rows(rows)
        if info.latent_dim > MAX_SLIDERS:
            rest = ("; the Directions tab moves through all of them." if info.directions_method is not None
                    else "; this latent is a whole noise image: the Diffusion view shows what becomes of it."
                    if info.can("sampler") else ".")
            self.note.setText(f"Showing the first {MAX_SLIDERS} of {info.latent_dim} dimensions{rest}")
        else:
            self.note.setText(f"{info.latent_dim} dimensions, each ±{SIGMAS:g}σ of the prior.")

    def show_point(self, z: np.ndarray) -> None:
        """Puts each slider at its dimension of `z` without moving the point."""
        for row in self.sliders:
            row.set_value(float(z[row.index]))
