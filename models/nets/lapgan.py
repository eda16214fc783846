"""LAPGAN, the Laplacian pyramid GAN (Denton et al. 2015), optionally class-conditional like
their CC-LAPGAN.

An image is made coarse to fine. A base generator draws the coarsest image (7 x 7 for
Fashion-MNIST) from its own noise; each finer level takes the image so far brought up to its side
(the low-pass image) and its own noise, and draws the band-pass residual that adds the detail of
that level. The latent is the levels' noise vectors one after the other, coarse to fine.

Each residual is projected onto the band-pass (models/pyramid.py: its 2 x 2 block means are
zero), as the residuals of real images are, so a finer level never changes what the coarser
levels drew: the image's low-pass at each coarser side is exactly the coarser level's image.

Every level has its own discriminator, shown real or generated residuals together with the
low-pass image they belong to; in training each level is conditioned on the real low-pass
image, so the levels learn independently. Images are in [-1, 1]: the base level ends in tanh,
the residuals are linear.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from models import pyramid
from models.nets.common import LabelEmbedding, check_unconditional
from models.nets.gan import LABEL_DIM


@dataclass
class LAPGANConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)
    noise_dims: tuple[int, ...] = (32, 16, 16)    # one noise vector per level, coarse to fine
    base_hidden: int = 256                        # the base generator's MLP width (its second layer doubles it)
    channels: tuple[int, ...] = (48, 32)          # convolution channels of each finer level's generator
    d_channels: int = 32                          # the finer levels' discriminators; the base one is an MLP
    noise_planes: int = 1                         # planes of a finer level's noise, at that level's side
    num_classes: int = 0                          # > 0: class-conditional at every level (CC-LAPGAN)


def level_sides(config: LAPGANConfig) -> list[int]:
    """The side of each level, coarse to fine: 7 14 28 for three levels of a 28 x 28 image."""
    _, h, w = config.image_shape
    levels = len(config.noise_dims)
    if h != w:
        raise ValueError(f"LAPGAN needs square images, got {h}x{w}")
    if levels < 1 or len(config.channels) != levels - 1:
        raise ValueError(f"LAPGAN needs one noise size per level and one channel count per finer level: "
                         f"got {len(config.noise_dims)} noise sizes and {len(config.channels)} channel counts")
    if h % 2 ** (levels - 1) or h // 2 ** (levels - 1) < 2:
        raise ValueError(f"a {levels}-level pyramid needs a side divisible by {2 ** (levels - 1)} "
                         f"(at least {2 ** levels}), got {h}")
    return [h // 2 ** (levels - 1 - k) for k in range(levels)]


def level_slices(config: LAPGANConfig) -> list[tuple[int, int]]:
    """(start, stop) of each level's noise in the latent, coarse to fine."""
    bounds = [0, *itertools.accumulate(int(d) for d in config.noise_dims)]
    return list(itertools.pairwise(bounds))


def _with_labels(embed: LabelEmbedding | None, z: Tensor, labels: Tensor | None, owner: str) -> Tensor:
    if embed is None:
        check_unconditional(labels, owner)
        return z
    return torch.cat([z, embed(labels, z.shape[0])], dim=1)


class BaseGenerator(nn.Module):
    """The coarsest level: noise [| label] -> MLP -> (n, C, s0, s0) in [-1, 1]."""

    def __init__(self, config: LAPGANConfig, side: int, noise_dim: int) -> None:
        super().__init__()
        c = config.image_shape[0]
        self.shape = (c, side, side)
        label_dim = LABEL_DIM if config.num_classes else 0
        self.label_embed = LabelEmbedding(config.num_classes, LABEL_DIM) if label_dim else None
        width = config.base_hidden
        self.net = nn.Sequential(
            nn.Linear(noise_dim + label_dim, width), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(width, 2 * width), nn.BatchNorm1d(2 * width), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(2 * width, math.prod(self.shape)), nn.Tanh())

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        h = _with_labels(self.label_embed, z, labels, "this generator")
        return self.net(h).view(len(z), *self.shape)


