"""The interpolation panel: a path between two latent points (through optional keyframes), shown
as an animated preview, a filmstrip of every frame, and plots of what happens along the way (the
classifier's verdict and the distance to the nearest training image); exported as a GIF or a PNG
filmstrip that carries the path's settings, so dropping the file back restores the path.

All model work (drawing seeds, encoding pictures, decoding frames, classifying, exporting) runs on
the inference worker through the jobs in explorer/jobs/interpolation.py; this view only builds
requests and shows the NumPy arrays that come back.

This file holds the panel: it follows the opened model, decodes the path when it changes, shows
the result in the filmstrip and plots, runs exports and restores a path from a file. Its parts
are the path controls (path_controls.py), the preview and playback (path_preview.py) and the
export controls (interpolation_export.py).
"""
from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QSplitter, QVBoxLayout, QWidget

from explorer.context import EMPTY_HINT, AppContext
from explorer.export import ExportError, read_gif_settings
from explorer.model_info import ModelInfo
from explorer.jobs.interpolation import (ExportResult, FramesChunk, PathResult, PathSettings, export_job,
                                         interpolation_job)
from explorer.views.actions import panel_action
from explorer.views.endpoint_editor import PointSource
from explorer.views.filmstrip import Filmstrip
from explorer.views.interpolation_export import PathExportControls
from explorer.views.path_controls import PathControls
from explorer.views.path_plot import CLASS_TIP, DISTANCE_TIP, PathPlot
from explorer.views.path_preview import PathPreview
from explorer.worker import JobProgress, Result

