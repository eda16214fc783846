"""The upscale view: one image through a super-resolution model, side by side with its
low-resolution version, bicubic, the SRResNet and SRGAN weights, a live blend of the two, and the
truth; PSNR and SSIM of each against the truth and the classifier's verdict on each.

The blend slider is ESRGAN's network interpolation: the network run is (1 - blend) of the
PSNR-trained SRResNet's weights plus blend of the SRGAN's, so dragging it trades fidelity (higher
PSNR) for sharpness (lower FID) live. The input is a test-set item, a picture file, or the image
another view shows (`upscale_pixels`); the upscaler's input is always the truth downscaled, the
way it was trained.

The view keeps the upscaler it shows while other models are opened, so the other views can send
it their images; with none opened yet it uses the bundled srgan (x4), else any bundled upscaler.
"""
from __future__ import annotations

import random

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from explorer.context import AppContext
from explorer.jobs.upscale import (
    COLUMNS,
    MEASURED,
    UpscaleFrame,
    ImageInput,
    upscale_job,
)
from explorer.model_info import ModelInfo
from explorer.views.image_view import ImageView
from explorer.views.plain_text import plain_label
from explorer.views.upscale_plot import TradeOffPlots
from explorer.worker import Result

CHANNEL = "upscale"
DEFAULT_UPSCALER = "srgan"
PICTURE_FILTER = "Pictures (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"
NO_UPSCALER = ("No upscaler is open: open the bundled srgan from the model library, or train one with "
               "`latent-explorer train srgan --scale 4 --out sr.safetensors`")
GENERATED_NOTE = ("This image was made by a model, not photographed: the upscaler was trained on downsampled "
                  "real images, so what it adds here is its guess of real detail; the 'truth' is the generated "
                  "image itself.")
TEST_ITEMS = 10_000       # the spin box's range; a smaller test set answers with its own size


COLUMN_TIPS = {
    "low": "What the upscaler is given: the truth downscaled (antialiased bicubic), as in training",
    "bicubic": "Bicubic interpolation of the input: the baseline",
    "srresnet": "The SRResNet weights (blend 0): trained on pixel loss, the highest PSNR, smooth",
    "blend": "The network whose weights are (1 − blend) × SRResNet + blend × SRGAN (the slider)",
    "srgan": "The SRGAN weights (blend 1): fine-tuned with a content and an adversarial loss, sharper",
    "truth": "The image the others are measured against",
}


def column_title(column: str, blend: float = 0.5, low_side: str = "") -> str:
    return {"low": f"Input {low_side}".strip(), "bicubic": "Bicubic", "srresnet": "SRResNet",
            "blend": f"Blend {blend:.2f}", "srgan": "SRGAN", "truth": "Truth"}[column]


def prediction_text(frame: UpscaleFrame, column: str) -> str:
    """The classifier's top class and its probability, with a tick when it is the true class."""
    probs = frame.probs.get(column)
    if probs is None:
        return ""
    top = int(np.argmax(probs))
    name = frame.class_names[top] if top < len(frame.class_names) else f"class {top}"
    mark = "" if frame.true_class is None else (" ✓" if name == frame.true_class else " ✗")
    return f"{name} {100 * float(probs[top]):.0f}%{mark}"


def measure_text(frame: UpscaleFrame, column: str) -> str:
    if column not in MEASURED:
        return ""
    value = frame.psnr[column]
    db = "∞ dB" if not np.isfinite(value) else f"{value:.2f} dB"
    return f"PSNR {db}\nSSIM {frame.ssim[column]:.3f}"


