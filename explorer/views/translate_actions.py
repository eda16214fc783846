"""The Translate menu: send the image another view shows (the latent view's image, the
interpolation's current frame, the diffusion run's first sample at the shown step) to the
translate view, as the Upscale menu does for the upscale view."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtGui import QAction

from explorer.views.upscale_actions import (
    diffusion_sample,
    interpolation_frame,
    latent_image,
)

if TYPE_CHECKING:
    from explorer.views.main_window import MainWindow

SOURCES: tuple[tuple[str, str, Callable[[MainWindow], tuple[np.ndarray | None, str]]], ...] = (
    ("latent", "Translate the Latent View's Image", latent_image),
    ("interpolate", "Translate the Interpolation's Frame", interpolation_frame),
    ("diffusion", "Translate the Diffusion Sample", diffusion_sample),
)
TIP = "Shows this image in the Translate view, as x of the translator open there"


def translate_actions(window: MainWindow) -> list[QAction]:
    """One action per view with an image, each sending it to the translate view."""
    actions = []
    for view, text, source in SOURCES:
        action = QAction(text, window)
        action.setStatusTip(TIP)
        action.setToolTip(TIP)
        action.triggered.connect(lambda _=False, s=source: send_to_translate(window, s))
        actions.append(action)
    return actions


def send_to_translate(window: MainWindow, source: Callable[[MainWindow], tuple[np.ndarray | None, str]]) -> bool:
    """Translates the image a view shows; says so in the status bar when it shows none."""
    pixels, what = source(window)
    if pixels is None:
        window.statusBar().showMessage(f"There is no image to translate in {what} yet", 8000)
        return False
    window.translate_panel.translate_pixels(pixels, what)
    window.show_view("translate")
    return True
