"""The job of the latent panel's pyramid display: what each level of a LAPGAN draws for one
point (its low-pass image, its band-pass residual, the image they compose), optionally after
resampling some levels' noise. Everything comes back as uint8 pixels.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from explorer.job_context import JobContext
from explorer.jobs.latent import Label, labels_tensor, latent_tensor
from models.devices import torch_threads
from models.images import to_uint8


@dataclass(frozen=True)
class LevelPictures:
    name: str                          # "14×14"
    low_pass: np.ndarray | None        # (s, s, C) uint8; None at the base
    band_pass: np.ndarray | None       # (s, s, C) uint8, mid-grey = no change; None at the base
    band_scale: float                  # the largest |residual| of the level (shown as white / black)
    image: np.ndarray                  # (s, s, C) uint8


@dataclass(frozen=True)
class PyramidFrame:
    latent: np.ndarray                 # (D,) the point drawn (after any resampling)
    levels: tuple[LevelPictures, ...]  # coarse to fine
    resampled: tuple[int, ...] = ()    # the levels whose noise was redrawn


def band_pixels(residual: torch.Tensor) -> tuple[np.ndarray, float]:
    """A signed residual (1, C, s, s) as uint8 pixels, 0 as mid-grey and the largest |value| as
    white or black, with that largest value."""
    scale = float(residual.abs().max())
    shown = 0.5 + residual / (2 * scale) if scale > 0 else torch.full_like(residual, 0.5)
    return to_uint8(shown.clamp(0, 1))[0], scale


def pyramid_job(source: str, latent: np.ndarray, label: Label = None, psi: float = 1.0,
                resample: Sequence[int] = (), seed: int = 0) -> Callable[[JobContext], PyramidFrame]:
    """Every level's pictures for the point `latent` (flat), drawn with truncation `psi`; with
    `resample`, those levels' noise is first redrawn from `seed` (the others are held)."""
    latent = np.array(latent, dtype=np.float32)
    resample = tuple(int(k) for k in resample)

    def job(ctx: JobContext) -> PyramidFrame:
        model = ctx.model(source)
        if model.pyramid is None:
            raise ValueError(f"{model.name} is not a pyramid of levels: it has no level images to show")
        z = latent_tensor(model, latent)
        if resample:
            z = model.pyramid.resample(z, resample, seed)
        with torch_threads(1):
            levels = model.pyramid.images(z * psi, labels_tensor(label, 1))
        pictures = []
        for level in levels:
            band, scale = (None, 0.0) if level.band_pass is None else band_pixels(level.band_pass)
            low = None if level.low_pass is None else to_uint8(level.low_pass.clamp(0, 1))[0]
            pictures.append(LevelPictures(level.level.name, low, band, scale,
                                          to_uint8(level.image.clamp(0, 1))[0]))
        return PyramidFrame(z.reshape(-1).numpy().astype(np.float32), tuple(pictures), resample)

    return job
