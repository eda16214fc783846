"""Pictures of a latent space: the K x K decoded map of a plane and a scatter of latents.

`LatentMapView` shows a map as it fills in (blocks of rows stream from the worker), can colour
each cell by the classifier's prediction (the class map) or, for a GAN whose file kept its
discriminator, by how real that discriminator finds the cell (the discriminator map, as GAN Lab
draws one for 2-D data; `RealnessBar` says what its colours mean), marks named points of the
plane, and shows the decoded image of the cell under the mouse. `LatentScatterView` draws up to
tens of thousands of latents coloured by class; clicking one asks for it to be decoded. The class colours
come from one fixed palette that colour-blind readers can tell apart, named by `ClassLegend`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from explorer.jobs.compare import LatentMap, MapRows, ScatterData
from explorer.views.image_view import BACKGROUND, ImageView, highlight_rect
from explorer.views.plain_text import plain_label

FASHION_MNIST_CLASSES: tuple[str, ...] = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# Paul Tol's "muted" scheme (nine colours designed to stay distinct under the common forms of
# colour blindness) plus his pale grey as the tenth.
CLASS_COLOURS: tuple[str, ...] = ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE",
                                  "#882255", "#44AA99", "#999933", "#AA4499", "#DDDDDD")
OVERLAY_ALPHA = 120        # of 255: the decoded images stay readable under the class colours
# Realness from 0 (D calls it fake) to 1 (real): viridis runs from dark to light, so its order
# reads the same to colour-blind readers and in grey.
REALNESS_COLOURS = pg.colormap.get("viridis")
COLOUR_BY = ("class", "discriminator")
SCATTER_ALPHA = 170
AXIS_COLOUR = "#9aa0a6"


def class_colour(index: int) -> QColor:
    return QColor(CLASS_COLOURS[index % len(CLASS_COLOURS)])


def class_rgb(index: int) -> tuple[int, int, int]:
    c = class_colour(index)
    return c.red(), c.green(), c.blue()


def class_rgb_table(n: int = len(CLASS_COLOURS)) -> np.ndarray:
    """(n, 3) uint8: the palette as pixels."""
    return np.array([class_rgb(i) for i in range(n)], dtype=np.uint8)


def realness_rgb(realness: np.ndarray) -> np.ndarray:
    """(..., 3) uint8: the colours of realness values in [0, 1] (NaN: unknown, drawn as 0)."""
    values = np.clip(np.nan_to_num(np.asarray(realness, dtype=np.float64), nan=0.0), 0.0, 1.0)
    return np.asarray(REALNESS_COLOURS.map(values.reshape(-1), mode="byte"))[:, :3].reshape(values.shape + (3,))


def class_name(names: Sequence[str], index: int) -> str:
    return names[index] if 0 <= index < len(names) else f"class {index}"


class ClassLegend(QWidget):
    """Swatches naming the classes, in two rows. Shared by the compare view's columns: when their
    classifiers name different classes (a Fashion-MNIST model beside an emoji model), each
    column's classes get their own titled rows."""

    def __init__(self, names: Sequence[str] = FASHION_MNIST_CLASSES, parent: QWidget | None = None):
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(14)
        self._grid.setVerticalSpacing(2)
        self._sets: dict[str, tuple[str, tuple[str, ...]]] = {}   # key -> (title, names)
        self._shown: tuple = ()
        self.setToolTip("Class colours of the class maps, scatters and path strips")
        self.set_names(names)

    def names(self, key: str = "") -> tuple[str, ...]:
        """The class names of `key` (a column), else of the first set."""
        entry = self._sets.get(key) or next(iter(self._sets.values()), ("", FASHION_MNIST_CLASSES))
        return entry[1]

    def set_names(self, names: Sequence[str], key: str = "", title: str = "") -> None:
        """The classes `key` (a compare column) shows, `title` naming them when the sets differ; no
        names: `key` shows no classes (its model has no classifier)."""
        if key:
            self._sets.pop("", None)       # the columns' own sets replace the default one
        if names:
            self._sets[key] = (title, tuple(names))
        else:
            self._sets.pop(key, None)
        distinct = {names for _, names in self._sets.values()}
        shown = (next(iter(distinct)),) if len(distinct) <= 1 and distinct else tuple(
            (title, names) for title, names in self._sets.values())
        if shown == self._shown:
            return
        self._shown = shown
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.setVisible(bool(distinct))
        for column in range(self._grid.columnCount()):
            self._grid.setColumnStretch(column, 0)
        if len(distinct) == 1:
            end = self._add_cells(next(iter(distinct)), 0, 0, rows=2)
        else:       # side by side, each under its title, in three rows
            end = 0
            for title, names in self._sets.values():
                self._grid.addWidget(plain_label(QLabel(title)), 0, end, 1, math.ceil(len(names) / 3))
                end = self._add_cells(names, 1, end, rows=3) + 1
        self._grid.setColumnStretch(end, 1)   # swatches packed to the left

    def _add_cells(self, names: tuple[str, ...], first_row: int, first_column: int, rows: int) -> int:
        """Swatches of `names` in `rows` rows from (`first_row`, `first_column`); the column after them."""
        per_row = math.ceil(len(names) / rows)
        for i, name in enumerate(names):
            swatch = QLabel()
            swatch.setFixedSize(12, 12)
            swatch.setStyleSheet(f"background: {class_colour(i).name()}; border: 1px solid #5f6368;")
            text = plain_label(QLabel(name))
            cell = QWidget()
            row = QHBoxLayout(cell)
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(4)
            row.addWidget(swatch)
            row.addWidget(text)
            self._grid.addWidget(cell, first_row + i // per_row, first_column + i % per_row)
        return first_column + per_row


class RealnessBar(QWidget):
    """The discriminator map's key, upright beside the map (the square map leaves room at its
    side, not below it): a colour bar from 0% real (D calls the image fake) at the bottom to 100%."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        # bottom to top, as the values run
        stops = ", ".join(f"stop:{1 - t:g} rgb({r}, {g}, {b})"
                          for t, (r, g, b) in zip(np.linspace(0, 1, 5), realness_rgb(np.linspace(0, 1, 5))))
        self.gradient = QLabel()
        self.gradient.setFixedWidth(12)
        self.gradient.setMinimumHeight(30)
        self.gradient.setStyleSheet(f"background: qlineargradient(x1:0, y1:0, x2:0, y2:1, {stops}); "
                                    f"border: 1px solid #5f6368;")
        top, bottom = QLabel("D\n100%\nreal"), QLabel("0%\nfake")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(top, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.gradient, 1, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(bottom, 0, Qt.AlignmentFlag.AlignHCenter)
        for label in (top, bottom):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setToolTip("Each cell is tinted by how real the GAN's own discriminator, kept in its file, finds the "
                        "cell's image: dark for images it calls fake, light for ones it takes for training "
                        "images. Hover a cell to read its score.")


def _plot_widget() -> pg.PlotWidget:
    plot = pg.PlotWidget(background=BACKGROUND)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(AXIS_COLOUR)
        axis.setTextPen(AXIS_COLOUR)
        axis.enableAutoSIPrefix(False)   # latent coordinates read better as plain numbers
    plot.getViewBox().setAspectLocked(True)
    return plot


class _MessageLine:
    """A line of text above the plot (`message_label`): a note, or an error in red."""

    message_label: QLabel

    def show_message(self, text: str, error: bool = False) -> None:
        colour = "#ffb4ab" if error else "#c4c7c5"
        self.message_label.setStyleSheet(f"color: {colour};")
        self.message_label.setText(text)
        self.message_label.show()

    def clear_message(self) -> None:
        self.message_label.hide()
        self.message_label.clear()

    def message(self) -> str:
        return "" if self.message_label.isHidden() else self.message_label.text()


def _message_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.hide()
    return label


class LatentMapView(_MessageLine, QWidget):
    """A K x K map of decoded images over plane coordinates (s to the right, t up)."""

    cell_hovered = Signal(int, int)     # row, column (row 0 at the top); (-1, -1) when the mouse leaves
    cell_clicked = Signal(int, int)

    # Narrower than this, the map keeps all the room and the hovered cell's preview is left out
    # (a click still shows the cell as the column's image).
    PREVIEW_MIN_WIDTH = 420

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = _plot_widget()
        self.plot.setToolTip("Decoded images over a plane of the latent space; hover a cell to see it "
                             "larger, click to pick it, scroll to zoom")
        # One image item per block of rows as they stream in: each update converts only the new
        # rows, never the whole (up to 1792 x 1792) mosaic, so the event loop stays free.
        self._block_items: list[pg.ImageItem] = []
        self._overlay_item = pg.ImageItem(axisOrder="row-major")
        self._overlay_item.setZValue(5)
        self.plot.addItem(self._overlay_item)
        self._hover = highlight_rect(z=20)
        self.plot.addItem(self._hover)
        self._anchor_items: list[pg.GraphicsObject] = []

        self.preview = ImageView(self, minimum=96)
        self.preview.setFixedSize(112, 112)
        self.preview.setToolTip("The decoded image of the cell under the mouse")
        self.preview_label = QLabel("Hover the map")
        self.preview_label.setWordWrap(True)
        self.preview_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.preview_label.setFixedWidth(112)
        self.preview_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label = _message_label()
        self.realness_bar = RealnessBar()
        self.realness_bar.hide()

        self.side = QWidget()
        side = QVBoxLayout(self.side)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.preview)
        side.addWidget(self.preview_label)
        side.addStretch(1)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.plot, 1)
        body.addWidget(self.realness_bar)
        body.addWidget(self.side)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message_label)
        layout.addLayout(body, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self._k = 0
        self._cell: tuple[int, int, int] = (0, 0, 1)
        self._lo, self._hi = -1.0, 1.0
        self._images: np.ndarray | None = None       # (k, k, H, W, C)
        self._filled: np.ndarray | None = None       # (k,) rows that arrived
        self._classes: np.ndarray | None = None      # (k, k), -1 where not yet known
        self._confidence: np.ndarray | None = None
        self._realness: np.ndarray | None = None     # (k, k), NaN where not yet known or not judged
        self._colour_by = "class"
        self._class_names: tuple[str, ...] = FASHION_MNIST_CLASSES
        self._overlay_on = True
        self._hovered = (-1, -1)
        self._axis_names: tuple[str, str] = ("", "")
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._mouse_clicked)

    # -- filling in -------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self.side.setVisible(self.width() >= self.PREVIEW_MIN_WIDTH)

    def begin(self, k: int, cell_shape: tuple[int, int, int], lo: float, hi: float,
              axis_names: tuple[str, str], anchors: Sequence[tuple[str, float, float]] = (),
              class_names: Sequence[str] = ()) -> None:
        """A blank k x k map of (H, W, C) cells over [lo, hi]^2, waiting for rows."""
        self.clear_message()
        self._k = int(k)
        self._cell = tuple(int(s) for s in cell_shape)  # type: ignore[assignment]
        self._lo, self._hi = float(lo), float(hi)
        h, w, c = self._cell
        self._images = np.zeros((k, k, h, w, c), dtype=np.uint8)
        self._filled = np.zeros(k, dtype=bool)
        self._classes = np.full((k, k), -1, dtype=np.int64)
        self._confidence = np.zeros((k, k), dtype=np.float32)
        self._realness = np.full((k, k), np.nan, dtype=np.float32)
        if class_names:
            self._class_names = tuple(class_names)
        self._set_axis_names(axis_names)
        self._set_anchors(anchors)
        self._clear_blocks()
        self._refresh_overlay()
        span = self._hi - self._lo
        self.plot.getViewBox().setRange(QRectF(self._lo, self._lo, span, span), padding=0.02)

    def add_rows(self, rows: MapRows) -> None:
        if self._images is None or self._filled is None or rows.images.shape[1] != self._k:
            return
        stop = rows.start + rows.images.shape[0]
        self._images[rows.start:stop] = rows.images
        self._filled[rows.start:stop] = True
        if rows.classes is not None and self._classes is not None and self._confidence is not None:
            self._classes[rows.start:stop] = rows.classes
            if rows.confidence is not None:
                self._confidence[rows.start:stop] = rows.confidence
        if rows.realness is not None and self._realness is not None:
            self._realness[rows.start:stop] = rows.realness
        self._add_block(rows.start, rows.images)
        self._refresh_overlay()

    def set_map(self, latent_map: LatentMap) -> None:
        """The finished map. When it is the one whose rows were streamed, what is drawn stays."""
        k = latent_map.k
        h, w, c = latent_map.images.shape[2:]
        same_layout = (self._k, self._cell, self._lo, self._hi) == (k, (h, w, c), latent_map.lo, latent_map.hi)
        streamed = (same_layout and self._filled is not None and bool(self._filled.all())
                    and self._images is not None and np.array_equal(self._images, latent_map.images))
        if not same_layout:
            self.begin(k, (h, w, c), latent_map.lo, latent_map.hi, latent_map.axis_names, latent_map.anchors,
                       latent_map.class_names)
        else:
            self._set_axis_names(latent_map.axis_names)
            self._set_anchors(latent_map.anchors)
        if latent_map.class_names:
            self._class_names = tuple(latent_map.class_names)
        if not streamed:
            self._images = latent_map.images.copy()
            self._clear_blocks()
            self._add_block(0, self._images)
        self._filled = np.ones(k, dtype=bool)
        if latent_map.classes is not None:
            self._classes = latent_map.classes.copy()
            self._confidence = (latent_map.confidence.copy() if latent_map.confidence is not None
                                else np.zeros((k, k), dtype=np.float32))
        else:
            self._classes = np.full((k, k), -1, dtype=np.int64)
            self._confidence = np.zeros((k, k), dtype=np.float32)
        self._realness = (latent_map.realness.astype(np.float32) if latent_map.realness is not None
                          else np.full((k, k), np.nan, dtype=np.float32))
        self._refresh_overlay()

    def clear(self) -> None:
        self._images = self._filled = self._classes = self._confidence = self._realness = None
        self._k = 0
        self._clear_blocks()
        self._overlay_item.clear()
        self.realness_bar.hide()
        self._set_anchors(())
        self._hover.hide()

    # -- class map and discriminator map -------------------------------------------------------------
    def set_class_overlay(self, on: bool) -> None:
        """Whether the cells are tinted at all (by class or by realness, as `set_colour_by` chose)."""
        self._overlay_on = bool(on)
        self._refresh_overlay()

    def set_colour_by(self, what: str) -> None:
        """Tint the cells by the classifier's "class" or by the "discriminator"'s realness."""
        if what not in COLOUR_BY:
            raise ValueError(f"colour the map by one of {', '.join(COLOUR_BY)}, not {what!r}")
        self._colour_by = what
        self._refresh_overlay()

    def colour_by(self) -> str:
        return self._colour_by

    def class_overlay_shown(self) -> bool:
        return self._overlay_on and self._overlay_item.isVisible() and self._overlay_item.image is not None

    def realness_overlay_shown(self) -> bool:
        """True while the cells are tinted by the discriminator's realness."""
        return self.class_overlay_shown() and self._colour_by == "discriminator"

    def realness(self) -> np.ndarray | None:
        """(k, k) the discriminator's realness per cell (NaN where none), row 0 at the top."""
        return None if self._realness is None else self._realness.copy()

    def classes(self) -> np.ndarray | None:
        """(k, k) predicted class per cell (-1 where none), row 0 at the top."""
        return None if self._classes is None else self._classes.copy()

    def classes_shown(self) -> set[int]:
        """The classes the class map colours at least one cell with."""
        if self._classes is None:
            return set()
        return {int(c) for c in np.unique(self._classes) if c >= 0}

    def overlay_image(self) -> np.ndarray | None:
        """The class map's RGBA pixels as drawn (row 0 at the top), or None."""
        image = self._overlay_item.image
        return None if image is None else np.asarray(image)[::-1]

    def mosaic(self) -> np.ndarray | None:
        """The map as one picture (k*H, k*W, C), row 0 at the top."""
        if self._images is None:
            return None
        k = self._k
        h, w, c = self._cell
        return self._images.transpose(0, 2, 1, 3, 4).reshape(k * h, k * w, c)

    @property
    def k(self) -> int:
        return self._k

    def drawn_blocks(self) -> list[tuple[float, float, np.ndarray]]:
        """(bottom t, top t, picture as drawn) of each block of rows on screen, top block first."""
        out = []
        for item in self._block_items:
            rect = item.mapRectToParent(item.boundingRect())
            out.append((rect.top(), rect.bottom(), np.asarray(item.image)[::-1]))
        return sorted(out, key=lambda b: -b[1])

    def rows_filled(self) -> int:
        return 0 if self._filled is None else int(self._filled.sum())

    # -- drawing ------------------------------------------------------------------------------------
    def _rect(self) -> QRectF:
        span = self._hi - self._lo
        return QRectF(self._lo, self._lo, span, span)

    def _set_axis_names(self, names: tuple[str, str]) -> None:
        if self._axis_names != tuple(names):
            self._axis_names = tuple(names)  # type: ignore[assignment]
            self.plot.setLabel("bottom", names[0])
            self.plot.setLabel("left", names[1])

    def _clear_blocks(self) -> None:
        for item in self._block_items:
            self.plot.removeItem(item)
        self._block_items = []

    def _add_block(self, start: int, block: np.ndarray) -> None:
        """Draws rows start.. of the map from their cells (rows, k, H, W, C)."""
        rows, k, h, w, c = block.shape
        picture = block.transpose(0, 2, 1, 3, 4).reshape(rows * h, k * w, c)
        picture = picture[:, :, 0] if c == 1 else picture
        item = pg.ImageItem(axisOrder="row-major")
        # The plot's y axis points up, so the picture is flipped to keep row 0 (largest t) on top.
        item.setImage(np.ascontiguousarray(picture[::-1]), levels=(0, 255))
        step = (self._hi - self._lo) / self._k
        item.setRect(QRectF(self._lo, self._hi - (start + rows) * step, self._hi - self._lo, rows * step))
        self.plot.addItem(item)
        self._block_items.append(item)

    def _refresh_overlay(self) -> None:
        rgba = self._overlay_rgba() if self._overlay_on else None
        self.realness_bar.setVisible(rgba is not None and self._colour_by == "discriminator")
        if rgba is None:
            self._overlay_item.hide()
            return
        self._overlay_item.setImage(np.ascontiguousarray(rgba[::-1]), levels=(0, 255))
        self._overlay_item.setRect(self._rect())
        self._overlay_item.show()

    def _overlay_rgba(self) -> np.ndarray | None:
        """(k, k, 4) the tint of each cell (row 0 at the top), or None when there is nothing to tint."""
        if self._colour_by == "discriminator":
            if self._realness is None or not np.isfinite(self._realness).any():
                return None
            known = np.isfinite(self._realness)
            rgba = np.zeros(self._realness.shape + (4,), dtype=np.uint8)
            rgba[..., :3] = realness_rgb(self._realness)
        else:
            if self._classes is None or not (self._classes >= 0).any():
                return None
            table = class_rgb_table(max(len(CLASS_COLOURS), int(self._classes.max()) + 1))
            known = self._classes >= 0
            rgba = np.zeros(self._classes.shape + (4,), dtype=np.uint8)
            rgba[known, :3] = table[self._classes[known] % len(table)]
        rgba[known, 3] = OVERLAY_ALPHA
        return rgba

    def _set_anchors(self, anchors: Sequence[tuple[str, float, float]]) -> None:
        for item in self._anchor_items:
            self.plot.removeItem(item)
        self._anchor_items = []
        if not anchors:
            return
        spots = pg.ScatterPlotItem([a[1] for a in anchors], [a[2] for a in anchors], size=9,
                                   pen=pg.mkPen("#000000", width=1), brush=pg.mkBrush("#f9ab00"), symbol="o")
        spots.setZValue(30)
        self.plot.addItem(spots)
        self._anchor_items.append(spots)
        for name, s, t in anchors:
            text = pg.TextItem(name, color="#f9ab00", anchor=(0, 1), fill=pg.mkBrush(30, 31, 34, 200))
            text.setPos(s, t)
            text.setZValue(31)
            self.plot.addItem(text)
            self._anchor_items.append(text)

    # -- mouse --------------------------------------------------------------------------------------
    def cell_at(self, s: float, t: float) -> tuple[int, int]:
        """(row, column) of the cell at plane coordinates (s, t), or (-1, -1) outside the map."""
        if self._k == 0 or not (self._lo <= s <= self._hi and self._lo <= t <= self._hi):
            return -1, -1
        span = self._hi - self._lo
        col = min(self._k - 1, int((s - self._lo) / span * self._k))
        up = min(self._k - 1, int((t - self._lo) / span * self._k))
        return self._k - 1 - up, col

    def _scene_to_cell(self, pos: QPointF) -> tuple[int, int]:
        box = self.plot.getViewBox()
        if not box.sceneBoundingRect().contains(pos):
            return -1, -1
        point = box.mapSceneToView(pos)
        return self.cell_at(point.x(), point.y())

    def _mouse_moved(self, pos: QPointF) -> None:
        self.hover_cell(*self._scene_to_cell(pos))

    def _mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        row, col = self._scene_to_cell(event.scenePos())
        if row >= 0 and self._filled is not None and self._filled[row]:
            self.cell_clicked.emit(row, col)

    def hover_cell(self, row: int, col: int) -> None:
        """Shows cell (row, col) in the preview (also what the mouse does); (-1, -1) clears it."""
        if (row, col) == self._hovered:
            return
        self._hovered = (row, col)
        if row < 0 or self._images is None or self._filled is None or not self._filled[row]:
            self._hover.hide()
            self.cell_hovered.emit(-1, -1)
            return
        self.preview.set_image(self._images[row, col])
        step = (self._hi - self._lo) / self._k
        self._hover.setRect(QRectF(self._lo + col * step, self._lo + (self._k - 1 - row) * step, step, step))
        self._hover.show()
        self.preview_label.setText(self.describe_cell(row, col))
        self.cell_hovered.emit(row, col)

    def describe_cell(self, row: int, col: int) -> str:
        coords = np.linspace(self._lo, self._hi, self._k)
        text = f"s = {coords[col]:+.2f}\nt = {coords[self._k - 1 - row]:+.2f}"
        if self._classes is not None and self._classes[row, col] >= 0:
            c = int(self._classes[row, col])
            conf = float(self._confidence[row, col]) if self._confidence is not None else float("nan")
            text += f"\n{class_name(self._class_names, c)} ({conf:.0%})"
        if self._realness is not None and np.isfinite(self._realness[row, col]):
            text += f"\nD: {float(self._realness[row, col]):.0%} real"
        return text

    def prediction(self, row: int, col: int) -> tuple[int | None, float | None]:
        """(class, probability) the classifier gave cell (row, col), or (None, None)."""
        if self._classes is None or self._classes[row, col] < 0:
            return None, None
        conf = None if self._confidence is None else float(self._confidence[row, col])
        return int(self._classes[row, col]), conf

    def cell_image(self, row: int, col: int) -> np.ndarray | None:
        if self._images is None or self._filled is None or not self._filled[row]:
            return None
        return self._images[row, col]


class LatentScatterView(_MessageLine, QWidget):
    """Latents as points coloured by class; clicking one emits its index."""

    point_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = _plot_widget()
        self.plot.getViewBox().setAspectLocked(False)
        self.description = QLabel("")
        self.description.setWordWrap(True)
        self.message_label = _message_label()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.description)
        layout.addWidget(self.message_label)
        layout.addWidget(self.plot, 1)
        self._items: list[pg.ScatterPlotItem] = []
        self._marker = pg.ScatterPlotItem(size=16, pen=pg.mkPen("#f9ab00", width=2), brush=None, symbol="o")
        self._marker.setZValue(50)
        self.plot.addItem(self._marker)
        self._data: ScatterData | None = None

    def set_data(self, data: ScatterData) -> None:
        self.clear_message()
        for item in self._items:
            self.plot.removeItem(item)
        self._items = []
        self._marker.clear()
        self._data = data
        indices = np.arange(len(data.classes))
        # One item per class: one brush each draws far faster than a brush per point.
        for c in sorted(int(c) for c in np.unique(data.classes)):
            mask = data.classes == c
            colour = class_colour(c)
            colour.setAlpha(SCATTER_ALPHA)
            item = pg.ScatterPlotItem(data.coords[mask, 0], data.coords[mask, 1], data=indices[mask], size=4,
                                      pen=None, brush=pg.mkBrush(colour), hoverable=False,
                                      name=class_name(data.class_names, c))
            item.sigClicked.connect(self._clicked)
            self.plot.addItem(item)
            self._items.append(item)
        x_name, y_name = data.axis_names
        if data.axis_names[0].startswith("PC"):
            x_name += f" ({data.explained[0]:.0%} of variance)"
            y_name += f" ({data.explained[1]:.0%})"
        self.plot.setLabel("bottom", x_name)
        self.plot.setLabel("left", y_name)
        self.description.setText(f"{data.description}. Click a point to decode it.")
        self.plot.getViewBox().autoRange(padding=0.05)

    def data(self) -> ScatterData | None:
        return self._data

    def point_count(self) -> int:
        return sum(len(item.data) for item in self._items)

    def classes_drawn(self) -> set[int]:
        if self._data is None:
            return set()
        return {int(c) for c in np.unique(self._data.classes)}

    def clear(self) -> None:
        for item in self._items:
            self.plot.removeItem(item)
        self._items = []
        self._marker.clear()
        self._data = None
        self.description.clear()

    def select(self, index: int) -> None:
        """Marks point `index` (as a click does) and emits point_clicked."""
        if self._data is None or not 0 <= index < len(self._data.coords):
            return
        x, y = self._data.coords[index]
        self._marker.setData([float(x)], [float(y)])
        self.point_clicked.emit(int(index))

    def _clicked(self, _item, points, *_args) -> None:
        if len(points):
            self.select(int(points[0].data()))
