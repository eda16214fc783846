"""The Laplacian pyramid of LAPGAN (Denton et al. 2015; Burt & Adelson 1983).

An image I_k of side s is split into a low-pass image, the coarser image I_{k-1} = down(I_k) of
side s / 2 brought back up to side s, and the band-pass residual h_k = I_k - up(I_{k-1}): the
detail the coarser level lacks. Adding the residual back reconstructs I_k exactly, whatever the
two operators are.

The operators here are chosen so that down(up(x)) == x exactly: `down` is the mean of each 2 x 2
block (a box low-pass, which keeps images in their range) and `up` repeats each pixel 2 x 2. A
residual then carries no coarse content when down(h) == 0, and `band_pass` projects any map onto
those residuals. So a generated fine level, projected, never changes the coarser levels: holding
the coarse noise and resampling the fine one changes detail only.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor


def down(x: Tensor) -> Tensor:
    """(n, C, H, W) -> (n, C, H/2, W/2): the mean of each 2 x 2 block (H and W even)."""
    if x.shape[-1] % 2 or x.shape[-2] % 2:
        raise ValueError(f"down needs even sides, got {x.shape[-2]}x{x.shape[-1]}")
    return F.avg_pool2d(x, 2)


def up(x: Tensor) -> Tensor:
    """(n, C, H, W) -> (n, C, 2H, 2W): each pixel repeated 2 x 2, so down(up(x)) == x."""
    return F.interpolate(x, scale_factor=2, mode="nearest")


def band_pass(h: Tensor) -> Tensor:
    """h without its coarse content: h - up(down(h)), whose down() is zero."""
    return h - up(down(h))


@dataclass(frozen=True)
class Pyramid:
    """A Laplacian pyramid, coarse to fine: the coarsest image, then one band-pass residual per
    finer level (each of twice the side of the one before)."""

    base: Tensor                       # (n, C, s0, s0)
    residuals: tuple[Tensor, ...]      # (n, C, s0 * 2^k, s0 * 2^k) for k = 1, 2, ...

    @property
    def levels(self) -> int:
        return 1 + len(self.residuals)


def build(image: Tensor, levels: int) -> Pyramid:
    """The `levels`-level Laplacian pyramid of images (n, C, H, W); H and W divisible by
    2^(levels - 1)."""
    if levels < 1:
        raise ValueError(f"a pyramid has at least one level, got {levels}")
    images = [image]
    for _ in range(levels - 1):
        images.append(down(images[-1]))
    images.reverse()                   # coarse to fine
    residuals = tuple(fine - up(coarse) for coarse, fine in itertools.pairwise(images))
    return Pyramid(images[0], residuals)


def low_passes(image: Tensor, levels: int) -> list[Tensor]:
    """The image at each level, coarse to fine: the coarsest first, the image itself last."""
    images = [image]
    for _ in range(levels - 1):
        images.append(down(images[-1]))
    return images[::-1]


def reconstruct(pyramid: Pyramid) -> Tensor:
    """The finest image: each residual added to the coarser image brought up."""
    image = pyramid.base
    for residual in pyramid.residuals:
        image = up(image) + residual
    return image
