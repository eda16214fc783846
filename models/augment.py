"""Differentiable augmentation for GANs on small datasets (DiffAugment, Zhao et al. 2020).

With a thousand training images a discriminator soon memorises them and its gradients stop
teaching the generator. DiffAugment shows D real and generated images through the same random
translation and cutout, on both of its updates and the generator's, so D cannot tell them apart by
memorised pixels, and since every operation is differentiable, G still learns the un-augmented
images (the augmentations are not seen in its samples).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

TRANSLATION = 1 / 8      # the largest shift, as a share of the side (the paper's)
CUTOUT = 1 / 2           # the side of the erased square, as a share of the image's


def translate(x: Tensor, generator: torch.Generator, ratio: float = TRANSLATION) -> Tensor:
    """Each image shifted by up to `ratio` of its size in x and y, zero (mid-grey) filled."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (n, 1, 1), generator=generator).to(x.device)
    dx = torch.randint(-sx, sx + 1, (n, 1, 1), generator=generator).to(x.device)
    batch, rows, cols = torch.meshgrid(torch.arange(n, device=x.device), torch.arange(h, device=x.device),
                                       torch.arange(w, device=x.device), indexing="ij")
    # index into a copy padded by one pixel of zeros: shifted-out places read the padding
    rows = (rows + dy + 1).clamp(0, h + 1)
    cols = (cols + dx + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    return padded[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def cutout(x: Tensor, generator: torch.Generator, ratio: float = CUTOUT) -> Tensor:
    """Each image with a square of `ratio` of its side set to zero at a random place."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), generator=generator).to(x.device)
    left = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), generator=generator).to(x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    # the square's centre may lie on the edge, so part of it can fall outside the image
    top, left = top - ch // 2, left - cw // 2
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def diff_augment(x: Tensor, generator: torch.Generator) -> Tensor:
    """Translation then cutout, each drawn per image from `generator`."""
    return cutout(translate(x, generator), generator)
