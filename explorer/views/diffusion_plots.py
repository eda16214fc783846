"""The diffusion view's two plots: the noise schedule with the current timestep marked, and the
per-step statistics of the run with the current step marked.

Both take NumPy arrays and do no arithmetic beyond what plotting needs; during a run the view
hands them the kept statistics at screen rate, not once per step.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem, QVBoxLayout, QWidget

from explorer.jobs.diffusion import ScheduleInfo

BACKGROUND = "#1e1f22"
COLORS = {"beta": "#f9ab00", "alpha_bar": "#8ab4f8", "snr": "#81c995", "std": "#8ab4f8", "change": "#f28b82"}
MARKER = "#e8eaed"


def _plot(parent: QWidget | None, x_label: str, keys: dict[str, str]) -> pg.PlotWidget:
    """A plot whose title names its curves in their colours (`keys`: name -> colour): a legend
    inside a small plot would cover the curves."""
    plot = pg.PlotWidget(parent, background=BACKGROUND)
    named = "&nbsp;&nbsp;".join(f"<span style='color:{colour}'>■ {name}</span>" for name, colour in keys.items())
    plot.setTitle(named, size="9pt")
    plot.setLabel("bottom", x_label)
    # No grid: the axes draw it across the whole plot, so every move of the step marker would
    # repaint both axes (tick labels included) — the costliest part of a live refresh.
    plot.setMenuEnabled(False)
    plot.setMinimumHeight(150)
    return plot


def _add_marker(plot: pg.PlotWidget) -> pg.InfiniteLine:
    """The dashed vertical line marking the timestep or step shown, hidden until there is one."""
    marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(MARKER, width=1, style=Qt.PenStyle.DashLine))
    marker.setVisible(False)
    plot.addItem(marker, ignoreBounds=True)
    return marker


class SchedulePlot(QWidget):
    """beta_t, alpha-bar_t and the signal-to-noise ratio over t (log scale), current t marked."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = _plot(self, "timestep t",
                          {"β_t": COLORS["beta"], "ᾱ_t": COLORS["alpha_bar"], "SNR": COLORS["snr"]})
        self.plot.setLogMode(x=False, y=True)
        self.plot.getPlotItem().setLabel("left", "value (log scale)")
        self.curves = {
            "beta": self.plot.plot(pen=pg.mkPen(COLORS["beta"], width=2)),
            "alpha_bar": self.plot.plot(pen=pg.mkPen(COLORS["alpha_bar"], width=2)),
            "snr": self.plot.plot(pen=pg.mkPen(COLORS["snr"], width=2)),
        }
        for curve in self.curves.values():
            # the schedule never changes during a run: moving the marker over it blits a cache
            curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.marker = _add_marker(self.plot)
        self.setToolTip("The noise schedule (the forward process): how much signal (ᾱ_t) and noise each "
                        "timestep keeps, with β_t and the signal-to-noise ratio SNR = ᾱ/(1−ᾱ); "
                        "the dashed line is the timestep shown")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.schedule: ScheduleInfo | None = None

    def set_schedule(self, schedule: ScheduleInfo | None) -> None:
        self.schedule = schedule
        if schedule is None:
            for curve in self.curves.values():
                curve.setData([], [])
            self.marker.setVisible(False)
            return
        t = np.arange(schedule.num_timesteps, dtype=np.float64)
        # log axes need positive values: alpha-bar and SNR of a cosine schedule can reach 0
        tiny = np.finfo(np.float64).tiny
        self.curves["beta"].setData(t, np.maximum(schedule.betas, tiny))
        self.curves["alpha_bar"].setData(t, np.maximum(schedule.alpha_bars, tiny))
        self.curves["snr"].setData(t, np.maximum(schedule.snr, tiny))
        self.plot.setXRange(0, schedule.num_timesteps - 1, padding=0.02)

    def set_t(self, t: int | None) -> None:
        self.marker.setVisible(t is not None)
        if t is not None:
            self.marker.setValue(float(t))

    def marked_t(self) -> float | None:
        return float(self.marker.value()) if self.marker.isVisible() else None


class StepStatsPlot(QWidget):
    """std of x_t and the RMS change of predicted x0 per step, current step marked."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = _plot(self, "step",
                          {"std of x_t": COLORS["std"], "x0 change": COLORS["change"]})
        self.curves = {
            "std": self.plot.plot(pen=pg.mkPen(COLORS["std"], width=2)),
            "change": self.plot.plot(pen=pg.mkPen(COLORS["change"], width=2), connect="finite"),
        }
        self.marker = _add_marker(self.plot)
        self.setToolTip("Per-step statistics: how the sample's spread shrinks toward the data's, and how "
                        "much (RMS) the prediction of the clean image still moves at each step")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self._total = 0

    def set_stats(self, x_std: np.ndarray, x0_change: np.ndarray, total: int) -> None:
        steps = np.arange(len(x_std), dtype=np.float64)
        self.curves["std"].setData(steps, x_std)
        self.curves["change"].setData(steps, x0_change)
        if total != self._total:
            self._total = total
            self.plot.setXRange(0, max(1, total - 1), padding=0.02)

    def clear(self) -> None:
        for curve in self.curves.values():
            curve.setData([], [])
        self.marker.setVisible(False)
        self._total = 0

    def set_position(self, position: int | None) -> None:
        self.marker.setVisible(position is not None)
        if position is not None:
            self.marker.setValue(float(position))

    def shown_points(self) -> int:
        x, _ = self.curves["std"].getData()
        return 0 if x is None else len(x)
