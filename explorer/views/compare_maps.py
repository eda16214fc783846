"""A compare column's two tabs on its latent space: the latent map (a plane of the latent space
decoded as a K x K grid, the classifier's class map on top, or for a GAN that kept its
discriminator, the discriminator's realness map) with the plane's settings, and the scatter (a
VAE's encoded test set, a GAN's prior samples).

The tabs ask for their own maps and scatters through the channels they are given, and remember
what they last asked for, so asking again for the same thing costs nothing. The column routes
the results back (`show_partial`, `show_map`, `show_scatter`, `failed`, `cancelled`) and hears
which map cell (`cell_chosen`) or scatter point (`point_chosen`) was clicked.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox, QTabWidget,
                               QVBoxLayout, QWidget)

from explorer.channel import Channel
from explorer.context import AppContext
from explorer.jobs.compare import LatentMap, MapLayout, MapRows, PlaneSpec, ScatterData, map_job, scatter_job
from explorer.model_info import ModelInfo
from explorer.views.latent_map import COLOUR_BY, LatentMapView, LatentScatterView
from explorer.views.layout import row
from explorer.worker import Result
from explorer.settings import setting

PLANES: tuple[tuple[str, str, str], ...] = (
    ("dims", "Dimensions", "Two latent dimensions, varied around the prior's mean"),
    ("pca", "Principal", "The two principal directions: those along which the model's latents vary most "
                         "(a VAE: PCA of its encoded test set; a GAN: GANSpace)"),
    ("points", "Through A, B, C", "The plane through the path's two endpoints A and B and a third "
                                  "prior sample C"),
)
DEFAULT_GRID = 16

PlanePoints = Callable[[], tuple[Any, Any]]    # A and B of the plane through three points, or Nones


class MapTabs(QTabWidget):
    cell_chosen = Signal(object, object, object)   # the cell's image, predicted class, confidence
    point_chosen = Signal(object, int)             # a scatter point's latent, its index

    def __init__(self, context: AppContext, key: str, map_channel: Channel, scatter_channel: Channel,
                 label: Callable[[], int | None], plane_points: PlanePoints, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self._key = key                 # of the settings, e.g. "compare/left"
        self._map_channel = map_channel
        self._scatter_channel = scatter_channel
        self._label = label
        self._plane_points = plane_points
        self.info: ModelInfo | None = None
        self.latent_map: LatentMap | None = None
        self._map_key: tuple[Any, ...] | None = None
        self._scatter_key: tuple[Any, ...] | None = None
        settings = context.settings

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
        self.c_seed.setValue(setting(settings, f"{key}/c_seed", 2, bounds=(0, 2**31 - 1)))
        self.c_seed.setToolTip("Seed of the third point C of the plane")
        self.extent = QDoubleSpinBox()
        self.extent.setRange(0.25, 10.0)
        self.extent.setSingleStep(0.25)
        self.extent.setValue(setting(settings, f"{key}/extent", 3.0, bounds=(0.1, 100.0)))
        self.extent.setPrefix("± ")
        self.extent.setDecimals(2)
        self.extent.setToolTip("How far the map reaches from its centre: latent units for dimensions, "
                               "standard deviations for principal directions")
        self.grid_box = QSpinBox()
        self.grid_box.setRange(4, 64)
        self.grid_box.setValue(setting(settings, f"{key}/grid", DEFAULT_GRID))
        self.grid_box.setPrefix("K ")
        self.grid_box.setToolTip("K: the map decodes a K x K grid of latents")
        for box in (self.dim_x, self.dim_y, self.c_seed, self.grid_box):
            box.setKeyboardTracking(False)
        self.extent.setKeyboardTracking(False)
        self.class_map = QCheckBox("Classes")
        self.class_map.setChecked(setting(settings, f"{key}/class_map", True))
        self.class_map.setToolTip("Colour each cell by the classifier's prediction of its image")
        # A GAN whose file kept its discriminator can colour its map by D's verdict instead.
        self.colour_combo = QComboBox()
        self.colour_combo.addItem("class", "class")
        self.colour_combo.addItem("discriminator", "discriminator")
        self.colour_combo.setToolTip("Colour each cell by the classifier's prediction of its image, or by how "
                                     "real the GAN's own discriminator finds it")
        colour_by = setting(settings, f"{key}/colour_by", "class", choices=COLOUR_BY)
        self.colour_combo.setCurrentIndex(max(0, self.colour_combo.findData(colour_by)))
        self.colour_combo.hide()
        self.dims_row = row(QLabel("x"), self.dim_x, QLabel("y"), self.dim_y)
        self.c_row = row(QLabel("C seed"), self.c_seed)
        # two short rows rather than one long one: a column stays usable in a small window
        plane_row = QVBoxLayout()
        plane_row.setSpacing(2)
        plane_row.addWidget(row(self.plane_combo, 1, self.class_map, 0, self.colour_combo, 0))
        sizes = row(self.dims_row, self.c_row, self.extent, self.grid_box)
        sizes.layout().addStretch(1)
        plane_row.addWidget(sizes)
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
        self.samples_box.setValue(setting(settings, f"{key}/scatter_samples", 2000))
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

        self.addTab(map_tab, "Latent map")
        self.addTab(scatter_tab, "Scatter")
        self.setTabToolTip(0, "A plane of the latent space decoded as a grid")
        self.setTabToolTip(1, "Where the model's latents lie: a VAE's encoded test set, a GAN's "
                              "samples coloured by the classifier")
        self.setCurrentIndex(setting(settings, f"{key}/tab", 0, bounds=(0, 1)))
        plane = setting(settings, f"{key}/plane", "dims")
        self.plane_combo.setCurrentIndex(max(0, self.plane_combo.findData(plane)))
        self._update_plane_controls()

        self.plane_combo.activated.connect(self._plane_edited)
        for box in (self.dim_x, self.dim_y, self.c_seed, self.grid_box):
            box.valueChanged.connect(self._plane_edited)
        self.extent.valueChanged.connect(self._plane_edited)
        self.class_map.toggled.connect(self._class_map_toggled)
        self.colour_combo.activated.connect(self._colour_by_chosen)
        self.currentChanged.connect(self._tab_changed)
        self.samples_box.valueChanged.connect(lambda _: self.request_scatter())
        self.map_view.cell_clicked.connect(self._cell_clicked)
        self.scatter_view.point_clicked.connect(self._point_clicked)

    # -- model and settings -------------------------------------------------------------------------
    def set_model(self, info: ModelInfo | None) -> None:
        """Forgets the previous model's map and scatter; fits the controls to `info`."""
        self.info = info
        self.latent_map = None
        self._map_key = self._scatter_key = None
        self.map_view.clear()
        self.scatter_view.clear()
        if info is None:
            return
        dims = max(1, info.latent_dim)
        for box, value in ((self.dim_x, 0), (self.dim_y, 1)):
            with QSignalBlocker(box):
                box.setRange(0, dims - 1)
                box.setValue(min(value, dims - 1))
        # a scatter of prior samples (models without an encoder) has a sample count
        self.samples_box.setVisible(not info.can("encoder"))
        self.samples_label.setVisible(not info.can("encoder"))
        self._offer_discriminator(info.can("discriminator"))
        self._update_plane_controls()

    def plane_kind(self) -> str:
        return str(self.plane_combo.currentData())

    def plane_spec(self) -> PlaneSpec | None:
        kind = self.plane_kind()
        extent = float(self.extent.value())
        if kind == "dims":
            return PlaneSpec("dims", (self.dim_x.value(), self.dim_y.value()), extent)
        if kind == "pca":
            return PlaneSpec("pca", extent=extent)
        a, b = self._plane_points()
        if a is None or b is None:
            return None
        return PlaneSpec("points", extent=extent, points=(a, b, int(self.c_seed.value())))

    def _update_plane_controls(self) -> None:
        kind = self.plane_kind()
        self.dims_row.setVisible(kind == "dims")
        self.c_row.setVisible(kind == "points")
        self.extent.setVisible(kind != "points")
        dims = self.info.latent_dim if self.info is not None else 2
        self.plane_combo.setEnabled(dims >= 2)

    def _plane_edited(self, *_args) -> None:
        settings = self.context.settings
        settings.setValue(f"{self._key}/plane", self.plane_combo.currentData())
        settings.setValue(f"{self._key}/extent", self.extent.value())
        settings.setValue(f"{self._key}/grid", self.grid_box.value())
        settings.setValue(f"{self._key}/c_seed", self.c_seed.value())
        self._update_plane_controls()
        self.request_map()

    def _class_map_toggled(self, on: bool) -> None:
        self.context.settings.setValue(f"{self._key}/class_map", on)
        self.map_view.set_class_overlay(on)

    def _colour_by_chosen(self, _index: int) -> None:
        self.context.settings.setValue(f"{self._key}/colour_by", self.colour_combo.currentData())
        self._apply_colouring()

    def _offer_discriminator(self, available: bool) -> None:
        """Shows the choice of colouring when the map's model has a discriminator to colour by."""
        self.colour_combo.setVisible(available)
        self.class_map.setText("Colour" if available else "Classes")
        self.class_map.setToolTip("Colour each cell by the classifier's prediction of its image, or by the "
                                  "discriminator's verdict on it" if available
                                  else "Colour each cell by the classifier's prediction of its image")
        self._apply_colouring()

    def colour_by(self) -> str:
        """What the map's cells are coloured by: "class", or "discriminator" where the model has one."""
        return str(self.colour_combo.currentData()) if not self.colour_combo.isHidden() else "class"

    def _apply_colouring(self) -> None:
        self.map_view.set_colour_by(self.colour_by())
        self.map_view.set_class_overlay(self.class_map.isChecked())

    def _tab_changed(self, index: int) -> None:
        self.context.settings.setValue(f"{self._key}/tab", index)
        if index == 1:
            self.request_scatter()
        else:
            self.request_map()

    # -- requests -----------------------------------------------------------------------------------
    def request(self) -> None:
        """Asks for what the open tab shows."""
        if self.currentIndex() == 0:
            self.request_map()
        else:
            self.request_scatter()

    def request_map(self) -> None:
        if self.info is None or self.currentIndex() != 0:
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
        label = self._label()
        key = (self.info.source, spec, k, label)
        if key == self._map_key:
            return
        self._map_key = key
        self.map_view.clear_message()
        self._map_channel.submit(map_job(self.info.source, spec, k, label, self.context.classifier_for(self.info)),
                                 f"{k}x{k} map of {spec.describe()}")

    def remap_points(self) -> None:
        """The path's endpoints changed: a plane through them is mapped again."""
        if self.plane_kind() == "points":
            self._map_key = None
            self.request_map()

    def request_scatter(self) -> None:
        if self.info is None or self.currentIndex() != 1:
            return
        samples = int(self.samples_box.value())
        label = self._label()
        key = (self.info.source, label, samples if not self.info.can("encoder") else 0)
        if key == self._scatter_key:
            return
        self._scatter_key = key
        self.context.settings.setValue(f"{self._key}/scatter_samples", samples)
        self.scatter_view.clear_message()
        self.scatter_view.show_message("Computing…")
        self._scatter_channel.submit(scatter_job(self.info.source, self.context.classifier_for(self.info), samples, 0,
                                                 label), "scatter")

    # -- results --------------------------------------------------------------------------------------
    def show_partial(self, partial: object) -> None:
        """A map's layout or its next rows, as the worker streams them."""
        if isinstance(partial, MapLayout):
            self.map_view.begin(partial.k, partial.cell_shape, partial.lo, partial.hi, partial.axis_names,
                                partial.anchors, partial.class_names)
            self._apply_colouring()
            self.map_caption.setText(_map_text(partial.description, partial.note))
        elif isinstance(partial, MapRows):
            # a listed model may not say it has a discriminator until its map shows one
            if partial.realness is not None and self.colour_combo.isHidden():
                self._offer_discriminator(True)
            self.map_view.add_rows(partial)

    def show_map(self, latent_map: LatentMap, result: Result) -> None:
        self.latent_map = latent_map
        self.map_view.clear_message()
        self.map_view.set_map(latent_map)
        self._offer_discriminator(latent_map.realness is not None)
        self.map_caption.setText(_map_text(latent_map.description, latent_map.note)
                                 + f" · {result.elapsed_s:.2f} s on {result.device}")

    def show_scatter(self, data: ScatterData) -> None:
        self.scatter_view.set_data(data)

    def failed(self, what: str, message: str) -> None:
        """The map or the scatter (`what`) failed: say why; asking again runs it again."""
        if what == "map":
            self._map_key = None
            self.map_view.show_message(message, error=True)
        elif what == "scatter":
            self._scatter_key = None
            self.scatter_view.show_message(message, error=True)

    def cancelled(self, what: str) -> None:
        if what == "map":
            self._map_key = None
            self.map_view.show_message("Cancelled: change a setting to render the map again.")
        elif what == "scatter":
            self._scatter_key = None
            self.scatter_view.show_message("Cancelled.")

    def _cell_clicked(self, row_index: int, col: int) -> None:
        image = self.map_view.cell_image(row_index, col)
        if image is None:
            return
        predicted, confidence = self.map_view.prediction(row_index, col)
        self.cell_chosen.emit(image, predicted, confidence)

    def _point_clicked(self, index: int) -> None:
        data = self.scatter_view.data()
        if data is None or self.info is None:
            return
        self.point_chosen.emit(data.latents[index], index)


def _map_text(description: str, note: str) -> str:
    text = f"Plane: {description}"
    return text + (f" · {note}" if note else "")
