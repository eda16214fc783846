"""The latent panel's neighbour grid: a k x k mosaic of the points around the current one, along
the two axes (latent dimensions or principal directions) the user moved last, with its reach.

The grid owns its channel and its on/off action (remembered in the settings); the panel says
when to ask again (`request`) and which axis moved (`axis_moved`), and hears when the grid
wants a request (`wanted`: turned on, or its reach changed). The reach spin box sits in the
panel's controls, so it is a separate widget, `options`, shown and hidden with the grid.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer.context import AppContext
from explorer.jobs.latent import NeighbourGrid, neighbours_job
from explorer.views.image_view import ImageView
from explorer.worker import Result
from explorer.settings import setting
from models.directions import Directions

GRID_CHANNEL = "latent-grid"
GRID_SIZE = 5

Axis = tuple[str, int]        # ("z", dimension) or ("PC", direction index)


class NeighbourGridView(QWidget):
    wanted = Signal()     # the grid needs a request: it was turned on, or its reach changed

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.channel = context.channel(GRID_CHANNEL, intermediate=True)
        self.shown_id = 0
        # left-right, bottom-top: the last two sliders moved
        self.axes: tuple[Axis, Axis] = (("z", 0), ("z", 1))

        self.view = ImageView(minimum=160)
        self.view.setToolTip("Neighbouring points: the centre is the current point; left-right "
                             "and bottom-top move the two dimensions you moved last")
        self.caption = QLabel()
        self.caption.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)
        self.setVisible(False)

        self.reach = QDoubleSpinBox()
        self.reach.setRange(0.1, 3.0)
        self.reach.setSingleStep(0.25)
        self.reach.setValue(1.0)
        self.reach.setSuffix(" σ")
        self.reach.setToolTip("How far the neighbour grid reaches on each side")
        options_row = QHBoxLayout()
        options_row.addWidget(QLabel("Neighbour grid reach"))
        options_row.addWidget(self.reach)
        options_row.addStretch(1)
        self.options = QWidget()
        self.options.setLayout(options_row)
        self.options.setVisible(False)

        # The panel adds the action to itself and to the window's View menu.
        self.action = QAction("Neighbour grid", self)
        self.action.setCheckable(True)
        self.action.setShortcut(QKeySequence("Ctrl+G"))
        self.action.setToolTip("Show a grid of points around the current one")

        self.reach.valueChanged.connect(lambda _: self.wanted.emit())
        self.channel.result_ready.connect(self._on_result)
        self.action.toggled.connect(self._toggled)

    def restore(self) -> None:
        """Turns the grid on when it was on last time."""
        self.action.setChecked(setting(self.context.settings, "latent/grid", False))

    @property
    def shown(self) -> bool:
        return self.action.isChecked()

    def set_model(self, latent_dim: int) -> None:
        self.channel.reset()
        self.axes = (("z", 0), ("z", min(1, latent_dim - 1)))

    def _toggled(self, on: bool) -> None:
        self.context.settings.setValue("latent/grid", on)
        self.setVisible(on)
        self.options.setVisible(on)
        if on:
            self.wanted.emit()

    def axis_moved(self, axis: Axis) -> None:
        """`axis` was just moved: it becomes the horizontal axis, the previous one the vertical."""
        if axis != self.axes[0]:
            self.axes = (axis, self.axes[0])

    def request(self, source: str, z: np.ndarray, label: int | list[float] | None, psi: float,
                directions: Directions | None) -> None:
        """Asks for the grid around `z`; principal-direction axes need `directions`."""
        (u, u_name), (v, v_name) = (self._vector(axis, z, directions) for axis in self.axes)
        extent = self.reach.value()
        self.channel.submit(neighbours_job(source, z, u, v, extent, GRID_SIZE, label, psi),
                            label="neighbour grid")
        self.caption.setText(f"→ {u_name}   ↑ {v_name}   ±{extent:g}σ")

    @staticmethod
    def _vector(axis: Axis, z: np.ndarray, directions: Directions | None) -> tuple[np.ndarray, str]:
        """A grid axis as a flat latent vector one standard deviation long, and its name."""
        kind, index = axis
        if kind == "PC" and directions is not None and index < len(directions.std):
            return directions.directions[index] * directions.std[index], f"PC{index + 1}"
        vector = np.zeros_like(z)
        vector[min(index, len(vector) - 1)] = 1.0
        return vector, f"z{index}"

    def _on_result(self, result: Result) -> None:
        if result.cancelled:
            return
        if not result.ok or not self.shown:
            if result.error:
                self.view.show_message(result.error, error=True)
            return
        grid: NeighbourGrid = result.value
        self.shown_id = result.request_id
        self.view.clear_message()
        self.view.set_image(grid.mosaic)
        h, w = grid.cell
        c = grid.k // 2
        self.view.set_highlight((c * (w + grid.gap), c * (h + grid.gap), w, h))
