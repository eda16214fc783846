"""One column of the compare view: a model chooser (compare_model_chooser.py), its seed and
class, its image (or the current frame of a linked path, with the path's strip and, for
real-image endpoints, the inversion: compare_path.py), and its latent map and scatter
(compare_maps.py).

The column reads the linked state (mode, endpoints, frames) through a `PathLink` it is given and
sends its requests through its own channels (one per kind of request: load, point, path, map,
scatter). It tells the view what happened through signals; it never imports the view.
"""
from __future__ import annotations

import html
import random
from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QProgressBar, QSpinBox, QSplitter, QToolButton,
                               QVBoxLayout, QWidget)

from explorer.context import AppContext
from explorer.jobs.compare import (EndpointSpec, InversionProgress, InversionSettings, LatentMap, PathStrip,
                                   PointImage, ScatterData, path_job, point_job)
from explorer.model_info import ModelInfo
from explorer.views.compare_maps import MapTabs
from explorer.views.compare_model_chooser import ModelChooser
from explorer.views.compare_path import PathView
from explorer.views.image_view import ImageView
from explorer.views.latent_map import FASHION_MNIST_CLASSES, ClassLegend, class_colour, class_name
from explorer.worker import JobProgress, Result
from explorer.settings import setting

CHANNEL_PREFIX = "compare"
REQUESTS = ("load", "point", "path", "map", "scatter")


class PathLink(Protocol):
    """What a column reads from the link bar that ties the two columns together."""

    def link_mode(self) -> str: ...                  # "independent", "seed", "path" or "images"

    def frames(self) -> int: ...

    def spherical(self) -> bool: ...

    def inversion_steps(self) -> int: ...

    def frame_index(self) -> int: ...                # the frame both columns show

    def endpoints(self) -> tuple[EndpointSpec, EndpointSpec]: ...

    def endpoint_points(self, strip: PathStrip | None, seed: int) -> tuple[Any, Any]: ...


def channel_name(side: str, what: str) -> str:
    return f"{CHANNEL_PREFIX}-{side}-{what}"


def _caption(names: tuple[str, ...], predicted: int | None, confidence: float | None) -> str:
    if predicted is None:
        return ""
    colour = class_colour(predicted).name()
    conf = "" if confidence is None else f" {confidence:.0%}"
    # rich text for the coloured square, so the name (from a model file) is escaped
    return f"<span style='color:{colour}'>■</span> {html.escape(class_name(names, predicted))}{conf}"