CHANNEL = "interpolate"
EXPORT_CHANNEL = "interpolate-export"
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
        self.paths = context.channel(CHANNEL)
        self.exports = context.channel(EXPORT_CHANNEL)
        self._pending_restore: PathSettings | None = None
        self._dirty = False
        self._rebuild_timer = QTimer(self)
        self._rebuild_timer.setSingleShot(True)
        self._rebuild_timer.setInterval(REBUILD_DELAY_MS)
        self._rebuild_timer.timeout.connect(self._rebuild_if_visible)
        self._started_playing = False   # the first path plays by itself; after that, the user decides

        self._build()
        self._build_actions()
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

        self.paths.result_ready.connect(self._on_path)
        self.paths.progress_changed.connect(self._on_path_progress)
        self.exports.result_ready.connect(self._on_export)
        self.exports.progress_changed.connect(self.export.show_progress)
        context.model_opened.connect(self._follow)
        context.model_failed.connect(self._on_model_failed)
        if context.current is not None and context.current.decodes_latents:
            self.set_model(context.current)
        else:
            self._show_empty()

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        settings = self.context.settings
        self.path = PathControls(settings, self.context.bookmarks)
        self.export = PathExportControls(settings)
        controls = QWidget()
        cl = QVBoxLayout(controls)
        cl.setContentsMargins(0, 0, 6, 0)
        cl.addWidget(self.path)
        cl.addWidget(self.export)
        cl.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(340)
        scroll.setMaximumWidth(470)
        self.controls = controls

        self.preview = PathPreview(settings)
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
        self.view_split.addWidget(self.preview)
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

        self.path.changed.connect(self._schedule_build)
        self.path.build_requested.connect(self.build_path)
        self.export.export_requested.connect(lambda kind: self._start_export(kind, None))
        self.export.cancel_requested.connect(self.cancel_export)
        self.preview.frame_shown.connect(self._frame_shown)
        self.filmstrip.frame_clicked.connect(self._frame_picked)
        self.plot.frame_picked.connect(self._frame_picked)

    def _build_actions(self) -> None:
        action = functools.partial(panel_action, self)
        self.export_gif_action = action("Export interpolation as GIF…", "Ctrl+E", lambda: self.export_gif(),
                                        "Save the path as an animated GIF")
        self.export_png_action = action("Export interpolation filmstrip…", "Ctrl+Shift+E",
                                        lambda: self.export_filmstrip(), "Save every frame of the path as one PNG")
        self.build_action = action("Update path", "Ctrl+Return", self.build_path, "Decode the path now")
        # Space and the arrow keys are handled in keyPressEvent, not as shortcuts: a focused
        # button, check box or text field keeps its own use of them.
        self.play_action = action("Play / pause preview", None, self.preview.toggle_play,
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
        self.path.set_point_source(source)

    # -- model --------------------------------------------------------------------------------
    def _follow(self, info: ModelInfo) -> None:
        """The app opened a model: one that decodes latents becomes this view's model."""
        if info.decodes_latents:
            self.set_model(info)

    def set_model(self, info: ModelInfo) -> None:
        """Follows the opened model: endpoints reset to two seeds (unless a restore waits for it)."""
        self.info = info
        self.result = None
        self.preview.set_analysis(None)
        self.paths.reset()
        self.path.set_model(info)
        self.controls.setEnabled(True)
        self.preview.view.clear_message()
        self._clear_path(self.path.frames)
        pending = self._pending_restore
        if pending is not None and self.context.resolve_source(pending.model) == info.source:
            self._pending_restore = None
            self._apply_restore(pending)
            return
        self.path.start_from_seeds()
        self._schedule_build()

    def _show_empty(self) -> None:
        self.info = None
        self.controls.setEnabled(False)
        self.preview.view.show_message(EMPTY_HINT)

    def _on_model_failed(self, message: str) -> None:
        if self._pending_restore is not None:
            self._pending_restore = None
            self._show_error(f"Could not open the GIF's model: {message}")

    # -- the path -----------------------------------------------------------------------------
    def path_settings(self) -> PathSettings | None:
        """The path as chosen in the controls (endpoints not yet resolved), or None if incomplete."""
        if self.info is None:
            return None
        keyframes = self.path.keyframes()
        if isinstance(keyframes, str):
            self.preview.view.show_message(keyframes)
            return None
        return PathSettings(model=self.info.source, model_name=self.info.name,
                            latent_shape=tuple(self.info.latent_shape), keyframes=keyframes,
                            frames=self.path.frames, slerp=self.path.slerp,
                            fps=self.preview.fps, scale=self.export.scale,
                            loop=self.export.loop, pingpong=self.preview.pingpong)

    def _schedule_build(self) -> None:
        self._dirty = True
        self._rebuild_timer.start()

    def _rebuild_if_visible(self) -> None:
        if self.isVisible():
            self.build_path()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._dirty and self.info is not None:
            self.build_path()        # at once: the delay is for coalescing edits, not for showing

    def build_path(self) -> int:
        """Submits the path to the worker now; returns the request id (0 if the path is incomplete)."""
        self._rebuild_timer.stop()
        settings = self.path_settings()
        if settings is None:
            return 0
        self._dirty = False
        self.preview.view.clear_message()
        request_id = self.paths.submit(interpolation_job(settings, self.context.classifier_for(self.info),
                                                         self.path.analyse), label="interpolation")
        self._clear_path(settings.frames)
        self.path.show_decoding(settings.frames)
        return request_id

    def _clear_path(self, frames: int) -> None:
        self.filmstrip.set_count(frames)
        self.filmstrip.set_tags({})
        self.plot.clear_analysis(frames)
        self.notes.setVisible(False)
        self.preview.clear(frames)

    def _on_path_progress(self, progress: JobProgress) -> None:
        self.path.show_progress(progress)
        chunk = progress.partial
        if isinstance(chunk, FramesChunk):
            self._put_frames(chunk.start, chunk.images)

    def _put_frames(self, start: int, images: np.ndarray) -> None:
        self.filmstrip.set_frames(images, start)
        self.preview.put_frames(start, images)

    def _on_path(self, result: Result) -> None:
        if result.cancelled:
            return
        self.path.hide_progress()
        if not result.ok:
            self._show_error(f"The path could not be made:\n{result.error}")
            return
        value: PathResult = result.value
        self.result = value
        self.preview.set_analysis(value.analysis)
        self._put_frames(0, value.frames)
        keys = len(value.settings.keyframes)
        frames = value.settings.frames
        if frames >= keys:
            names = ["A", *(str(i) for i in range(1, keys - 1)), "B"]
            self.filmstrip.set_tags({round(j * (frames - 1) / (keys - 1)): names[j] for j in range(keys)})
        self.filmstrip.set_warnings(value.analysis.warnings)
        if self.path.analyse:
            self.plot.set_analysis(value.analysis, frames)
        notes = list(value.analysis.notes)
        if value.analysis.warnings:
            notes.insert(0, f"⚠ The path leaves the training data at frame"
                            f"{'s' if len(value.analysis.warnings) > 1 else ''} "
                            f"{', '.join(str(i + 1) for i in value.analysis.warnings)}.")
        self.notes.setText("\n".join(notes))
        self.notes.setVisible(bool(notes))
        self.preview.show_frame(self.preview.current_frame)
        self.context.status.emit(f"Interpolated {frames} frames in {result.elapsed_s * 1000:.0f} ms on {result.device}")
        if not self._started_playing:
            self._started_playing = True
            self.preview.play()
        self.path_shown.emit(value)

    def _show_error(self, message: str) -> None:
        self.preview.view.show_message(message, error=True)
        self.context.status.emit(message.replace("\n", " "))
        self.error_shown.emit(message)

    # -- the frame on screen ------------------------------------------------------------------
    def _frame_shown(self, index: int) -> None:
        self.filmstrip.set_current(index)
        self.plot.set_current(index)

    def _frame_picked(self, index: int) -> None:
        self.preview.pause()
        self.preview.show_frame(index)

    # -- export -------------------------------------------------------------------------------
    def export_settings(self) -> PathSettings | None:
        """The shown path with the current speed, upscale, loop and ping-pong choices."""
        if self.result is None:
            return None
        return dataclasses.replace(self.result.settings, fps=self.preview.fps, scale=self.export.scale,
                                   loop=self.export.loop, pingpong=self.preview.pingpong)

    def export_gif(self, path: str | None = None) -> int:
        """Exports the shown path as a GIF (asking for a file when `path` is None); returns the request id."""
        return self._start_export("gif", path)

    def export_filmstrip(self, path: str | None = None) -> int:
        return self._start_export("png", path)

    def _start_export(self, kind: str, path: str | None) -> int:
        settings = self.export_settings()
        if settings is None or self.result is None:
            self.export.show_note("Make a path first: the export writes the frames of the last path made.")
            return 0
        frames = self.result.frames
        chosen = self.export.choose_target(kind, settings, path)
        if chosen is None:
            return 0
        target, overwrite = chosen
        request_id = self.exports.submit(export_job(settings, str(target), kind, frames, overwrite),
                                         label=f"export {target.name}")
        self.export.show_started(target.name)
        return request_id

    def cancel_export(self) -> None:
        """Stops the running export; its "cancelled" result puts the export controls back."""
        if self.exports.busy:
            self.exports.cancel()
            self.export.show_note("Cancelling the export…")

    @property
    def exporting(self) -> bool:
        return self.exports.busy

    def _on_export(self, result: Result) -> None:
        if result.cancelled:
            self.export.show_done("Export cancelled; nothing was written.")
        elif not result.ok:
            self.export.show_done(f"Export failed: {result.error}")
            self.context.status.emit(f"Export failed: {result.error}")
        else:
            value: ExportResult = result.value
            self.export.show_done(f"Wrote {value.path} ({value.frames} frame{'s' if value.frames != 1 else ''}).")
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
        self.path.apply(settings)
        self.preview.apply(settings)
        self.export.apply(settings)
        self.preview.rewind()
        self.build_path()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        key = event.key()
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            super().keyPressEvent(event)
        elif key == Qt.Key.Key_Space:
            self.preview.toggle_play()
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Left):
            self.preview.step(1 if key == Qt.Key.Key_Right else -1)
        elif key in (Qt.Key.Key_Home, Qt.Key.Key_End):
            self.preview.pause()
            self.preview.show_frame(0 if key == Qt.Key.Key_Home else self.preview.count - 1)
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
