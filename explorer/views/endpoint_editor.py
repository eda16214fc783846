"""One keyframe of an interpolation path: where its latent comes from (the Latent tab's point, a
seed, a bookmark, a picture, a dataset item or a latent stored in a GIF) and, for conditional
models, its class."""
from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QSpinBox, QStackedWidget, QToolButton, QVBoxLayout, QWidget)

from explorer.bookmarks import Bookmark
from explorer.model_info import ModelInfo
from explorer.jobs.interpolation import Endpoint
from explorer.views.layout import row

PICTURE_FILTER = "Pictures (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"

# (key, label) of the endpoint sources, in the order of the combo box
SOURCES = (("current", "Current point"), ("seed", "Seed"), ("bookmark", "Bookmark"),
           ("image", "Image file"), ("dataset", "Dataset item"), ("stored", "Stored latent"))
SOURCE_TIPS = {
    "current": "The point shown in the Latent tab, taken when you pick this (Take again refreshes it)",
    "seed": "A sample of the prior N(0, I), reproducible from its seed",
    "bookmark": "One of this model's bookmarks",
    "image": "A picture, encoded to a latent (models with an encoder)",
    "dataset": "An item of the Fashion-MNIST test split, encoded to a latent (models with an encoder)",
    "stored": "A latent restored from a GIF or PNG",
}

PointSource = Callable[[], Any]   # returns an object with z (flat latent), label, psi; or None


def _label_tuple(label: Any) -> int | tuple[float, ...] | None:
    if label is None or isinstance(label, (int, np.integer)):
        return None if label is None else int(label)
    return tuple(float(v) for v in label)


