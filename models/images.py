"""Images as the app shows and saves them: uint8 pixels, and batches tiled into one picture.

Models make float images (n, C, H, W) in [0, 1]; views, GIFs and PNGs take uint8 (H, W, C).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

GUTTER = 40          # the grey between tiles


def to_uint8(images: Tensor) -> np.ndarray:
    """(n, C, H, W) floats in [0, 1], on any device -> (n, H, W, C) uint8 on the CPU."""
    pixels = images.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    return np.ascontiguousarray(pixels.permute(0, 2, 3, 1).cpu().numpy())


def grid_shape(count: int, columns: int | None = None) -> tuple[int, int]:
    """(rows, columns) of a grid for `count` tiles: as square as it gets unless columns is given."""
    cols = max(1, columns if columns is not None else math.ceil(math.sqrt(count)))
    return max(1, math.ceil(count / cols)), cols


def tile(images: np.ndarray, columns: int | None = None, gap: int = 1, background: int = GUTTER) -> np.ndarray:
    """(n, H, W, C) uint8, row-major -> one (rows*H + (rows-1)*gap, cols*W + (cols-1)*gap, C)
    picture; cells past the last image stay `background`."""
    n, h, w, c = images.shape
    rows, cols = grid_shape(n, columns)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, c), background, dtype=np.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        out[r * (h + gap): r * (h + gap) + h, k * (w + gap): k * (w + gap) + w] = images[i]
    return out