class ModelColumn(QWidget):
    """One side of the compare view: a model chooser, its controls, its image, path and maps."""

    model_changed = Signal(object)     # ModelInfo | None
    seed_changed = Signal(int)         # the user changed this column's seed
    open_requested = Signal()          # the user asked to open a checkpoint for this column
    map_rendered = Signal(object)      # the LatentMap now shown in full

    def __init__(self, context: AppContext, side: str, link: PathLink, legend: ClassLegend,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.side = side
        self.link = link
        self.legend = legend           # shared by both columns: the class names it shows name predictions
        self.info: ModelInfo | None = None
        self.strip: PathStrip | None = None
        # Nothing is decoded until the view is first shown (the view then refreshes the column),
        # so the compare view never delays the other views' first frames.
        self.active = False
        self.channels = {what: context.channel(channel_name(side, what), intermediate=(what == "point"))
                         for what in REQUESTS}
        for what, channel in self.channels.items():
            if what != "load":
                channel.result_ready.connect(lambda result, w=what: self.handle_result(w, result))
                channel.progress_changed.connect(lambda progress, w=what: self.handle_progress(w, progress))
        self._build()

    # -- construction -------------------------------------------------------------------------------
    def _build(self) -> None:
        settings = self.context.settings
        key = f"compare/{self.side}"

        self.model_combo = ModelChooser("Left model" if self.side == "left" else "Right model")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setKeyboardTracking(False)
        self.seed_box.setValue(setting(settings, f"{key}/seed", 0, bounds=(0, 2**31 - 1)))
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
        self.path_view = PathView()
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addLayout(picture, 2)
        top.addWidget(self.path_view, 3)

        self.progress = QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #ffb4ab;")
        self.status.hide()

        self.tabs = MapTabs(self.context, key, self.channels["map"], self.channels["scatter"],
                            label=lambda: self.label, plane_points=self._plane_points)

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

        self.model_combo.chosen.connect(self.set_model)
        self.model_combo.open_requested.connect(self.open_requested)
        self.seed_box.valueChanged.connect(self._seed_edited)
        self.dice.clicked.connect(lambda: self.seed_box.setValue(random.randrange(0, 100_000)))
        self.class_combo.activated.connect(lambda _: self.refresh())
        self.tabs.cell_chosen.connect(self._cell_chosen)
        self.tabs.point_chosen.connect(lambda latent, index: self.request_point(latent, f"scatter point {index}"))

    @property
    def grid_box(self) -> QSpinBox:
        """K, the side of the latent map's grid."""
        return self.tabs.grid_box

    @property
    def latent_map(self) -> LatentMap | None:
        """The latent map shown in full, once one has been rendered for this model."""
        return self.tabs.latent_map

    # -- model ------------------------------------------------------------------------------------
    def populate(self, infos: list[ModelInfo], preferred: str | None) -> None:
        """Fills the chooser with the VAEs and GANs in `infos` and selects `preferred` (a source)."""
        self.set_model(self.model_combo.populate(infos, preferred))

    def add_model(self, info: ModelInfo) -> None:
        """Adds an opened checkpoint to the chooser (once) and selects it."""
        self.model_combo.add_model(info)
        self.set_model(info)

    def set_model(self, info: ModelInfo | None) -> None:
        for what, channel in self.channels.items():
            if what != "load":
                channel.reset()
        self.progress.hide()
        self.info = info
        self.strip = None
        self.tabs.set_model(info)
        self.image_view.clear()
        self.path_view.clear()
        self.caption.clear()
        self.show_error("")
        self.model_combo.show_model(info)
        if info is None:
            self.image_view.show_message("No VAE or GAN to show: open a checkpoint with the model chooser, "
                                         "or train one with `latent-explorer train`")
            self.setEnabled(True)
            self.model_changed.emit(None)
            return
        self.image_view.clear_message()
        self.context.settings.setValue(f"compare/{self.side}/model", info.source)
        with QSignalBlocker(self.class_combo):
            self.class_combo.clear()
            for i, name in enumerate(info.class_names if info.can("conditional") else ()):
                self.class_combo.addItem(name, i)
        self.class_combo.setVisible(info.can("conditional"))
        self.class_label.setVisible(info.can("conditional"))
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
        self.context.settings.setValue(f"compare/{self.side}/seed", int(seed))

    def _seed_edited(self, seed: int) -> None:
        self.context.settings.setValue(f"compare/{self.side}/seed", int(seed))
        self.seed_changed.emit(int(seed))
        self.refresh()

    def _plane_points(self) -> tuple[Any, Any]:
        return self.link.endpoint_points(self.strip, int(self.seed_box.value()))

    # -- requests -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Asks for everything this column shows, for the current mode and settings."""
        if self.info is None or not self.active:
            return
        mode = self.link.link_mode()
        self.path_view.setVisible(mode in ("path", "images"))
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
        self.tabs.request()

    def request_point(self, latent: int | np.ndarray, what: str) -> None:
        if self.info is None:
            return
        point = latent if isinstance(latent, int) else np.asarray(latent, dtype=np.float32)
        self.channels["point"].submit(point_job(self.info.source, point, self.label, self.context.classifier_for(self.info)),
                                      what)

    def request_path(self) -> None:
        if self.info is None:
            return
        a, b = self.link.endpoints()
        self.strip = None
        inverting = a.kind == "test" and not self.info.can("encoder")
        self.path_view.begin(real_images=a.kind == "test", inverting=inverting)
        self.channels["path"].submit(path_job(self.info.source, a, b, self.link.frames(), self.link.spherical(),
                                              self.label, self.context.classifier_for(self.info),
                                              inversion=InversionSettings(steps=self.link.inversion_steps())),
                                     f"path {a.describe()} to {b.describe()}")

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
        if isinstance(progress.partial, InversionProgress):
            self.path_view.show_inversion(progress.partial)
        else:
            self.tabs.show_partial(progress.partial)

    def handle_result(self, what: str, result: Result) -> None:
        if not self.busy():
            self.progress.hide()
        if result.cancelled:
            self.cancelled(what)
            return
        if not result.ok:
            message = result.error or "unknown error"
            if what in ("map", "scatter"):
                self.tabs.failed(what, message)
            else:
                if what == "path":
                    self.path_view.failed()
                self.image_view.show_message(message, error=True)
            self.context.status.emit(f"{self.info.name if self.info else 'Compare'}: {message}")
            return
        value = result.value
        if what == "point" and isinstance(value, PointImage):
            self.image_view.clear_message()
            self.image_view.set_image(value.image)
            self.caption.setText(_caption(self._names(), value.predicted, value.confidence))
            self.context.report_frame(result.elapsed_s, result.device)
        elif what == "path" and isinstance(value, PathStrip):
            self.show_strip(value)
            self.tabs.remap_points()
        elif what == "map" and isinstance(value, LatentMap):
            self.tabs.show_map(value, result)
            self.legend.set_names(value.class_names, self.side, self._legend_title())
            self.map_rendered.emit(value)
        elif what == "scatter" and isinstance(value, ScatterData):
            self.tabs.show_scatter(value)
            self.legend.set_names(value.class_names, self.side, self._legend_title())

    def cancelled(self, what: str) -> None:
        """Request `what` was cancelled: forget it, so asking again runs it again."""
        if not self.busy():
            self.progress.hide()
        if what == "path":
            self.path_view.cancelled()
        else:
            self.tabs.cancelled(what)

    def _names(self) -> tuple[str, ...]:
        # Predictions are the classifier's, so its class names (which the legend shows) name them.
        judge = self.context.classifier_info(self.info)
        return judge.class_names if judge is not None and judge.class_names else FASHION_MNIST_CLASSES

    def _legend_title(self) -> str:
        judge = self.context.classifier_info(self.info)
        return f"{self.info.name if self.info else self.side}, classes of {judge.name if judge else 'no classifier'}:"

    def show_strip(self, strip: PathStrip) -> None:
        self.strip = strip
        self.image_view.clear_message()
        self.path_view.show_strip(strip)
        self.show_frame(self.link.frame_index())

    def show_frame(self, index: int) -> None:
        """Shows frame `index` of the path (clamped to it) as this column's image."""
        if self.strip is None:
            return
        f = len(self.strip.frames)
        index = max(0, min(index, f - 1))
        self.image_view.set_image(self.strip.frames[index])
        self.path_view.outline(index, self.strip.frames.shape[1:3])
        predicted = None if self.strip.classes is None else int(self.strip.classes[index])
        confidence = None if self.strip.confidence is None else float(self.strip.confidence[index])
        self.caption.setText(f"frame {index + 1}/{f} " + _caption(self.strip.class_names or self._names(),
                                                                 predicted, confidence))

    def _cell_chosen(self, image: np.ndarray, predicted: int | None, confidence: float | None) -> None:
        self.image_view.clear_message()
        self.image_view.set_image(image)
        self.caption.setText("map cell " + _caption(self._names(), predicted, confidence))

    def show_error(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))
