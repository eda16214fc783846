"""The latent panel: one slider per latent dimension, the decoded image following the drag.

The latency path is short on purpose: a slider's valueChanged updates the point and submits a
decode request at once (no timers); the worker's newest-per-channel queue is the throttle, and the
frame channel drops results older than the newest one shown.

The panel holds the point (latent, label, psi, seed), moves it when a control moves, renders it,
and composes the parts around it: a seed (randomize, reset), the class controls of conditional
models (latent_class_controls.py), truncation psi for GANs, the Dimensions and Directions tabs
(latent_dimensions.py, latent_directions.py), the neighbour grid (neighbour_grid.py), the
classifier's verdict, bookmarks and copy/paste (point_transfer.py), and undo (point_history.py).
"""
from __future__ import annotations

import functools
import random
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QSplitter,
                               QTabWidget, QVBoxLayout, QWidget)

from explorer.context import EMPTY_HINT, AppContext
from explorer.jobs.directions import walk_job
from explorer.jobs.latent import Frame, decode_job
from explorer.jobs.pyramid import PyramidFrame, pyramid_job
from explorer.model_info import ModelInfo
from explorer.settings import setting
from explorer.views.actions import panel_action
from explorer.views.direction_report_table import DirectionReportTable
from explorer.views.image_view import ImageView
from explorer.views.latent_class_controls import ClassControls
from explorer.views.latent_dimensions import DimensionsTab
from explorer.views.latent_directions import DirectionsTab
from explorer.views.latent_levels import LevelsTab
from explorer.views.latent_widgets import PredictionBars, ValueSlider
from explorer.views.neighbour_grid import NeighbourGridView
from explorer.views.plain_text import plain_label
from explorer.views.point_history import PointHistory, PointState
from explorer.views.point_transfer import PointTransfer
from explorer.views.pyramid_display import PyramidDisplay
from explorer.worker import Result
from models.directions import Directions

