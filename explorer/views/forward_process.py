"""The diffusion view's "Forward process" group: a clean image (a test-set item, a picture file or
a sample of the run on screen), the noise level t, the clean and noised previews side by side,
and the button that denoises from there.

The group only holds the choice and shows what comes back: `changed` tells the panel a new
preview is due, and the panel asks the worker for it and hands the result to `show_preview`.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSettings, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QSizePolicy, QSlider, QSpinBox, QStackedWidget, QVBoxLayout, QWidget)

from explorer.jobs.diffusion import MAX_BATCH, ForwardPreview, ForwardStart, ImageSource
from explorer.views.image_view import ImageView
from explorer.views.step_store import StepStore
from explorer.settings import setting

SOURCES = (("dataset", "Test-set item"), ("file", "Image file"), ("array", "Current sample"))


class ForwardProcess(QGroupBox):
    """Noise a clean image to t, kept under "diffusion/forward_*" in `settings`. "Current sample"
    takes its image from `store`, the steps of the last run."""

    changed = Signal()              # the image or t changed: a new preview is due
    denoise_requested = Signal()

    def __init__(self, settings: QSettings, store: StepStore, parent: QWidget | None = None):
        super().__init__("Forward process", parent)
        self.settings = settings
        self.store = store
        self._image_path = ""
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
        form = QFormLayout(self)
        form.addRow("Image", self.source_combo)
        form.addRow("", self.source_stack)
        form.addRow("Noise t", self.t_slider)
        form.addRow(self.t_label)
        form.addRow(previews)
        form.addRow(self.denoise_button)
        self.source_combo.currentIndexChanged.connect(lambda _: self._source_changed())
        self.item_spin.valueChanged.connect(lambda _: self._choice_changed())
        self.sample_spin.valueChanged.connect(lambda _: self._choice_changed())
        self.t_slider.valueChanged.connect(lambda _: self._choice_changed())
        self.file_button.clicked.connect(self.choose_image_file)
        self.denoise_button.clicked.connect(lambda: self.denoise_requested.emit())
        self._restore()

    def _restore(self) -> None:
        s = self.settings
        blockers = [QSignalBlocker(w) for w in (self.source_combo, self.item_spin, self.t_slider)]
        self.source_combo.setCurrentIndex(
            max(0, self.source_combo.findData(setting(s, "diffusion/forward_source", "dataset"))))
        self.item_spin.setValue(setting(s, "diffusion/forward_item", 0))
        self.t_slider.setValue(setting(s, "diffusion/forward_t", 500))
        del blockers
        self._image_path = setting(s, "diffusion/forward_file", "")
        self._show_image_path()
        self.source_stack.setCurrentIndex(self.source_combo.currentIndex())

    # -- the choice ---------------------------------------------------------------------------
    @property
    def uses_current_sample(self) -> bool:
        """Whether the clean image is a sample of the run, so it changes with the step shown."""
        return self.source_combo.currentData() == "array"

    def set_num_timesteps(self, T: int) -> None:
        with QSignalBlocker(self.t_slider):
            self.t_slider.setRange(0, T - 1)

    def set_batch(self, batch: int) -> None:
        """The run's batch size: the samples "Current sample" can take."""
        self.sample_spin.setMaximum(batch)

    def _source_changed(self) -> None:
        self.source_stack.setCurrentIndex(self.source_combo.currentIndex())
        self.settings.setValue("diffusion/forward_source", self.source_combo.currentData())
        self._choice_changed()

    def _choice_changed(self) -> None:
        self.settings.setValue("diffusion/forward_item", self.item_spin.value())
        self.settings.setValue("diffusion/forward_t", self.t_slider.value())
        self.t_label.setText(f"t = {self.t_slider.value()}")
        self.changed.emit()

    def choose_image_file(self) -> None:
        start = self._image_path or setting(self.settings, "diffusion/last_image_dir", str(Path.home()))
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
        self._choice_changed()

    def _show_image_path(self) -> None:
        self.file_label.setText(Path(self._image_path).name if self._image_path else "no file")
        self.file_label.setToolTip(self._image_path)

    def image_source(self, shown: int) -> ImageSource | str:
        """The chosen clean image, or why there is none; `shown` is the step on screen (-1 for none)."""
        kind = self.source_combo.currentData()
        if kind == "dataset":
            return ImageSource("dataset", index=self.item_spin.value())
        if kind == "file":
            return ImageSource("file", path=self._image_path) if self._image_path else "Choose an image file."
        if not len(self.store) or self.store.layout is None:
            return "Run the sampler first: the current sample comes from the step shown."
        position = shown if shown >= 0 else len(self.store) - 1
        i = min(self.sample_spin.value(), self.store.layout.count) - 1
        return ImageSource("array", array=self.store.sample(position, i, "x_t").copy())

    def start(self, shown: int) -> ForwardStart | str:
        """The chosen image at the chosen t, or why there is none."""
        source = self.image_source(shown)
        return source if isinstance(source, str) else ForwardStart(source, self.t_slider.value())

    # -- the previews -------------------------------------------------------------------------
    def show_no_image(self, why: str) -> None:
        self.clean_view.clear()
        self.noised_view.clear()
        self.noised_view.show_message(why)

    def show_failed(self, message: str) -> None:
        self.clean_view.clear()
        self.noised_view.clear()
        # the view is small: a short note there, the whole message in the label above it
        self.noised_view.show_message("no image", error=True)
        self.t_label.setText(message)

    def show_preview(self, preview: ForwardPreview, class_names: Sequence[str] | None) -> None:
        """Show the clean and noised images; `class_names` names the dataset item's class."""
        self.clean_view.clear_message()
        self.noised_view.clear_message()
        self.clean_view.set_image(preview.original)
        self.noised_view.set_image(preview.noised)
        label = ""
        if preview.label is not None and class_names is not None:
            name = class_names[preview.label] if preview.label < len(class_names) else preview.label
            label = f" · {name}"
        self.t_label.setText(f"t = {preview.t} (step {preview.start_index + 1} of {preview.total_steps}) · "
                             f"ᾱ = {preview.alpha_bar:.3g} · SNR = {preview.snr:.3g}{label}")
