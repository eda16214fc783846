"""The interpolation panel: a path between two latent points (through optional keyframes), shown
as an animated preview, a filmstrip of every frame, and plots of what happens along the way (the
classifier's verdict and the distance to the nearest training image); exported as a GIF or a PNG
filmstrip that carries the path's settings, so dropping the file back restores the path.

All model work (drawing seeds, encoding pictures, decoding frames, classifying, exporting) runs on
the inference worker through the jobs in explorer/jobs/interpolation.py; this view only builds
requests and shows the NumPy arrays that come back.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import random
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QFrame,
                               QGroupBox, QHBoxLayout, QLabel, QMessageBox, QProgressBar, QPushButton,
                               QScrollArea, QSpinBox, QSplitter, QVBoxLayout,
                               QWidget)

from explorer.context import EMPTY_HINT, AppContext
from explorer.export import ExportError, read_gif_settings
from explorer.model_info import ModelInfo
from explorer.jobs.interpolation import (MAX_FRAMES, MIN_FRAMES, Endpoint, ExportResult, FramesChunk, PathResult,
                                         PathSettings, export_job, interpolation_job)
from explorer.views.actions import panel_action
from explorer.views.endpoint_editor import EndpointEditor, PointSource
from explorer.views.filmstrip import Filmstrip
from explorer.views.frame_player import FramePlayer
from explorer.views.image_view import ImageView
from explorer.views.layout import row
from explorer.views.path_plot import CLASS_TIP, DISTANCE_TIP, PathPlot
from explorer.worker import JobProgress, Result

CHANNEL = "interpolate"
EXPORT_CHANNEL = "interpolate-export"
SETTINGS_GROUP = "interpolate"
REBUILD_DELAY_MS = 250


class InterpolationPanel(QWidget):
    """Interpolate between latent points. Construct with the app's AppContext."""

    path_shown = Signal(object)         # the PathResult just put on screen
    export_finished = Signal(object)    # the export's Result (written, cancelled or failed)
    error_shown = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.info: ModelInfo | None = None
        self.result: PathResult | None = None
        self._point_source: PointSource | None = None
        self._frames: list[np.ndarray | None] = []
        self.paths = context.channel(CHANNEL)
        self.exports = context.channel(EXPORT_CHANNEL)
        self._pending_restore: PathSettings | None = None
        self._dirty = False
        self._current = 0
        self.extras: list[EndpointEditor] = []
        self._rebuild_timer = QTimer(self)
        self._rebuild_timer.setSingleShot(True)
        self._rebuild_timer.setInterval(REBUILD_DELAY_MS)
        self._rebuild_timer.timeout.connect(self._rebuild_if_visible)
        self._started_playing = False   # the first path plays by itself; after that, the user decides

        self._build()
        self._build_actions()
        self._load_settings()
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

        self.paths.result_ready.connect(self._on_path)
        self.paths.progress_changed.connect(self._on_path_progress)
        self.exports.result_ready.connect(self._on_export)
        self.exports.progress_changed.connect(self._on_export_progress)
        context.model_opened.connect(self.set_model)
        context.model_failed.connect(self._on_model_failed)
        context.bookmarks.changed.connect(self._bookmarks_changed)
        if context.current is not None:
            self.set_model(context.current)
        else:
            self._show_empty()

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        point = lambda: self._point_source  # noqa: E731 - the editors ask late: it may be set after them
        self.editor_a = EndpointEditor("A", point)
        self.editor_b = EndpointEditor("B", point)
        self.extras_box = QWidget()
        self.extras_layout = QVBoxLayout(self.extras_box)
        self.extras_layout.setContentsMargins(0, 0, 0, 0)
        self.extras_layout.setSpacing(4)
        self.add_key_button = QPushButton("Add keyframe")
        self.add_key_button.setToolTip("A keyframe between the last one and B: the path goes through it")
        self.swap_button = QPushButton("Swap A ↔ B")
        self.swap_button.setToolTip("Reverse the path")
        ends = QGroupBox("Endpoints")
        el = QVBoxLayout(ends)
        el.setSpacing(4)
        self.ends_layout = el
        el.addWidget(self.editor_a)
        el.addWidget(self.extras_box)
        el.addWidget(self.editor_b)
        el.addWidget(row(self.add_key_button, 1, self.swap_button, 1))

        self.frames_box = QSpinBox()
        self.frames_box.setRange(MIN_FRAMES, MAX_FRAMES)
        self.frames_box.setValue(32)
        self.frames_box.setKeyboardTracking(False)
        self.frames_box.setToolTip("Frames in the path, both ends included")
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Spherical (slerp)", True)
        self.mode_combo.addItem("Linear (lerp)", False)
        self.mode_combo.setToolTip("Slerp follows the sphere where Gaussian latents live (falling back to a "
                                   "straight line when the points are nearly parallel); lerp's middle "
                                   "frames have shorter latents than any sample, so they look washed out")
        self.analyse_check = QCheckBox("Classify frames and measure distance to the data")
        self.analyse_check.setChecked(True)
        self.analyse_check.setToolTip("Run the classifier on every frame and find each frame's nearest "
                                      "training image (plots under the filmstrip)")
        self.build_button = QPushButton("Update path")
        self.build_button.setToolTip("Decode the path now (Ctrl+Return); it also updates by itself after each change")
        self.path_progress = QProgressBar()
        self.path_progress.setVisible(False)
        path_group = QGroupBox("Path")
        pf = QFormLayout(path_group)
        pf.addRow("Frames", self.frames_box)
        pf.addRow("Interpolation", self.mode_combo)
        pf.addRow(self.analyse_check)
        pf.addRow(self.build_button)
        pf.addRow(self.path_progress)

        self.scale_box = QSpinBox()
        self.scale_box.setRange(1, 16)
        self.scale_box.setValue(4)
        self.scale_box.setSuffix(" ×")
        self.scale_box.setToolTip("Enlarge each frame by this factor (nearest neighbour: crisp pixels)")
        self.loop_check = QCheckBox("Loop forever")
        self.loop_check.setChecked(True)
        self.loop_check.setToolTip("Unticked, the GIF plays once and stops on the last frame")
        self.export_gif_button = QPushButton("Export GIF…")
        self.export_gif_button.setToolTip("Save the path as an animated GIF (Ctrl+E); it uses the preview's "
                                          "speed and ping-pong, and remembers the path: drop it on the "
                                          "window to restore it")
        self.export_png_button = QPushButton("Export filmstrip…")
        self.export_png_button.setToolTip("Save every frame side by side as one PNG (Ctrl+Shift+E)")
        self.export_progress = QProgressBar()
        self.cancel_export_button = QPushButton("Cancel")
        self.cancel_export_button.setToolTip("Stop the export (Esc); nothing is written")
        self.export_row = row(self.export_progress, 1, self.cancel_export_button)
        self.export_row.setVisible(False)
        self.export_note = QLabel()
        self.export_note.setWordWrap(True)
        self.export_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        export_group = QGroupBox("Export")
        xf = QFormLayout(export_group)
        xf.addRow("Upscale", self.scale_box)
        xf.addRow(self.loop_check)
        xf.addRow(row(self.export_gif_button, 1, self.export_png_button, 1))
        xf.addRow(self.export_row)
        xf.addRow(self.export_note)

        controls = QWidget()
        cl = QVBoxLayout(controls)
        cl.setContentsMargins(0, 0, 6, 0)
        cl.addWidget(ends)
        cl.addWidget(path_group)
        cl.addWidget(export_group)
        cl.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(340)
        scroll.setMaximumWidth(470)
        self.controls = controls

        # preview and playback
        self.preview = ImageView(minimum=200)
        self.player = FramePlayer(fps=12.0, ends="loop", buttons=False, what="frame")
        self.player.play_button.setToolTip("Play or pause the preview (Space)")
        self.player.slider.setToolTip("Frame shown (Left / Right step, Home / End jump to the ends, Space plays)")
        self.frame_slider, self.frame_label = self.player.slider, self.player.label
        self.fps_box = QDoubleSpinBox()
        self.fps_box.setRange(1.0, 50.0)
        self.fps_box.setDecimals(1)
        self.fps_box.setValue(12.0)
        self.fps_box.setSuffix(" fps")
        self.fps_box.setToolTip("Preview and GIF speed in frames per second (a GIF stores whole hundredths "
                                "of a second per frame)")
        self.pingpong_check = QCheckBox("Ping-pong")
        self.pingpong_check.setToolTip("Play forward then backward (preview and GIF)")
        bar = row(self.player, 1, self.fps_box, 0, self.pingpong_check, 0)
        preview_box = QWidget()
        pl = QVBoxLayout(preview_box)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(self.preview, 1)
        pl.addWidget(bar)

        self.filmstrip = Filmstrip()
        self.plot = PathPlot()
        self.plot.class_plot.vb.setToolTip(CLASS_TIP)
        self.plot.setToolTip(DISTANCE_TIP)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: palette(mid);")
        self.notes.setVisible(False)
        plot_box = QWidget()
        plb = QVBoxLayout(plot_box)
        plb.setContentsMargins(0, 0, 0, 0)
        plb.addWidget(self.filmstrip)
        plb.addWidget(self.plot, 1)
        plb.addWidget(self.notes)

        self.view_split = QSplitter(Qt.Orientation.Vertical)
        self.view_split.addWidget(preview_box)
        self.view_split.addWidget(plot_box)
        self.view_split.setStretchFactor(0, 3)
        self.view_split.setStretchFactor(1, 2)
        self.view_split.setChildrenCollapsible(False)
        self.view_split.setSizes([400, 400])

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.view_split)
        split.addWidget(scroll)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setChildrenCollapsible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(split)

        for editor in (self.editor_a, self.editor_b):
            editor.changed.connect(self._schedule_build)
        self.add_key_button.clicked.connect(lambda: self.add_keyframe())
        self.swap_button.clicked.connect(self.swap_endpoints)
        self.frames_box.valueChanged.connect(self._schedule_build)
        self.mode_combo.currentIndexChanged.connect(self._schedule_build)
        self.analyse_check.toggled.connect(self._schedule_build)
        self.build_button.clicked.connect(self.build_path)
        self.export_gif_button.clicked.connect(lambda: self.export_gif())
        self.export_png_button.clicked.connect(lambda: self.export_filmstrip())
        self.cancel_export_button.clicked.connect(self.cancel_export)
        self.player.position_chosen.connect(self.show_frame)
        self.fps_box.valueChanged.connect(self.player.set_fps)
        self.pingpong_check.toggled.connect(lambda on: self.player.set_ends("pingpong" if on else "loop"))
        self.filmstrip.frame_clicked.connect(self._frame_picked)
        self.plot.frame_picked.connect(self._frame_picked)
        for w in (self.scale_box, self.loop_check, self.pingpong_check, self.fps_box, self.frames_box,
                  self.mode_combo, self.analyse_check):
            signal = getattr(w, "valueChanged", None) or getattr(w, "toggled", None) or w.currentIndexChanged
            signal.connect(lambda *_: self._save_settings())

    def _build_actions(self) -> None:
        action = functools.partial(panel_action, self)
        self.export_gif_action = action("Export interpolation as GIF…", "Ctrl+E", lambda: self.export_gif(),
                                        "Save the path as an animated GIF")
        self.export_png_action = action("Export interpolation filmstrip…", "Ctrl+Shift+E",
                                        lambda: self.export_filmstrip(), "Save every frame of the path as one PNG")
        self.build_action = action("Update path", "Ctrl+Return", self.build_path, "Decode the path now")
        # Space and the arrow keys are handled in keyPressEvent, not as shortcuts: a focused
        # button, check box or text field keeps its own use of them.
        self.play_action = action("Play / pause preview", None, self.toggle_play,
                                  "Play or pause the preview (Space)")
        self.cancel_action = action("Cancel export", "Esc", self.cancel_export, "Stop the running export")

    def file_actions(self) -> list[QAction]:
        """Actions for the window's File menu (their shortcuts work while this panel has focus)."""
        return [self.export_gif_action, self.export_png_action]

    def view_actions(self) -> list[QAction]:
        return [self.play_action, self.build_action]

    def set_point_source(self, source: PointSource | None) -> None:
        """Where "Current point" comes from: a callable returning an object with `z` (flat latent),
        `label` and `psi` (e.g. LatentPanel.point), or None when there is no point."""
        self._point_source = source
        for editor in self.editors():
            editor._enable_source("current", source is not None,
                                  "" if source is not None else "No Latent tab to take a point from")

    # -- settings -----------------------------------------------------------------------------
    def _key(self, name: str) -> str:
        return f"{SETTINGS_GROUP}/{name}"

    def _load_settings(self) -> None:
        s = self.context.settings
        widgets = [self.frames_box, self.mode_combo, self.analyse_check, self.scale_box, self.loop_check,
                   self.fps_box, self.pingpong_check]
        blockers = [QSignalBlocker(w) for w in widgets]
        self.frames_box.setValue(int(s.value(self._key("frames"), 32, type=int)))
        self.mode_combo.setCurrentIndex(0 if s.value(self._key("slerp"), True, type=bool) else 1)
        self.analyse_check.setChecked(s.value(self._key("analyse"), True, type=bool))
        self.scale_box.setValue(int(s.value(self._key("scale"), 4, type=int)))
        self.loop_check.setChecked(s.value(self._key("loop"), True, type=bool))
        self.fps_box.setValue(float(s.value(self._key("fps"), 12.0, type=float)))
        self.pingpong_check.setChecked(s.value(self._key("pingpong"), False, type=bool))
        del blockers
        self._sync_player()

    def _sync_player(self) -> None:
        """The player plays at the chosen speed and ends (set while signals were blocked)."""
        self.player.set_fps(self.fps_box.value())
        self.player.set_ends("pingpong" if self.pingpong_check.isChecked() else "loop")

    def _save_settings(self) -> None:
        s = self.context.settings
        s.setValue(self._key("frames"), self.frames_box.value())
        s.setValue(self._key("slerp"), bool(self.mode_combo.currentData()))
        s.setValue(self._key("analyse"), self.analyse_check.isChecked())
        s.setValue(self._key("scale"), self.scale_box.value())
        s.setValue(self._key("loop"), self.loop_check.isChecked())
        s.setValue(self._key("fps"), self.fps_box.value())
        s.setValue(self._key("pingpong"), self.pingpong_check.isChecked())

    # -- model --------------------------------------------------------------------------------
    def editors(self) -> list[EndpointEditor]:
        return [self.editor_a, *self.extras, self.editor_b]

    def set_model(self, info: ModelInfo) -> None:
        """Follows the opened model: endpoints reset to two seeds (unless a restore waits for it)."""
        self.info = info
        self.result = None
        self.paths.reset()
        for editor in list(self.extras):
            self._remove_editor(editor, rebuild=False)
        bookmarks = self.context.bookmarks.for_model(info.name)
        for editor in self.editors():
            with QSignalBlocker(editor):
                editor.set_model(info, bookmarks)
        self.controls.setEnabled(True)
        self.preview.clear_message()
        self._clear_path(self.frames_box.value())
        pending = self._pending_restore
        if pending is not None and self.context.resolve_source(pending.model) == info.source:
            self._pending_restore = None
            self._apply_restore(pending)
            return
        with QSignalBlocker(self.editor_a), QSignalBlocker(self.editor_b):
            self.editor_a.set_seed(0)
            self.editor_b.set_seed(1)
        self._schedule_build()

    def _show_empty(self) -> None:
        self.info = None
        self.controls.setEnabled(False)
        self.preview.show_message(EMPTY_HINT)

    def _on_model_failed(self, message: str) -> None:
        if self._pending_restore is not None:
            self._pending_restore = None
            self._show_error(f"Could not open the GIF's model: {message}")

    def _bookmarks_changed(self) -> None:
        if self.info is None:
            return
        bookmarks = self.context.bookmarks.for_model(self.info.name)
        for editor in self.editors():
            editor.set_bookmarks(bookmarks)

    # -- keyframes ----------------------------------------------------------------------------
    def add_keyframe(self, endpoint: Endpoint | None = None, rebuild: bool = True) -> EndpointEditor:
        """Adds a keyframe before B (a seed unless `endpoint`, a stored latent, is given)."""
        editor = EndpointEditor(str(len(self.extras) + 1), lambda: self._point_source, removable=True)
        editor.set_model(self.info, self.context.bookmarks.for_model(self.info.name) if self.info else [])
        if endpoint is not None:
            editor.set_stored(endpoint)
        else:
            editor.set_seed(random.randrange(0, 100_000))
        editor.changed.connect(self._schedule_build)
        editor.remove_requested.connect(lambda: self._remove_editor(editor))
        self.extras.append(editor)
        self.extras_layout.addWidget(editor)
        if rebuild:
            self._schedule_build()
        return editor

    def _remove_editor(self, editor: EndpointEditor, rebuild: bool = True) -> None:
        self.extras.remove(editor)
        editor.setParent(None)
        editor.deleteLater()
        for i, e in enumerate(self.extras, 1):
            e.title.setText(f"<b>{i}</b>")
        if rebuild:
            self._schedule_build()

    def swap_endpoints(self) -> None:
        """Reverses the path: A and B trade places (with their sources and classes), and the
        keyframes between them run the other way."""
        layout = self.ends_layout
        for w in (self.editor_a, self.extras_box, self.editor_b):
            layout.removeWidget(w)
        self.editor_a, self.editor_b = self.editor_b, self.editor_a
        for i, w in enumerate((self.editor_a, self.extras_box, self.editor_b)):
            layout.insertWidget(i, w)
        self.editor_a.title.setText("<b>A</b>")
        self.editor_b.title.setText("<b>B</b>")
        self.extras.reverse()
        for i, editor in enumerate(self.extras, 1):
            self.extras_layout.removeWidget(editor)
            self.extras_layout.addWidget(editor)
            editor.title.setText(f"<b>{i}</b>")
        self._schedule_build()

    # -- the path -----------------------------------------------------------------------------
    def path_settings(self) -> PathSettings | None:
        """The path as chosen in the controls (endpoints not yet resolved), or None if incomplete."""
        if self.info is None:
            return None
        keyframes = []
        for name, editor in zip(["A", *(str(i) for i in range(1, len(self.extras) + 1)), "B"], self.editors()):
            endpoint = editor.endpoint()
            if endpoint is None:
                self.preview.show_message(f"Keyframe {name}: {editor.problem()}")
                return None
            keyframes.append(endpoint)
        return PathSettings(model=self.info.source, model_name=self.info.name,
                            latent_shape=tuple(self.info.latent_shape), keyframes=tuple(keyframes),
                            frames=self.frames_box.value(), slerp=bool(self.mode_combo.currentData()),
                            fps=self.fps_box.value(), scale=self.scale_box.value(),
                            loop=self.loop_check.isChecked(), pingpong=self.pingpong_check.isChecked())

    def _schedule_build(self) -> None:
        self._dirty = True
        self._rebuild_timer.start()

    def _rebuild_if_visible(self) -> None:
        if self.isVisible():
            self.build_path()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._dirty and self.info is not None:
            self._rebuild_timer.start()

    def build_path(self) -> int:
        """Submits the path to the worker now; returns the request id (0 if the path is incomplete)."""
        self._rebuild_timer.stop()
        settings = self.path_settings()
        if settings is None:
            return 0
        self._dirty = False
        self.preview.clear_message()
        request_id = self.paths.submit(interpolation_job(settings, self.context.classifier_source,
                                                         self.analyse_check.isChecked()), label="interpolation")
        self._clear_path(settings.frames)
        self.path_progress.setRange(0, settings.frames)
        self.path_progress.setValue(0)
        self.path_progress.setFormat("Decoding %v / %m")
        self.path_progress.setVisible(True)
        return request_id

    def _clear_path(self, frames: int) -> None:
        self._frames = [None] * frames
        self.filmstrip.set_count(frames)
        self.filmstrip.set_tags({})
        self.plot.clear_analysis(frames)
        self.notes.setVisible(False)
        self.player.set_count(frames)
        self._current = min(self._current, max(frames - 1, 0))
        self._update_frame_label()

    def _on_path_progress(self, progress: JobProgress) -> None:
        self.path_progress.setRange(0, progress.total)
        self.path_progress.setValue(progress.done)
        if progress.message:
            self.path_progress.setFormat(f"{progress.message[:1].upper()}{progress.message[1:]} %v / %m")
        chunk = progress.partial
        if isinstance(chunk, FramesChunk):
            self._put_frames(chunk.start, chunk.images)

    def _on_export_progress(self, progress: JobProgress) -> None:
        self.export_progress.setRange(0, progress.total)
        self.export_progress.setValue(progress.done)
        self.export_progress.setFormat(f"{progress.message or 'Exporting'} %p%")

    def _put_frames(self, start: int, images: np.ndarray) -> None:
        end = start + len(images)
        if end > len(self._frames):
            self._frames += [None] * (end - len(self._frames))
        for i, image in enumerate(images, start):
            self._frames[i] = image
        self.filmstrip.set_frames(images, start)
        if start <= self._current < end or self.preview.image() is None:
            self.show_frame(self._current if start <= self._current < end else start)

    def _on_path(self, result: Result) -> None:
        if result.cancelled:
            return
        self.path_progress.setVisible(False)
        if not result.ok:
            self._show_error(f"The path could not be made:\n{result.error}")
            return
        value: PathResult = result.value
        self.result = value
        self._put_frames(0, value.frames)
        keys = len(value.settings.keyframes)
        frames = value.settings.frames
        if frames >= keys:
            names = ["A", *(str(i) for i in range(1, keys - 1)), "B"]
            self.filmstrip.set_tags({round(j * (frames - 1) / (keys - 1)): names[j] for j in range(keys)})
        self.filmstrip.set_warnings(value.analysis.warnings)
        if self.analyse_check.isChecked():
            self.plot.set_analysis(value.analysis, frames)
        notes = list(value.analysis.notes)
        if value.analysis.warnings:
            notes.insert(0, f"⚠ The path leaves the training data at frame"
                            f"{'s' if len(value.analysis.warnings) > 1 else ''} "
                            f"{', '.join(str(i + 1) for i in value.analysis.warnings)}.")
        self.notes.setText("\n".join(notes))
        self.notes.setVisible(bool(notes))
        self.show_frame(self._current)
        self.context.status.emit(f"Interpolated {frames} frames in {result.elapsed_s * 1000:.0f} ms on {result.device}")
        if not self._started_playing:
            self._started_playing = True
            self.play()
        self.path_shown.emit(value)

    def _show_error(self, message: str) -> None:
        self.preview.show_message(message, error=True)
        self.context.status.emit(message.replace("\n", " "))
        self.error_shown.emit(message)

    # -- playback -----------------------------------------------------------------------------
    def show_frame(self, index: int) -> None:
        if not self._frames:
            return
        index = int(min(max(index, 0), len(self._frames) - 1))
        self._current = index
        self.player.set_position(index)
        frame = self._frames[index]
        if frame is not None:
            self.preview.set_image(frame)
        self.filmstrip.set_current(index)
        self.plot.set_current(index)
        self._update_frame_label()

    @property
    def current_frame(self) -> int:
        return self._current

    def frames(self) -> np.ndarray | None:
        """The decoded frames, uint8 (n, H, W, C), once the whole path has arrived."""
        if not self._frames or any(f is None for f in self._frames):
            return None
        return np.stack(self._frames)

    def step(self, delta: int) -> None:
        if self._frames:
            self.player.step(delta)

    def _frame_picked(self, index: int) -> None:
        self.pause()
        self.show_frame(index)

    def _update_frame_label(self) -> None:
        n = len(self._frames)
        text = f"Frame {self._current + 1} / {n}" if n else "No frames"
        a = self.result.analysis if self.result is not None else None
        if a is not None and a.classes is not None and self._current < len(a.classes):
            c = int(a.classes[self._current])
            name = a.class_names[c] if c < len(a.class_names) else str(c)
            text += f" · {name} {a.confidence[self._current]:.0%}"
        self.frame_label.setText(text)

    def play(self) -> None:
        self.player.play()

    def pause(self) -> None:
        self.player.pause()

    def toggle_play(self) -> None:
        self.player.toggle_play()

    @property
    def playing(self) -> bool:
        return self.player.playing

    # -- export -------------------------------------------------------------------------------
    def export_settings(self) -> PathSettings | None:
        """The shown path with the current speed, upscale, loop and ping-pong choices."""
        if self.result is None:
            return None
        return dataclasses.replace(self.result.settings, fps=self.fps_box.value(), scale=self.scale_box.value(),
                                   loop=self.loop_check.isChecked(), pingpong=self.pingpong_check.isChecked())

    def export_gif(self, path: str | None = None) -> int:
        """Exports the shown path as a GIF (asking for a file when `path` is None); returns the request id."""
        return self._export("gif", path)

    def export_filmstrip(self, path: str | None = None) -> int:
        return self._export("png", path)

    def _export(self, kind: str, path: str | None) -> int:
        settings = self.export_settings()
        if settings is None or self.result is None:
            self.export_note.setText("Make a path first: the export writes the frames of the last path made.")
            return 0
        frames = self.result.frames
        if path is None:
            path = self._ask_export_path(kind, settings)
            if not path:
                return 0
        target = Path(path).expanduser()
        if target.suffix.lower() != f".{kind}":
            target = target.with_name(target.name + f".{kind}")
        overwrite = False
        if target.exists():
            answer = QMessageBox.question(self, "Replace file?", f"{target.name} already exists in "
                                          f"{target.parent}. Replace it?",
                                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                          QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                self.export_note.setText("Export not done: the file exists.")
                return 0
            overwrite = True
        self.context.settings.setValue(self._key("export_dir"), str(target.parent))
        request_id = self.exports.submit(export_job(settings, str(target), kind, frames, overwrite),
                                         label=f"export {target.name}")
        self.export_progress.setRange(0, 0)
        self.export_row.setVisible(True)
        self.export_note.setText(f"Writing {target.name}…")
        self.export_gif_button.setEnabled(False)
        self.export_png_button.setEnabled(False)
        return request_id

    def _ask_export_path(self, kind: str, settings: PathSettings) -> str:
        folder = str(self.context.settings.value(self._key("export_dir"), str(Path.home())))
        ends = [k.describe().replace("'", "").replace(" ", "-") for k in (settings.keyframes[0], settings.keyframes[-1])]
        name = f"{settings.model_name}-{ends[0]}-to-{ends[1]}.{kind}"
        title = "Export GIF" if kind == "gif" else "Export filmstrip"
        filt = "GIF animation (*.gif)" if kind == "gif" else "PNG picture (*.png)"
        # The overwrite question is asked by _export, for typed names too.
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(folder) / name), filt,
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        return path

    def cancel_export(self) -> None:
        """Stops the running export; its "cancelled" result puts the export controls back."""
        if self.exports.busy:
            self.exports.cancel()
            self.export_note.setText("Cancelling the export…")

    @property
    def exporting(self) -> bool:
        return self.exports.busy

    def _export_done(self, note: str) -> None:
        self.export_row.setVisible(False)
        self.export_gif_button.setEnabled(True)
        self.export_png_button.setEnabled(True)
        self.export_note.setText(note)

    def _on_export(self, result: Result) -> None:
        if result.cancelled:
            self._export_done("Export cancelled; nothing was written.")
        elif not result.ok:
            self._export_done(f"Export failed: {result.error}")
            self.context.status.emit(f"Export failed: {result.error}")
        else:
            value: ExportResult = result.value
            self._export_done(f"Wrote {value.path} ({value.frames} frame{'s' if value.frames != 1 else ''}).")
            self.context.status.emit(f"Wrote {value.path}")
        self.export_finished.emit(result)

    # -- restoring ----------------------------------------------------------------------------
    def restore_from_gif(self, path: str | Path) -> bool:
        """Restores the interpolation stored in a GIF (or filmstrip PNG) written by the export:
        opens its model if another one is open, then rebuilds the same path. Returns False (and
        shows why) when the file holds no usable path."""
        try:
            data = read_gif_settings(path)
        except ExportError as e:
            self._show_error(str(e))
            return False
        if data is None:
            self._show_error(f"{Path(path).name} holds no interpolation settings: only GIFs and "
                             f"filmstrips exported by Latent Explorer can be restored.")
            return False
        try:
            settings = PathSettings.from_dict(data)
        except ValueError as e:
            self._show_error(f"{Path(path).name} has damaged interpolation settings: {e}")
            return False
        source = self.context.resolve_source(settings.model)
        if not self.context.is_bundled(source) and not Path(source).exists():
            # written on another machine: fall back to the bundled model of the same name
            match = next((m for m in self.context.models if m.name == settings.model_name), None)
            if match is not None:
                source = match.source
                settings = dataclasses.replace(settings, model=source)
        if self.info is not None and self.info.source == source:
            self._apply_restore(settings)
        else:
            self._pending_restore = settings
            self.context.open_model(source)
        self.context.status.emit(f"Restoring the interpolation from {Path(path).name}")
        return True

    def _apply_restore(self, settings: PathSettings) -> None:
        if self.info is None or math.prod(settings.latent_shape) != self.info.latent_dim:
            self._show_error(f"The stored path has latents of shape {settings.latent_shape} but "
                             f"{self.info.name if self.info else 'no model'} needs {self.info.latent_shape if self.info else '?'}")
            return
        for editor in list(self.extras):
            self._remove_editor(editor, rebuild=False)
        keys = settings.keyframes
        with QSignalBlocker(self.editor_a), QSignalBlocker(self.editor_b):
            self.editor_a.set_stored(keys[0])
            self.editor_b.set_stored(keys[-1])
        for endpoint in keys[1:-1]:
            self.add_keyframe(endpoint, rebuild=False)
        widgets = [self.frames_box, self.mode_combo, self.fps_box, self.scale_box, self.loop_check,
                   self.pingpong_check]
        blockers = [QSignalBlocker(w) for w in widgets]
        self.frames_box.setValue(settings.frames)
        self.mode_combo.setCurrentIndex(0 if settings.slerp else 1)
        self.fps_box.setValue(settings.fps)
        self.scale_box.setValue(settings.scale)
        self.loop_check.setChecked(settings.loop)
        self.pingpong_check.setChecked(settings.pingpong)
        del blockers
        self._sync_player()
        self._save_settings()
        self._current = 0
        self.build_path()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        key = event.key()
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            super().keyPressEvent(event)
        elif key == Qt.Key.Key_Space:
            self.toggle_play()
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Left):
            self.step(1 if key == Qt.Key.Key_Right else -1)
        elif key in (Qt.Key.Key_Home, Qt.Key.Key_End):
            self.pause()
            self.show_frame(0 if key == Qt.Key.Key_Home else len(self._frames) - 1)
        else:
            super().keyPressEvent(event)

    # -- drops --------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if _dropped_picture(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        path = _dropped_picture(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.restore_from_gif(path)


def _dropped_picture(event: QDragEnterEvent | QDropEvent) -> str | None:
    """The local .gif / .png among the dropped URLs (other drops go on to the window)."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in (".gif", ".png"):
            return url.toLocalFile()
    return None
