"""The arithmetic of super-resolution: how low-resolution inputs are made, the bicubic baseline,
PSNR and SSIM against the truth (scikit-image's), and ESRGAN's network interpolation of two
weight sets.

Images are (n, C, H, W) tensors in [0, 1] throughout.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from skimage.filters import sobel
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torch import Tensor

from models.nets.sr import upsample_bicubic


def downscale(high: Tensor, scale: int) -> Tensor:
    """The low-resolution version of `high`: antialiased bicubic downsampling by `scale` (what
    MATLAB's imresize does, the usual way SR data sets are made), clamped to [0, 1]."""
    _, _, h, w = high.shape
    if h % scale or w % scale:
        raise ValueError(f"a {h}x{w} image does not divide by the scale {scale}")
    low = F.interpolate(high.float(), size=(h // scale, w // scale), mode="bicubic", antialias=True,
                        align_corners=False)
    return low.clamp(0, 1)


def bicubic_upscale(low: Tensor, scale: int) -> Tensor:
    """The bicubic baseline in [0, 1]."""
    return upsample_bicubic(low.float(), scale).clamp(0, 1)


def _numpy(images: Tensor) -> np.ndarray:
    return images.detach().to("cpu", torch.float64).numpy()


def _check_pair(truth: Tensor, test: Tensor) -> None:
    if truth.shape != test.shape or truth.ndim != 4:
        raise ValueError(f"PSNR and SSIM compare two (n, C, H, W) batches of one shape, got "
                         f"{tuple(truth.shape)} and {tuple(test.shape)}")


def psnr(truth: Tensor, test: Tensor) -> np.ndarray:
    """Peak signal-to-noise ratio in dB of each image of `test` against `truth` (peak 1). An image
    equal to its truth has infinite PSNR."""
    _check_pair(truth, test)
    a, b = _numpy(truth), _numpy(test)
    with np.errstate(divide="ignore"):
        return np.array([peak_signal_noise_ratio(x, y, data_range=1.0) for x, y in zip(a, b)])


def ssim(truth: Tensor, test: Tensor) -> np.ndarray:
    """Structural similarity (Wang et al. 2004) of each image of `test` with `truth`: a 7x7
    uniform window, colour channels averaged."""
    _check_pair(truth, test)
    a, b = _numpy(truth), _numpy(test)
    side = min(a.shape[2], a.shape[3])
    window = min(7, side if side % 2 else side - 1)
    if window < 3:
        raise ValueError(f"SSIM needs images of at least 3x3 pixels, got {a.shape[2]}x{a.shape[3]}")
    return np.array([structural_similarity(x, y, data_range=1.0, channel_axis=0, win_size=window)
                     for x, y in zip(a, b)])


def sharpness(images: Tensor) -> np.ndarray:
    """The mean Sobel edge magnitude of each image (scikit-image's): how much fine detail it has.
    A blurred upscale scores below its truth; the ratio of the two is what the upscale view plots."""
    return np.array([np.mean([sobel(channel) for channel in image]) for image in _numpy(images)])


def interpolate_weights(a: dict[str, Tensor], b: dict[str, Tensor], blend: float) -> dict[str, Tensor]:
    """(1 - blend) * a + blend * b for every floating-point tensor: ESRGAN's network interpolation
    (Wang et al. 2018), which trades the fidelity of a PSNR-trained network (blend 0) for the
    sharpness of its adversarially fine-tuned copy (blend 1) without retraining."""
    if set(a) != set(b):
        raise ValueError("the two weight sets hold different tensors")
    if not 0.0 <= blend <= 1.0:
        raise ValueError(f"blend must be in [0, 1], got {blend}")
    return {k: torch.lerp(a[k], b[k], float(blend)) if a[k].is_floating_point() else a[k] for k in a}