FRAME_CHANNEL = "latent"
WALK_CHANNEL = "latent-walk"
PYRAMID_CHANNEL = "latent-pyramid"
LEVELS_TAB = 2          # the mode tab of a pyramid model's levels
NO_SEED = -1            # the seed box's value for a point that did not come from a seed


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
        self._anchor: np.ndarray | None = None        # where the direction sliders start from
        self.history = PointHistory()
        self._drag_depth = 0
        self.shown_id = 0
        self.frames_shown = 0
        self.last_frame: Frame | None = None
        self.last_result: Result | None = None
        self.frames = context.channel(FRAME_CHANNEL, intermediate=True)
        self.walks = context.channel(WALK_CHANNEL)
        self.pyramids = context.channel(PYRAMID_CHANNEL)

        self._build()
        self._build_actions()
        self.frames.result_ready.connect(self._on_frame)
        self.walks.result_ready.connect(self._on_walk)
        self.pyramids.result_ready.connect(self._on_pyramid)
        context.model_opened.connect(self._follow)
        if context.current is not None and context.current.decodes_latents:
            self.set_model(context.current)
        else:
            self._show_empty()

    # -- construction -------------------------------------------------------------------------------
    def _build(self) -> None:
        self.image_view = ImageView(minimum=220, report_paints=True)   # latency is measured on it
        self.grid = NeighbourGridView(self.context)
        self.prediction = PredictionBars()
        self.prediction.setMaximumWidth(440)
        views = QSplitter(Qt.Orientation.Horizontal)
        views.addWidget(self.image_view)
        views.addWidget(self.grid)
        views.setChildrenCollapsible(False)
        views.setStretchFactor(0, 3)
        views.setStretchFactor(1, 2)
        self.report_table = DirectionReportTable()
        canvas_split = QSplitter(Qt.Orientation.Vertical)
        self.pyramid_display = PyramidDisplay()
        self.pyramid_display.setVisible(False)
        canvas_split.addWidget(views)
        canvas_split.addWidget(self.pyramid_display)
        canvas_split.addWidget(self.report_table)
        canvas_split.setChildrenCollapsible(False)
        canvas_split.setStretchFactor(0, 3)
        canvas_split.setStretchFactor(1, 2)           # the pyramid display
        canvas_split.setStretchFactor(2, 2)           # the direction report
        canvas = QWidget()
        canvas_layout = QVBoxLayout(canvas)
        canvas_layout.setContentsMargins(0, 0, 0, 0)
        canvas_layout.addWidget(canvas_split, 1)
        self.model_note = plain_label(QLabel())
        self.model_note.setWordWrap(True)
        self.model_note.setStyleSheet("color: palette(mid);")
        self.model_note.setVisible(False)
        canvas_layout.addWidget(self.model_note)
        canvas_layout.addWidget(self.prediction)
        self.realness = plain_label(QLabel())
        self.realness.setToolTip("How real the GAN's own discriminator, kept in its file, finds this image: "
                                 "where the generator leaves what D believes, this falls")
        self.realness.setVisible(False)
        canvas_layout.addWidget(self.realness)

        # Point: seed, randomize, reset
        self.seed_box = QSpinBox()
        self.seed_box.setRange(NO_SEED, 2**31 - 1)
        self.seed_box.setSpecialValueText("—")        # a point from a bookmark or pasted: no seed
        self.seed_box.setToolTip("The prior sample this point started from; Enter jumps to it "
                                 "(— for a point that did not come from a seed)")
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

        self.class_controls = ClassControls()

        # GAN truncation
        self.psi_slider = ValueSlider(0, "ψ", 0.0, 1.0)
        self.psi_slider.setToolTip("Truncation: values below 1 pull the latent toward the mean — "
                                   "more typical, less varied images")
        self.psi_slider.set_value(1.0)
        self.psi_group = QGroupBox("Truncation")
        psi_layout = QVBoxLayout(self.psi_group)
        psi_layout.addWidget(self.psi_slider)

        self.dimensions_tab = DimensionsTab()
        self.directions_tab = DirectionsTab(self.context, label_of=self._drawn_label)
        self.mode_tabs = QTabWidget()
        self.mode_tabs.setDocumentMode(True)
        self.mode_tabs.addTab(self.dimensions_tab, "Dimensions")
        self.mode_tabs.addTab(self.directions_tab, "Directions")
        self.mode_tabs.setTabToolTip(0, "One slider per latent dimension (±3σ of the prior)")
        self.mode_tabs.setTabToolTip(1, "Sliders along directions a chosen method finds, each measured on request")
        self.levels_tab = LevelsTab()
        self.mode_tabs.addTab(self.levels_tab, "Levels")
        self.mode_tabs.setTabToolTip(LEVELS_TAB, "A pyramid model's noise, level by level, with resampling per level")
        self.mode_tabs.setTabVisible(LEVELS_TAB, False)

        self.transfer = PointTransfer(self.context, lambda: self.info.name if self.info else None,
                                      self.point, self.set_point)

        controls = QWidget()
        controls.setMinimumWidth(300)
        controls.setMaximumWidth(460)
        cl = QVBoxLayout(controls)
        cl.setContentsMargins(6, 0, 0, 0)
        cl.addLayout(seed_row)
        cl.addWidget(self.class_controls)
        cl.addWidget(self.psi_group)
        cl.addWidget(self.mode_tabs, 3)
        cl.addWidget(self.grid.options)
        cl.addWidget(self.transfer, 0)

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
        self.class_controls.label_chosen.connect(self._label_chosen)
        self.class_controls.blend_moved.connect(self._blend_moved)
        self.psi_slider.moved.connect(self._psi_moved)
        self.psi_slider.slider.sliderPressed.connect(self._drag_started)
        self.psi_slider.slider.sliderReleased.connect(self._drag_finished)
        self.dimensions_tab.moved.connect(self._dimension_moved)
        self.mode_tabs.currentChanged.connect(self._mode_changed)
        self.directions_tab.moved.connect(self._direction_moved)
        self.directions_tab.computed.connect(self._directions_computed)
        self.directions_tab.report_shown.connect(self.report_table.show_report)
        self.directions_tab.walk_requested.connect(self.walk)
        self.grid.wanted.connect(self._request_grid)
        self.levels_tab.moved.connect(self._dimension_moved)
        self.levels_tab.resample_requested.connect(self.resample_levels)
        for part in (self.class_controls, self.dimensions_tab, self.directions_tab, self.levels_tab):
            part.slider_pressed.connect(self._drag_started)
            part.slider_released.connect(self._drag_finished)

    def _build_actions(self) -> None:
        action = functools.partial(panel_action, self)
        self.undo_action = action("Undo move", QKeySequence.StandardKey.Undo, self.undo,
                                  "Undo the last move of the point")
        self.redo_action = action("Redo move", QKeySequence.StandardKey.Redo, self.redo,
                                  "Redo the move just undone")
        self.randomize_action = action("Randomize", "R", self.randomize, "A new random point")
        self.reset_action = action("Reset to seed", "Ctrl+R", self.reset, "Back to the seed's point")
        self.copy_action = action("Copy point", "Ctrl+Shift+C", self.transfer.copy_point,
                                  "Copy the current point as text")
        self.paste_action = action("Paste point", "Ctrl+Shift+V", self.transfer.paste_point,
                                   "Go to a point copied as text")
        self.bookmark_action = action("Bookmark point", "Ctrl+D", self.transfer.bookmark_current,
                                      "Save the current point as a bookmark")
        self.addAction(self.grid.action)
        self.prediction_action = QAction("Classifier prediction", self)
        self.prediction_action.setCheckable(True)
        self.prediction_action.setChecked(setting(self.context.settings, "latent/prediction", True))
        self.prediction_action.setToolTip("Label each image with the bundled classifier")
        self.prediction_action.toggled.connect(self._prediction_toggled)
        self.grid.restore()
        self.prediction.setVisible(self.prediction_action.isChecked())
        self._update_undo_actions()

    def edit_actions(self) -> list[QAction]:
        """Actions for the window's Point menu (their shortcuts work while this panel has focus)."""
        return [self.undo_action, self.redo_action, None, self.randomize_action, self.reset_action,
                None, self.copy_action, self.paste_action, self.bookmark_action]

    def view_actions(self) -> list[QAction]:
        return [self.grid.action, self.prediction_action]

    @property
    def dim_sliders(self) -> list[ValueSlider]:
        return self.dimensions_tab.sliders

    @property
    def dir_sliders(self) -> list[ValueSlider]:
        return self.directions_tab.sliders

    @property
    def directions(self) -> Directions | None:
        """The current model's principal directions, once computed."""
        return self.directions_tab.directions

    # -- model ------------------------------------------------------------------------------------
    def _follow(self, info: ModelInfo) -> None:
        """The app opened a model: one that decodes latents becomes this view's model."""
        if info.decodes_latents:
            self.set_model(info)

    def set_model(self, info: ModelInfo) -> None:
        """Rebuilds the controls for `info` and shows its point for the current seed."""
        self.info = info
        self.frames.reset()
        self._z = np.zeros(info.latent_dim, dtype=np.float32)
        self._anchor = None
        self.history.clear()
        self.grid.set_model(info.latent_dim)
        self.controls.setEnabled(True)
        # The previous image stays until the new model's first frame replaces it: no blank flash.
        self.image_view.clear_message()
        self.dimensions_tab.set_model(info)
        self._label = self.class_controls.set_model(info)
        self.psi_group.setVisible(info.can("truncation"))
        self.psi_slider.set_value(1.0)
        self._psi = 1.0
        self.directions_tab.set_model(info)
        self.report_table.hide()
        self.walks.reset()
        can_directions = self.directions_tab.available()
        self.mode_tabs.setTabEnabled(1, can_directions)
        self._set_pyramid(info)
        if self.mode_tabs.currentIndex() == 1:
            if can_directions:
                self.directions_tab.compute()
            else:
                self.mode_tabs.setCurrentIndex(0)
        self.transfer.set_model(info.name)
        if self.seed_box.value() == NO_SEED:
            with QSignalBlocker(self.seed_box):
                self.seed_box.setValue(0)
        note = model_note(info)
        self.model_note.setText(note)
        self.model_note.setVisible(bool(note))
        self.prediction.clear("" if self._classifier() else "No classifier for this model")
        self.realness.setText("")
        self.realness.setVisible(info.can("discriminator"))
        self._request_seed(self.seed_box.value())
        self._update_undo_actions()

    def _show_empty(self) -> None:
        self.info = None
        self.controls.setEnabled(False)
        self.image_view.show_message(EMPTY_HINT)
        self.transfer.set_model(None)
        self.prediction.clear("")

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
        with QSignalBlocker(self.seed_box):       # the point came from elsewhere: no seed names it
            self.seed_box.setValue(NO_SEED)
        if label is not None and self.info.can("conditional"):
            self._label = self.class_controls.apply_label(label)
        if psi is not None:
            self._psi = float(psi)
            self.psi_slider.set_value(self._psi)
        self._sync_sliders()
        self._request_frame()
        self._request_grid()

    def _moving(self) -> None:
        """Before a slider changes the point: a new undo step, unless a drag already made one."""
        if not self._drag_depth:
            self._push_undo()

    def _moved(self) -> None:
        """After a slider changed the point: its frame now, its neighbour grid when the drag ends."""
        self._request_frame()
        if not self._drag_depth:
            self._request_grid()

    def _dimension_moved(self, index: int, value: float) -> None:
        self._moving()
        self._z[index] = value
        if self._anchor is not None:
            self._anchor = None
            self.directions_tab.zero()
        self.grid.axis_moved(("z", index))
        self._moved()

    def _direction_moved(self, index: int, _value: float) -> None:
        directions = self.directions
        if directions is None:
            return
        self._moving()
        self.grid.axis_moved(("PC", index))
        if self._anchor is None:
            self._anchor = self._z.copy()
        amounts = self.directions_tab.amounts()
        self._z = (self._anchor + (amounts * directions.std) @ directions.directions).astype(np.float32)
        self._moved()

    def _psi_moved(self, _index: int, value: float) -> None:
        self._moving()
        self._psi = value
        self._moved()

    def _blend_moved(self, label: list[float]) -> None:
        self._moving()
        self._label = label
        self._moved()

    def _label_chosen(self, label: int | list[float]) -> None:
        self._push_undo()
        self._label = label
        self._request_frame()
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
        self.dimensions_tab.show_point(self._z)
        if self.info is not None and self.info.can("pyramid"):
            self.levels_tab.show_point(self._z)
        if self._anchor is None:
            self.directions_tab.zero()

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
        if self.seed_box.value() == NO_SEED:
            self.context.status.emit("This point did not come from a seed: there is no seed's point to go back to")
            return
        self._push_undo()
        self._request_seed(self.seed_box.value())

    def _seed_entered(self, seed: int) -> None:
        if self.info is not None and seed != NO_SEED:
            self._push_undo()
            self._request_seed(seed)

    def _request_seed(self, seed: int) -> None:
        """Renders the prior sample of `seed`; the sliders follow when the frame arrives."""
        if self.info is None:
            return
        self._anchor = None
        self.frames.submit(decode_job(self.info.source, None, self._label, self._psi, self._classifier(), seed=seed),
                           label=f"seed {seed}")

    # -- rendering --------------------------------------------------------------------------------
    def _classifier(self) -> str | None:
        source = self.context.classifier_for(self.info)
        if source is None or not self.prediction_action.isChecked():
            return None
        return source

    def _request_frame(self) -> None:
        if self.info is None:
            return
        self.frames.submit(decode_job(self.info.source, self._z, self._label, self._psi, self._classifier()),
                           label="frame")

    def _request_grid(self) -> None:
        if self.info is None or not self.grid.shown or self._drag_depth:
            return
        self.grid.request(self.info.source, self._z, self._label, self._psi, self.directions)

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
            self._anchor = None
            self._sync_sliders()
            self._request_grid()
        self.image_view.clear_message()
        self.image_view.set_image(frame.image, tag=result.request_id)
        self.last_frame = frame
        self.frames_shown += 1
        judge = self.context.classifier_info(self.info)
        if frame.probs is not None and judge is not None:
            self.prediction.set_probs(frame.probs, list(judge.class_names))
        if frame.realness is not None:
            self.realness.setText(f"Discriminator: {frame.realness * 100:.0f}% real")
        self.context.report_frame(result.elapsed_s, result.device)
        self._request_pyramid()
        self.frame_shown.emit(result)

    def _prediction_toggled(self, on: bool) -> None:
        self.context.settings.setValue("latent/prediction", on)
        self.prediction.setVisible(on)
        self._request_frame()

    # -- pyramid levels ---------------------------------------------------------------------------
    def _set_pyramid(self, info: ModelInfo) -> None:
        """The Levels tab and the pyramid display, for a model with pyramid levels only."""
        pyramid = info.can("pyramid")
        self.pyramids.reset()
        self.pyramid_display.clear()
        self.pyramid_display.setVisible(pyramid)
        self.mode_tabs.setTabVisible(LEVELS_TAB, pyramid)
        if pyramid:
            self.levels_tab.set_model(info)
            if self.mode_tabs.currentIndex() == 0:
                self.mode_tabs.setCurrentIndex(LEVELS_TAB)
        elif self.mode_tabs.currentIndex() == LEVELS_TAB:
            self.mode_tabs.setCurrentIndex(0)

    def _request_pyramid(self) -> None:
        if self.info is not None and self.info.can("pyramid"):
            self.pyramids.submit(pyramid_job(self.info.source, self._z, self._label, self._psi), label="pyramid")

    def resample_levels(self, levels: list[int]) -> int:
        """New noise for the given pyramid levels, the others held; the point moves there (one undo
        step). Returns the request id, 0 when the model has no levels."""
        if self.info is None or not self.info.can("pyramid"):
            return 0
        seed = random.randrange(2**31 - 1)
        return self.pyramids.submit(pyramid_job(self.info.source, self._z, self._label, self._psi, levels, seed),
                                    label="resample levels")

    def _on_pyramid(self, result: Result) -> None:
        if result.cancelled:
            return
        if not result.ok:
            self.context.status.emit(f"The pyramid could not be drawn: {result.error}")
            return
        frame: PyramidFrame = result.value
        if frame.resampled:
            self.set_point(frame.latent)          # its frame brings a fresh pyramid with it
            return
        self.pyramid_display.set_frame(frame)

    # -- directions -------------------------------------------------------------------------------
    def _mode_changed(self, index: int) -> None:
        if index in (0, LEVELS_TAB):
            self._sync_sliders()
        elif self.info is not None and self.directions is None and not self.directions_tab.busy:
            self.directions_tab.compute()

    def _drawn_label(self) -> int | list[float] | None:
        """The class the model draws now; None for an unconditional one."""
        return self._label if self.info is not None and self.info.can("conditional") else None

    def _directions_computed(self, _directions: Directions) -> None:
        self._anchor = None       # the new sliders start at 0, from wherever the point is
        self.report_table.hide()  # the report was of the previous directions

    def walk(self, index: int, path: str | None = None) -> int:
        """A GIF of the walk through the current point along direction `index` (asks for the file
        when `path` is None); returns the request id, 0 when nothing was asked."""
        directions = self.directions
        if self.info is None or directions is None or not 0 <= index < len(directions):
            return 0
        if path is None:
            folder = setting(self.context.settings, "latent/walk_dir", str(Path.home()))
            name = f"{self.info.name}-{directions.names[index]}.gif".replace(" ", "-")
            path, _ = QFileDialog.getSaveFileName(self, "Walk along a direction", str(Path(folder) / name),
                                                  "GIF animation (*.gif)")
            if not path:
                return 0
            self.context.settings.setValue("latent/walk_dir", str(Path(path).parent))
        start = self._anchor if self._anchor is not None else self._z
        self.context.status.emit(f"Walking along {directions.names[index]}…")
        return self.walks.submit(walk_job(self.info.source, start, directions.directions[index],
                                          float(directions.std[index]), str(path), self._label, self._psi),
                                 label=f"walk along {directions.names[index]}")

    def _on_walk(self, result: Result) -> None:
        if result.ok:
            self.context.status.emit(f"Wrote {result.value.path} ({result.value.frames} frames, there and back)")
        elif not result.cancelled:
            self.context.status.emit(f"The walk could not be written: {result.error}")

    # -- undo -------------------------------------------------------------------------------------
    def _push_undo(self) -> None:
        if self.info is None:
            return
        self.history.record(self.point())
        self._update_undo_actions()

    def undo(self) -> None:
        state = self.history.undo(self.point())
        if state is not None:
            self._restore(state)

    def redo(self) -> None:
        state = self.history.redo(self.point())
        if state is not None:
            self._restore(state)

    def _restore(self, state: PointState) -> None:
        self._z = state.z.copy()
        self._anchor = None
        if self.info is not None and self.info.can("conditional") and state.label is not None:
            self._label = self.class_controls.apply_label(state.label)
        self._psi = state.psi
        self.psi_slider.set_value(state.psi)
        with QSignalBlocker(self.seed_box):
            self.seed_box.setValue(state.seed)
        self._sync_sliders()
        self._update_undo_actions()
        self._request_frame()
        self._request_grid()

    def _update_undo_actions(self) -> None:
        self.undo_action.setEnabled(self.history.can_undo)
        self.redo_action.setEnabled(self.history.can_redo)


def model_note(info: ModelInfo) -> str:
    """A line on what the image of this model is, where it is not a sample of a generator."""
    if not info.can("prior"):
        return (f"{info.name} is a {info.kind_title}, not a generator: the image is its decoder's "
                f"reconstruction of this code, and random codes are not samples of the data.")
    if info.can("sampler"):
        return (f"{info.name} makes its image step by step from this starting noise; shown here is a "
                f"deterministic 20-step DDIM run. The Diffusion view shows every step.")
    return ""


def _copy_label(label: int | list[float] | None) -> int | list[float] | None:
    return list(label) if isinstance(label, list) else label
