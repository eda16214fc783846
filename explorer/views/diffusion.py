"""The diffusion view: watch a DDPM denoise, step by step, and scrub back through every step.

A run is one job on the worker that streams a `StepFrame` per sampler step (x_t, the predicted
clean image x0 and the predicted noise, as uint8 grids). Every frame goes into a `StepStore`; the
screen follows the newest one on a timer at screen rate rather than once per step, so a
1000-step run on a fast device never queues more repaints than the display can show. The
timeline scrubs the store at any time — during the run or after it, or after a cancel, which
keeps the steps already made.

The forward process runs the other way: a clean image (a test-set item, a picture file or the
current sample) noised to a chosen t, shown next to the clean one, and denoised from there.

This file holds the panel: the model choice, the run and its state, following a run live and
showing its steps. It composes the control groups (sampler_controls.py, forward_process.py,
diffusion_export.py) and submits their jobs on its channels.
"""
from __future__ import annotations

import functools
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QSplitter, QVBoxLayout,
                               QWidget)

from explorer.context import AppContext
from explorer.model_info import ModelInfo
from explorer.settings import setting
from explorer.jobs.diffusion import (CHANNEL, EXPORT_CHANNEL, KIND_TITLES, KINDS, PREVIEW_CHANNEL, DiffusionError,
                                     DiffusionModel, DiffusionSettings, ForwardPreview, ForwardStart, RunSummary,
                                     StepFrame, describe_job, export_gif_job, forward_preview_job, run_job)
from explorer.views.actions import panel_action
from explorer.views.diffusion_export import GifExportControls
from explorer.views.diffusion_model_choice import DiffusionModelChoice
from explorer.views.diffusion_plots import SchedulePlot, StepStatsPlot
from explorer.views.forward_process import ForwardProcess
from explorer.views.frame_player import FramePlayer
from explorer.views.image_view import ImageView
from explorer.views.sampler_controls import SamplerControls
from explorer.views.step_store import StepStore
from explorer.worker import JobProgress, Result

MODEL_CHANNEL = "diffusion-model"
LIVE_INTERVAL_MS = 16          # the display follows a run at about screen rate
PLOT_INTERVAL_S = 0.25         # the plots follow it more slowly
PREVIEW_DELAY_MS = 60          # a slider drag asks for one preview per pause, not one per pixel
VIEW_TIPS = {
    "x_t": "The sample after this step: pure noise at the start, the generated image at the end",
    "x0": "The network's current guess of the clean image (x0 = (x_t − √(1−ᾱ) ε̂) / √ᾱ)",
    "eps": "The noise the network sees in x_t; grey is 0, black and white are ∓3",
}
EMPTY_MESSAGE = ("No DDPM is open.\nChoose one above, or Open… a DDPM checkpoint "
                 "(train one with `latent-explorer train ddpm`).")