class EndpointEditor(QFrame):
    """Chooses one keyframe: its source (current point, seed, bookmark, picture, dataset item or a
    stored latent) and, for conditional models, its class."""

    changed = Signal()
    remove_requested = Signal()

    def __init__(self, title: str, point_source: Callable[[], PointSource | None], removable: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._point_source = point_source
        self._point: Any = None
        self._stored: Endpoint | None = None
        self.info: ModelInfo | None = None

        self.title = QLabel(f"<b>{title}</b>")
        self.title.setMinimumWidth(18)
        self.source_combo = QComboBox()
        for key, text in SOURCES:
            self.source_combo.addItem(text, key)
            self.source_combo.setItemData(self.source_combo.count() - 1, SOURCE_TIPS[key], Qt.ItemDataRole.ToolTipRole)
        self.source_combo.setToolTip("Where this keyframe's latent comes from")
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("The class at this keyframe (conditional models): between keyframes of "
                                    "different classes the class embedding blends along the path")
        self.remove_button = QToolButton()
        self.remove_button.setText("✕")
        self.remove_button.setToolTip("Remove this keyframe")
        self.remove_button.setVisible(removable)
        self.remove_button.clicked.connect(self.remove_requested)

        self.pages = QStackedWidget()
        # current point
        self.take_button = QPushButton("Take again")
        self.take_button.setToolTip("Take the Latent tab's point now")
        self.point_label = QLabel()
        self.point_label.setStyleSheet("color: palette(mid);")
        self.pages.addWidget(row(self.point_label, 1, self.take_button))
        # seed
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setKeyboardTracking(False)
        self.seed_box.setToolTip("Seed of the prior sample")
        self.dice_button = QToolButton()
        self.dice_button.setText("⚄")
        self.dice_button.setToolTip("A random seed")
        self.pages.addWidget(row(QLabel("Seed"), 0, self.seed_box, 1, self.dice_button))
        # bookmark
        self.bookmark_combo = QComboBox()
        self.bookmark_combo.setToolTip("This model's bookmarks (save them in the Latent tab)")
        self.pages.addWidget(row(self.bookmark_combo, 1))
        # image
        self.image_edit = QLineEdit()
        self.image_edit.setPlaceholderText("Picture file…")
        self.image_edit.setToolTip("A picture to encode; it is resized to the model's image size")
        self.browse_button = QPushButton("Browse…")
        self.pages.addWidget(row(self.image_edit, 1, self.browse_button))
        # dataset item
        self.index_box = QSpinBox()
        self.index_box.setRange(0, 9999)
        self.index_box.setKeyboardTracking(False)
        self.index_box.setToolTip("Index in the Fashion-MNIST test split (10,000 items)")
        self.pages.addWidget(row(QLabel("Test item"), 0, self.index_box, 1))
        # stored latent
        self.stored_label = QLabel()
        self.stored_label.setStyleSheet("color: palette(mid);")
        self.pages.addWidget(row(self.stored_label, 1))

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title)
        top.addWidget(self.source_combo, 1)
        top.addWidget(self.class_combo, 1)
        top.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addWidget(self.pages)
        self._set_stored_visible(False)

        self.source_combo.currentIndexChanged.connect(self._source_changed)
        self.class_combo.currentIndexChanged.connect(lambda _: self.changed.emit())
        self.seed_box.valueChanged.connect(lambda _: self.changed.emit())
        self.dice_button.clicked.connect(lambda: self.seed_box.setValue(random.randrange(0, 100_000)))
        self.bookmark_combo.currentIndexChanged.connect(lambda _: self.changed.emit())
        self.image_edit.editingFinished.connect(self.changed)
        self.browse_button.clicked.connect(self._browse)
        self.index_box.valueChanged.connect(lambda _: self.changed.emit())
        self.take_button.clicked.connect(self.take_point)

    # -- model --------------------------------------------------------------------------------
    def set_model(self, info: ModelInfo | None, bookmarks: list[Bookmark]) -> None:
        self.info = info
        self._point = None
        self._stored = None
        with QSignalBlocker(self.class_combo):
            self.class_combo.clear()
            self.class_combo.addItem("From source", None)
            self.class_combo.setItemData(0, "The bookmark's or current point's class, the dataset item's "
                                            "own class, else the first class", Qt.ItemDataRole.ToolTipRole)
            if info is not None:
                for k, name in enumerate(info.class_names[:info.num_classes]):
                    self.class_combo.addItem(name, k)
        self.class_combo.setVisible(info is not None and info.can("conditional"))
        encodes = info is not None and info.can("encoder")
        for key in ("image", "dataset"):
            self._enable_source(key, encodes, "" if encodes else "This model has no encoder")
        self._enable_source("current", self._point_source() is not None,
                            "" if self._point_source() is not None else "No Latent tab to take a point from")
        self.set_bookmarks(bookmarks)
        self._set_stored_visible(False)
        if self.source() in ("stored",) or not self._source_enabled(self.source()):
            self.set_source("seed")

    def set_bookmarks(self, bookmarks: list[Bookmark]) -> None:
        current = self.bookmark_combo.currentText()
        with QSignalBlocker(self.bookmark_combo):
            self.bookmark_combo.clear()
            for b in sorted(bookmarks, key=lambda b: b.created):
                self.bookmark_combo.addItem(b.name, b)
            if not bookmarks:
                self.bookmark_combo.addItem("(no bookmarks for this model)", None)
            index = self.bookmark_combo.findText(current)
            self.bookmark_combo.setCurrentIndex(max(index, 0))

    # -- source -------------------------------------------------------------------------------
    def source(self) -> str:
        return str(self.source_combo.currentData())

    def set_source(self, key: str) -> None:
        index = self.source_combo.findData(key)
        if index >= 0:
            self.source_combo.setCurrentIndex(index)

    def set_seed(self, seed: int) -> None:
        with QSignalBlocker(self.seed_box):
            self.seed_box.setValue(int(seed))
        if self.source() != "seed":
            self.set_source("seed")
        else:
            self.changed.emit()

    def set_stored(self, endpoint: Endpoint) -> None:
        """Holds a fixed latent (restored from a file); its class comes with it."""
        self._stored = endpoint
        self._set_stored_visible(True)
        self.stored_label.setText(f"{endpoint.describe()} (restored)")
        self.stored_label.setToolTip(f"A latent of {len(endpoint.latent or ())} numbers restored from a file")
        with QSignalBlocker(self.class_combo), QSignalBlocker(self.source_combo):
            self.class_combo.setCurrentIndex(0)
            self.source_combo.setCurrentIndex(self.source_combo.findData("stored"))
        self.pages.setCurrentIndex(self.source_combo.currentIndex())

    def take_point(self) -> None:
        source = self._point_source()
        self._point = source() if source is not None else None
        if self._point is None:
            self.point_label.setText("No point to take: open a model in the Latent tab")
        else:
            self.point_label.setText(f"Latent tab point ({len(np.asarray(self._point.z).reshape(-1))} numbers)")
        self.changed.emit()

    def _source_changed(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        if self.source() == "current":
            self.take_point()
            return
        if self.source() != "stored":
            self._set_stored_visible(False)
        self.changed.emit()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Picture to encode", self.image_edit.text(), PICTURE_FILTER)
        if path:
            self.image_edit.setText(path)
            self.changed.emit()

    def _enable_source(self, key: str, on: bool, why: str) -> None:
        item = self.source_combo.model().item(self.source_combo.findData(key))
        item.setEnabled(on)
        item.setToolTip(SOURCE_TIPS[key] if on else f"{SOURCE_TIPS[key]} — {why}")

    def _source_enabled(self, key: str) -> bool:
        return self.source_combo.model().item(self.source_combo.findData(key)).isEnabled()

    def _set_stored_visible(self, on: bool) -> None:
        view = self.source_combo.view()
        view.setRowHidden(self.source_combo.findData("stored"), not on)
        if not on:
            self._stored = None

    # -- the keyframe -------------------------------------------------------------------------
    def _chosen_class(self) -> int | None:
        if self.info is None or not self.info.can("conditional"):
            return None
        data = self.class_combo.currentData()
        return None if data is None else int(data)

    def endpoint(self) -> Endpoint | None:
        """The keyframe as chosen, or None when it is incomplete (see `problem`)."""
        cls = self._chosen_class()
        key = self.source()
        if key == "seed":
            return Endpoint("seed", seed=self.seed_box.value(), label=cls)
        if key == "dataset":
            return Endpoint("dataset", index=self.index_box.value(), label=cls)
        if key == "image":
            text = self.image_edit.text().strip()
            return Endpoint("image", path=text, label=cls) if text else None
        if key == "bookmark":
            b = self.bookmark_combo.currentData()
            if not isinstance(b, Bookmark):
                return None
            return Endpoint("latent", latent=tuple(b.latent), note=f"bookmark '{b.name}'", psi=b.psi,
                            label=cls if cls is not None else _label_tuple(b.label))
        if key == "current":
            if self._point is None:
                return None
            p = self._point
            return Endpoint("latent", latent=tuple(float(v) for v in np.asarray(p.z).reshape(-1)),
                            note="current point", psi=float(getattr(p, "psi", 1.0)),
                            label=cls if cls is not None else _label_tuple(p.label))
        if key == "stored" and self._stored is not None:
            return dataclasses.replace(self._stored, label=cls) if cls is not None else self._stored
        return None

    def problem(self) -> str:
        return {"image": "choose a picture", "bookmark": "choose a bookmark (this model has none yet)",
                "current": "take the Latent tab's point"}.get(self.source(), "choose a source")
