"""The latent panel: one slider per latent dimension, the decoded image following the drag.

The latency path is short on purpose: a slider's valueChanged updates the point and submits a
decode request at once (no timers); the worker's newest-per-channel queue is the throttle, and the
frame channel drops results older than the newest one shown.

Besides the dimension sliders: a seed (randomize, reset), a class selector with class blending for
conditional models, truncation psi for GANs, principal directions (GANSpace / PCA of encoded
data) as sliders, a grid of neighbouring points, the classifier's verdict, bookmarks, copy/paste
of points, and undo.
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QGroupBox, QHBoxLayout, QLabel,
                               QProgressBar, QPushButton, QSpinBox, QSplitter, QTabWidget, QVBoxLayout,
                               QWidget)

from explorer.bookmarks import Bookmark, point_from_text, point_to_text
from explorer.context import EMPTY_HINT, AppContext
from explorer.jobs.latent import Frame, NeighbourGrid, decode_job, directions_job, neighbours_job
from explorer.model_info import ModelInfo
from explorer.views.actions import panel_action
from explorer.views.image_view import ImageView
from explorer.views.latent_widgets import SIGMAS, PredictionBars, SliderList, ValueSlider, scrolled
from explorer.worker import JobProgress, Result
from models.directions import Directions

FRAME_CHANNEL = "latent"
GRID_CHANNEL = "latent-grid"
DIRECTIONS_CHANNEL = "latent-directions"

MAX_SLIDERS = 32        # more dimensions than this: the first 32, and the directions mode
UNDO_LIMIT = 200
GRID_SIZE = 5


@dataclass(frozen=True)
class PointState:
    z: np.ndarray
    label: int | list[float] | None
    psi: float
    seed: int = 0


class LatentPanel(QWidget):
    """Drag through a model's latent space. Construct with the app's AppContext."""

    frame_shown = Signal(object)      # the Result whose Frame was just put on screen
    error_shown = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.info: ModelInfo | None = None
        self._z = np.zeros(0, dtype=np.float32)
        self._label: int | list[float] | None = None
        self._psi = 1.0
        self._seed_point: np.ndarray | None = None
        self._anchor: np.ndarray | None = None        # where the direction sliders start from
        self.directions: Directions | None = None     # of the current model, once computed
        self._undo: list[PointState] = []
        self._redo: list[PointState] = []
        self._drag_depth = 0
        # The neighbour grid's axes (left-right, bottom-top): the last two sliders moved, as
        # ("z", dimension) or ("PC", direction index).
        self._grid_axes: tuple[tuple[str, int], tuple[str, int]] = (("z", 0), ("z", 1))
        self.shown_id = 0
        self.frames_shown = 0
        self.last_frame: Frame | None = None
        self.last_result: Result | None = None
        self.grid_shown_id = 0
        self.frames = context.channel(FRAME_CHANNEL, intermediate=True)
        self.grids = context.channel(GRID_CHANNEL, intermediate=True)
        self.directions_channel = context.channel(DIRECTIONS_CHANNEL)

        self._build()
        self._build_actions()
        self.frames.result_ready.connect(self._on_frame)
        self.grids.result_ready.connect(self._on_grid)
        self.directions_channel.result_ready.connect(self._on_directions)
        self.directions_channel.progress_changed.connect(self._on_directions_progress)
        context.model_opened.connect(self.set_model)
        self.bookmarks.activated.connect(self.go_to_bookmark)
        self.bookmarks.save_requested.connect(self.save_bookmark)
        if context.current is not None:
            self.set_model(context.current)
        else:
            self._show_empty()

    # -- construction -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.image_view = ImageView(minimum=220, report_paints=True)   # latency is measured on it
        self.grid_view = ImageView(minimum=160)
        self.grid_view.setToolTip("Neighbouring points: the centre is the current point; left-right "
                                  "and bottom-top move the two dimensions you moved last")
        self.grid_caption = QLabel()
        self.grid_caption.setStyleSheet("color: palette(mid);")
        self.grid_box = QWidget()
        grid_layout = QVBoxLayout(self.grid_box)
        grid_layout.setContentsMargins(0, 0, 0, 0)
        grid_layout.addWidget(self.grid_view, 1)
        grid_layout.addWidget(self.grid_caption)
        self.grid_box.setVisible(False)

        self.prediction = PredictionBars()
        self.prediction.setMaximumWidth(440)
        views = QSplitter(Qt.Orientation.Horizontal)
        views.addWidget(self.image_view)
        views.addWidget(self.grid_box)
        views.setChildrenCollapsible(False)
        views.setStretchFactor(0, 3)
        views.setStretchFactor(1, 2)
        canvas = QWidget()
        canvas_layout = QVBoxLayout(canvas)
        canvas_layout.setContentsMargins(0, 0, 0, 0)
        canvas_layout.addWidget(views, 1)
        canvas_layout.addWidget(self.prediction)

        # Point: seed, randomize, reset
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setToolTip("The prior sample this point started from; Enter jumps to it")
        self.seed_box.setKeyboardTracking(False)
        self.randomize_button = QPushButton("Randomize")
        self.randomize_button.setToolTip("A new random point from the prior (R)")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Back to the seed's point, undoing every slider move")
        seed_row = QHBoxLayout()
        seed_row.addWidget(QLabel("Seed"))
        seed_row.addWidget(self.seed_box, 1)
        seed_row.addWidget(self.randomize_button)
        seed_row.addWidget(self.reset_button)

        # Conditioning: class and blending
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("The class the conditional model generates")
        self.blend_check = QCheckBox("Blend")
        self.blend_check.setToolTip("Mix the class embeddings with weights (they are normalised to sum to 1)")
        self.blend_box = SliderList(margins=(0, 0, 0, 0), spacing=2, stretch=False)
        self.blend_box.setVisible(False)
        self.class_group = QGroupBox("Class")
        class_layout = QVBoxLayout(self.class_group)
        class_row = QHBoxLayout()
        class_row.addWidget(self.class_combo, 1)
        class_row.addWidget(self.blend_check)
        class_layout.addLayout(class_row)
        class_layout.addWidget(self.blend_box)

        # GAN truncation
        self.psi_slider = ValueSlider(0, "ψ", 0.0, 1.0)
        self.psi_slider.setToolTip("Truncation: values below 1 pull the latent toward the mean — "
                                   "more typical, less varied images")
        self.psi_slider.set_value(1.0)
        self.psi_group = QGroupBox("Truncation")
        psi_layout = QVBoxLayout(self.psi_group)
        psi_layout.addWidget(self.psi_slider)

        # Dimensions and directions
        self.dim_list = SliderList()
        self.dim_note = QLabel()
        self.dim_note.setWordWrap(True)
        self.dim_note.setStyleSheet("color: palette(mid);")
        dim_scroll = scrolled(self.dim_list)
        dim_page = QWidget()
        dim_page_layout = QVBoxLayout(dim_page)
        dim_page_layout.setContentsMargins(0, 0, 0, 0)
        dim_page_layout.addWidget(dim_scroll, 1)
        dim_page_layout.addWidget(self.dim_note)

        self.dir_list = SliderList()
        self.dir_progress = QProgressBar()
        self.dir_progress.setVisible(False)
        self.dir_note = QLabel()
        self.dir_note.setWordWrap(True)
        self.dir_note.setStyleSheet("color: palette(mid);")
        self.dir_button = QPushButton("Compute directions")
        self.dir_button.setToolTip("Principal directions of the latent space: GANSpace for models with an "
                                   "early layer (GANs), PCA of the encoded test set for models with an "
                                   "encoder (VAEs)")
        dir_page = QWidget()
        dir_page_layout = QVBoxLayout(dir_page)
        dir_page_layout.setContentsMargins(0, 0, 0, 0)
        dir_page_layout.addWidget(scrolled(self.dir_list), 1)
        dir_page_layout.addWidget(self.dir_progress)
        dir_page_layout.addWidget(self.dir_note)
        dir_page_layout.addWidget(self.dir_button)

        self.mode_tabs = QTabWidget()
        self.mode_tabs.setDocumentMode(True)
        self.mode_tabs.addTab(dim_page, "Dimensions")
        self.mode_tabs.addTab(dir_page, "Directions")
        self.mode_tabs.setTabToolTip(0, "One slider per latent dimension (±3σ of the prior)")
        self.mode_tabs.setTabToolTip(1, "Sliders along the principal directions, in standard deviations")

        # Neighbour grid options
        self.grid_extent = QDoubleSpinBox()
        self.grid_extent.setRange(0.1, 3.0)
        self.grid_extent.setSingleStep(0.25)
        self.grid_extent.setValue(1.0)
        self.grid_extent.setSuffix(" σ")
        self.grid_extent.setToolTip("How far the neighbour grid reaches on each side")

        from explorer.views.bookmarks_panel import BookmarksPanel

        self.bookmarks = BookmarksPanel(self.context.bookmarks)
        bookmarks_group = QGroupBox("Bookmarks")
        bl = QVBoxLayout(bookmarks_group)
        bl.addWidget(self.bookmarks)

        controls = QWidget()
        controls.setMinimumWidth(300)
        controls.setMaximumWidth(460)
        cl = QVBoxLayout(controls)
        cl.setContentsMargins(6, 0, 0, 0)
        cl.addLayout(seed_row)
        cl.addWidget(self.class_group)
        cl.addWidget(self.psi_group)
        cl.addWidget(self.mode_tabs, 3)
        grid_row = QHBoxLayout()
        grid_row.addWidget(QLabel("Neighbour grid reach"))
        grid_row.addWidget(self.grid_extent)
        grid_row.addStretch(1)
        self.grid_row = QWidget()
        self.grid_row.setLayout(grid_row)
        self.grid_row.setVisible(False)
        cl.addWidget(self.grid_row)
        cl.addWidget(bookmarks_group, 0)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(canvas)
        split.addWidget(controls)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setChildrenCollapsible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(split)
        self.controls = controls

        self.seed_box.valueChanged.connect(self._seed_entered)
        self.randomize_button.clicked.connect(self.randomize)
        self.reset_button.clicked.connect(self.reset)
        self.class_combo.currentIndexChanged.connect(self._class_chosen)
        self.blend_check.toggled.connect(self._blend_toggled)
        self.psi_slider.moved.connect(self._psi_moved)
        self._connect_drag(self.psi_slider)
        self.mode_tabs.currentChanged.connect(self._mode_changed)
        self.dir_button.clicked.connect(self.compute_directions)
        self.grid_extent.valueChanged.connect(lambda _: self._request_grid())

    def _build_actions(self) -> None:
        action = functools.partial(panel_action, self)
        self.undo_action = action("Undo move", QKeySequence.StandardKey.Undo, self.undo,
                                  "Undo the last move of the point")
        self.redo_action = action("Redo move", QKeySequence.StandardKey.Redo, self.redo,
                                  "Redo the move just undone")
        self.randomize_action = action("Randomize", "R", self.randomize, "A new random point")
        self.reset_action = action("Reset to seed", "Ctrl+R", self.reset, "Back to the seed's point")
        self.copy_action = action("Copy point", "Ctrl+Shift+C", self.copy_point,
                                  "Copy the current point as text")
        self.paste_action = action("Paste point", "Ctrl+Shift+V", self.paste_point,
                                   "Go to a point copied as text")
        self.bookmark_action = action("Bookmark point", "Ctrl+D", lambda: self.bookmarks.save_requested.emit(
            self.bookmarks.name_edit.text().strip() or self.context.bookmarks.unique_name(
                self.info.name if self.info else "")), "Save the current point as a bookmark")
        self.grid_action = QAction("Neighbour grid", self)
        self.grid_action.setCheckable(True)
        self.grid_action.setShortcut(QKeySequence("Ctrl+G"))
        self.grid_action.setToolTip("Show a grid of points around the current one")
        self.grid_action.toggled.connect(self.set_grid_visible)
        self.addAction(self.grid_action)
        self.prediction_action = QAction("Classifier prediction", self)
        self.prediction_action.setCheckable(True)
        self.prediction_action.setChecked(self.context.settings.value("latent/prediction", True, type=bool))
        self.prediction_action.setToolTip("Label each image with the bundled classifier")
        self.prediction_action.toggled.connect(self._prediction_toggled)
        self.grid_action.setChecked(self.context.settings.value("latent/grid", False, type=bool))
        self.prediction.setVisible(self.prediction_action.isChecked())
        self._update_undo_actions()

    def edit_actions(self) -> list[QAction]:
        """Actions for the window's Point menu (their shortcuts work while this panel has focus)."""
        return [self.undo_action, self.redo_action, None, self.randomize_action, self.reset_action,
                None, self.copy_action, self.paste_action, self.bookmark_action]

    def view_actions(self) -> list[QAction]:
        return [self.grid_action, self.prediction_action]

    def _connect_drag(self, row: ValueSlider) -> None:
        row.slider.sliderPressed.connect(self._drag_started)
        row.slider.sliderReleased.connect(self._drag_finished)

    @property
    def dim_sliders(self) -> list[ValueSlider]:
        return self.dim_list.rows

    @property
    def dir_sliders(self) -> list[ValueSlider]:
        return self.dir_list.rows

    @property
    def blend_sliders(self) -> list[ValueSlider]:
        return self.blend_box.rows

    # -- model ------------------------------------------------------------------------------------
    def set_model(self, info: ModelInfo) -> None:
        """Rebuilds the controls for `info` and shows its point for the current seed."""
        self.info = info
        self.frames.reset()
        self.grids.reset()
        self.directions_channel.reset()
        self._z = np.zeros(info.latent_dim, dtype=np.float32)
        self._seed_point = None
        self._anchor = None
        self._undo.clear()
        self._redo.clear()
        self._grid_axes = (("z", 0), ("z", min(1, info.latent_dim - 1)))
        self.controls.setEnabled(True)
        # The previous image stays until the new model's first frame replaces it: no blank flash.
        self.image_view.clear_message()
        self._build_dimension_sliders(info)
        self._build_class_controls(info)
        self.psi_group.setVisible(info.can("truncation"))
        self.psi_slider.set_value(1.0)
        self._psi = 1.0
        self.dir_list.set_rows([])
        self.dir_progress.setVisible(False)
        can_directions = info.directions_method is not None
        self.mode_tabs.setTabEnabled(1, can_directions)
        self.dir_button.setEnabled(can_directions)
        self.dir_note.setText("" if can_directions else
                              "Principal directions need an encoder (a VAE) or an early layer (a GAN).")
        self.directions = None
        if self.mode_tabs.currentIndex() == 1:
            if can_directions:
                self.compute_directions()
            else:
                self.mode_tabs.setCurrentIndex(0)
        self.bookmarks.set_model(info.name)
        self.prediction.clear("" if self._classifier() else "No classifier for this model")
        self._request_seed(self.seed_box.value())
        self._update_undo_actions()

    def _show_empty(self) -> None:
        self.info = None
        self.controls.setEnabled(False)
        self.image_view.show_message(EMPTY_HINT)
        self.bookmarks.set_model(None)
        self.prediction.clear("")

    def _build_dimension_sliders(self, info: ModelInfo) -> None:
        rows = []
        for i in range(min(info.latent_dim, MAX_SLIDERS)):
            row = ValueSlider(i, f"z{i}")
            row.setToolTip(f"Latent dimension {i}; ←/→ nudge by 0.1, PgUp/PgDn by 0.5")
            row.moved.connect(self._dimension_moved)
            self._connect_drag(row)
            rows.append(row)
        self.dim_list.set_rows(rows)
        if info.latent_dim > MAX_SLIDERS:
            self.dim_note.setText(f"Showing the first {MAX_SLIDERS} of {info.latent_dim} dimensions; "
                                  f"the Directions tab moves through all of them.")
        else:
            self.dim_note.setText(f"{info.latent_dim} dimensions, each ±{SIGMAS:g}σ of the prior.")

    def _build_class_controls(self, info: ModelInfo) -> None:
        self.class_group.setVisible(info.can("conditional"))
        with QSignalBlocker(self.class_combo):
            self.class_combo.clear()
            self.class_combo.addItems(list(info.class_names[:info.num_classes]))
            self.class_combo.setCurrentIndex(0)
        rows = []
        for k in range(info.num_classes):
            row = ValueSlider(k, info.class_names[k], 0.0, 1.0)
            row.name_label.setMinimumWidth(80)
            row.moved.connect(self._blend_moved)
            self._connect_drag(row)
            rows.append(row)
        self.blend_box.set_rows(rows)
        with QSignalBlocker(self.blend_check):
            self.blend_check.setChecked(False)
        self.blend_box.setVisible(False)
        self._label = 0 if info.can("conditional") else None

    # -- the point --------------------------------------------------------------------------------
    def point(self) -> PointState:
        return PointState(self._z.copy(), _copy_label(self._label), self._psi, self.seed_box.value())

    @property
    def latent(self) -> np.ndarray:
        return self._z.copy()

    @property
    def label(self) -> int | list[float] | None:
        return _copy_label(self._label)

    @property
    def psi(self) -> float:
        return self._psi

    def set_point(self, z: np.ndarray, label: int | list[float] | None = None, psi: float | None = None,
                  record: bool = True) -> None:
        """Moves to a point (a flat latent of the model's size) and renders it."""
        if self.info is None:
            return
        z = np.asarray(z, dtype=np.float32).reshape(-1)
        if z.size != self.info.latent_dim:
            raise ValueError(f"the point has {z.size} numbers but {self.info.name}'s latent has "
                             f"{self.info.latent_dim}")
        if record:
            self._push_undo()
        self._z = z.copy()
        self._anchor = None
        if label is not None and self.info.can("conditional"):
            self._apply_label(label)
        if psi is not None:
            self._psi = float(psi)
            self.psi_slider.set_value(self._psi)
        self._sync_sliders()
        self._request_frame()
        self._request_grid()

    def _dimension_moved(self, index: int, value: float) -> None:
        if not self._drag_depth:
            self._push_undo()
        self._z[index] = value
        if self._anchor is not None:
            self._anchor = None
            for row in self.dir_sliders:
                row.set_value(0.0)
        self._grid_axis_moved(("z", index))
        self._request_frame()
        if not self._drag_depth:
            self._request_grid()

    def _direction_moved(self, index: int, value: float) -> None:
        directions = self._current_directions()
        if directions is None:
            return
        if not self._drag_depth:
            self._push_undo()
        self._grid_axis_moved(("PC", index))
        if self._anchor is None:
            self._anchor = self._z.copy()
        amounts = np.array([row.value() for row in self.dir_sliders], dtype=np.float32)
        self._z = (self._anchor + (amounts * directions.std) @ directions.directions).astype(np.float32)
        self._request_frame()
        if not self._drag_depth:
            self._request_grid()

    def _psi_moved(self, _index: int, value: float) -> None:
        if not self._drag_depth:
            self._push_undo()
        self._psi = value
        self._request_frame()
        if not self._drag_depth:
            self._request_grid()

    def _drag_started(self) -> None:
        if not self._drag_depth:
            self._push_undo()
        self._drag_depth += 1

    def _drag_finished(self) -> None:
        self._drag_depth = max(0, self._drag_depth - 1)
        if not self._drag_depth:
            self._request_grid()

    def _sync_sliders(self) -> None:
        for row in self.dim_sliders:
            row.set_value(float(self._z[row.index]))
        if self._anchor is None:
            for row in self.dir_sliders:
                row.set_value(0.0)

    # -- seed, randomize, reset ---------------------------------------------------------------------
    def randomize(self) -> None:
        if self.info is None:
            return
        seed = random.randrange(2**31 - 1)
        self._push_undo()
        with QSignalBlocker(self.seed_box):
            self.seed_box.setValue(seed)
        self._request_seed(seed)

    def reset(self) -> None:
        """Back to the seed's point (the prior sample the seed box names)."""
        if self.info is None:
            return
        self._push_undo()
        self._request_seed(self.seed_box.value())

    def _seed_entered(self, seed: int) -> None:
        if self.info is not None:
            self._push_undo()
            self._request_seed(seed)

    def _request_seed(self, seed: int) -> None:
        """Renders the prior sample of `seed`; the sliders follow when the frame arrives."""
        if self.info is None:
            return
        self._anchor = None
        self.frames.submit(decode_job(self.info.source, None, self._label, self._psi, self._classifier(), seed=seed),
                           label=f"seed {seed}")

    # -- conditioning -------------------------------------------------------------------------------
    def _class_chosen(self, index: int) -> None:
        if self.info is None or index < 0:
            return
        self._push_undo()
        if self.blend_check.isChecked():
            self._set_blend_weights(np.eye(self.info.num_classes, dtype=np.float32)[index])
        self._label = index if not self.blend_check.isChecked() else self._blend_label()
        self._request_frame()
        self._request_grid()

    def _blend_toggled(self, on: bool) -> None:
        if self.info is None:
            return
        self._push_undo()
        self.blend_box.setVisible(on)
        if on:
            self._set_blend_weights(np.eye(self.info.num_classes, dtype=np.float32)[self.class_combo.currentIndex()])
            self._label = self._blend_label()
        else:
            self._label = self.class_combo.currentIndex()
        self._request_frame()
        self._request_grid()

    def _blend_moved(self, _index: int, _value: float) -> None:
        if not self._drag_depth:
            self._push_undo()
        self._label = self._blend_label()
        self._request_frame()
        if not self._drag_depth:
            self._request_grid()

    def _blend_label(self) -> list[float]:
        weights = np.array([row.value() for row in self.blend_sliders], dtype=np.float64)
        if weights.sum() <= 0:
            # All weights at zero: fall back to the class chosen above rather than to nothing.
            weights = np.eye(len(weights))[max(0, self.class_combo.currentIndex())]
        return [float(w) for w in weights / weights.sum()]

    def _set_blend_weights(self, weights: np.ndarray) -> None:
        for row, w in zip(self.blend_sliders, weights):
            row.set_value(float(w))

    def _apply_label(self, label: int | list[float]) -> None:
        if isinstance(label, int):
            with QSignalBlocker(self.class_combo), QSignalBlocker(self.blend_check):
                self.class_combo.setCurrentIndex(label)
                self.blend_check.setChecked(False)
            self.blend_box.setVisible(False)
            self._label = label
        else:
            weights = np.asarray(label, dtype=np.float32)
            if weights.size != self.info.num_classes:
                raise ValueError(f"{weights.size} class weights for {self.info.num_classes} classes")
            with QSignalBlocker(self.class_combo), QSignalBlocker(self.blend_check):
                self.class_combo.setCurrentIndex(int(weights.argmax()))
                self.blend_check.setChecked(True)
            self.blend_box.setVisible(True)
            self._set_blend_weights(weights)
            self._label = [float(w) for w in weights]

    # -- rendering --------------------------------------------------------------------------------
    def _classifier(self) -> str | None:
        source = self.context.classifier_source
        if source is None or not self.prediction_action.isChecked():
            return None
        return source

    def _request_frame(self) -> None:
        if self.info is None:
            return
        self.frames.submit(decode_job(self.info.source, self._z, self._label, self._psi, self._classifier()),
                           label="frame")

    def _request_grid(self) -> None:
        if self.info is None or not self.grid_action.isChecked() or self._drag_depth:
            return
        (u, u_name), (v, v_name) = (self._grid_vector(axis) for axis in self._grid_axes)
        extent = self.grid_extent.value()
        self.grids.submit(neighbours_job(self.info.source, self._z, u, v, extent, GRID_SIZE, self._label, self._psi),
                          label="neighbour grid")
        self.grid_caption.setText(f"→ {u_name}   ↑ {v_name}   ±{extent:g}σ")

    def _grid_axis_moved(self, axis: tuple[str, int]) -> None:
        if axis != self._grid_axes[0]:
            self._grid_axes = (axis, self._grid_axes[0])

    def _grid_vector(self, axis: tuple[str, int]) -> tuple[np.ndarray, str]:
        """A grid axis as a flat latent vector one standard deviation long, and its name."""
        kind, index = axis
        directions = self._current_directions()
        if kind == "PC" and directions is not None and index < len(directions.std):
            return directions.directions[index] * directions.std[index], f"PC{index + 1}"
        vector = np.zeros_like(self._z)
        vector[min(index, len(vector) - 1)] = 1.0
        return vector, f"z{index}"

    @property
    def last_request_id(self) -> int:
        """The id of the newest frame asked for."""
        return self.frames.newest_id

    def _on_frame(self, result: Result) -> None:
        if result.cancelled:
            return
        self.shown_id = result.request_id
        self.last_result = result
        if not result.ok:
            message = f"The model failed on this point:\n{result.error}"
            self.image_view.show_message(message, error=True)
            self.context.status.emit(f"Model error: {result.error}")
            self.error_shown.emit(result.error or "")
            return
        frame: Frame = result.value
        if frame.seed is not None:
            self._z = frame.latent.copy()
            self._seed_point = frame.latent.copy()
            self._anchor = None
            self._sync_sliders()
            self._request_grid()
        self.image_view.clear_message()
        self.image_view.set_image(frame.image, tag=result.request_id)
        self.last_frame = frame
        self.frames_shown += 1
        if frame.probs is not None and self.info is not None:
            self.prediction.set_probs(frame.probs, list(self.info.class_names))
        self.context.report_frame(result.elapsed_s, result.device)
        self.frame_shown.emit(result)

    def _on_grid(self, result: Result) -> None:
        if result.cancelled:
            return
        if not result.ok or not self.grid_action.isChecked():
            if result.error:
                self.grid_view.show_message(result.error, error=True)
            return
        grid: NeighbourGrid = result.value
        self.grid_shown_id = result.request_id
        self.grid_view.clear_message()
        self.grid_view.set_image(grid.mosaic)
        h, w = grid.cell
        c = grid.k // 2
        self.grid_view.set_highlight((c * (w + grid.gap), c * (h + grid.gap), w, h))

    def set_grid_visible(self, on: bool) -> None:
        self.context.settings.setValue("latent/grid", on)
        self.grid_box.setVisible(on)
        self.grid_row.setVisible(on)
        if on:
            self._request_grid()

    def _prediction_toggled(self, on: bool) -> None:
        self.context.settings.setValue("latent/prediction", on)
        self.prediction.setVisible(on)
        self._request_frame()

    # -- directions -------------------------------------------------------------------------------
    def _mode_changed(self, index: int) -> None:
        if index == 0:
            self._sync_sliders()
        elif self.info is not None and self._current_directions() is None and not self.directions_channel.busy:
            self.compute_directions()

    def _current_directions(self) -> Directions | None:
        return self.directions

    def compute_directions(self) -> None:
        if self.info is None:
            return
        label = self._label if self.info.can("conditional") else None
        self.directions_channel.submit(directions_job(self.info.source, label), label="principal directions")
        self.dir_progress.setRange(0, 0)
        self.dir_progress.setVisible(True)
        self.dir_button.setEnabled(False)
        self.dir_note.setText(f"Computing principal directions ({self.info.directions_method})…")

    def _on_directions_progress(self, progress: JobProgress) -> None:
        self.dir_progress.setRange(0, progress.total)
        self.dir_progress.setValue(progress.done)
        self.dir_progress.setFormat(f"{progress.message} %p%")

    def _on_directions(self, result: Result) -> None:
        self.dir_progress.setVisible(False)
        self.dir_button.setEnabled(True)
        if result.cancelled:
            self.dir_note.setText("Cancelled.")
            return
        if not result.ok:
            self.dir_note.setText(f"Could not compute directions: {result.error}")
            self.context.status.emit(f"Directions failed: {result.error}")
            return
        directions: Directions = result.value
        self.directions = directions
        self._anchor = None
        if directions.message:
            self.context.status.emit(directions.message)
        self._show_directions(directions)

    def _show_directions(self, directions: Directions) -> None:
        rows = []
        for j, std in enumerate(directions.std):
            row = ValueSlider(j, f"PC{j + 1}")
            row.setToolTip(f"Principal direction {j + 1} ({directions.method}); one unit is one "
                           f"standard deviation of the samples along it ({float(std):.3f} in latent units)")
            row.moved.connect(self._direction_moved)
            self._connect_drag(row)
            rows.append(row)
        self.dir_list.set_rows(rows)
        note = f"{len(directions.std)} directions from {directions.method}; sliders in standard deviations."
        if directions.message:
            note += f"\n{directions.message}"
        self.dir_note.setText(note)

    # -- undo -------------------------------------------------------------------------------------
    def _push_undo(self) -> None:
        if self.info is None:
            return
        self._undo.append(self.point())
        del self._undo[:-UNDO_LIMIT]
        self._redo.clear()
        self._update_undo_actions()

    def undo(self) -> None:
        if not self._undo:
            return
        self._redo.append(self.point())
        self._restore(self._undo.pop())

    def redo(self) -> None:
        if not self._redo:
            return
        self._undo.append(self.point())
        self._restore(self._redo.pop())

    def _restore(self, state: PointState) -> None:
        self._z = state.z.copy()
        self._anchor = None
        if self.info is not None and self.info.can("conditional") and state.label is not None:
            self._apply_label(state.label)
        self._psi = state.psi
        self.psi_slider.set_value(state.psi)
        with QSignalBlocker(self.seed_box):
            self.seed_box.setValue(state.seed)
        self._sync_sliders()
        self._update_undo_actions()
        self._request_frame()
        self._request_grid()

    def _update_undo_actions(self) -> None:
        self.undo_action.setEnabled(bool(self._undo))
        self.redo_action.setEnabled(bool(self._redo))

    # -- bookmarks, copy and paste -------------------------------------------------------------------
    def save_bookmark(self, name: str) -> Bookmark | None:
        if self.info is None:
            return None
        bookmark = Bookmark(name=name, model_name=self.info.name, latent=[float(v) for v in self._z],
                            label=_copy_label(self._label), psi=self._psi)
        try:
            self.context.bookmarks.add(bookmark)
        except OSError as e:
            self.context.status.emit(f"Could not save the bookmark: {e}")
            return None
        self.context.status.emit(f"Bookmarked “{name}”")
        return bookmark

    def go_to_bookmark(self, bookmark: Bookmark) -> None:
        try:
            self.set_point(np.asarray(bookmark.latent), bookmark.label, bookmark.psi)
        except ValueError as e:
            self.context.status.emit(f"Cannot go to “{bookmark.name}”: {e}")
            return
        self.context.status.emit(f"At bookmark “{bookmark.name}”")

    def point_text(self) -> str:
        name = self.info.name if self.info else ""
        return point_to_text(name, [float(v) for v in self._z], _copy_label(self._label), self._psi)

    def copy_point(self) -> None:
        if self.info is None:
            return
        QGuiApplication.clipboard().setText(self.point_text())
        self.context.status.emit("Point copied as text")

    def paste_point(self, text: str | None = None) -> bool:
        """Goes to a point from text (the clipboard by default); False with a message if it is not one."""
        if self.info is None:
            return False
        text = QGuiApplication.clipboard().text() if text is None else text
        try:
            point = point_from_text(text)
            self.set_point(np.asarray(point["latent"]), point["label"], point["psi"])
        except ValueError as e:
            self.context.status.emit(f"Cannot paste: {e}")
            return False
        other = point.get("model")
        note = f" (copied from {other})" if other and other != self.info.name else ""
        self.context.status.emit(f"Pasted point{note}")
        return True


def _copy_label(label: int | list[float] | None) -> int | list[float] | None:
    return list(label) if isinstance(label, list) else label
