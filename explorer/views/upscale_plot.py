"""The upscale view's trade-off plots: over the blend, the PSNR against the truth (fidelity) and
the sharpness relative to the truth (the mean Sobel edge magnitude, 1 = as much fine detail as
the truth), with bicubic's level dotted and the blend shown marked. Numbers in, lines out."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QWidget

from explorer.jobs.upscale import BlendCurve

BACKGROUND = "#1e1f22"
COLORS = {"psnr": "#8ab4f8", "sharpness": "#81c995", "bicubic": "#9aa0a6", "marker": "#e8eaed"}


def _plot(title: str, colour: str, y_label: str) -> tuple[pg.PlotWidget, pg.PlotDataItem, pg.PlotDataItem,
                                                          pg.InfiniteLine]:
    plot = pg.PlotWidget(background=BACKGROUND)
    plot.setTitle(f"<span style='color:{colour}'>■ {title}</span>&nbsp;&nbsp;"
                  f"<span style='color:{COLORS['bicubic']}'>┄ bicubic</span>", size="9pt")
    plot.setLabel("bottom", "blend (0 = SRResNet, 1 = SRGAN)")
    plot.setLabel("left", y_label)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.setMinimumHeight(120)
    # as tall as the room left, never taller: the view must not scroll for its plots
    plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
    plot.getAxis("left").enableAutoSIPrefix(False)
    plot.setXRange(0, 1, padding=0.02)
    curve = plot.plot(pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=4, symbolBrush=colour)
    # bicubic's level as a flat curve, not an infinite line, so the axis range takes it in
    level = plot.plot(pen=pg.mkPen(COLORS["bicubic"], width=1, style=Qt.PenStyle.DotLine))
    marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(COLORS["marker"], width=1,
                                                                   style=Qt.PenStyle.DashLine))
    plot.addItem(marker, ignoreBounds=True)
    return plot, curve, level, marker


class TradeOffPlots(QWidget):
    """PSNR and sharpness of the upscale over the blend, for the input shown."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.psnr_plot, self.psnr_curve, self.psnr_level, self.psnr_marker = _plot(
            "PSNR against the truth", COLORS["psnr"], "dB")
        self.sharp_plot, self.sharp_curve, self.sharp_level, self.sharp_marker = _plot(
            "sharpness (truth = 1)", COLORS["sharpness"], "edges / truth's")
        self.setToolTip("What the blend slider trades for this image: fidelity (PSNR, higher is closer to the truth "
                        "pixel by pixel) against sharpness (mean Sobel edge magnitude over the truth's; a blurred "
                        "image is below 1). The dashed line is the blend shown, the dotted one bicubic")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.psnr_plot)
        layout.addWidget(self.sharp_plot)
        self.curve: BlendCurve | None = None

    def set_curve(self, curve: BlendCurve) -> None:
        self.curve = curve
        # an output equal to its truth has infinite PSNR: no point to draw there
        finite = np.where(np.isfinite(curve.psnr), curve.psnr, np.nan)
        self.psnr_curve.setData(curve.blends, finite, connect="finite")
        self.sharp_curve.setData(curve.blends, curve.sharpness)
        ends = np.array([0.0, 1.0])
        self.psnr_level.setData(ends, np.full(2, curve.bicubic_psnr if np.isfinite(curve.bicubic_psnr) else np.nan),
                                connect="finite")
        self.sharp_level.setData(ends, np.full(2, curve.bicubic_sharpness))

    def set_blend(self, blend: float) -> None:
        self.psnr_marker.setValue(blend)
        self.sharp_marker.setValue(blend)
