"""The diffusion view: watch a DDPM denoise, step by step, and scrub back through every step.

A run is one job on the worker that streams a `StepFrame` per sampler step (x_t, the predicted
clean image x0 and the predicted noise, as uint8 grids). Every frame goes into a `StepStore`; the
screen follows the newest one on a timer at screen rate rather than once per step, so a
1000-step run on a fast device never queues more repaints than the display can show. The
timeline scrubs the store at any time — during the run or after it, or after a cancel, which
keeps the steps already made.

The forward process runs the other way: a clean image (a test-set item, a picture file or the
current sample) noised to a chosen t, shown next to the clean one, and denoised from there.
"""
from __future__ import annotations

import functools
import random
import time
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QProgressBar, QPushButton, QScrollArea, QSizePolicy, QSlider, QSpinBox,
                               QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from explorer.context import AppContext
from explorer.model_info import ModelInfo
from explorer.jobs.diffusion import (CHANNEL, EXPORT_CHANNEL, KIND_TITLES, KINDS, MAX_BATCH, PREVIEW_CHANNEL,
                                     DiffusionError, DiffusionModel, DiffusionSettings, ForwardPreview,
                                     ForwardStart, ImageSource, RunSummary, StepFrame, describe_job,
                                     export_gif_job, forward_preview_job, run_job)
from explorer.views.actions import panel_action
from explorer.views.diffusion_plots import SchedulePlot, StepStatsPlot
from explorer.views.image_view import ImageView
from explorer.views.step_store import StepStore, selection_size
from explorer.views.frame_player import FramePlayer
from explorer.worker import JobProgress, Result

