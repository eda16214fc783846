"""The latent panel's Directions tab: the button that asks the worker for a model's principal
directions (GANSpace, or PCA of encoded data), their progress, and one slider per direction.

The tab owns its channel and shows what comes back; the panel moves the point when a slider
moves (`moved`) and starts from the current point again when new directions arrive (`computed`).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from explorer.context import AppContext
from explorer.jobs.directions import directions_job
from explorer.model_info import ModelInfo
from explorer.views.latent_widgets import SliderList, ValueSlider, scrolled
from explorer.worker import JobProgress, Result
from models.directions import Directions

DIRECTIONS_CHANNEL = "latent-directions"


class DirectionsTab(QWidget):
    moved = Signal(int, float)            # direction index, amount in standard deviations
    computed = Signal(object)             # the Directions now shown
    compute_requested = Signal()          # the Compute button was pressed
    slider_pressed = Signal()
    slider_released = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.directions: Directions | None = None     # of the current model, once computed
        self.channel = context.channel(DIRECTIONS_CHANNEL)

        self.list = SliderList()
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(mid);")
        self.button = QPushButton("Compute directions")
        self.button.setToolTip("Principal directions of the latent space: GANSpace for models with an "
                               "early layer (GANs), PCA of the encoded test set for models with an "
                               "encoder (VAEs)")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scrolled(self.list), 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.note)
        layout.addWidget(self.button)

        self.button.clicked.connect(self.compute_requested)
        self.channel.result_ready.connect(self._on_result)
        self.channel.progress_changed.connect(self._on_progress)

    @property
    def sliders(self) -> list[ValueSlider]:
        return self.list.rows

    @property
    def busy(self) -> bool:
        return self.channel.busy

    def amounts(self) -> np.ndarray:
        """Each slider's value: how far along its direction, in standard deviations."""
        return np.array([row.value() for row in self.sliders], dtype=np.float32)

    def zero(self) -> None:
        """Puts every slider back to 0 without moving the point."""
        for row in self.sliders:
            row.set_value(0.0)

    def set_model(self, info: ModelInfo) -> None:
        """Forgets the previous model's directions; says when this model can have none."""
        self.channel.reset()
        self.list.set_rows([])
        self.progress.setVisible(False)
        can_directions = info.directions_method is not None
        self.button.setEnabled(can_directions)
        self.note.setText("" if can_directions else
                          "Principal directions need an encoder (a VAE) or an early layer (a GAN).")
        self.directions = None

    def compute(self, info: ModelInfo, label: int | list[float] | None) -> None:
        """Asks the worker for the principal directions of `info` (for class `label`)."""
        self.channel.submit(directions_job(info.source, label), label="principal directions")
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.button.setEnabled(False)
        self.note.setText(f"Computing principal directions ({info.directions_method})…")

    def _on_progress(self, progress: JobProgress) -> None:
        self.progress.setRange(0, progress.total)
        self.progress.setValue(progress.done)
        self.progress.setFormat(f"{progress.message} %p%")

    def _on_result(self, result: Result) -> None:
        self.progress.setVisible(False)
        self.button.setEnabled(True)
        if result.cancelled:
            self.note.setText("Cancelled.")
            return
        if not result.ok:
            self.note.setText(f"Could not compute directions: {result.error}")
            self.context.status.emit(f"Directions failed: {result.error}")
            return
        directions: Directions = result.value
        self.directions = directions
        if directions.message:
            self.context.status.emit(directions.message)
        self._show(directions)
        self.computed.emit(directions)

    def _show(self, directions: Directions) -> None:
        rows = []
        for j, std in enumerate(directions.std):
            row = ValueSlider(j, f"PC{j + 1}")
            row.setToolTip(f"Principal direction {j + 1} ({directions.method}); one unit is one "
                           f"standard deviation of the samples along it ({float(std):.3f} in latent units)")
            row.moved.connect(self.moved)
            row.slider.sliderPressed.connect(self.slider_pressed)
            row.slider.sliderReleased.connect(self.slider_released)
            rows.append(row)
        self.list.set_rows(rows)
        note = f"{len(directions.std)} directions from {directions.method}; sliders in standard deviations."
        if directions.message:
            note += f"\n{directions.message}"
        self.note.setText(note)
