"""The Upscale menu: send the image another view shows (the latent view's image, the
interpolation's current frame, the diffusion run's first sample at the shown step) to the upscale
view. Each action is labelled for what it is: the upscaler was trained on downsampled real
images, and these images were made by a model."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtGui import QAction

if TYPE_CHECKING:
    from explorer.views.main_window import MainWindow

ImageSource = Callable[[], tuple[np.ndarray | None, str]]   # (pixels or None, what made them)


def latent_image(window: MainWindow) -> tuple[np.ndarray | None, str]:
    panel = window.latent_panel
    frame = panel.last_frame
    name = panel.info.name if panel.info is not None else "a model"
    return (None if frame is None else frame.image), f"the latent view's image of {name}"


def interpolation_frame(window: MainWindow) -> tuple[np.ndarray | None, str]:
    panel = window.interpolation_panel
    name = panel.info.name if panel.info is not None else "a model"
    return (panel.preview.view.image(),
            f"frame {panel.preview.current_frame + 1} of the interpolation of {name}")


def diffusion_sample(window: MainWindow) -> tuple[np.ndarray | None, str]:
    panel = window.diffusion_panel
    position = panel.shown_position
    if position < 0 or position >= len(panel.store):
        return None, "the diffusion view"
    name = Path(panel.source).stem if panel.source else "a model"
    return (panel.store.sample(position, 0, "x_t"),
            f"sample 1 of the diffusion run of {name} at step {position + 1}")


SOURCES: tuple[tuple[str, str, Callable[[MainWindow], tuple[np.ndarray | None, str]]], ...] = (
    ("latent", "Upscale the Latent View's Image (a generated image)", latent_image),
    ("interpolate", "Upscale the Interpolation's Frame (a generated image)", interpolation_frame),
    ("diffusion", "Upscale the Diffusion Sample (a generated image)", diffusion_sample),
)
TIP = ("Shows this image in the Upscale view. The upscaler was trained on downsampled real images: on a "
       "generated one it adds its guess of real detail")


def upscale_actions(window: MainWindow) -> list[QAction]:
    """One action per view with an image, each sending it to the upscale view."""
    actions = []
    for view, text, source in SOURCES:
        action = QAction(text, window)
        action.setStatusTip(TIP)
        action.setToolTip(TIP)
        action.triggered.connect(lambda _=False, v=view, s=source: send_to_upscale(window, v, s))
        actions.append(action)
    return actions


def send_to_upscale(window: MainWindow, view: str, source: Callable[[MainWindow], tuple[np.ndarray | None, str]]) -> bool:
    """Upscales the image `view` shows; says so in the status bar when it shows none."""
    pixels, what = source(window)
    if pixels is None:
        window.statusBar().showMessage(f"There is no image to upscale in {what} yet", 8000)
        return False
    window.upscale_panel.upscale_pixels(pixels, f"{what} (a generated image)")
    window.show_view("upscale")
    return True