MODEL_CHANNEL = "diffusion-model"
LIVE_INTERVAL_MS = 16          # the display follows a run at about screen rate
PLOT_INTERVAL_S = 0.25         # the plots follow it more slowly
PREVIEW_DELAY_MS = 60          # a slider drag asks for one preview per pause, not one per pixel
SOURCES = (("dataset", "Test-set item"), ("file", "Image file"), ("array", "Current sample"))
SHOW_NAMES = {"x_t": "x_t", "x0": "predicted x0", "eps": "predicted noise", "all": "all three"}
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
        self._restore_settings()

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

        controls = QWidget()
        cl = QVBoxLayout(controls)
        cl.setContentsMargins(4, 0, 4, 0)
        cl.addWidget(self._build_model_group())
        cl.addWidget(self._build_sampler_group())
        cl.addLayout(self._build_run_row())
        cl.addWidget(self._build_forward_group())
        cl.addWidget(self._build_export_group())
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

    def _build_model_group(self) -> QGroupBox:
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The DDPM this view samples from (bundled, opened in the app, or opened here)")
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(12)
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a DDPM checkpoint for this view")
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.model_label.setStyleSheet("color: palette(mid);")
        group = QGroupBox("Model")
        gl = QVBoxLayout(group)
        row = QHBoxLayout()
        row.addWidget(self.model_combo, 1)
        row.addWidget(self.open_button)
        gl.addLayout(row)
        gl.addWidget(self.model_label)
        self.model_combo.activated.connect(lambda _: self._model_chosen())
        self.open_button.clicked.connect(self.open_file)
        return group

    def _build_sampler_group(self) -> QGroupBox:
        self.sampler_combo = QComboBox()
        self.sampler_combo.addItem("DDPM — every timestep", "ddpm")
        self.sampler_combo.addItem("DDIM — fewer steps", "ddim")
        self.sampler_combo.setToolTip("DDPM: ancestral sampling through all T timesteps (Ho et al. 2020).\n"
                                      "DDIM: N evenly spaced timesteps; eta 0 is deterministic (Song et al. 2021)")
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 1000)
        self.steps_spin.setValue(50)
        self.steps_spin.setToolTip("DDIM steps: timesteps evenly spaced from T−1 down to 0")
        self.eta_spin = QDoubleSpinBox()
        self.eta_spin.setRange(0.0, 1.0)
        self.eta_spin.setSingleStep(0.1)
        self.eta_spin.setDecimals(2)
        self.eta_spin.setToolTip("DDIM eta: 0 is deterministic (the same seed gives the same image), "
                                 "1 adds as much fresh noise per step as DDPM")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("Seed of the starting noise x_T (and of the per-step noise)")
        self.seed_button = QPushButton("Random")
        self.seed_button.setToolTip("A new random seed (Ctrl+R)")
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.seed_button)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, MAX_BATCH)
        self.batch_spin.setToolTip(f"Samples run side by side, shown as a grid (up to {MAX_BATCH})")
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("The class a conditional model generates; 'unconditional' uses its null class")
        self.guidance_spin = QDoubleSpinBox()
        self.guidance_spin.setRange(0.0, 20.0)
        self.guidance_spin.setSingleStep(0.5)
        self.guidance_spin.setValue(1.0)
        self.guidance_spin.setToolTip("Classifier-free guidance w: ε = ε_uncond + (1 + w)(ε_cond − ε_uncond); "
                                      "0 is plain conditional sampling")
        group = QGroupBox("Sampler")
        form = QFormLayout(group)
        form.addRow("Sampler", self.sampler_combo)
        form.addRow("Steps", self.steps_spin)
        form.addRow("eta", self.eta_spin)
        form.addRow("Seed", seed_row)
        form.addRow("Batch", self.batch_spin)
        form.addRow("Class", self.class_combo)
        form.addRow("Guidance", self.guidance_spin)
        self.sampler_form = form
        self.sampler_combo.currentIndexChanged.connect(lambda _: self._sampler_changed())
        self.class_combo.currentIndexChanged.connect(lambda _: self._class_changed())
        self.seed_button.clicked.connect(self.randomize_seed)
        for spin in (self.steps_spin, self.eta_spin, self.seed_spin, self.batch_spin, self.guidance_spin):
            spin.valueChanged.connect(lambda _: self._controls_changed())
        return group

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

    def _build_forward_group(self) -> QGroupBox:
        self.source_combo = QComboBox()
        for key, name in SOURCES:
            self.source_combo.addItem(name, key)
        self.source_combo.setToolTip("The clean image to noise: a Fashion-MNIST test image, a picture "
                                     "file, or a sample of the last run")
        self.item_spin = QSpinBox()
        self.item_spin.setRange(0, 9999)
        self.item_spin.setToolTip("Index into the Fashion-MNIST test split")
        self.file_label = QLabel("no file")
        self.file_label.setStyleSheet("color: palette(mid);")
        self.file_button = QPushButton("Choose…")
        self.file_button.setToolTip("A picture; it is converted to the model's size and channels")
        file_row = QWidget()
        fr = QHBoxLayout(file_row)
        fr.setContentsMargins(0, 0, 0, 0)
        fr.addWidget(self.file_label, 1)
        fr.addWidget(self.file_button)
        self.sample_spin = QSpinBox()
        self.sample_spin.setRange(1, MAX_BATCH)
        self.sample_spin.setToolTip("Which sample of the batch (1 is top left), at the step shown")
        self.source_stack = QStackedWidget()
        self.source_stack.addWidget(self.item_spin)
        self.source_stack.addWidget(file_row)
        self.source_stack.addWidget(self.sample_spin)
        self.source_stack.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.t_slider = QSlider(Qt.Orientation.Horizontal)
        self.t_slider.setRange(0, 999)
        self.t_slider.setValue(500)
        self.t_slider.setToolTip("The noise level t: 0 is the clean image, T−1 almost pure noise")
        self.t_label = QLabel()
        self.t_label.setWordWrap(True)
        self.clean_view = ImageView(minimum=90)
        self.clean_view.setToolTip("The clean image x0")
        self.noised_view = ImageView(minimum=90)
        self.noised_view.setToolTip("x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε: what is left of the image at this noise level")
        previews = QHBoxLayout()
        for title, view in (("clean x0", self.clean_view), ("noised x_t", self.noised_view)):
            column = QVBoxLayout()
            column.setSpacing(1)
            label = QLabel(title)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            column.addWidget(label)
            column.addWidget(view)
            previews.addLayout(column)
        self.denoise_button = QPushButton("Denoise from t")
        self.denoise_button.setToolTip("Run the sampler from this noised image to see what the model "
                                       "restores (Ctrl+Shift+Enter)")
        group = QGroupBox("Forward process")
        form = QFormLayout(group)
        form.addRow("Image", self.source_combo)
        form.addRow("", self.source_stack)
        form.addRow("Noise t", self.t_slider)
        form.addRow(self.t_label)
        form.addRow(previews)
        form.addRow(self.denoise_button)
        self.forward_group = group
        self.source_combo.currentIndexChanged.connect(lambda _: self._source_changed())
        self.item_spin.valueChanged.connect(lambda _: self._forward_changed())
        self.sample_spin.valueChanged.connect(lambda _: self._forward_changed())
        self.t_slider.valueChanged.connect(lambda _: self._forward_changed())
        self.file_button.clicked.connect(self.choose_image_file)
        self.denoise_button.clicked.connect(lambda: self.denoise_from_t())
        self._image_path = ""
        return group

    def _build_export_group(self) -> QGroupBox:
        self.every_spin = QSpinBox()
        self.every_spin.setRange(1, 1000)
        self.every_spin.setValue(5)
        self.every_spin.setToolTip("Keep every k-th step in the GIF (the last step is always in)")
        self.show_combo = QComboBox()
        for key, name in SHOW_NAMES.items():
            self.show_combo.addItem(name, key)
        self.show_combo.setToolTip("What each GIF frame shows")
        self.fps_spin = QSpinBox()
        self.fps_spin.setRange(1, 50)
        self.fps_spin.setValue(10)
        self.fps_spin.setSuffix(" fps")
        self.export_button = QPushButton("Export GIF…")
        self.export_button.setToolTip("The kept steps as an animated GIF, the step number on each frame (Ctrl+E)")
        self.export_label = QLabel()
        self.export_label.setStyleSheet("color: palette(mid);")
        group = QGroupBox("Export")
        form = QFormLayout(group)
        form.addRow("Every", self.every_spin)
        form.addRow("Show", self.show_combo)
        form.addRow("Speed", self.fps_spin)
        form.addRow(self.export_label, self.export_button)
        self.every_spin.valueChanged.connect(lambda _: self._export_changed())
        self.show_combo.currentIndexChanged.connect(lambda _: self._export_changed())
        self.fps_spin.valueChanged.connect(lambda _: self._export_changed())
        self.export_button.clicked.connect(lambda: self.export_gif())
        return group

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
        self.seed_action = action("Random seed", "Ctrl+R", self.randomize_seed, "A new random seed")

    def edit_actions(self) -> list[QAction | None]:
        """Actions for the window's menus (their shortcuts work while this panel has focus)."""
        return [self.run_action, self.cancel_action, self.denoise_action, None, self.play_action,
                self.back_action, self.forward_action, self.first_action, self.last_action, None,
                self.seed_action, self.export_action]

    def view_actions(self) -> list[QAction]:
        return []

    # -- settings -----------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings

        def value(key: str, default, kind):
            try:
                return s.value(f"diffusion/{key}", default, type=kind)
            except (TypeError, ValueError):
                return default

        blockers = [QSignalBlocker(w) for w in (self.sampler_combo, self.steps_spin, self.eta_spin, self.seed_spin,
                                                self.batch_spin, self.guidance_spin, self.source_combo,
                                                self.item_spin, self.t_slider, self.every_spin, self.show_combo,
                                                self.fps_spin)]
        self.sampler_combo.setCurrentIndex(max(0, self.sampler_combo.findData(value("sampler", "ddim", str))))
        self.steps_spin.setValue(value("steps", 50, int))
        self.eta_spin.setValue(value("eta", 0.0, float))
        self.seed_spin.setValue(value("seed", 0, int))
        self.batch_spin.setValue(value("batch", 4, int))
        self.guidance_spin.setValue(value("guidance", 1.0, float))
        self.source_combo.setCurrentIndex(max(0, self.source_combo.findData(value("forward_source", "dataset", str))))
        self.item_spin.setValue(value("forward_item", 0, int))
        self.t_slider.setValue(value("forward_t", 500, int))
        self.every_spin.setValue(value("every", 5, int))
        self.show_combo.setCurrentIndex(max(0, self.show_combo.findData(value("show", "x_t", str))))
        self.fps_spin.setValue(value("fps", 10, int))
        del blockers
        self._image_path = value("forward_file", "", str)
        self._show_image_path()
        self.source_stack.setCurrentIndex(self.source_combo.currentIndex())
        for key, splitter in (("split", self.split), ("left_split", self.left_split)):
            state = s.value(f"diffusion/{key}")
            if state is not None:
                splitter.restoreState(state)
        self.split.splitterMoved.connect(lambda *_: s.setValue("diffusion/split", self.split.saveState()))
        self.left_split.splitterMoved.connect(
            lambda *_: s.setValue("diffusion/left_split", self.left_split.saveState()))
        self._sampler_changed(save=False)
        self._export_changed(save=False)

    def _save_controls(self) -> None:
        s = self.settings
        s.setValue("diffusion/sampler", self.sampler_combo.currentData())
        s.setValue("diffusion/steps", self.steps_spin.value())
        s.setValue("diffusion/eta", self.eta_spin.value())
        s.setValue("diffusion/seed", self.seed_spin.value())
        s.setValue("diffusion/batch", self.batch_spin.value())
        s.setValue("diffusion/guidance", self.guidance_spin.value())

    # -- the model ----------------------------------------------------------------------------
    def _populate_models(self) -> None:
        """Bundled DDPMs and the app's current model when it is one; then pick one to use."""
        with QSignalBlocker(self.model_combo):
            self.model_combo.clear()
            for info in self.context.models:
                if info.can("sampler"):
                    self._add_model_item(info.name, info.source)
            current = self.context.current
            if current is not None and current.can("sampler"):
                self._add_model_item(current.name, current.source)
        preferred = [current.source] if current is not None and current.can("sampler") else []
        saved = self.settings.value("diffusion/model", "", type=str)
        if saved and self.model_combo.findData(saved) < 0 and Path(saved).is_file():
            self._add_model_item(Path(saved).stem, saved)      # a file opened here last time
        preferred += [saved] if saved else []
        for source in preferred + [self.model_combo.itemData(i) for i in range(self.model_combo.count())]:
            if source and self.model_combo.findData(source) >= 0:
                self.set_source(source)
                return
        self._show_empty()

    def _add_model_item(self, name: str, source: str) -> int:
        index = self.model_combo.findData(source)
        if index < 0:
            self.model_combo.addItem(name, source)
            index = self.model_combo.count() - 1
            self.model_combo.setItemData(index, source, Qt.ItemDataRole.ToolTipRole)
        return index

    def _on_model_opened(self, info: ModelInfo) -> None:
        """The app opened a model: an iterative one (a DDPM) becomes this view's model too."""
        if info.can("sampler"):
            self._add_model_item(info.name, info.source)
            self.set_source(info.source)

    def _model_chosen(self) -> None:
        source = self.model_combo.currentData()
        if source and source != self.source:
            self.set_source(source)

    def open_file(self) -> None:
        start = self.settings.value("diffusion/last_dir", str(Path.home()), type=str)
        path, _ = QFileDialog.getOpenFileName(self, "Open a DDPM checkpoint", start,
                                              "Checkpoints (*.safetensors *.pt *.pth);;All files (*)")
        if path:
            self.settings.setValue("diffusion/last_dir", str(Path(path).parent))
            self.set_source(str(Path(path).resolve()))

    def set_source(self, source: str) -> int:
        """Use the DDPM at `source` (bundled name or path); it loads on the worker. Returns the
        request id, 0 when `source` is already in use."""
        if source == self.source and (self.model is not None or self.describes.busy):
            return 0
        self._abandon_run()
        self.source = source
        self.model = None
        request_id = self.describes.submit(describe_job(source), label=f"open {Path(source).name}")
        self.model_label.setText(f"Opening {Path(source).name}…")
        self._set_idle_state()
        return request_id

    def _on_model(self, result: Result) -> None:
        if result.cancelled:
            return
        if not result.ok:
            self.model = None
            self.model_label.setText("")
            self._error(f"Cannot use this model:\n{_message(result.error)}")
            self._set_idle_state()
            return
        model: DiffusionModel = result.value
        self.model = model
        info = model.info
        index = self._add_model_item(info.name, info.source)
        with QSignalBlocker(self.model_combo):
            self.model_combo.setCurrentIndex(index)
        self.settings.setValue("diffusion/model", info.source)
        T = model.schedule.num_timesteps
        self.model_label.setText(f"{info.summary()} · {model.schedule.kind} schedule, T = {T}")
        self.sampler_combo.setItemText(0, f"DDPM — all {T} timesteps")
        self.steps_spin.setMaximum(T)
        with QSignalBlocker(self.t_slider):
            self.t_slider.setRange(0, T - 1)
        self._build_class_combo(info)
        self.schedule_plot.set_schedule(model.schedule)
        self._clear_run()
        for view in self.views.values():
            view.clear_message()
        self.views["x_t"].show_message("Press Run (Ctrl+Enter) to sample")
        self._set_idle_state()
        self.request_preview()
        self.model_changed.emit(model)

    def _build_class_combo(self, info: ModelInfo) -> None:
        saved = self.settings.value("diffusion/class", -1, type=int)
        with QSignalBlocker(self.class_combo):
            self.class_combo.clear()
            self.class_combo.addItem("unconditional", None)
            for k, name in enumerate(info.class_names[:info.num_classes]):
                self.class_combo.addItem(f"{k}: {name}", k)
            index = self.class_combo.findData(saved) if saved >= 0 else 0
            self.class_combo.setCurrentIndex(max(0, index))
        conditional = info.can("conditional")
        self.class_combo.setEnabled(conditional)
        self.class_combo.setToolTip("The class a conditional model generates" if conditional
                                    else "This model is unconditional")
        self._class_changed(save=False)

    def _show_empty(self) -> None:
        self.source = None
        self.model = None
        self.model_label.setText("")
        self.views["x_t"].show_message(EMPTY_MESSAGE)
        self._set_idle_state()

    # -- controls -----------------------------------------------------------------------------
    def diffusion_settings(self) -> DiffusionSettings:
        conditional = self.model is not None and self.model.info.can("conditional")
        class_index = self.class_combo.currentData() if conditional else None
        return DiffusionSettings(sampler=str(self.sampler_combo.currentData()), num_steps=self.steps_spin.value(),
                                 eta=self.eta_spin.value(), seed=self.seed_spin.value(),
                                 batch=self.batch_spin.value(),
                                 class_index=None if class_index is None else int(class_index),
                                 guidance=self.guidance_spin.value())

    def set_diffusion_settings(self, settings: DiffusionSettings) -> None:
        """Puts `settings` into the controls (for scripts, tests and restoring a run)."""
        self.sampler_combo.setCurrentIndex(max(0, self.sampler_combo.findData(settings.sampler)))
        self.steps_spin.setValue(settings.num_steps)
        self.eta_spin.setValue(settings.eta)
        self.seed_spin.setValue(settings.seed)
        self.batch_spin.setValue(settings.batch)
        self.guidance_spin.setValue(settings.guidance)
        index = 0 if settings.class_index is None else self.class_combo.findData(settings.class_index)
        self.class_combo.setCurrentIndex(max(0, index))

    def randomize_seed(self) -> None:
        self.seed_spin.setValue(random.randrange(0, 2**31 - 1))

    def _sampler_changed(self, save: bool = True) -> None:
        ddim = self.sampler_combo.currentData() == "ddim"
        self.steps_spin.setEnabled(ddim)
        self.eta_spin.setEnabled(ddim)
        if save:
            self._controls_changed()

    def _class_changed(self, save: bool = True) -> None:
        self.guidance_spin.setEnabled(self.class_combo.isEnabled() and self.class_combo.currentData() is not None)
        if save:
            data = self.class_combo.currentData()
            self.settings.setValue("diffusion/class", -1 if data is None else int(data))

    def _controls_changed(self) -> None:
        self._save_controls()
        self.sample_spin.setMaximum(self.batch_spin.value())
        # The preview snaps t to the sampler's timesteps, which depend on these controls.
        if self.forward_group.isEnabled():
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
        start = self._forward_start()
        if start is None:
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
        self._export_changed(save=False)

    def _on_run_progress(self, progress: JobProgress) -> None:
        if not isinstance(progress.partial, tuple):
            return
        for frame in progress.partial:
            if isinstance(frame, StepFrame):
                self.store.add(frame)
                self.steps_received += 1
        self._dirty = True

    def _on_export_progress(self, progress: JobProgress) -> None:
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(progress.done)
        self.progress.setFormat(f"{progress.message} %v/%m")

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
            # QProgressBar repaints at once on every change: it follows at the plots' pace
            if count:
                self.progress.setFormat(f"step {count}/{self.store.total} · t = {self.store.t(count - 1)}")
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
        self._export_changed(save=False)
        if self.source_combo.currentData() == "array":
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
        if self.source_combo.currentData() == "array":
            self._preview_timer.start()

    # -- the forward process ------------------------------------------------------------------
    def _source_changed(self) -> None:
        self.source_stack.setCurrentIndex(self.source_combo.currentIndex())
        self.settings.setValue("diffusion/forward_source", self.source_combo.currentData())
        self._forward_changed()

    def _forward_changed(self) -> None:
        self.settings.setValue("diffusion/forward_item", self.item_spin.value())
        self.settings.setValue("diffusion/forward_t", self.t_slider.value())
        self.t_label.setText(f"t = {self.t_slider.value()}")
        self._preview_timer.start()

    def choose_image_file(self) -> None:
        start = self._image_path or self.settings.value("diffusion/last_image_dir", str(Path.home()), type=str)
        path, _ = QFileDialog.getOpenFileName(self, "Choose an image to noise", start,
                                              "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)")
        if path:
            self.set_image_file(path)

    def set_image_file(self, path: str) -> None:
        self._image_path = str(path)
        self.settings.setValue("diffusion/forward_file", self._image_path)
        self.settings.setValue("diffusion/last_image_dir", str(Path(path).parent))
        self._show_image_path()
        self.source_combo.setCurrentIndex(self.source_combo.findData("file"))
        self._forward_changed()

    def _show_image_path(self) -> None:
        self.file_label.setText(Path(self._image_path).name if self._image_path else "no file")
        self.file_label.setToolTip(self._image_path)

    def _image_source(self) -> ImageSource | str:
        """The chosen clean image, or why there is none."""
        kind = self.source_combo.currentData()
        if kind == "dataset":
            return ImageSource("dataset", index=self.item_spin.value())
        if kind == "file":
            return ImageSource("file", path=self._image_path) if self._image_path else "Choose an image file."
        if not len(self.store) or self.store.layout is None:
            return "Run the sampler first: the current sample comes from the step shown."
        position = self._shown if self._shown >= 0 else len(self.store) - 1
        i = min(self.sample_spin.value(), self.store.layout.count) - 1
        return ImageSource("array", array=self.store.sample(position, i, "x_t").copy())

    def _forward_start(self) -> ForwardStart | None:
        if self.model is None or self.source is None:
            self._error("Open a DDPM first.")
            return None
        source = self._image_source()
        if isinstance(source, str):
            self.noised_view.show_message(source)
            self.status_label.setText(source)
            return None
        return ForwardStart(source, self.t_slider.value())

    def request_preview(self) -> int:
        """Ask for the chosen image noised to the chosen t (the start of `denoise_from_t`)."""
        if self.model is None or self.source is None:
            return 0
        source = self._image_source()
        if isinstance(source, str):
            self.clean_view.clear()
            self.noised_view.clear()
            self.noised_view.show_message(source)
            return 0
        start = ForwardStart(source, self.t_slider.value())
        return self.previews.submit(forward_preview_job(self.source, start, self.diffusion_settings()),
                                    label="noise preview")

    def _on_preview(self, result: Result) -> None:
        if result.cancelled:
            return
        if not result.ok:
            self.clean_view.clear()
            self.noised_view.clear()
            # the view is small: a short note there, the whole message in the label above it
            self.noised_view.show_message("no image", error=True)
            self.t_label.setText(_message(result.error))
            return
        preview: ForwardPreview = result.value
        self.last_preview = preview
        self.clean_view.clear_message()
        self.noised_view.clear_message()
        self.clean_view.set_image(preview.original)
        self.noised_view.set_image(preview.noised)
        label = ""
        if preview.label is not None and self.model is not None:
            names = self.model.info.class_names
            label = f" · {names[preview.label] if preview.label < len(names) else preview.label}"
        self.t_label.setText(f"t = {preview.t} (step {preview.start_index + 1} of {preview.total_steps}) · "
                             f"ᾱ = {preview.alpha_bar:.3g} · SNR = {preview.snr:.3g}{label}")
        if not self._running and self._shown < 0:
            self.schedule_plot.set_t(preview.t)
        self.preview_shown.emit(preview)

    # -- export -------------------------------------------------------------------------------
    def _export_changed(self, save: bool = True) -> None:
        if save:
            self.settings.setValue("diffusion/every", self.every_spin.value())
            self.settings.setValue("diffusion/show", self.show_combo.currentData())
            self.settings.setValue("diffusion/fps", self.fps_spin.value())
        count = len(self.store)
        self.export_label.setText(f"{selection_size(count, self.every_spin.value())} frames" if count else "")
        self.export_button.setEnabled(count > 0 and not self._running)

    def export_gif(self, path: str | None = None) -> int:
        """Write every k-th kept step as a GIF (on the worker); returns the request id."""
        if not len(self.store):
            self._error("Nothing to export yet: run the sampler first.")
            return 0
        if path is None:
            start = self.settings.value("diffusion/last_gif_dir", str(Path.home()), type=str)
            path, _ = QFileDialog.getSaveFileName(self, "Export the run as a GIF",
                                                  str(Path(start) / "denoise.gif"), "GIF images (*.gif)")
            if not path:
                return 0
            if not path.lower().endswith(".gif"):
                path += ".gif"
        self.settings.setValue("diffusion/last_gif_dir", str(Path(path).parent))
        images, positions, ts = self.store.export_selection(self.every_spin.value())
        job = export_gif_job(str(path), images, positions, ts, self.store.total,
                             str(self.show_combo.currentData()), float(self.fps_spin.value()))
        request_id = self.exports.submit(job, label="export GIF")
        self.progress.setFormat("writing the GIF…")
        self.export_button.setEnabled(False)
        return request_id

    def _on_export(self, result: Result) -> None:
        self._export_changed(save=False)
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
        self.forward_group.setEnabled(ready)
        for w in (self.sampler_combo, self.steps_spin, self.eta_spin, self.seed_spin, self.seed_button,
                  self.batch_spin, self.guidance_spin):
            w.setEnabled(ready)
        self.class_combo.setEnabled(ready and self.model.info.can("conditional"))
        if ready:
            self._sampler_changed(save=False)
            self._class_changed(save=False)
        self._export_changed(save=False)

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.timeline.pause()
        super().hideEvent(event)


def _message(error: str | None) -> str:
    """A job's error as a user reads it: our own refusals are already written for users, the
    class name in front adds nothing."""
    text = error or "unknown error"
    prefix = f"{DiffusionError.__name__}: "
    return text[len(prefix):] if text.startswith(prefix) else text
