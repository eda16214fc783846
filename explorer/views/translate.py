"""The translate view: an image through a CycleGAN and back. x, G(x), F(G(x)) and a heat map of
|x - F(G(x))|, with the cycle error and the classifier's class and confidence under each; the
direction switches between A -> B and B -> A.

The input is a test item of the source domain, a picture file, the image another view shows
(the Translate menu), or a sketch drawn on the canvas, translated as the pen moves. Below, what
the cycle hides (Chu et al. 2017): G(x) with its fine detail amplified, and F applied to G(x)
plus a little noise, which breaks a reconstruction that leans on a hidden signal. Batch mode
shows 16 test items translated at once.

The view keeps the translator it shows while other models are opened, so the other views can send
it their images; with none opened yet it uses the first bundled one.
"""
from __future__ import annotations

import random

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.context import AppContext
from explorer.jobs.translate import (
    TranslateBatch,
    TranslateFrame,
    ImageInput,
    batch_job,
    translate_job,
)
from explorer.model_info import ModelInfo
from explorer.views.image_view import ImageView
from explorer.views.plain_text import plain_label
from explorer.views.sketch_canvas import ERASER, PEN, SketchCanvas
from explorer.worker import Result
from models.images import tile

CHANNEL = "translate"
PICTURE_FILTER = "Pictures (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"
NO_TRANSLATOR = ("No translator is open: open the bundled cyclegan-footwear or cyclegan-sketch from the model "
                 "library, or train one with `latent-explorer train cyclegan --domain-a Sneaker --domain-b "
                 "'Ankle boot' --out t.safetensors`")
TEST_ITEMS = 10_000
COLUMNS = ("input", "translated", "reconstructed", "heat", "truth")
PROBE_COLUMNS = ("amplified", "noisy", "noisy_reconstruction", "noisy_heat")
MAX_GAIN = 40                # the detail slider's top
MAX_SIGMA = 0.30             # the noise slider's top (images in [0, 1])


def column_titles(source: str, target: str) -> dict[str, str]:
    return {"input": f"x ({source})", "translated": f"G(x) ({target})", "reconstructed": f"F(G(x)) ({source})",
            "heat": "|x − F(G(x))|", "truth": "True garment", "amplified": "G(x), detail × gain",
            "noisy": "G(x) + noise n", "noisy_reconstruction": "F(G(x) + n)", "noisy_heat": "|x − F(G(x) + n)|"}


def prediction_text(probs: np.ndarray | None, class_names: tuple[str, ...]) -> str:
    """The classifier's top class and its probability."""
    if probs is None:
        return ""
    top = int(np.argmax(probs))
    name = class_names[top] if top < len(class_names) else f"class {top}"
    return f"{name} {100 * float(probs[top]):.0f}%"


