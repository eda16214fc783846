"""Edge maps of images (Canny, via scikit-image): the "sketch" domain of the sketch translator.

An edge map is white one-pixel lines on black, the same size as its image. It depends only on
the image and the fixed parameters below, so the true garment of every edge map is known and
translations can be measured against it.
"""
from __future__ import annotations

import numpy as np
from skimage import feature

# sigma 1 keeps the outline and the main inner lines of a 28x28 garment without its texture
CANNY_SIGMA = 1.0


def edge_map(image: np.ndarray, sigma: float = CANNY_SIGMA) -> np.ndarray:
    """One image (H, W) or (C, H, W), uint8 or float in [0, 1], to its edge map: uint8 (H, W) of
    0 and 255. A colour image's edges are those of its mean grey."""
    grey = np.asarray(image, dtype=np.float64)
    if np.asarray(image).dtype == np.uint8:
        grey = grey / 255.0
    if grey.ndim == 3:
        grey = grey.mean(axis=0)
    if grey.ndim != 2:
        raise ValueError(f"an edge map needs an image (H, W) or (C, H, W), got shape {np.shape(image)}")
    return feature.canny(grey, sigma=sigma).astype(np.uint8) * 255


def edge_maps(images: np.ndarray, sigma: float = CANNY_SIGMA) -> np.ndarray:
    """uint8 images (N, C, H, W) to their edge maps, uint8 (N, 1, H, W)."""
    if images.ndim != 4:
        raise ValueError(f"edge_maps needs images (N, C, H, W), got shape {images.shape}")
    out = np.empty((len(images), 1, *images.shape[2:]), dtype=np.uint8)
    for i, image in enumerate(images):
        out[i, 0] = edge_map(image, sigma)
    return out
