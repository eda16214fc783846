"""What the cycle hides (Chu et al. 2017, "CycleGAN, a master of steganography"): a translator
can pass what F needs to rebuild x through G(x) as a faint, high-frequency signal no one sees.
Two probes make it visible:

- `amplified_detail`: G(x) plus k times its high-frequency part, G(x) - lowpass(G(x)); at large k
  the hidden pattern shows;
- `noisy_reconstruction`: F(G(x) + noise). If F leans on a hidden signal, small noise, invisible
  in G(x), breaks the reconstruction far more than it changes G(x).

Qt-free; images (n, C, H, W) in [0, 1].
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

LOWPASS_SIGMA = 1.0


def gaussian_kernel(sigma: float) -> Tensor:
    """A normalised 1-D Gaussian of radius ceil(3 sigma)."""
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def lowpass(images: Tensor, sigma: float = LOWPASS_SIGMA) -> Tensor:
    """A separable Gaussian blur, edges replicated so the borders keep their level."""
    k = gaussian_kernel(sigma).to(images.device, images.dtype)
    c, r = images.shape[1], len(k) // 2
    x = F.pad(images, (r, r, r, r), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def amplified_detail(images: Tensor, gain: float, sigma: float = LOWPASS_SIGMA) -> Tensor:
    """images + gain x (images - lowpass(images)), clipped to [0, 1]; gain 0 is the image."""
    return (images + gain * (images - lowpass(images, sigma))).clamp(0, 1)


def seeded_noise(shape: tuple[int, ...], seed: int) -> Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(int(seed)))


def noisy_reconstruction(back, translated: Tensor, sigma: float, seed: int = 0) -> tuple[Tensor, Tensor]:
    """(G(x) + N(0, sigma^2) clipped to [0, 1], F of it) for `back` = F."""
    noise = seeded_noise(tuple(translated.shape), seed).to(translated.device)
    noisy = (translated + sigma * noise).clamp(0, 1)
    return noisy, back(noisy)


HEAT_TOP = 0.5       # the error shown white: one scale for every map, so two maps compare


def heat_map(error: np.ndarray, top: float = HEAT_TOP) -> np.ndarray:
    """|x - F(G(x))| of one image, (C, H, W) or (H, W) floats, as uint8 RGB (H, W, 3): black for
    no error through red and yellow to white at `top` and above."""
    e = np.asarray(error, dtype=np.float32)
    if e.ndim == 3:
        e = e.mean(axis=0)
    t = np.clip(e / float(top), 0, 1)
    rgb = np.stack([np.clip(3 * t, 0, 1), np.clip(3 * t - 1, 0, 1), np.clip(3 * t - 2, 0, 1)], axis=-1)
    return (rgb * 255 + 0.5).astype(np.uint8)
