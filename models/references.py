"""How far images are from the training data: a fixed reference subsample of the training split
and the root-mean-square pixel distance from an image to its nearest reference.

The interpolation view marks the frames of a path that leave the data with it, and the report of
a direction (models/direction_report.py) counts how often moving along the direction does.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

REFERENCE_SIZE = 2000                  # training images an image is compared with
CALIBRATION_SIZE = 400                 # other training images that set the "typical distance" line
CALIBRATION_QUANTILE = 0.95


def fit_images(images: Tensor, shape: Sequence[int]) -> Tensor:
    """Images (n, C, H, W) in [0, 1] brought to shape (C', H', W'): channels averaged or repeated,
    then resized with antialiasing."""
    c, h, w = (int(s) for s in shape)
    if images.shape[1] != c:
        gray = images.mean(dim=1, keepdim=True)
        images = gray if c == 1 else gray.expand(-1, c, -1, -1)
    if tuple(images.shape[2:]) != (h, w):
        images = F.interpolate(images, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    return images.clamp(0, 1)


@dataclass(frozen=True)
class ReferenceSet:
    images: Tensor               # (N, D) float: training images, flattened
    typical: float               # the nearest-reference distance real images stay below


def reference_set(shape: Sequence[int], data_dir: str | None = None) -> ReferenceSet:
    """A fixed subsample of the training split fitted to `shape`, flattened, and the
    CALIBRATION_QUANTILE of the nearest-reference distance of other, real training images: the
    distance beyond which an image looks unlike the training data. DataError without the data."""
    from models.data import load_dataset

    data = load_dataset(data_dir, split="train")
    n_ref = min(REFERENCE_SIZE, max(1, len(data) - CALIBRATION_SIZE))
    order = np.random.default_rng(0).permutation(len(data))
    refs = fit_images(data.tensor(order[:n_ref]), shape).reshape(n_ref, -1)
    held = order[n_ref:n_ref + CALIBRATION_SIZE]
    if len(held):
        calib = _rms_nearest(fit_images(data.tensor(held), shape).reshape(len(held), -1), refs)
        typical = float(torch.quantile(calib, CALIBRATION_QUANTILE))
    else:
        typical = float("nan")
    return ReferenceSet(refs, typical)


def _rms_nearest(x: Tensor, refs: Tensor) -> Tensor:
    d = torch.cdist(x.double(), refs.double()).min(dim=1).values
    return (d / math.sqrt(x.shape[1])).float()


def nearest_distances(images: Tensor, refs: Tensor) -> np.ndarray:
    """Root-mean-square pixel distance from each image to its nearest reference image."""
    x = images.float().reshape(len(images), -1)
    return _rms_nearest(x, refs.to(x.device)).cpu().numpy().astype(np.float64)