class TranslatePanel(QWidget):
    """Construct with the app's AppContext."""

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.info: ModelInfo | None = None
        self.frame: TranslateFrame | None = None
        self.batch: TranslateBatch | None = None
        self._input = ImageInput(test_index=0)
        self.channel = context.channel(CHANNEL)
        self.batch_channel = context.channel(CHANNEL + "-batch")
        self._build()
        self.channel.result_ready.connect(self._on_result)
        self.batch_channel.result_ready.connect(self._on_batch)
        context.model_opened.connect(self._follow)
        first = context.current if context.current is not None and context.current.can("translator") else next(
            (info for info in context.models if info.can("translator")), None)
        if first is not None:
            self.set_model(first)
        else:
            self._show_message(NO_TRANSLATOR)

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        self.direction_box = QComboBox()
        self.direction_box.addItems(["A → B", "B → A"])
        self.direction_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.direction_box.setToolTip("Which generator x goes through first: G (A → B) or F (B → A)")
        self.direction_box.currentIndexChanged.connect(lambda _: self._request(batch_too=True))
        self.index_box = QSpinBox()
        self.index_box.setRange(0, TEST_ITEMS - 1)
        self.index_box.setToolTip("Which test item of the source domain is x")
        self.index_box.valueChanged.connect(lambda i: self.set_input(ImageInput(test_index=int(i))))
        self.random_button = QPushButton("Random")
        self.random_button.clicked.connect(lambda: self.index_box.setValue(random.randrange(TEST_ITEMS)))
        self.test_button = QPushButton("Test item")
        self.test_button.setToolTip("Back to the test item of the index box")
        self.test_button.clicked.connect(lambda: self.set_input(ImageInput(test_index=self.index_box.value())))
        self.file_button = QPushButton("Open picture…")
        self.file_button.setToolTip("A picture file, resized to the translator's image size, is x")
        self.file_button.clicked.connect(self._choose_file)
        self.mode_box = QComboBox()
        self.mode_box.addItems(["One image", "Draw a sketch", "Batch of 16"])
        self.mode_box.setToolTip("One input in detail, a sketch drawn on a canvas, or 16 test items at once")
        self.mode_box.currentIndexChanged.connect(self._mode_changed)
        self.model_label = plain_label(QLabel())
        self.model_label.setStyleSheet("color: #9aa0a6;")
        top = QHBoxLayout()
        for w in (self.mode_box, self.direction_box, QLabel("Test item"), self.index_box, self.random_button,
                  self.test_button, self.file_button):
            top.addWidget(w)
        top.addStretch(1)

        self.canvas = SketchCanvas()
        self.canvas.sketch_changed.connect(self._sketched)
        self.pen_button, self.eraser_button = QRadioButton("Pen"), QRadioButton("Eraser")
        self.pen_button.setChecked(True)
        tools = QButtonGroup(self)
        for button, tool in ((self.pen_button, PEN), (self.eraser_button, ERASER)):
            tools.addButton(button)
            button.toggled.connect(lambda on, t=tool: on and self.canvas.set_tool(t))
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.canvas.clear)
        tool_row = QHBoxLayout()
        for w in (self.pen_button, self.eraser_button, self.clear_button):
            tool_row.addWidget(w)
        self.canvas_box = QWidget()
        canvas_layout = QVBoxLayout(self.canvas_box)
        canvas_layout.setContentsMargins(0, 0, 0, 0)
        canvas_layout.addWidget(QLabel("Sketch (drawn x)"))
        canvas_layout.addWidget(self.canvas)
        canvas_layout.addLayout(tool_row)
        canvas_layout.addStretch(1)
        self.canvas_box.hide()

        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(6)
        self.grid.setVerticalSpacing(2)
        self.titles: dict[str, QLabel] = {}
        self.views: dict[str, ImageView] = {}
        self.notes: dict[str, QLabel] = {}
        for row, names in ((0, COLUMNS), (3, PROBE_COLUMNS)):
            for col, name in enumerate(names):
                title, view, note = QLabel(name), ImageView(minimum=90), plain_label(QLabel())
                for label in (title, note):
                    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
                    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
                title.setStyleSheet("font-weight: 600;")
                self.grid.addWidget(title, row, col)
                self.grid.addWidget(view, row + 1, col)
                self.grid.addWidget(note, row + 2, col)
                self.titles[name], self.views[name], self.notes[name] = title, view, note
        for col in range(len(COLUMNS)):
            self.grid.setColumnStretch(col, 1)

        self.gain_slider = QSlider(Qt.Orientation.Horizontal)
        self.gain_slider.setRange(0, MAX_GAIN)
        self.gain_slider.setValue(4)
        self.gain_slider.setToolTip("Adds this many times G(x) − lowpass(G(x)) to G(x): a signal the translator "
                                    "hides in faint high frequencies shows up (Chu et al. 2017)")
        self.sigma_slider = QSlider(Qt.Orientation.Horizontal)
        self.sigma_slider.setRange(0, round(MAX_SIGMA * 100))
        self.sigma_slider.setValue(5)
        self.sigma_slider.setToolTip("Gaussian noise of this σ added to G(x) before F: where the reconstruction "
                                     "leans on a hidden signal, a little noise breaks it")
        self.gain_label, self.sigma_label = QLabel(), QLabel()
        for w in (self.gain_label, self.sigma_label):
            w.setMinimumWidth(48)
        for slider in (self.gain_slider, self.sigma_slider):
            slider.valueChanged.connect(lambda _: self._request())
        probe_row = QHBoxLayout()
        probe_row.addWidget(QLabel("What the cycle hides: detail gain"))
        probe_row.addWidget(self.gain_slider, 1)
        probe_row.addWidget(self.gain_label)
        probe_row.addWidget(QLabel("noise before F"))
        probe_row.addWidget(self.sigma_slider, 1)
        probe_row.addWidget(self.sigma_label)

        single = QWidget()
        single_layout = QVBoxLayout(single)
        single_layout.setContentsMargins(0, 0, 0, 0)
        body = QHBoxLayout()
        body.addWidget(self.canvas_box, 0)
        body.addLayout(self.grid, 1)
        single_layout.addLayout(body)
        single_layout.addLayout(probe_row)
        single_layout.addStretch(1)

        self.batch_inputs, self.batch_outputs = ImageView(minimum=160), ImageView(minimum=160)
        self.batch_caption = plain_label(QLabel())
        self.batch_caption.setWordWrap(True)
        batch = QWidget()
        batch_layout = QGridLayout(batch)
        batch_layout.addWidget(QLabel("x: 16 test items"), 0, 0)
        batch_layout.addWidget(QLabel("G(x)"), 0, 1)
        batch_layout.addWidget(self.batch_inputs, 1, 0)
        batch_layout.addWidget(self.batch_outputs, 1, 1)
        batch_layout.addWidget(self.batch_caption, 2, 0, 1, 2)
        batch_layout.setRowStretch(1, 1)

        self.pages = QStackedWidget()
        self.pages.addWidget(single)
        self.pages.addWidget(batch)
        self.caption = plain_label(QLabel())
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.caption)
        layout.addWidget(self.model_label)
        self._update_labels()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_cells()

    def _fit_cells(self) -> None:
        """Square image cells: as wide as a column, and no taller than the room left."""
        available = self.width() - 24
        canvas = min(max(140, available // 5), 300)
        self.canvas.setFixedSize(canvas, canvas)
        used = canvas + 12 if self.canvas_box.isVisible() else 0
        columns = len(COLUMNS) if self.views["truth"].isVisible() else len(COLUMNS) - 1
        width = (available - used) // columns - self.grid.horizontalSpacing()
        room = (self.height() - 230) // 2
        side = max(90, min(width, room))
        for view in self.views.values():
            view.setFixedHeight(side)

    # -- model, input and controls ------------------------------------------------------------------
    def _follow(self, info: ModelInfo) -> None:
        if info.can("translator"):
            self.set_model(info)

    def set_model(self, info: ModelInfo) -> None:
        self.info = info
        self.channel.reset()
        self.batch_channel.reset()
        _, h, w = info.image_shape
        self.canvas.resize_image((h, w))
        a, b = self.domains
        self.direction_box.setItemText(0, f"{a} → {b}")
        self.direction_box.setItemText(1, f"{b} → {a}")
        self.model_label.setText(f"{info.name}: {a} ↔ {b}")
        self._request(batch_too=True)

    @property
    def domains(self) -> tuple[str, str]:
        from models.generative import domain_names

        return domain_names(dict(self.info.metadata)) if self.info is not None else ("A", "B")

    @property
    def reverse(self) -> bool:
        return self.direction_box.currentIndex() == 1

    def set_reverse(self, reverse: bool) -> None:
        self.direction_box.setCurrentIndex(1 if reverse else 0)

    @property
    def gain(self) -> float:
        return float(self.gain_slider.value())

    @property
    def sigma(self) -> float:
        return self.sigma_slider.value() / 100

    def set_mode(self, mode: str) -> None:
        """"single", "sketch" or "batch"."""
        self.mode_box.setCurrentIndex(("single", "sketch", "batch").index(mode))

    @property
    def mode(self) -> str:
        return ("single", "sketch", "batch")[self.mode_box.currentIndex()]

    def _mode_changed(self, _: int) -> None:
        self.pages.setCurrentIndex(1 if self.mode == "batch" else 0)
        self.caption.setVisible(self.mode != "batch")
        self.canvas_box.setVisible(self.mode == "sketch")
        self._fit_cells()
        if self.mode == "sketch":
            self._sketched(self.canvas.pixels())
        elif self.mode == "batch":
            self._request_batch()
        else:
            self.set_input(ImageInput(test_index=self.index_box.value()))

    def set_input(self, inp: ImageInput) -> None:
        self._input = inp
        self._request()

    def translate_pixels(self, pixels: np.ndarray, note: str) -> None:
        """Shows an image another view made (uint8 (H, W[, C])) through the translator."""
        if self.mode != "single":
            self.set_mode("single")
        self.set_input(ImageInput(pixels=np.array(pixels, dtype=np.uint8), note=note))

    def _sketched(self, pixels: np.ndarray) -> None:
        self.set_input(ImageInput(pixels=pixels, note="the sketch drawn on the canvas"))

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Translate a picture", "", PICTURE_FILTER)
        if path:
            self.set_input(ImageInput(path=path))

    def _update_labels(self) -> None:
        self.gain_label.setText(f"× {self.gain:.0f}")
        self.sigma_label.setText(f"σ {self.sigma:.2f}")
        a, b = self.domains
        titles = column_titles(b, a) if self.reverse else column_titles(a, b)
        for name, title in self.titles.items():
            title.setText(titles[name])

    def _request(self, batch_too: bool = False) -> None:
        self._update_labels()
        if self.info is None:
            return
        classifier = self.context.classifier_for(self.info)
        self.channel.submit(translate_job(self.info.source, self._input, self.reverse, self.gain, self.sigma,
                                          classifier=classifier), label="translate")
        if batch_too and self.mode == "batch":
            self._request_batch()

    def _request_batch(self) -> None:
        if self.info is None:
            return
        self.batch_channel.submit(batch_job(self.info.source, self.index_box.value(), self.reverse,
                                            self.context.classifier_for(self.info)), label="translate a batch")

    # -- results ----------------------------------------------------------------------------------
    def _on_result(self, result: Result) -> None:
        if not result.ok:
            if result.error:
                self._show_message(result.error, error=True)
            return
        frame: TranslateFrame = result.value
        self.frame = frame
        p = frame.probes
        images = {**frame.images, "amplified": p.amplified, "noisy": p.noisy,
                  "noisy_reconstruction": p.noisy_reconstruction, "noisy_heat": p.noisy_heat}
        notes = {name: prediction_text(frame.probs.get(name), frame.class_names) for name in images}
        notes["heat"] = f"cycle error {frame.cycle_error:.4f}"
        if p.noisy_error is not None:
            notes["noisy_heat"] = f"error {p.noisy_error:.4f} (×{p.noisy_error / max(frame.cycle_error, 1e-6):.1f})"
        notes["amplified"] = "off" if p.amplified is None else f"gain {p.gain:.0f}"
        for name, view in self.views.items():
            image = images.get(name)
            visible = not (name == "truth" and image is None)
            for widget in (view, self.titles[name], self.notes[name]):
                widget.setVisible(visible)
            if image is None:
                view.clear()
            else:
                view.clear_message()
                view.set_image(image)
            self.notes[name].setText(notes.get(name, ""))
        self.grid.setColumnStretch(len(COLUMNS) - 1, 1 if "truth" in frame.images else 0)
        self._fit_cells()
        self.caption.setStyleSheet("")
        self.caption.setText(f"x: {frame.description}. {frame.source_domain} → {frame.target_domain} → "
                             f"{frame.source_domain}; cycle error = mean |x − F(G(x))| with pixels in [0, 1]. "
                             f"Under each image, the classifier's top class.")
        self.context.report_frame(result.elapsed_s, result.device)

    def _on_batch(self, result: Result) -> None:
        if not result.ok:
            if result.error:
                self.batch_caption.setText(result.error)
            return
        batch: TranslateBatch = result.value
        self.batch = batch
        self.batch_inputs.set_image(tile(batch.inputs, columns=4))
        self.batch_outputs.set_image(tile(batch.outputs, columns=4))
        known = [x for x in batch.in_target if x is not None]
        success = f"; the classifier puts {sum(known)} of {len(known)} in {batch.target_domain}" if known else ""
        self.batch_caption.setText(f"{batch.source_domain} → {batch.target_domain}: test items {batch.indices[0]} to "
                                   f"{batch.indices[-1]}, mean cycle error {float(np.mean(batch.cycle_errors)):.4f}"
                                   f"{success}. Classes of G(x), row by row: {', '.join(batch.predictions)}")

    def _show_message(self, text: str, error: bool = False) -> None:
        self.caption.setStyleSheet("color: #ffb4ab;" if error else "")
        self.caption.setText(text)
