"""One column of the compare view: a model chooser, its seed and class, its image (or the
current frame of a linked path, with the strip of frames and, for real-image endpoints, the
targets, reconstructions and inversion loss), and its latent map and scatter.

The column asks its `ComparePanel` for the linked state (mode, endpoints, frames) and sends its
requests through its own channels (one per kind of request: load, point, path, map, scatter).
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QProgressBar,
                               QSpinBox, QSplitter, QTabWidget, QToolButton, QVBoxLayout, QWidget)

from explorer.model_info import ModelInfo
from explorer.jobs.compare import (InversionProgress, InversionSettings, LatentMap, MapLayout, MapRows, PathStrip,
                                   PlaneSpec, PointImage, ScatterData, map_job, path_job, point_job, scatter_job)
from explorer.views.image_view import BACKGROUND, ImageView
from explorer.views.latent_map import (FASHION_MNIST_CLASSES, LatentMapView, LatentScatterView, class_colour,
                                       class_name, class_rgb_table)
from explorer.views.layout import row
from explorer.worker import JobProgress, Result

if TYPE_CHECKING:
    from explorer.views.compare import ComparePanel

CHANNEL_PREFIX = "compare"
REQUESTS = ("load", "point", "path", "map", "scatter")
PLANES: tuple[tuple[str, str, str], ...] = (
    ("dims", "Dimensions", "Two latent dimensions, varied around the prior's mean"),
    ("pca", "Principal", "The two principal directions: those along which the model's latents vary most "
                         "(a VAE: PCA of its encoded test set; a GAN: GANSpace)"),
    ("points", "Through A, B, C", "The plane through the path's two endpoints A and B and a third "
                                  "prior sample C"),
)
DEFAULT_GRID = 16
STRIP_GAP = 2
STRIP_BAR = 5
STRIP_BACKGROUND = 30
OPEN_ITEM = "Open checkpoint…"


def channel_name(side: str, what: str) -> str:
    return f"{CHANNEL_PREFIX}-{side}-{what}"


def strip_picture(frames: np.ndarray, classes: np.ndarray | None, gap: int = STRIP_GAP,
                  bar: int = STRIP_BAR) -> np.ndarray:
    """Frames (F, H, W, C) side by side as one RGB picture, each over a bar in its class colour."""
    f, h, w, c = frames.shape
    rgb = frames if c == 3 else np.repeat(frames[..., :1], 3, axis=3)
    out = np.full((h + gap + bar, f * w + (f - 1) * gap, 3), STRIP_BACKGROUND, dtype=np.uint8)
    table = class_rgb_table()
    for i in range(f):
        x = i * (w + gap)
        out[:h, x:x + w] = rgb[i]
        if classes is not None and classes[i] >= 0:
            out[h + gap:, x:x + w] = table[int(classes[i]) % len(table)]
    return out


def _caption(names: tuple[str, ...], predicted: int | None, confidence: float | None) -> str:
    if predicted is None:
        return ""
    colour = class_colour(predicted).name()
    conf = "" if confidence is None else f" {confidence:.0%}"
    return f"<span style='color:{colour}'>■</span> {class_name(names, predicted)}{conf}"


class ModelColumn(QWidget):
    """One side of the compare view: a model chooser, its controls, its image, path and maps."""

    model_changed = Signal(object)     # ModelInfo | None
    seed_changed = Signal(int)         # the user changed this column's seed

    def __init__(self, panel: ComparePanel, side: str):
        super().__init__(panel)
        self.panel = panel
        self.side = side
        self.info: ModelInfo | None = None
        self.strip: PathStrip | None = None
        self.latent_map: LatentMap | None = None
        self._scatter_key: tuple[Any, ...] | None = None
        self._map_key: tuple[Any, ...] | None = None
        self._history: list[tuple[int, float]] = []   # (step, loss) of the running inversion
        context = panel.context
        self.channels = {what: context.channel(channel_name(side, what), intermediate=(what == "point"))
                         for what in REQUESTS}
        for what, channel in self.channels.items():
            if what != "load":
                channel.result_ready.connect(lambda result, w=what: self.handle_result(w, result))
                channel.progress_changed.connect(lambda progress, w=what: self.handle_progress(w, progress))
        self._build()

    # -- construction -------------------------------------------------------------------------------
    def _build(self) -> None:
        settings = self.panel.context.settings
        key = f"compare/{self.side}"
        title = "Left model" if self.side == "left" else "Right model"

        self.model_combo = QComboBox()
        self.model_combo.setToolTip(f"{title}: a VAE or a GAN (bundled, or a checkpoint you open)")
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(8)
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setKeyboardTracking(False)
        self.seed_box.setValue(int(settings.value(f"{key}/seed", 0 if self.side == "left" else 0)))
        self.seed_box.setToolTip("The prior sample this column shows")
        self.dice = QToolButton()
        self.dice.setText("⚄")
        self.dice.setToolTip("A random seed")
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("The class a conditional model generates")
        self.class_label = QLabel("Class")

        head = QHBoxLayout()
        head.addWidget(self.model_combo, 1)
        head.addWidget(QLabel("Seed"))
        head.addWidget(self.seed_box)
        head.addWidget(self.dice)
        head.addWidget(self.class_label)
        head.addWidget(self.class_combo)

        # The picture: the image, its prediction, and (linked paths) the strip of frames.
        self.image_view = ImageView(minimum=96)
        self.image_view.setToolTip("The decoded image: the seed's sample, the path's current frame, or "
                                   "the map cell / scatter point you clicked")
        self.image_view.setMaximumWidth(260)
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        picture = QVBoxLayout()
        picture.setContentsMargins(0, 0, 0, 0)
        picture.addWidget(self.image_view, 1)
        picture.addWidget(self.caption)

        self.strip_view = ImageView(minimum=40)
        self.strip_view.setToolTip("The path's frames, each over a bar in the colour of its predicted class; "
                                   "more colour changes mean more class changes along the path")
        self.strip_caption = QLabel()
        self.strip_caption.setWordWrap(True)
        self.strip_caption.setStyleSheet("color: palette(mid);")
        self.ends_view = ImageView(minimum=40)
        self.ends_view.setToolTip("Target A, its reconstruction, the reconstruction of B, target B")
        self.loss_plot = pg.PlotWidget(background=BACKGROUND)
        self.loss_plot.setMenuEnabled(False)
        self.loss_plot.hideButtons()
        self.loss_plot.setLogMode(False, True)
        small = QFont()
        small.setPointSizeF(7.0)
        for side in ("left", "bottom"):
            axis = self.loss_plot.getAxis(side)
            axis.setStyle(tickFont=small, tickLength=-3)
            axis.setTextPen("#9aa0a6")
        self.loss_plot.getAxis("left").setWidth(30)
        self.loss_plot.getAxis("bottom").setHeight(14)
        self.loss_plot.setToolTip("Inversion loss per Adam step (log scale): pixel MSE + weighted "
                                  "classifier-feature distance")
        self.loss_plot.setMinimumHeight(70)
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen("#f9ab00", width=2))
        ends_row = QHBoxLayout()
        ends_row.setContentsMargins(0, 0, 0, 0)
        ends_row.addWidget(self.ends_view, 1)
        ends_row.addWidget(self.loss_plot, 1)
        self.ends_box = QWidget()
        self.ends_box.setLayout(ends_row)
        self.path_box = QWidget()
        path_layout = QVBoxLayout(self.path_box)
        path_layout.setContentsMargins(0, 0, 0, 0)
        path_layout.addWidget(self.strip_view, 2)
        path_layout.addWidget(self.strip_caption)
        path_layout.addWidget(self.ends_box, 2)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addLayout(picture, 2)
        top.addWidget(self.path_box, 3)

        self.progress = QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #ffb4ab;")
        self.status.hide()

        # Map tab
        self.plane_combo = QComboBox()
        for value, text, tip in PLANES:
            self.plane_combo.addItem(text, value)
            self.plane_combo.setItemData(self.plane_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.plane_combo.setToolTip("Which plane of the latent space the map shows")
        self.dim_x = QSpinBox()
        self.dim_y = QSpinBox()
        self.dim_x.setToolTip("Latent dimension along the map's horizontal axis")
        self.dim_y.setToolTip("Latent dimension along the map's vertical axis")
        self.c_seed = QSpinBox()
        self.c_seed.setRange(0, 2**31 - 1)
        self.c_seed.setValue(int(settings.value(f"{key}/c_seed", 2)))
        self.c_seed.setToolTip("Seed of the third point C of the plane")
        self.extent = QDoubleSpinBox()
        self.extent.setRange(0.25, 10.0)
        self.extent.setSingleStep(0.25)
        self.extent.setValue(float(settings.value(f"{key}/extent", 3.0)))
        self.extent.setPrefix("± ")
        self.extent.setDecimals(2)
        self.extent.setToolTip("How far the map reaches from its centre: latent units for dimensions, "
                               "standard deviations for principal directions")
        self.grid_box = QSpinBox()
        self.grid_box.setRange(4, 64)
        self.grid_box.setValue(int(settings.value(f"{key}/grid", DEFAULT_GRID)))
        self.grid_box.setPrefix("K ")
        self.grid_box.setToolTip("K: the map decodes a K x K grid of latents")
        for box in (self.dim_x, self.dim_y, self.c_seed, self.grid_box):
            box.setKeyboardTracking(False)
        self.extent.setKeyboardTracking(False)
        self.class_map = QCheckBox("Classes")
        self.class_map.setChecked(settings.value(f"{key}/class_map", True, type=bool))
        self.class_map.setToolTip("Colour each cell by the classifier's prediction of its image")
        self.dims_row = row(QLabel("x"), self.dim_x, QLabel("y"), self.dim_y)
        self.c_row = row(QLabel("C seed"), self.c_seed)
        plane_row = QHBoxLayout()
        plane_row.addWidget(self.plane_combo)
        plane_row.addWidget(self.dims_row)
        plane_row.addWidget(self.c_row)
        plane_row.addWidget(self.extent)
        plane_row.addWidget(self.grid_box)
        plane_row.addWidget(self.class_map)
        plane_row.addStretch(1)
        self.map_view = LatentMapView()
        self.map_caption = QLabel()
        self.map_caption.setWordWrap(True)
        self.map_caption.setStyleSheet("color: palette(mid);")
        map_tab = QWidget()
        map_layout = QVBoxLayout(map_tab)
        map_layout.setContentsMargins(2, 4, 2, 2)
        map_layout.addLayout(plane_row)
        map_layout.addWidget(self.map_view, 1)
        map_layout.addWidget(self.map_caption)

        # Scatter tab
        self.samples_box = QSpinBox()
        self.samples_box.setRange(100, 20000)
        self.samples_box.setSingleStep(500)
        self.samples_box.setValue(int(settings.value(f"{key}/scatter_samples", 2000)))
        self.samples_box.setKeyboardTracking(False)
        self.samples_box.setToolTip("How many prior samples a GAN's scatter shows")
        self.samples_label = QLabel("GAN samples")
        scatter_row = QHBoxLayout()
        scatter_row.addWidget(self.samples_label)
        scatter_row.addWidget(self.samples_box)
        scatter_row.addStretch(1)
        self.scatter_view = LatentScatterView()
        scatter_tab = QWidget()
        scatter_layout = QVBoxLayout(scatter_tab)
        scatter_layout.setContentsMargins(2, 4, 2, 2)
        scatter_layout.addLayout(scatter_row)
        scatter_layout.addWidget(self.scatter_view, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(map_tab, "Latent map")
        self.tabs.addTab(scatter_tab, "Scatter")
        self.tabs.setTabToolTip(0, "A plane of the latent space decoded as a grid")
        self.tabs.setTabToolTip(1, "Where the model's latents lie: a VAE's encoded test set, a GAN's "
                                   "samples coloured by the classifier")
        self.tabs.setCurrentIndex(int(settings.value(f"{key}/tab", 0)))

        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addLayout(head)
        upper_layout.addLayout(top, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(upper)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 5)
        splitter.setSizes([150, 450])
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)

        plane = str(settings.value(f"{key}/plane", "dims"))
        self.plane_combo.setCurrentIndex(max(0, self.plane_combo.findData(plane)))
        self._update_plane_controls()

        self.model_combo.activated.connect(self._model_chosen)
        self.seed_box.valueChanged.connect(self._seed_edited)
        self.dice.clicked.connect(lambda: self.seed_box.setValue(random.randrange(0, 100_000)))
        self.class_combo.activated.connect(lambda _: self.refresh())
        self.plane_combo.activated.connect(self._plane_edited)
        for box in (self.dim_x, self.dim_y, self.c_seed, self.grid_box):
            box.valueChanged.connect(self._plane_edited)
        self.extent.valueChanged.connect(self._plane_edited)
        self.class_map.toggled.connect(self._class_map_toggled)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.samples_box.valueChanged.connect(lambda _: self.request_scatter())
        self.map_view.cell_clicked.connect(self._cell_clicked)
        self.scatter_view.point_clicked.connect(self._point_clicked)

    # -- model ------------------------------------------------------------------------------------
    def populate(self, infos: list[ModelInfo], preferred: str | None) -> None:
        """Fills the chooser with the VAEs and GANs in `infos` and selects `preferred` (a source)."""
        with QSignalBlocker(self.model_combo):
            self.model_combo.clear()
            for info in infos:
                self.model_combo.addItem(f"{info.name}  ({info.kind_title})", info)
                self.model_combo.setItemData(self.model_combo.count() - 1, info.tooltip(),
                                             Qt.ItemDataRole.ToolTipRole)
            self.model_combo.insertSeparator(self.model_combo.count())
            self.model_combo.addItem(OPEN_ITEM, None)
        index = next((i for i in range(self.model_combo.count())
                      if isinstance(self.model_combo.itemData(i), ModelInfo)
                      and self.model_combo.itemData(i).source == preferred), -1)
        if index < 0:
            index = next((i for i in range(self.model_combo.count())
                          if isinstance(self.model_combo.itemData(i), ModelInfo)), -1)
        if index < 0:
            self.set_model(None)
            return
        with QSignalBlocker(self.model_combo):
            self.model_combo.setCurrentIndex(index)
        self.set_model(self.model_combo.itemData(index))

    def add_model(self, info: ModelInfo) -> None:
        """Adds an opened checkpoint to the chooser (once) and selects it."""
        index = next((i for i in range(self.model_combo.count())
                      if isinstance(self.model_combo.itemData(i), ModelInfo)
                      and self.model_combo.itemData(i).source == info.source), -1)
        if index < 0:
            index = self.model_combo.count() - 2    # before the separator and "Open…"
            self.model_combo.insertItem(max(0, index), f"{info.name}  ({info.kind_title})", info)
            index = max(0, index)
            self.model_combo.setItemData(index, info.tooltip(), Qt.ItemDataRole.ToolTipRole)
        with QSignalBlocker(self.model_combo):
            self.model_combo.setCurrentIndex(index)
        self.set_model(info)

    def _model_chosen(self, index: int) -> None:
        data = self.model_combo.itemData(index)
        if isinstance(data, ModelInfo):
            self.set_model(data)
            return
        # "Open checkpoint…": put the chooser back until the file has loaded.
        if self.info is not None:
            with QSignalBlocker(self.model_combo):
                self.model_combo.setCurrentIndex(self._index_of(self.info.source))
        self.panel.open_checkpoint(self)

    def _index_of(self, source: str) -> int:
        for i in range(self.model_combo.count()):
            data = self.model_combo.itemData(i)
            if isinstance(data, ModelInfo) and data.source == source:
                return i
        return -1

    def set_model(self, info: ModelInfo | None) -> None:
        for what, channel in self.channels.items():
            if what != "load":
                channel.reset()
        self.progress.hide()
        self.info = info
        self.strip = None
        self.latent_map = None
        self._map_key = self._scatter_key = None
        self.image_view.clear()
        self.strip_view.clear()
        self.ends_view.clear()
        self.map_view.clear()
        self.scatter_view.clear()
        self.caption.clear()
        self.show_error("")
        if info is None:
            self.model_combo.setToolTip("No model")
            self.image_view.show_message("No VAE or GAN to show: open a checkpoint with the model chooser, "
                                         "or train one with `latent-explorer train`")
            self.setEnabled(True)
            self.model_changed.emit(None)
            return
        self.image_view.clear_message()
        self.model_combo.setToolTip(info.tooltip())
        self.panel.context.settings.setValue(f"compare/{self.side}/model", info.source)
        dims = max(1, info.latent_dim)
        for box, value in ((self.dim_x, 0), (self.dim_y, 1)):
            with QSignalBlocker(box):
                box.setRange(0, dims - 1)
                box.setValue(min(value, dims - 1))
        with QSignalBlocker(self.class_combo):
            self.class_combo.clear()
            for i, name in enumerate(info.class_names if info.can("conditional") else ()):
                self.class_combo.addItem(name, i)
        self.class_combo.setVisible(info.can("conditional"))
        self.class_label.setVisible(info.can("conditional"))
        # a scatter of prior samples (models without an encoder) has a sample count
        self.samples_box.setVisible(not info.can("encoder"))
        self.samples_label.setVisible(not info.can("encoder"))
        self._update_plane_controls()
        self.model_changed.emit(info)
        self.refresh()

    # -- what the user asks for -------------------------------------------------------------------
    @property
    def label(self) -> int | None:
        if self.info is None or not self.info.can("conditional"):
            return None
        return int(self.class_combo.currentData() or 0)

    @property
    def source(self) -> str | None:
        return None if self.info is None else self.info.source

    def set_seed(self, seed: int) -> None:
        """Sets the seed without echoing it back as a user change."""
        with QSignalBlocker(self.seed_box):
            self.seed_box.setValue(int(seed))
        self.panel.context.settings.setValue(f"compare/{self.side}/seed", int(seed))

    def _seed_edited(self, seed: int) -> None:
        self.panel.context.settings.setValue(f"compare/{self.side}/seed", int(seed))
        self.seed_changed.emit(int(seed))
        self.refresh()

    def plane_spec(self) -> PlaneSpec | None:
        kind = str(self.plane_combo.currentData())
        extent = float(self.extent.value())
        if kind == "dims":
            return PlaneSpec("dims", (self.dim_x.value(), self.dim_y.value()), extent)
        if kind == "pca":
            return PlaneSpec("pca", extent=extent)
        a, b = self.panel.endpoint_points(self)
        if a is None or b is None:
            return None
        return PlaneSpec("points", extent=extent, points=(a, b, int(self.c_seed.value())))

    def _update_plane_controls(self) -> None:
        kind = str(self.plane_combo.currentData())
        self.dims_row.setVisible(kind == "dims")
        self.c_row.setVisible(kind == "points")
        self.extent.setVisible(kind != "points")
        dims = self.info.latent_dim if self.info is not None else 2
        self.plane_combo.setEnabled(dims >= 2)

    def _plane_edited(self, *_args) -> None:
        settings = self.panel.context.settings
        key = f"compare/{self.side}"
        settings.setValue(f"{key}/plane", self.plane_combo.currentData())
        settings.setValue(f"{key}/extent", self.extent.value())
        settings.setValue(f"{key}/grid", self.grid_box.value())
        settings.setValue(f"{key}/c_seed", self.c_seed.value())
        self._update_plane_controls()
        self.request_map()

    def _class_map_toggled(self, on: bool) -> None:
        self.panel.context.settings.setValue(f"compare/{self.side}/class_map", on)
        self.map_view.set_class_overlay(on)

    def _tab_changed(self, index: int) -> None:
        self.panel.context.settings.setValue(f"compare/{self.side}/tab", index)
        if index == 1:
            self.request_scatter()
        else:
            self.request_map()

    # -- requests -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Asks for everything this column shows, for the current mode and settings."""
        if self.info is None:
            return
        if not self.panel.active:
            # Hidden tab: nothing is decoded until the view is first shown, so the compare view
            # never delays the other views' first frames.
            self.panel.stale = True
            return
        mode = self.panel.link_mode()
        self.path_box.setVisible(mode in ("path", "images"))
        self.seed_box.setEnabled(mode in ("independent", "seed"))
        self.dice.setEnabled(mode in ("independent", "seed"))
        if mode in ("path", "images"):
            # a seed's image still on its way would cover the path's frame
            self.channels["point"].reset()
            self.request_path()
        else:
            self.channels["path"].reset()
            self.strip = None
            self.request_point(int(self.seed_box.value()), f"seed {self.seed_box.value()}")
        if self.tabs.currentIndex() == 0:
            self.request_map()
        else:
            self.request_scatter()

    def request_point(self, latent: int | np.ndarray, what: str) -> None:
        if self.info is None:
            return
        point = latent if isinstance(latent, int) else np.asarray(latent, dtype=np.float32)
        self.channels["point"].submit(point_job(self.info.source, point, self.label, self.panel.classifier()), what)

    def request_path(self) -> None:
        if self.info is None:
            return
        a, b = self.panel.endpoints()
        self.strip = None
        self._history = []
        self.loss_curve.setData([], [])
        inverting = a.kind == "test" and not self.info.can("encoder")
        self.ends_box.setVisible(a.kind == "test")
        self.loss_plot.setVisible(inverting)
        self.strip_caption.setText("Inverting the generator onto the test images…" if inverting else "")
        self.channels["path"].submit(path_job(self.info.source, a, b, self.panel.frames(), self.panel.spherical(),
                                              self.label, self.panel.classifier(),
                                              inversion=InversionSettings(steps=self.panel.inversion_steps())),
                                     f"path {a.describe()} to {b.describe()}")

    def request_map(self) -> None:
        if self.info is None or self.tabs.currentIndex() != 0:
            return
        if self.info.latent_dim < 2:
            self.map_view.show_message(f"{self.info.name} has a {self.info.latent_dim}-D latent: there is no "
                                       f"plane to map")
            return
        spec = self.plane_spec()
        if spec is None:
            self.map_view.show_message("Waiting for the path's endpoints…")
            return
        if spec.kind == "dims" and spec.dims[0] == spec.dims[1]:
            self.map_view.show_message("Pick two different latent dimensions for the map's axes", error=True)
            return
        k = int(self.grid_box.value())
        key = (self.info.source, spec, k, self.label)
        if key == self._map_key:
            return
        self._map_key = key
        self.map_view.clear_message()
        self.channels["map"].submit(map_job(self.info.source, spec, k, self.label, self.panel.classifier()),
                                    f"{k}x{k} map of {spec.describe()}")

    def request_scatter(self) -> None:
        if self.info is None or self.tabs.currentIndex() != 1:
            return
        samples = int(self.samples_box.value())
        key = (self.info.source, self.label, samples if not self.info.can("encoder") else 0)
        if key == self._scatter_key:
            return
        self._scatter_key = key
        self.panel.context.settings.setValue(f"compare/{self.side}/scatter_samples", samples)
        self.scatter_view.clear_message()
        self.scatter_view.show_message("Computing…")
        self.channels["scatter"].submit(scatter_job(self.info.source, self.panel.classifier(), samples, 0,
                                                    self.label), "scatter")

    # -- results ------------------------------------------------------------------------------------
    def busy(self) -> bool:
        """True while any request of this column waits for its result."""
        return any(channel.busy for channel in self.channels.values())

    def cancel(self) -> None:
        for channel in self.channels.values():
            channel.cancel()

    def handle_progress(self, what: str, progress: JobProgress) -> None:
        self.progress.setMaximum(max(1, progress.total))
        self.progress.setValue(min(progress.done, max(1, progress.total)))
        self.progress.setFormat(progress.message or f"{what} %p%")
        self.progress.show()
        partial = progress.partial
        if isinstance(partial, MapLayout):
            self.map_view.begin(partial.k, partial.cell_shape, partial.lo, partial.hi, partial.axis_names,
                                partial.anchors, partial.class_names)
            self.map_view.set_class_overlay(self.class_map.isChecked())
            self.map_caption.setText(self._map_text(partial.description, partial.note))
        elif isinstance(partial, MapRows):
            self.map_view.add_rows(partial)
        elif isinstance(partial, InversionProgress):
            self._history.append((partial.step, partial.loss))
            steps, losses = zip(*self._history)
            self.loss_curve.setData(np.asarray(steps), np.maximum(np.asarray(losses), 1e-12))
            self.ends_view.set_image(strip_picture(partial.images, None))
            self.strip_caption.setText(f"Inverting: step {partial.step} of {partial.total}, "
                                       f"loss {partial.loss:.4f}")

    def handle_result(self, what: str, result: Result) -> None:
        if not self.busy():
            self.progress.hide()
        if result.cancelled:
            self.cancelled(what)
            return
        if not result.ok:
            message = result.error or "unknown error"
            if what == "map":
                self._map_key = None
                self.map_view.show_message(message, error=True)
            elif what == "scatter":
                self._scatter_key = None
                self.scatter_view.show_message(message, error=True)
            elif what == "path":
                self.strip_caption.setText("")
                self.strip_view.clear()
                self.image_view.show_message(message, error=True)
            else:
                self.image_view.show_message(message, error=True)
            self.panel.context.status.emit(f"{self.info.name if self.info else 'Compare'}: {message}")
            return
        value = result.value
        if what == "point" and isinstance(value, PointImage):
            self.image_view.clear_message()
            self.image_view.set_image(value.image)
            names = self._names()
            self.caption.setText(_caption(names, value.predicted, value.confidence))
            self.panel.context.report_frame(result.elapsed_s, result.device)
        elif what == "path" and isinstance(value, PathStrip):
            self.show_strip(value)
            if self.plane_combo.currentData() == "points":
                self._map_key = None
                self.request_map()
        elif what == "map" and isinstance(value, LatentMap):
            self.latent_map = value
            self.map_view.clear_message()
            self.map_view.set_map(value)
            self.map_view.set_class_overlay(self.class_map.isChecked())
            self.map_caption.setText(self._map_text(value.description, value.note)
                                     + f" · {result.elapsed_s:.2f} s on {result.device}")
            self.panel.legend.set_names(value.class_names)
            self.panel.map_rendered.emit(self.side, value)
        elif what == "scatter" and isinstance(value, ScatterData):
            self.scatter_view.set_data(value)
            self.panel.legend.set_names(value.class_names)

    def cancelled(self, what: str) -> None:
        """Request `what` was cancelled: forget it, so asking again runs it again."""
        if not self.busy():
            self.progress.hide()
        if what == "path":
            self.strip_caption.setText("Cancelled.")
        elif what == "map":
            self._map_key = None
            self.map_view.show_message("Cancelled: change a setting to render the map again.")
        elif what == "scatter":
            self._scatter_key = None
            self.scatter_view.show_message("Cancelled.")

    def _map_text(self, description: str, note: str) -> str:
        text = f"Plane: {description}"
        return text + (f" · {note}" if note else "")

    def _names(self) -> tuple[str, ...]:
        # Predictions are the classifier's, so its class names (which the legend shows) name them.
        return self.panel.legend.names() or FASHION_MNIST_CLASSES

    def show_strip(self, strip: PathStrip) -> None:
        self.strip = strip
        self.image_view.clear_message()
        self.strip_view.set_image(strip_picture(strip.frames, strip.classes))
        text = f"{len(strip.frames)} frames, {strip.method}"
        if strip.classes is not None:
            changes = int((np.diff(strip.classes) != 0).sum())
            text += f" · {changes} class change{'s' if changes != 1 else ''}"
        if strip.final_loss is not None and strip.initial_loss is not None:
            text += f" · loss {strip.initial_loss:.4f} → {strip.final_loss:.4f}"
        if strip.note:
            text += f" · {strip.note}"
        self.strip_caption.setText(text)
        if strip.targets is not None and strip.reconstructions is not None:
            ends = np.stack([strip.targets[0], strip.reconstructions[0], strip.reconstructions[1],
                             strip.targets[1]])
            self.ends_view.set_image(strip_picture(ends, None))
        if strip.history:
            self._history = list(enumerate(strip.history, start=1))
            self.loss_curve.setData(np.arange(1, len(strip.history) + 1),
                                    np.maximum(np.asarray(strip.history), 1e-12))
        self.show_frame(self.panel.frame_index())

    def show_frame(self, index: int) -> None:
        """Shows frame `index` of the path (clamped to it) as this column's image."""
        if self.strip is None:
            return
        f = len(self.strip.frames)
        index = max(0, min(index, f - 1))
        self.image_view.set_image(self.strip.frames[index])
        h, w = self.strip.frames.shape[1:3]
        self.strip_view.set_highlight((index * (w + STRIP_GAP) - 0.5, -0.5, w + 1, h + 1 + STRIP_GAP + STRIP_BAR))
        predicted = None if self.strip.classes is None else int(self.strip.classes[index])
        confidence = None if self.strip.confidence is None else float(self.strip.confidence[index])
        self.caption.setText(f"frame {index + 1}/{f} " + _caption(self.strip.class_names or self._names(),
                                                                 predicted, confidence))

    def _cell_clicked(self, row: int, col: int) -> None:
        image = self.map_view.cell_image(row, col)
        if image is None:
            return
        self.image_view.clear_message()
        self.image_view.set_image(image)
        predicted, confidence = self.map_view.prediction(row, col)
        self.caption.setText("map cell " + _caption(self._names(), predicted, confidence))

    def _point_clicked(self, index: int) -> None:
        data = self.scatter_view.data()
        if data is None or self.info is None:
            return
        self.request_point(data.latents[index], f"scatter point {index}")

    def show_error(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))
