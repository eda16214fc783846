"""The compare view's link bar: how the two columns are tied together (independent, the same
seed, the same path between two seeds, the same path between two real test images), the path's
endpoints, frames and interpolation, the frame player both columns follow, and Cancel.

The bar keeps its settings and answers what the columns read (it is their `PathLink`); it says
when the mode changed (`mode_changed`), when the path changed (`path_changed`), which frame to
show (`frame_chosen`) and when Cancel was pressed (`cancel_requested`).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from explorer.context import AppContext
from explorer.jobs.compare import EndpointSpec, PathStrip
from explorer.views.frame_player import FramePlayer
from explorer.views.layout import row
from explorer.settings import setting

LINK_MODES: tuple[tuple[str, str, str], ...] = (
    ("independent", "Independent", "Each model has its own seed"),
    ("seed", "Same seed", "Both models decode the prior sample of the same seed"),
    ("path", "Same path", "Both models interpolate between the latents of the same two seeds, frame by frame"),
    ("images", "Same images", "Both models go between the same two real test images: the VAE encodes them, "
                               "the GAN is inverted onto them by optimising its latent"),
)
DEFAULT_FRAMES = 12
PLAY_FPS = 8


def settings_spin(context: AppContext, key: str, default: int, lo: int, hi: int, tip: str) -> QSpinBox:
    """A spin box over [lo, hi] starting from the setting `key` (else `default`)."""
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setValue(setting(context.settings, key, default, bounds=(lo, hi)))
    box.setKeyboardTracking(False)
    box.setToolTip(tip)
    return box


class LinkBar(QWidget):
    mode_changed = Signal(str)
    path_changed = Signal()           # an endpoint, the frame count, slerp or the inversion steps
    frame_chosen = Signal(int)
    cancel_requested = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        s = context.settings

        self.link_combo = QComboBox()
        for value, text, tip in LINK_MODES:
            self.link_combo.addItem(text, value)
            self.link_combo.setItemData(self.link_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.link_combo.setCurrentIndex(max(0, self.link_combo.findData(setting(s, "compare/link", "seed"))))
        self.link_combo.setToolTip("How the two columns are linked")

        self.seed_a = settings_spin(context, "compare/seed_a", 0, 0, 2**31 - 1, "Seed of endpoint A of both paths")
        self.seed_b = settings_spin(context, "compare/seed_b", 1, 0, 2**31 - 1, "Seed of endpoint B of both paths")
        self.image_a = settings_spin(context, "compare/image_a", 0, 0, 9999,
                                     "Fashion-MNIST test image used as endpoint A")
        self.image_b = settings_spin(context, "compare/image_b", 1, 0, 9999,
                                     "Fashion-MNIST test image used as endpoint B")
        self.steps_box = settings_spin(context, "compare/steps", 150, 10, 2000,
                                       "Adam steps of the GAN inversion (pixel MSE + classifier-feature loss)")
        self.frames_box = settings_spin(context, "compare/frames", DEFAULT_FRAMES, 2, 64, "Frames along each path")
        self.slerp_check = QCheckBox("slerp")
        self.slerp_check.setChecked(setting(s, "compare/slerp", True))
        self.slerp_check.setToolTip("Spherical interpolation (stays on the prior's shell); off: straight lines")
        self.player = FramePlayer(fps=PLAY_FPS, ends="loop", buttons=False, what="frame")
        self.player.set_count(self.frames_box.value())
        self.player.slider.setToolTip("The frame both columns show (, and . step through the frames)")
        self.player.play_button.setToolTip("Play both paths frame by frame (Ctrl+Space)")
        self.player.label.hide()
        self.frame_slider = self.player.slider
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running inversion, maps and measurements (Esc)")

        self.seed_controls = row(QLabel("A seed"), self.seed_a, QLabel("B seed"), self.seed_b)
        self.image_controls = row(QLabel("A test image"), self.image_a, QLabel("B"), self.image_b,
                                  QLabel("Inversion steps"), self.steps_box)
        self.path_controls = row(self.seed_controls, self.image_controls, QLabel("Frames"), self.frames_box,
                                 self.slerp_check, self.player, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Link"))
        layout.addWidget(self.link_combo)
        layout.addWidget(self.path_controls, 1)
        layout.addStretch(0)
        layout.addWidget(self.cancel_button)

        self.link_combo.currentIndexChanged.connect(self._link_changed)
        for box, key in ((self.seed_a, "seed_a"), (self.seed_b, "seed_b"), (self.image_a, "image_a"),
                         (self.image_b, "image_b"), (self.steps_box, "steps")):
            box.valueChanged.connect(lambda v, k=key: self._path_edited(k, v))
        self.frames_box.valueChanged.connect(self._frames_edited)
        self.slerp_check.toggled.connect(lambda on: self._path_edited("slerp", on))
        self.player.position_chosen.connect(self.frame_chosen)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self._update_controls()

    # -- what the columns read (PathLink) -----------------------------------------------------------
    def link_mode(self) -> str:
        return str(self.link_combo.currentData())

    def frames(self) -> int:
        return int(self.frames_box.value())

    def spherical(self) -> bool:
        return self.slerp_check.isChecked()

    def inversion_steps(self) -> int:
        return int(self.steps_box.value())

    def frame_index(self) -> int:
        return int(self.frame_slider.value())

    def endpoints(self) -> tuple[EndpointSpec, EndpointSpec]:
        if self.link_mode() == "images":
            return (EndpointSpec("test", index=int(self.image_a.value())),
                    EndpointSpec("test", index=int(self.image_b.value())))
        return EndpointSpec("seed", int(self.seed_a.value())), EndpointSpec("seed", int(self.seed_b.value()))

    def endpoint_points(self, strip: PathStrip | None, seed: int) -> tuple[Any, Any]:
        """A and B of the plane through three points: the path's endpoints (as latents once a
        path of real images has been resolved into `strip`), else `seed` and the next one."""
        mode = self.link_mode()
        if mode == "images":
            if strip is None:
                return None, None
            return (tuple(float(x) for x in strip.latents[0]),
                    tuple(float(x) for x in strip.latents[-1]))
        if mode == "path":
            return int(self.seed_a.value()), int(self.seed_b.value())
        return seed, seed + 1

    # -- changes -------------------------------------------------------------------------------------
    def set_link_mode(self, mode: str) -> None:
        index = self.link_combo.findData(mode)
        if index < 0:
            raise ValueError(f"unknown link mode {mode!r}: use one of {', '.join(m for m, _, _ in LINK_MODES)}")
        self.link_combo.setCurrentIndex(index)

    def step_frame(self, step: int) -> None:
        """Steps both paths by `step` frames (only while a path is linked)."""
        if self.link_mode() in ("path", "images"):
            self.player.step(step)

    def _update_controls(self) -> None:
        mode = self.link_mode()
        self.path_controls.setVisible(mode in ("path", "images"))
        self.seed_controls.setVisible(mode == "path")
        self.image_controls.setVisible(mode == "images")
        if mode not in ("path", "images"):
            self.player.pause()

    def _link_changed(self, _index: int) -> None:
        self.context.settings.setValue("compare/link", self.link_mode())
        self._update_controls()
        self.mode_changed.emit(self.link_mode())

    def _path_edited(self, key: str, value: Any) -> None:
        self.context.settings.setValue(f"compare/{key}", value)
        self.path_changed.emit()

    def _frames_edited(self, frames: int) -> None:
        self.player.set_count(frames)
        self._path_edited("frames", frames)