class DiffusionPanel(QWidget):
    """Run a DDPM / DDIM sampler and look at every step. Construct with the app's AppContext."""

    model_changed = Signal(object)       # DiffusionModel now in use
    run_started = Signal(int)            # request id
    run_finished = Signal(object)        # the run's Result (ok, cancelled or failed)
    step_shown = Signal(int)             # position of the step now on screen
    preview_shown = Signal(object)       # ForwardPreview
    export_finished = Signal(str)        # the GIF's path, "" when it failed
    error_shown = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.settings = context.settings
        self.store = StepStore()
        self.model: DiffusionModel | None = None
        self.source: str | None = None
        self.last_summary: RunSummary | None = None
        self.last_preview: ForwardPreview | None = None
        self._running = False
        self._follow = True
        self._dirty = False
        self._shown = -1
        self.runs = context.channel(CHANNEL)
        self.describes = context.channel(MODEL_CHANNEL)
        self.previews = context.channel(PREVIEW_CHANNEL)
        self.exports = context.channel(EXPORT_CHANNEL)
        self._plotted_at = 0.0
        self.steps_received = 0          # frames taken into the store (all runs)
        self.screen_updates = 0          # live refreshes that put a new step on screen

        self._live_timer = QTimer(self)
        self._live_timer.setInterval(LIVE_INTERVAL_MS)
        self._live_timer.timeout.connect(self._refresh_live)
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.request_preview)
        self._build()
        self._build_actions()
        self._restore_splitters()

        self.runs.result_ready.connect(self._on_run_finished)
        self.runs.progress_changed.connect(self._on_run_progress)
        self.describes.result_ready.connect(self._on_model)
        self.previews.result_ready.connect(self._on_preview)
        self.exports.result_ready.connect(self._on_export)
        self.exports.progress_changed.connect(self._on_export_progress)
        context.model_opened.connect(self._on_model_opened)
        self._populate_models()
        self._set_idle_state()

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        self.views: dict[str, ImageView] = {}
        view_row = QHBoxLayout()
        view_row.setSpacing(6)
        for kind in KINDS:
            view = ImageView(minimum=150)
            view.setToolTip(VIEW_TIPS[kind])
            title = QLabel(KIND_TITLES[kind])
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            title.setStyleSheet("font-weight: 600;")
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(title)
            column.addWidget(view, 1)
            view_row.addLayout(column, 1)
            self.views[kind] = view

        # a whole run replays in about four seconds, however many steps it kept
        self.timeline = FramePlayer(fps=30, replay_seconds=4.0, ends="stop")
        self.timeline.slider.setToolTip("Scrub through every kept step — during the run or after it")
        self.timeline.last_button.setToolTip("Last step (End); during a run, follow it live")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.progress.setToolTip("Steps made by the running sampler")
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("color: palette(mid);")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        images = QWidget()
        il = QVBoxLayout(images)
        il.setContentsMargins(0, 0, 0, 0)
        il.addLayout(view_row, 1)
        il.addWidget(self.timeline)
        il.addWidget(self.progress)
        il.addWidget(self.status_label)

        self.schedule_plot = SchedulePlot()
        self.stats_plot = StepStatsPlot()
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.schedule_plot)
        plots.addWidget(self.stats_plot)
        plots.setChildrenCollapsible(False)

        self.left_split = QSplitter(Qt.Orientation.Vertical)
        self.left_split.addWidget(images)
        self.left_split.addWidget(plots)
        self.left_split.setStretchFactor(0, 3)
        self.left_split.setStretchFactor(1, 2)
        self.left_split.setChildrenCollapsible(False)

        self.model_choice = DiffusionModelChoice(self.settings)
        self.sampler = SamplerControls(self.settings)
        self.forward = ForwardProcess(self.settings, self.store)
        self.export = GifExportControls(self.settings)
        controls = QWidget()
        cl = QVBoxLayout(controls)
        cl.setContentsMargins(4, 0, 4, 0)
        cl.addWidget(self.model_choice)
        cl.addWidget(self.sampler)
        cl.addLayout(self._build_run_row())
        cl.addWidget(self.forward)
        cl.addWidget(self.export)
        cl.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumWidth(310)
        scroll.setMaximumWidth(440)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.controls = controls

        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.addWidget(self.left_split)
        self.split.addWidget(scroll)
        self.split.setStretchFactor(0, 1)
        self.split.setStretchFactor(1, 0)
        self.split.setChildrenCollapsible(False)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.split)

        self.timeline.position_chosen.connect(self._scrubbed)
        self.model_choice.chosen.connect(self._model_chosen)
        self.model_choice.opened.connect(self.set_source)
        self.sampler.changed.connect(self._sampler_changed)
        self.forward.changed.connect(self._preview_timer.start)
        self.forward.denoise_requested.connect(lambda: self.denoise_from_t())
        self.export.changed.connect(self._update_export)
        self.export.export_requested.connect(lambda: self.export_gif())

    def _build_run_row(self) -> QHBoxLayout:
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Sample from noise, keeping every step (Ctrl+Enter)")
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current step; the steps made are kept (Esc)")
        row = QHBoxLayout()
        row.addWidget(self.run_button, 2)
        row.addWidget(self.cancel_button, 1)
        self.run_button.clicked.connect(lambda: self.run())
        self.cancel_button.clicked.connect(self.cancel)
        return row

    def _build_actions(self) -> None:
        action = functools.partial(panel_action, self)
        self.run_action = action("Run sampler", "Ctrl+Return", lambda: self.run(), "Sample from noise")
        self.cancel_action = action("Cancel run", "Escape", self.cancel, "Stop the running sampler")
        self.denoise_action = action("Denoise from t", "Ctrl+Shift+Return", lambda: self.denoise_from_t(),
                                     "Noise the chosen image to t and denoise it")
        self.play_action = action("Play / pause", "Space", self.timeline.toggle_play, "Replay the kept steps")
        self.back_action = action("Step back", "Left", lambda: self.timeline.step(-1), "One step back")
        self.forward_action = action("Step forward", "Right", lambda: self.timeline.step(1), "One step forward")
        self.back10_action = action("Ten steps back", "Shift+Left", lambda: self.timeline.step(-10), "Ten steps back")
        self.forward10_action = action("Ten steps forward", "Shift+Right", lambda: self.timeline.step(10),
                                       "Ten steps forward")
        self.first_action = action("First step", "Home", self.timeline.first, "The first kept step")
        self.last_action = action("Last step", "End", self.timeline.last, "The newest step (follows a run)")
        self.export_action = action("Export GIF…", "Ctrl+E", lambda: self.export_gif(), "Save the run as a GIF")
        self.seed_action = action("Random seed", "Ctrl+R", self.sampler.randomize_seed, "A new random seed")

    def edit_actions(self) -> list[QAction | None]:
        """Actions for the window's menus (their shortcuts work while this panel has focus)."""
        return [self.run_action, self.cancel_action, self.denoise_action, None, self.play_action,
                self.back_action, self.forward_action, self.first_action, self.last_action, None,
                self.seed_action, self.export_action]

    def view_actions(self) -> list[QAction]:
        return []

    def _restore_splitters(self) -> None:
        s = self.settings
        for key, splitter in (("split", self.split), ("left_split", self.left_split)):
            state = setting(s, f"diffusion/{key}", QByteArray(), QByteArray)
            if not state.isEmpty():
                splitter.restoreState(state)
        self.split.splitterMoved.connect(lambda *_: s.setValue("diffusion/split", self.split.saveState()))
        self.left_split.splitterMoved.connect(
            lambda *_: s.setValue("diffusion/left_split", self.left_split.saveState()))

    # -- the model ----------------------------------------------------------------------------
    def _populate_models(self) -> None:
        """Bundled DDPMs and the app's current model when it is one; then pick one to use."""
        source = self.model_choice.fill(self.context.models, self.context.current)
        if source is None:
            self._show_empty()
        else:
            self.set_source(source)

    def _on_model_opened(self, info: ModelInfo) -> None:
        """The app opened a model: an iterative one (a DDPM) becomes this view's model too."""
        if info.can("sampler"):
            self.model_choice.add(info.name, info.source)
            self.set_source(info.source)

    def _model_chosen(self, source: str) -> None:
        if source != self.source:
            self.set_source(source)

    def set_source(self, source: str) -> int:
        """Use the DDPM at `source` (bundled name or path); it loads on the worker. Returns the
        request id, 0 when `source` is already in use."""
        if source == self.source and (self.model is not None or self.describes.busy):
            return 0
        self._abandon_run()
        self.source = source
        self.model = None
        request_id = self.describes.submit(describe_job(source), label=f"open {Path(source).name}")
        self.model_choice.show_opening(source)
        self._set_idle_state()
        return request_id

    def _on_model(self, result: Result) -> None:
        if result.cancelled:
            return
        if not result.ok:
            self.model = None
            self.model_choice.show_none()
            self._error(f"Cannot use this model:\n{_message(result.error)}")
            self._set_idle_state()
            return
        model: DiffusionModel = result.value
        self.model = model
        self.model_choice.show_model(model)
        self.sampler.set_model(model)
        self.forward.set_num_timesteps(model.schedule.num_timesteps)
        self.schedule_plot.set_schedule(model.schedule)
        self._clear_run()
        for view in self.views.values():
            view.clear_message()
        self.views["x_t"].show_message("Press Run (Ctrl+Enter) to sample")
        self._set_idle_state()
        self.request_preview()
        self.model_changed.emit(model)

    def _show_empty(self) -> None:
        self.source = None
        self.model = None
        self.model_choice.show_none()
        self.views["x_t"].show_message(EMPTY_MESSAGE)
        self._set_idle_state()

    # -- controls -----------------------------------------------------------------------------
    def diffusion_settings(self) -> DiffusionSettings:
        return self.sampler.diffusion_settings()

    def set_diffusion_settings(self, settings: DiffusionSettings) -> None:
        """Puts `settings` into the controls (for scripts, tests and restoring a run)."""
        self.sampler.set_diffusion_settings(settings)

    def _sampler_changed(self) -> None:
        self.forward.set_batch(self.sampler.batch_spin.value())
        # The preview snaps t to the sampler's timesteps, which depend on these controls.
        if self.forward.isEnabled():
            self._preview_timer.start()

    # -- running ------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    @property
    def run_request_id(self) -> int:
        return self.runs.newest_id

    def run(self, start: ForwardStart | None = None) -> int:
        """Start a run with the controls' settings (from noise, or from `start`); returns its id."""
        if self.source is None or self.model is None:
            self._error("Open a DDPM first." if self.source is None else "The model is still loading.")
            return 0
        settings = self.diffusion_settings()
        T = self.model.schedule.num_timesteps
        self.timeline.pause()
        self._clear_run()
        total = T if settings.sampler == "ddpm" else settings.num_steps
        what = f"from {start.source.describe()} at t ≈ {start.t}" if start is not None else "from noise"
        self.store.start(total if start is None else 0, f"{settings.describe()} · {what}")
        label = "denoise" if start is not None else "sample"
        run_id = self.runs.submit(run_job(self.source, settings, start), label=label)
        self._running = True
        self._follow = True
        for view in self.views.values():
            view.clear_message()
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self.status_label.setText(f"Running: {self.store.description}")
        self.context.status.emit(f"Diffusion: {self.store.description}")
        self._live_timer.start()
        self._set_idle_state()
        self.run_started.emit(run_id)
        return run_id

    def cancel(self) -> None:
        """Stop the running sampler after its current step; what it made stays."""
        if self._running:
            self.runs.cancel()
            self.progress.setFormat("cancelling…")

    def _abandon_run(self) -> None:
        """Stop the running sampler and ignore whatever it still sends (the model changes)."""
        if self._running:
            self.runs.reset()
            self._running = False
            self._live_timer.stop()
            self.progress.setFormat("cancelled")

    def denoise_from_t(self) -> int:
        """Run the sampler from the chosen image noised to the chosen t; returns the run's id."""
        if self.model is None or self.source is None:
            self._error("Open a DDPM first.")
            return 0
        start = self.forward.start(self._shown)
        if isinstance(start, str):
            self.forward.noised_view.show_message(start)
            self.status_label.setText(start)
            return 0
        return self.run(start)

    def _clear_run(self) -> None:
        self.store.clear()
        self._shown = -1
        self.last_summary = None
        self.timeline.set_count(0)
        self.stats_plot.clear()
        self.schedule_plot.set_t(None)
        for view in self.views.values():
            view.clear()
        self._update_export()

    def _on_run_progress(self, progress: JobProgress) -> None:
        if not isinstance(progress.partial, tuple):
            return
        for frame in progress.partial:
            if isinstance(frame, StepFrame):
                self.store.add(frame)
                self.steps_received += 1
        self._dirty = True

    def _refresh_live(self) -> None:
        """At screen rate during a run: the newest kept step on screen (when following), the
        timeline's length and the progress bar; the plots at a few hertz, since repainting them
        costs more than everything else together."""
        if not self._dirty:
            return
        self._dirty = False
        count = len(self.store)
        self.timeline.set_count(count)
        now = time.monotonic()
        plots = not self._running or now - self._plotted_at >= PLOT_INTERVAL_S
        if plots:
            self._plotted_at = now
            self.stats_plot.set_stats(self.store.x_std, self.store.x0_change, self.store.total)
            # QProgressBar repaints at once on every change: it follows at the plots' pace, so it
            # shows a share; the step on screen is named by the timeline, at screen rate
            self.progress.setFormat("%p% of the steps made")
            self.progress.setRange(0, max(1, self.store.total))
            self.progress.setValue(count)
        if count and (self._follow or self._shown < 0):
            self.show_step(count - 1, plots=plots)
            self.screen_updates += 1

    def _on_run_finished(self, result: Result) -> None:
        self._running = False
        self._live_timer.stop()
        self._dirty = True
        self._refresh_live()
        self.store.finish()
        made = len(self.store)
        if result.ok:
            summary: RunSummary = result.value
            self.last_summary = summary
            graphs = " with CUDA graphs" if summary.cuda_graphs else ""
            text = (f"Done: {summary.steps_done} steps in {summary.elapsed_s:.2f} s on "
                    f"{summary.device}{graphs} ({summary.elapsed_s / max(1, summary.steps_done) * 1000:.1f} ms/step)")
            self.progress.setFormat(f"done · {made} steps")
        elif result.cancelled:
            text = (f"Cancelled after {made} of {self.store.total} steps; the steps made are kept"
                    if made else "Cancelled before the first step")
            self.progress.setFormat(f"cancelled · {made}/{self.store.total}")
        else:
            text = f"The run failed: {_message(result.error)}"
            self.progress.setFormat("failed")
            self._error(text)
        self.status_label.setText(text)
        self.context.status.emit(f"Diffusion: {text}")
        self._set_idle_state()
        self._update_export()
        if self.forward.uses_current_sample:
            self._preview_timer.start()
        self.run_finished.emit(result)

    # -- showing steps ------------------------------------------------------------------------
    @property
    def shown_position(self) -> int:
        """The kept step on screen, -1 for none."""
        return self._shown

    def show_step(self, position: int, plots: bool = True) -> None:
        """Put kept step `position` on screen (x_t, x0, noise, timeline, and the plots' markers
        unless `plots` is False)."""
        grids = self.store.grids(position)
        for kind, grid in zip(KINDS, grids):
            self.views[kind].set_image(grid)
        t = self.store.t(position)
        self._shown = position
        self.timeline.set_position(position, f"step {position + 1}/{self.store.total} · t = {t}")
        if plots:
            self.schedule_plot.set_t(t)
            self.stats_plot.set_position(position)
        self.step_shown.emit(position)

    def _scrubbed(self, position: int) -> None:
        if not len(self.store):
            return
        # at the end of the timeline as the user sees it (the store may already hold more)
        self._follow = self._running and position >= self.timeline.count - 1
        self.show_step(position)
        if self.forward.uses_current_sample:
            self._preview_timer.start()

    # -- the forward process ------------------------------------------------------------------
    def request_preview(self) -> int:
        """Ask for the chosen image noised to the chosen t (the start of `denoise_from_t`)."""
        if self.model is None or self.source is None:
            return 0
        start = self.forward.start(self._shown)
        if isinstance(start, str):
            self.forward.show_no_image(start)
            return 0
        return self.previews.submit(forward_preview_job(self.source, start, self.diffusion_settings()),
                                    label="noise preview")

    def _on_preview(self, result: Result) -> None:
        if result.cancelled:
            return
        if not result.ok:
            self.forward.show_failed(_message(result.error))
            return
        preview: ForwardPreview = result.value
        self.last_preview = preview
        self.forward.show_preview(preview, self.model.info.class_names if self.model is not None else None)
        if not self._running and self._shown < 0:
            self.schedule_plot.set_t(preview.t)
        self.preview_shown.emit(preview)

    # -- export -------------------------------------------------------------------------------
    def _update_export(self) -> None:
        self.export.set_available(len(self.store), self._running)

    def export_gif(self, path: str | None = None) -> int:
        """Write every k-th kept step as a GIF (on the worker); returns the request id."""
        if not len(self.store):
            self._error("Nothing to export yet: run the sampler first.")
            return 0
        if path is None:
            path = self.export.ask_path()
            if not path:
                return 0
        self.export.remember_folder(path)
        images, positions, ts = self.store.export_selection(self.export.every)
        job = export_gif_job(str(path), images, positions, ts, self.store.total,
                             self.export.frame_content, self.export.fps)
        request_id = self.exports.submit(job, label="export GIF")
        self.progress.setFormat("writing the GIF…")
        self.export.export_button.setEnabled(False)
        return request_id

    def _on_export_progress(self, progress: JobProgress) -> None:
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(progress.done)
        self.progress.setFormat(f"{progress.message} %v/%m")

    def _on_export(self, result: Result) -> None:
        self._update_export()
        if result.ok:
            text = f"Wrote {result.value}"
            self.progress.setFormat("GIF written")
            self.export_finished.emit(str(result.value))
        else:
            text = "GIF export cancelled" if result.cancelled else f"GIF export failed: {_message(result.error)}"
            self.progress.setFormat("export failed")
            self.export_finished.emit("")
        self.status_label.setText(text)
        self.context.status.emit(text)

    # -- state --------------------------------------------------------------------------------
    def _error(self, message: str) -> None:
        self.views["x_t"].show_message(message, error=True)
        self.status_label.setText(message.replace("\n", " "))
        self.context.status.emit(message.replace("\n", " "))
        self.error_shown.emit(message)

    def _set_idle_state(self) -> None:
        ready = self.model is not None
        self.run_button.setEnabled(ready)
        self.run_button.setText("Restart" if self._running else "Run")
        self.cancel_button.setEnabled(self._running)
        self.forward.setEnabled(ready)
        self.sampler.set_ready(ready, ready and self.model.info.can("conditional"))
        self._update_export()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.timeline.pause()
        super().hideEvent(event)


def _message(error: str | None) -> str:
    """A job's error as a user reads it: our own refusals are already written for users, the
    class name in front adds nothing."""
    text = error or "unknown error"
    prefix = f"{DiffusionError.__name__}: "
    return text[len(prefix):] if text.startswith(prefix) else text
