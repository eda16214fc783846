"""The latent panel's Directions tab: a method (principal directions, SeFa, class boundaries,
attribute vectors) and its choices, one slider per direction found, and the measured report of
what each direction changes.

The tab owns its channels and shows what comes back; the panel moves the point when a slider
moves (`moved`), starts from the current point again when new directions arrive (`computed`),
and walks along a direction as a GIF (`walk_requested`).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QMenu, QProgressBar,
                               QPushButton, QToolButton, QVBoxLayout, QWidget)

from explorer.context import AppContext
from explorer.jobs.directions import directions_job, load_job, report_job, save_job
from explorer.model_info import ModelInfo
from explorer.settings import setting
from explorer.views.latent_widgets import SliderList, ValueSlider, scrolled
from explorer.views.plain_text import plain_label
from explorer.worker import JobProgress, Result
from models.directions import (ATTRIBUTE_KEY, BOUNDARY_KEY, PRINCIPAL_KEY, SEFA_KEY, Directions, DirectionSpec,
                               methods_for)

DIRECTIONS_CHANNEL = "latent-directions"
REPORT_CHANNEL = "latent-direction-report"
FILE_CHANNEL = "latent-direction-file"
FILE_TYPES = "Directions (*.json);;GANSpace components (*.npz)"
METHODS = (
    (PRINCIPAL_KEY, "Principal", "GANSpace for a model with an early layer (a GAN), PCA of the encoded test set "
                                 "for a model with an encoder (a VAE)"),
    (SEFA_KEY, "SeFa (closed form)", "Eigenvectors of WᵀW of the layer that reads the latent (Shen & Zhou 2021): "
                                     "no sampling, well under a second"),
    (BOUNDARY_KEY, "Class boundaries", "The normal of a linear boundary between classes the classifier tells apart "
                                       "in the latent space (InterFaceGAN, Shen et al. 2020)"),
    (ATTRIBUTE_KEY, "Attribute vectors", "The mean latent of one class minus that of another (or of the rest)"),
)
SUPERVISED = (BOUNDARY_KEY, ATTRIBUTE_KEY)
Label = int | list[float] | None


class DirectionsTab(QWidget):
    moved = Signal(int, float)            # direction index, amount in slider units (σ of the projection)
    computed = Signal(object)             # the Directions now shown
    report_shown = Signal(object)         # a DirectionReport
    walk_requested = Signal(int)          # walk along this direction
    slider_pressed = Signal()
    slider_released = Signal()

    def __init__(self, context: AppContext, label_of: Callable[[], Label] = lambda: None,
                 parent: QWidget | None = None):
        """`label_of` gives the class the panel draws now (None for an unconditional model)."""
        super().__init__(parent)
        self.context = context
        self.label_of = label_of
        self.info: ModelInfo | None = None
        self.directions: Directions | None = None     # of the current model, once computed
        self.report = None                            # the DirectionReport of those directions
        self.last_moved = 0
        self.channel = context.channel(DIRECTIONS_CHANNEL)
        self.reports = context.channel(REPORT_CHANNEL)
        self.files = context.channel(FILE_CHANNEL)

        self.method_combo = QComboBox()
        for key, text, tip in METHODS:
            self.method_combo.addItem(text, key)
            self.method_combo.setItemData(self.method_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.method_combo.setToolTip("How the directions are found")
        self.file_button = QToolButton()
        self.file_button.setText("File")
        self.file_button.setToolTip("Save the directions shown, or load saved ones (ours, or a GANSpace .npz)")
        self.file_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.file_button)
        self.save_action = menu.addAction("Save directions…", lambda: self.save())
        self.load_action = menu.addAction("Load directions…", lambda: self.load())
        self.file_button.setMenu(menu)
        self.towards_combo = QComboBox()
        self.towards_combo.setToolTip("The class the direction leads to; 'each class' gives one direction per class")
        self.away_combo = QComboBox()
        self.away_combo.setToolTip("The class it leads away from; 'the rest' is every other class")
        self.keep_combo = QComboBox()
        self.keep_combo.setToolTip("A class whose boundary the direction must not cross (its component along "
                                   "that boundary is removed): 'towards Sneaker, not away from Sandal'")
        self.class_form = QWidget()
        form = QFormLayout(self.class_form)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Towards", self.towards_combo)
        form.addRow("From", self.away_combo)
        self.keep_label = QLabel("Keep")
        form.addRow(self.keep_label, self.keep_combo)
        self.method_note = plain_label(QLabel())
        self.method_note.setWordWrap(True)
        self.method_note.setStyleSheet("color: palette(mid);")

        self.list = SliderList()
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.note = plain_label(QLabel())
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(mid);")
        self.button = QPushButton("Compute directions")
        self.button.setToolTip("Find the directions with the chosen method, on the worker")
        self.report_button = QPushButton("Measure")
        self.report_button.setToolTip("Measure what each direction changes: the classifier's class, the other "
                                      "classes, the pixels, and how often the image leaves the data")
        self.walk_button = QPushButton("Walk…")
        self.walk_button.setToolTip("A GIF of the walk along the direction moved last, from −2σ to +2σ")
        buttons = QHBoxLayout()
        buttons.addWidget(self.button, 2)
        buttons.addWidget(self.report_button, 1)
        buttons.addWidget(self.walk_button, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        method_row = QHBoxLayout()
        method_row.addWidget(self.method_combo, 1)
        method_row.addWidget(self.file_button)
        layout.addLayout(method_row)
        layout.addWidget(self.class_form)
        layout.addWidget(self.method_note)
        layout.addWidget(scrolled(self.list), 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.note)
        layout.addLayout(buttons)

        self.method_combo.currentIndexChanged.connect(lambda _: self._method_changed())
        self.button.clicked.connect(self.compute)
        self.report_button.clicked.connect(self.measure)
        self.walk_button.clicked.connect(lambda: self.walk_requested.emit(self.last_moved))
        self.channel.result_ready.connect(self._on_result)
        self.channel.progress_changed.connect(self._on_progress)
        self.reports.result_ready.connect(self._on_report)
        self.reports.progress_changed.connect(self._on_progress)
        self.files.result_ready.connect(self._on_saved)
        self._update_buttons()

    @property
    def sliders(self) -> list[ValueSlider]:
        return self.list.rows

    @property
    def busy(self) -> bool:
        return self.channel.busy

    def amounts(self) -> np.ndarray:
        """Each slider's value: how far along its direction, in its slider unit."""
        return np.array([row.value() for row in self.sliders], dtype=np.float32)

    def zero(self) -> None:
        """Puts every slider back to 0 without moving the point."""
        for row in self.sliders:
            row.set_value(0.0)

    # -- the model and the method ---------------------------------------------------------------
    def set_model(self, info: ModelInfo) -> None:
        """Forgets the previous model's directions; offers the methods this model has."""
        self.info = info
        self.channel.reset()
        self.reports.reset()
        self.files.reset()
        self.list.set_rows([])
        self.progress.setVisible(False)
        self.directions = None
        self.report = None
        why = self._why_not(info)
        model = self.method_combo.model()
        for i in range(self.method_combo.count()):
            key = self.method_combo.itemData(i)
            model.item(i).setEnabled(not why[key])
            tip = dict((k, t) for k, _, t in METHODS)[key]
            self.method_combo.setItemData(i, tip if not why[key] else f"Not for {info.name}: {why[key]}",
                                          Qt.ItemDataRole.ToolTipRole)
        if why[self.method_combo.currentData()]:
            usable = [i for i in range(self.method_combo.count()) if not why[self.method_combo.itemData(i)]]
            self.method_combo.setCurrentIndex(usable[0] if usable else 0)
        self._fill_classes()
        self._method_changed()
        self.note.setText("" if any(not reason for reason in why.values()) else
                          f"{info.name} has no directions: " + "; ".join(sorted(set(why.values()))))
        self._update_buttons()

    def available(self) -> bool:
        """Whether the model has any method of directions at all."""
        return self.info is not None and any(not reason for reason in self._why_not(self.info).values())

    def _why_not(self, info: ModelInfo) -> dict[str, str]:
        why = methods_for(info.capabilities)
        if self.context.classifier_for(info) is None:
            for key in SUPERVISED:
                why[key] = why[key] or "it needs a classifier that reads its images, and none is installed"
        return why

    def _class_names(self) -> tuple[str, ...]:
        """The classes the supervised methods speak of: the classifier's."""
        judge = self.context.classifier_info(self.info)
        return judge.class_names if judge is not None else self.info.class_names if self.info else ()

    def _fill_classes(self) -> None:
        names = self._class_names()
        for combo, first in ((self.towards_combo, "each class"), (self.away_combo, "the rest"),
                             (self.keep_combo, "—")):
            combo.clear()
            combo.addItem(first, None)
            for k, name in enumerate(names):
                combo.addItem(name, k)

    def _method_changed(self) -> None:
        key = self.method_combo.currentData()
        self.class_form.setVisible(key in SUPERVISED)
        self.keep_label.setVisible(key == BOUNDARY_KEY)
        self.keep_combo.setVisible(key == BOUNDARY_KEY)
        notes = {SEFA_KEY: "Our architectures read the latent in one layer: no layer range to choose.",
                 BOUNDARY_KEY: "From 5,000 prior samples the classifier labels.",
                 ATTRIBUTE_KEY: "Over the encoded test set for a model with an encoder, else over labelled "
                                "prior samples."}
        self.method_note.setText(notes.get(key, ""))
        self.method_note.setVisible(key in notes)

    def spec(self) -> DirectionSpec:
        key = self.method_combo.currentData()
        if key in SUPERVISED:
            keep = self.keep_combo.currentData() if key == BOUNDARY_KEY else None
            return DirectionSpec(key, towards=self.towards_combo.currentData(), away=self.away_combo.currentData(),
                                 keep=() if keep is None else (int(keep),))
        return DirectionSpec(key)

    def set_method(self, key: str) -> None:
        self.method_combo.setCurrentIndex(max(0, self.method_combo.findData(key)))

    # -- computing ------------------------------------------------------------------------------
    def compute(self) -> None:
        """Asks the worker for the open model's directions by the chosen method, drawn as the class
        the panel draws now."""
        if self.info is None:
            return
        self.channel.submit(directions_job(self.info.source, self.label_of(), spec=self.spec(),
                                           classifier=self.context.classifier_for(self.info)), label="directions")
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.note.setText(f"Computing {self.method_combo.currentText().lower()}…")
        self._update_buttons()

    def measure(self) -> None:
        """Asks the worker for the report of the directions shown."""
        judge = self.context.classifier_for(self.info)
        if self.info is None or self.directions is None or judge is None:
            return
        self.reports.submit(report_job(self.info.source, self.directions, judge,
                                       self.label_of()), label="direction report")
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self._update_buttons()

    # -- files ----------------------------------------------------------------------------------
    def save(self, path: str | None = None) -> int:
        """Saves the directions shown (asks where when `path` is None); the request id, 0 if none."""
        if self.info is None or self.directions is None:
            return 0
        if path is None:
            folder = setting(self.context.settings, "latent/directions_dir", str(Path.home()))
            name = f"{self.info.name}-{self.method_combo.currentData()}.json"
            path, _ = QFileDialog.getSaveFileName(self, "Save directions", str(Path(folder) / name),
                                                  "Directions (*.json)")
            if not path:
                return 0
            self.context.settings.setValue("latent/directions_dir", str(Path(path).parent))
        return self.files.submit(save_job(self.info.source, self.directions, str(path)), label="save directions")

    def load(self, path: str | None = None) -> int:
        """Loads directions for the open model (asks which file when `path` is None); they replace the
        sliders when they fit the model, else the note says why. The request id, 0 if none."""
        if self.info is None:
            return 0
        if path is None:
            folder = setting(self.context.settings, "latent/directions_dir", str(Path.home()))
            path, _ = QFileDialog.getOpenFileName(self, "Load directions", folder, FILE_TYPES)
            if not path:
                return 0
            self.context.settings.setValue("latent/directions_dir", str(Path(path).parent))
        self.note.setText(f"Loading {Path(path).name}…")
        request = self.channel.submit(load_job(self.info.source, str(path)), label="load directions")
        self._update_buttons()
        return request

    def _on_saved(self, result: Result) -> None:
        if result.ok:
            self.context.status.emit(f"Saved the directions to {result.value}")
        elif not result.cancelled:
            self.note.setText(f"Could not save the directions: {result.error}")

    def _update_buttons(self) -> None:
        ready = self.info is not None and not self.channel.busy
        self.button.setEnabled(ready and not self._why_not(self.info)[self.method_combo.currentData()])
        has = self.directions is not None
        self.report_button.setEnabled(has and not self.reports.busy
                                      and self.context.classifier_for(self.info) is not None)
        self.walk_button.setEnabled(has)
        self.save_action.setEnabled(has)
        self.load_action.setEnabled(self.info is not None)

    def _on_progress(self, progress: JobProgress) -> None:
        self.progress.setRange(0, progress.total)
        self.progress.setValue(progress.done)
        self.progress.setFormat(f"{progress.message} %p%")

    def _on_result(self, result: Result) -> None:
        self.progress.setVisible(self.reports.busy)
        if result.cancelled:
            self.note.setText("Cancelled.")
        elif not result.ok:
            self.note.setText(f"Could not {'load' if result.label == 'load directions' else 'compute'} "
                              f"directions: {result.error}")
            self.context.status.emit(f"Directions failed: {result.error}")
        else:
            directions: Directions = result.value
            self.directions = directions
            self.report = None
            if directions.message:
                self.context.status.emit(directions.message)
            self._show(directions)
            self.computed.emit(directions)
        self._update_buttons()

    def _on_report(self, result: Result) -> None:
        self.progress.setVisible(self.channel.busy)
        if result.ok:
            self.report = result.value
            self.report_shown.emit(result.value)
        elif not result.cancelled:
            self.note.setText(f"Could not measure the directions: {result.error}")
        self._update_buttons()

    def _show(self, directions: Directions) -> None:
        rows = []
        for j, (name, std, scale) in enumerate(zip(directions.names, directions.std, directions.scale)):
            row = ValueSlider(j, name)
            row.name_label.setMinimumWidth(60)
            row.setToolTip(f"{name} ({directions.method}; {directions.scale_name} {float(scale):.3g}); one unit is "
                           f"one σ of the latents' projection on it ({float(std):.3f} in latent units)")
            row.moved.connect(self._moved)
            row.slider.sliderPressed.connect(self.slider_pressed)
            row.slider.sliderReleased.connect(self.slider_released)
            rows.append(row)
        self.list.set_rows(rows)
        note = f"{len(directions)} directions from {directions.method}; sliders in σ of the projection."
        if directions.message:
            note += f"\n{directions.message}"
        self.note.setText(note)

    def _moved(self, index: int, value: float) -> None:
        self.last_moved = index
        self.moved.emit(index, value)
