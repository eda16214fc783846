"""Training objectives beside the plain ones, each with its source.

- `discriminator_loss` and `generator_loss`: the non-saturating GAN loss (Goodfellow et al. 2014)
  with one-sided label smoothing (Salimans et al. 2016), or the hinge loss (Lim & Ye 2017, used
  with spectral normalisation by Miyato et al. 2018), which stops pushing D once it is right by a
  margin and so keeps it from saturating.
- `min_snr_weights(snr, t, gamma)`: min-SNR-γ loss weighting for a noise-predicting DDPM (Hang et
  al. 2023): the timesteps of high signal-to-noise ratio, easy and many, are weighted down to
  min(SNR, γ) / SNR, which the paper found to converge several times faster (γ = 5).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

GAN_LOSSES = ("bce", "hinge")
LABEL_SMOOTHING = 0.9


def discriminator_loss(kind: str, d_real: Tensor, d_fake: Tensor) -> Tensor:
    """D's loss from its logits on real and generated images."""
    if kind == "hinge":
        return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
    return (F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real, LABEL_SMOOTHING))
            + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))


def generator_loss(kind: str, g_out: Tensor) -> Tensor:
    """G's loss from D's logits on its images."""
    if kind == "hinge":
        return -g_out.mean()
    return F.binary_cross_entropy_with_logits(g_out, torch.ones_like(g_out))


def min_snr_weights(snr: Tensor, t: Tensor, gamma: float) -> Tensor:
    """(n,) weights of the per-image noise-prediction losses at timesteps t; all 1 when gamma is 0
    (the plain loss)."""
    if gamma <= 0:
        return torch.ones(len(t), device=t.device)
    s = snr.to(t.device)[t].float()
    return torch.clamp(s, max=gamma) / s