class ResidualGenerator(nn.Module):
    """A finer level: the low-pass image (n, C, s, s) and noise [| label], mapped to noise planes at
    side s, through 3 x 3 convolutions to the band-pass residual (n, C, s, s)."""

    def __init__(self, config: LAPGANConfig, side: int, noise_dim: int, channels: int) -> None:
        super().__init__()
        c = config.image_shape[0]
        self.side = side
        self.planes = config.noise_planes
        label_dim = LABEL_DIM if config.num_classes else 0
        self.label_embed = LabelEmbedding(config.num_classes, LABEL_DIM) if label_dim else None
        self.noise = nn.Linear(noise_dim + label_dim, self.planes * side * side)
        self.net = nn.Sequential(
            nn.Conv2d(c + self.planes, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, c, 3, padding=1))

    def forward(self, low_pass: Tensor, z: Tensor, labels: Tensor | None = None) -> Tensor:
        h = _with_labels(self.label_embed, z, labels, "this generator")
        planes = self.noise(h).view(len(z), self.planes, self.side, self.side)
        return pyramid.band_pass(self.net(torch.cat([low_pass, planes], dim=1)))


class LAPGANGenerator(nn.Module):
    """All levels' generators: z (n, sum(noise_dims)) -> (n, C, H, W). Only this is saved."""

    def __init__(self, config: LAPGANConfig) -> None:
        super().__init__()
        self.config = config
        self.sides = level_sides(config)
        self.slices = level_slices(config)
        dims = config.noise_dims
        self.base = BaseGenerator(config, self.sides[0], dims[0])
        self.levels = nn.ModuleList(
            ResidualGenerator(config, side, dim, channels)
            for side, dim, channels in zip(self.sides[1:], dims[1:], config.channels))

    @property
    def latent_dim(self) -> int:
        return sum(self.config.noise_dims)

    def noise(self, z: Tensor, level: int) -> Tensor:
        start, stop = self.slices[level]
        return z[:, start:stop]

    def pyramid(self, z: Tensor, labels: Tensor | None = None) -> tuple[list[Tensor], list[Tensor]]:
        """(images, residuals), coarse to fine: the image at every level (the last is the output)
        and the band-pass residual each finer level added."""
        images = [self.base(self.noise(z, 0), labels)]
        residuals: list[Tensor] = []
        for k, level in enumerate(self.levels, start=1):
            low = pyramid.up(images[-1])
            residuals.append(level(low, self.noise(z, k), labels))
            images.append(low + residuals[-1])
        return images, residuals

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """z (n, latent_dim) -> (n, C, H, W), about [-1, 1] (a residual may overshoot a little)."""
        return self.pyramid(z, labels)[0][-1]


class BaseDiscriminator(nn.Module):
    """The coarsest level's critic: flatten(image) [| label] -> MLP -> one logit."""

    def __init__(self, config: LAPGANConfig, side: int) -> None:
        super().__init__()
        label_dim = LABEL_DIM if config.num_classes else 0
        self.label_embed = LabelEmbedding(config.num_classes, LABEL_DIM) if label_dim else None
        width = config.base_hidden
        self.net = nn.Sequential(
            nn.Linear(config.image_shape[0] * side * side + label_dim, 2 * width), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(2 * width, width), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(width, 1))

    def forward(self, image: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(_with_labels(self.label_embed, image.flatten(1), labels, "this discriminator")).squeeze(1)


class ResidualDiscriminator(nn.Module):
    """A finer level's critic: the residual beside its low-pass image [| a label plane] -> a 3 x 3
    and a stride-2 4 x 4 convolution -> one logit. Real and generated residuals come with the
    same (real) low-pass image, so D judges the detail given the coarse image."""

    def __init__(self, config: LAPGANConfig, side: int) -> None:
        super().__init__()
        c = config.image_shape[0]
        self.side = side
        self.label_embed = LabelEmbedding(config.num_classes, side * side) if config.num_classes else None
        width = config.d_channels
        self.net = nn.Sequential(
            nn.Conv2d(2 * c + int(config.num_classes > 0), width, 3, padding=1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True),
            nn.Flatten(), nn.Linear(2 * width * (side // 2) ** 2, 1))

    def forward(self, low_pass: Tensor, residual: Tensor, labels: Tensor | None = None) -> Tensor:
        x = torch.cat([low_pass, residual], dim=1)
        if self.label_embed is None:
            check_unconditional(labels, "this discriminator")
        else:
            plane = self.label_embed(labels, len(x)).view(len(x), 1, self.side, self.side)
            x = torch.cat([x, plane], dim=1)
        return self.net(x).squeeze(1)


class LAPGANDiscriminators(nn.Module):
    """One discriminator per level, coarse to fine (used in training, not saved)."""

    def __init__(self, config: LAPGANConfig) -> None:
        super().__init__()
        sides = level_sides(config)
        self.base = BaseDiscriminator(config, sides[0])
        self.levels = nn.ModuleList(ResidualDiscriminator(config, side) for side in sides[1:])
