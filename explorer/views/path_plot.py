"""The interpolation's plots along the path: the classifier's verdict per frame (top) and the
distance to the nearest training image (bottom); a click picks a frame."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QWidget

from explorer.jobs.interpolation import PathAnalysis

DISTANCE_TIP = ("Distance to the nearest training image: the root-mean-square pixel difference (0 = "
                "identical, 1 = black vs white) between each frame and the closest of 2000 Fashion-MNIST "
                "training images. Measured in pixel space rather than in the classifier's features so it "
                "means the same for every model and needs no classifier. The dashed line is the distance "
                "that 95% of other, real training images stay under: frames above it look unlike the "
                "data; red markers show where the path leaves it or jumps.")
CLASS_TIP = ("The bundled classifier's predicted class for each frame (colour, named where it changes) "
             "and its confidence, the probability of that class; for a GAN whose file kept its "
             "discriminator, the dashed curve is how real D finds each frame")


def _class_colour(index: int, classes: int):
    """Light, well-separated hues that read on the plots' dark background."""
    return pg.intColor(index, hues=max(10, classes), sat=150, maxValue=255, minValue=255)


class PathPlot(pg.GraphicsLayoutWidget):
    """Per-frame classifier verdict (top) and distance to the nearest training image (bottom)."""

    frame_picked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackground("#1e1f22")
        self.class_plot = self.addPlot(row=0, col=0)
        self.dist_plot = self.addPlot(row=1, col=0)
        self.class_plot.setLabel("left", "confidence")
        self.class_plot.setYRange(0, 1.12, padding=0)
        self.class_plot.getAxis("left").setTicks([[(0, "0"), (0.5, "0.5"), (1, "1")]])
        self.dist_plot.setLabel("left", "distance")
        self.dist_plot.setLabel("bottom", "frame")
        self.dist_plot.setXLink(self.class_plot)
        for plot in (self.class_plot, self.dist_plot):
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("left").setWidth(42)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setMenuEnabled(False)
            plot.showGrid(x=True, y=True, alpha=0.15)
        self.class_plot.hideAxis("bottom")
        self.conf_curve = self.class_plot.plot(pen=pg.mkPen("#8e9099", width=1))
        self.conf_points = pg.ScatterPlotItem(size=8, pen=None)
        self.class_plot.addItem(self.conf_points)
        self.real_curve = self.class_plot.plot(pen=pg.mkPen("#e2a9f1", width=1.5, style=Qt.PenStyle.DashLine))
        self.dist_curve = self.dist_plot.plot(pen=pg.mkPen("#a8c7fa", width=2))
        self.typical_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#c4c7c5", style=Qt.PenStyle.DashLine),
                                            label="95% of real images", labelOpts={"position": 0.12,
                                                                                   "color": "#c4c7c5"})
        self.dist_plot.addItem(self.typical_line)
        self.warn_points = pg.ScatterPlotItem(symbol="t1", size=13, pen=pg.mkPen("#ffffff", width=0.5),
                                              brush=pg.mkBrush("#ff5449"))
        self.dist_plot.addItem(self.warn_points)
        self.cursors = []
        for plot in (self.class_plot, self.dist_plot):
            line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#f9ab00", width=1.5))
            plot.addItem(line)
            self.cursors.append(line)
        self._texts: list[tuple[pg.PlotItem, pg.TextItem]] = []
        self.frames = 0
        self.scene().sigMouseClicked.connect(self._clicked)
        self.setMinimumHeight(140)

    def clear_analysis(self, frames: int) -> None:
        self.frames = frames
        self.conf_curve.setData([], [])
        self.conf_points.setData([], [])
        self.real_curve.setData([], [])
        self.dist_curve.setData([], [])
        self.warn_points.setData([], [])
        self.typical_line.hide()
        for plot, item in self._texts:
            plot.removeItem(item)
        self._texts = []
        if frames:
            for plot in (self.class_plot, self.dist_plot):
                plot.setXRange(0.5, frames + 0.5, padding=0)

    def set_analysis(self, analysis: PathAnalysis, frames: int) -> None:
        self.clear_analysis(frames)
        x = np.arange(1, frames + 1, dtype=float)      # frames are numbered from 1 on screen
        if analysis.classes is not None and analysis.confidence is not None:
            self.conf_curve.setData(x, analysis.confidence)
            brushes = [pg.mkBrush(_class_colour(int(c), len(analysis.class_names))) for c in analysis.classes]
            self.conf_points.setData(x, analysis.confidence, brush=brushes)
            previous = None
            for i, c in enumerate(analysis.classes):
                if c != previous:
                    name = analysis.class_names[c] if c < len(analysis.class_names) else str(c)
                    text = pg.TextItem(name, color=_class_colour(int(c), len(analysis.class_names)), anchor=(0, 1),
                                       fill=pg.mkBrush(30, 31, 34, 200))
                    text.setPos(i + 1, float(analysis.confidence[i]))
                    self.class_plot.addItem(text)
                    self._texts.append((self.class_plot, text))
                    previous = c
        else:
            self._message(self.class_plot, "no classifier", 0.5)
        if analysis.realness is not None:
            self.real_curve.setData(x, analysis.realness)
            label = pg.TextItem("D: real", color="#e2a9f1", anchor=(1, 1))
            label.setPos(frames, float(analysis.realness[-1]))
            self.class_plot.addItem(label)
            self._texts.append((self.class_plot, label))
        if analysis.distances is not None:
            self.dist_curve.setData(x, analysis.distances)
            top = float(np.max(analysis.distances))
            if analysis.typical_distance is not None and np.isfinite(analysis.typical_distance):
                self.typical_line.setPos(analysis.typical_distance)
                self.typical_line.show()
                top = max(top, analysis.typical_distance)
            if analysis.warnings:
                idx = np.asarray(analysis.warnings)
                self.warn_points.setData(idx.astype(float) + 1, analysis.distances[idx])
            self.dist_plot.setYRange(0, top * 1.15 + 1e-6, padding=0)
        else:
            self._message(self.dist_plot, "training data not available", 0.5)

    def _message(self, plot: pg.PlotItem, text: str, y: float) -> None:
        item = pg.TextItem(text, color="#8e9099", anchor=(0.5, 0.5))
        item.setPos((self.frames + 1) / 2 if self.frames else 0, y)
        plot.addItem(item)
        self._texts.append((plot, item))

    def set_current(self, index: int) -> None:
        for line in self.cursors:
            line.setPos(index + 1)

    def _clicked(self, event) -> None:
        if not self.frames:
            return
        for plot in (self.class_plot, self.dist_plot):
            vb = plot.getViewBox()
            if vb.sceneBoundingRect().contains(event.scenePos()):
                x = vb.mapSceneToView(event.scenePos()).x()
                self.frame_picked.emit(int(min(max(round(x) - 1, 0), self.frames - 1)))
                return