class UpscalePanel(QWidget):
    """Construct with the app's AppContext."""

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.info: ModelInfo | None = None
        self.frame: UpscaleFrame | None = None
        self._input = ImageInput(test_index=0)
        self._low_side = ""
        self._curve_wanted = True         # the trade-off is measured once per input and model
        self.channel = context.channel(CHANNEL, intermediate=True)
        self._build()
        self.channel.result_ready.connect(self._on_result)
        context.model_opened.connect(self._follow)
        first = context.current if context.current is not None and context.current.can("upscaler") else None
        if first is None:        # the bundled x4 model (the paper's factor), else any bundled upscaler
            upscalers = sorted((info for info in context.models if info.can("upscaler")),
                               key=lambda info: info.name != DEFAULT_UPSCALER)
            first = upscalers[0] if upscalers else None
        if first is not None:
            self.set_model(first)
        else:
            self._show_message(NO_UPSCALER)

    # -- construction -------------------------------------------------------------------------
    def _build(self) -> None:
        self.index_box = QSpinBox()
        self.index_box.setRange(0, TEST_ITEMS - 1)
        self.index_box.setToolTip("Which test image is the truth")
        self.index_box.valueChanged.connect(lambda i: self.set_input(ImageInput(test_index=int(i))))
        self.random_button = QPushButton("Random")
        self.random_button.setToolTip("A random test image")
        self.random_button.clicked.connect(lambda: self.index_box.setValue(random.randrange(TEST_ITEMS)))
        self.test_button = QPushButton("Test image")
        self.test_button.setToolTip("Back to the test image of the index box")
        self.test_button.clicked.connect(lambda: self.set_input(ImageInput(test_index=self.index_box.value())))
        self.file_button = QPushButton("Open picture…")
        self.file_button.setToolTip("A picture file, resized to the upscaler's image size, is the truth")
        self.file_button.clicked.connect(self._choose_file)
        self.model_label = plain_label(QLabel())
        self.model_label.setStyleSheet("color: #9aa0a6;")
        top = QHBoxLayout()
        top.addWidget(QLabel("Test image"))
        top.addWidget(self.index_box)
        top.addWidget(self.random_button)
        top.addWidget(self.test_button)
        top.addWidget(self.file_button)
        top.addStretch(1)
        top.addWidget(self.model_label)

        self.blend_slider = QSlider(Qt.Orientation.Horizontal)
        self.blend_slider.setRange(0, 100)
        self.blend_slider.setValue(50)
        self.blend_slider.setToolTip("Network interpolation (ESRGAN): the weights run are (1 − blend) × SRResNet "
                                     "+ blend × SRGAN. Left: fidelity (higher PSNR); right: sharpness")
        self.blend_slider.valueChanged.connect(lambda _: self._request())
        self.blend_label = QLabel("blend 0.50")
        self.blend_label.setMinimumWidth(80)
        blend_row = QHBoxLayout()
        blend_row.addWidget(QLabel("Fidelity (SRResNet)"))
        blend_row.addWidget(self.blend_slider, 1)
        blend_row.addWidget(QLabel("Sharpness (SRGAN)"))
        blend_row.addWidget(self.blend_label)

        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        self.titles: dict[str, QLabel] = {}
        self.views: dict[str, ImageView] = {}
        self.measures: dict[str, QLabel] = {}
        self.predictions: dict[str, QLabel] = {}
        for col, name in enumerate(COLUMNS):
            title = QLabel(column_title(name))
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            title.setStyleSheet("font-weight: 600;")
            view = ImageView(minimum=100)
            for widget in (title, view):
                widget.setToolTip(COLUMN_TIPS[name])
            measure, prediction = QLabel(), plain_label(QLabel())
            for label in (measure, prediction):
                label.setAlignment(Qt.AlignmentFlag.AlignCenter)
                label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            grid.addWidget(title, 0, col)
            grid.addWidget(view, 1, col)
            grid.addWidget(measure, 2, col)
            grid.addWidget(prediction, 3, col)
            grid.setColumnStretch(col, 1)
            self.titles[name], self.views[name] = title, view
            self.measures[name], self.predictions[name] = measure, prediction
        self.grid = grid

        self.caption = plain_label(QLabel())
        self.caption.setWordWrap(True)
        self.note = plain_label(QLabel())
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #f9ab00;")
        self.note.hide()
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(blend_row)
        layout.addLayout(grid)
        layout.addWidget(self.caption)
        layout.addWidget(self.note)
        self.plots = TradeOffPlots()
        layout.addWidget(self.plots, 1)

    def resizeEvent(self, event) -> None:
        """Square image cells: as wide as a column, and no taller than the room left."""
        super().resizeEvent(event)
        margins = self.layout().contentsMargins()
        width = (self.width() - margins.left() - margins.right()) // len(COLUMNS) - self.grid.horizontalSpacing()
        room = (self.height() - 210) * 3 // 5   # the rest: controls, captions and the plots
        side = max(100, min(width, room))
        for view in self.views.values():
            view.setFixedHeight(side)

    # -- model and input ----------------------------------------------------------------------------
    def _follow(self, info: ModelInfo) -> None:
        if info.can("upscaler"):
            self.set_model(info)

    def set_model(self, info: ModelInfo) -> None:
        self.info = info
        self.channel.reset()
        _, h, w = info.image_shape
        low = info.latent_shape
        self.model_label.setText(f"{info.name}: x{h // int(low[1]) if len(low) == 3 else '?'}, "
                                 f"{'x'.join(map(str, low[1:]))} → {h}x{w}")
        self._low_side = "x".join(map(str, low[1:]))
        self.titles["low"].setText(column_title("low", low_side=self._low_side))
        self._curve_wanted = True
        self._request()

    @property
    def blend(self) -> float:
        return self.blend_slider.value() / 100

    def set_blend(self, blend: float) -> None:
        self.blend_slider.setValue(round(100 * min(max(blend, 0.0), 1.0)))

    def set_input(self, inp: ImageInput) -> None:
        self._input = inp
        generated = inp.pixels is not None
        self.note.setText(GENERATED_NOTE)
        self.note.setVisible(generated)
        self._curve_wanted = True
        self._request()

    def upscale_pixels(self, pixels: np.ndarray, note: str) -> None:
        """Shows an image another view made (uint8 (H, W[, C])) through the upscaler."""
        self.set_input(ImageInput(pixels=np.array(pixels, dtype=np.uint8), note=note))

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Upscale a picture", "", PICTURE_FILTER)
        if path:
            self.set_input(ImageInput(path=path))

    def _request(self) -> None:
        self.blend_label.setText(f"blend {self.blend:.2f}")
        self.titles["blend"].setText(column_title("blend", self.blend))
        self.plots.set_blend(self.blend)
        if self.info is None:
            return
        self.channel.submit(upscale_job(self.info.source, self._input, self.blend,
                                        self.context.classifier_for(self.info), curve=self._curve_wanted),
                            label="upscale")

    # -- results ----------------------------------------------------------------------------------
    def _on_result(self, result: Result) -> None:
        if not result.ok:
            if result.error:
                self._show_message(result.error, error=True)
            return
        frame: UpscaleFrame = result.value
        self.frame = frame
        if frame.curve is not None:
            self._curve_wanted = False
            self.plots.set_curve(frame.curve)
        for name in COLUMNS:
            view = self.views[name]
            view.clear_message()
            view.set_image(frame.images[name])
            self.measures[name].setText(measure_text(frame, name))
            self.predictions[name].setText(prediction_text(frame, name))
        truth = f" ({frame.true_class})" if frame.true_class else ""
        self.caption.setStyleSheet("")
        self.caption.setText(f"Truth: {frame.description}{truth}. PSNR and SSIM (scikit-image) against the truth; "
                             f"under each, the classifier's top class.")
        self.context.report_frame(result.elapsed_s, result.device)

    def _show_message(self, text: str, error: bool = False) -> None:
        self.caption.setStyleSheet("color: #ffb4ab;" if error else "")
        self.caption.setText(text)
