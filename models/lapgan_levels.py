"""The `pyramid` capability of a LAPGAN: its levels, each with its slice of the latent, and the
images of every level for a latent (the low-pass image a level starts from, the band-pass
residual it draws, and the image they compose).

Images here are in the units of `decode`, [0, 1] for the image range, but not clamped: a level's
image is exactly its low-pass plus its residual, and its 2 x 2 block means are exactly the
coarser level's image. Residuals are signed (0 is no change). `decode` clamps the finest image.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from models.nets.lapgan import LAPGANConfig, LAPGANGenerator, level_sides, level_slices
from models.pyramid import up


@dataclass(frozen=True)
class Level:
    """One level of the pyramid: its side and where its noise sits in the flat latent."""

    index: int          # 0 is the coarsest
    side: int
    start: int
    stop: int

    @property
    def name(self) -> str:
        return f"{self.side}×{self.side}"

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class LevelImages:
    """What one level makes, (n, C, side, side) each, in decode's units."""

    level: Level
    low_pass: Tensor | None     # the coarser level's image brought up; None at the base
    band_pass: Tensor | None    # the residual this level adds (signed); None at the base
    image: Tensor               # low_pass + band_pass (the base level's own image at the base)


def levels_of(config: LAPGANConfig) -> tuple[Level, ...]:
    """The levels a LAPGAN config describes, coarse to fine (from the config alone)."""
    return tuple(Level(k, side, start, stop)
                 for k, (side, (start, stop)) in enumerate(zip(level_sides(config), level_slices(config))))


class PyramidLevels:
    """A LAPGAN's levels, coarse to fine, and the images of each level for latents."""

    def __init__(self, net: LAPGANGenerator, labels_on_device: Callable[[Tensor | None, int], Tensor | None],
                 device: Callable[[], torch.device]):
        self._net = net
        self._labels = labels_on_device
        self._device = device
        self.levels = levels_of(net.config)

    @torch.inference_mode()
    def images(self, z: Tensor, labels: Tensor | None = None) -> list[LevelImages]:
        """Every level's low-pass, band-pass and composed images for latents z (n, latent_dim)."""
        z = z.to(self._device(), torch.float32).reshape(len(z), -1)
        images, residuals = self._net.pyramid(z, self._labels(labels, len(z)))
        out = [LevelImages(self.levels[0], None, None, (images[0] + 1) / 2)]
        for level, coarse, residual, image in zip(self.levels[1:], images[:-1], residuals, images[1:]):
            out.append(LevelImages(level, (up(coarse) + 1) / 2, residual / 2, (image + 1) / 2))
        return out

    def resample(self, z: Tensor, levels: Iterable[int], seed: int) -> Tensor:
        """z (n, latent_dim) on the CPU with new prior noise, drawn from `seed`, at the given levels;
        the other levels' noise is held. Resampling every level finer than k keeps the coarse
        image of level k and changes detail only."""
        z = z.detach().to("cpu", torch.float32).clone()
        generator = torch.Generator().manual_seed(int(seed))
        for k in sorted(set(levels)):
            if not 0 <= k < len(self.levels):
                raise ValueError(f"no level {k}: this pyramid has levels 0 to {len(self.levels) - 1}")
            level = self.levels[k]
            z[:, level.start:level.stop] = torch.randn((len(z), level.size), generator=generator)
        return z


def declared_levels(config: Mapping[str, Any]) -> tuple[Level, ...]:
    """The levels of a LAPGAN checkpoint's config (JSON values), without building the network."""
    from models.generative import make_config  # generative imports this module

    return levels_of(make_config(LAPGANConfig, dict(config)))
