"""A small UNet noise predictor for DDPM (Ho et al. 2020), optionally class-conditional with a null
class for classifier-free guidance (Ho & Salimans 2022).

One residual block per resolution, GroupNorm + SiLU, the (time + label) embedding added inside
every block, one skip connection per resolution. No self-attention: at 28x28 it would cost more
than the rest of the net and the CPU step budget is ~15 ms.

28x28 with base 32 and mults (1, 2, 2):
  down  32@28 -> 64@14 -> 64@7   (7 is not downsampled: the last level never is)
  mid   64@7
  up    64@7 -> 64@14 -> 32@28, each level concatenating the down path's skip
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.nets.common import LabelEmbedding, check_unconditional


@dataclass
class UNetConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)
    base_channels: int = 32
    channel_mults: tuple[int, ...] = (1, 2, 2)
    time_embed_dim: int = 128
    num_classes: int = 0  # > 0 -> class-conditional with a null class (index num_classes) for CFG


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Transformer-style sinusoids of the timestep: t (n,) -> (n, dim), [cos | sin]."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]  # (n, half)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


def _group_norm(channels: int) -> nn.GroupNorm:
    groups = 8 if channels % 8 == 0 else 1
    return nn.GroupNorm(groups, channels)


class ResBlock(nn.Module):
    """GN-SiLU-conv, + projected embedding, GN-SiLU-conv, plus a (1x1 if needed) shortcut."""

    def __init__(self, c_in: int, c_out: int, embed_dim: int) -> None:
        super().__init__()
        self.norm1 = _group_norm(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.embed = nn.Linear(embed_dim, c_out)
        self.norm2 = _group_norm(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        # emb is already SiLU-activated by the caller, once for all blocks
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.embed(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.shortcut(x)


class UNet(nn.Module):
    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        c, h, w = config.image_shape
        levels = len(config.channel_mults)
        factor = 2 ** (levels - 1)
        if h % factor or w % factor:
            raise ValueError(
                f"image {h}x{w} cannot be halved {levels - 1} times; use fewer channel_mults "
                f"(28x28 allows at most 3 levels)"
            )
        d = config.time_embed_dim
        self.time_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.label_embed = (
            LabelEmbedding(config.num_classes, d, null_class=True) if config.num_classes > 0 else None
        )

        chans = [config.base_channels * m for m in config.channel_mults]
        self.conv_in = nn.Conv2d(c, chans[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        prev = chans[0]
        for i, ch in enumerate(chans):
            self.down.append(ResBlock(prev, ch, d))
            prev = ch
            if i < levels - 1:
                self.downsample.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
        self.mid = ResBlock(prev, prev, d)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(levels)):
            self.up.append(ResBlock(prev + chans[i], chans[i], d))
            prev = chans[i]
            if i > 0:
                # the conv after nearest upsampling already moves to the next level's width,
                # which halves the most expensive conv of the up path
                self.upsample.append(nn.Conv2d(chans[i], chans[i - 1], 3, padding=1))
                prev = chans[i - 1]
        self.norm_out = _group_norm(prev)
        self.conv_out = nn.Conv2d(prev, c, 3, padding=1)

    def embed(self, t: Tensor, labels: Tensor | None, n: int) -> Tensor:
        """(n, time_embed_dim): time MLP output plus the label (or null) embedding."""
        if t.dim() == 0:
            t = t.expand(n)
        # the sinusoids are built in float32; follow the weights if the net was cast to half
        sinusoids = timestep_embedding(t, self.config.time_embed_dim).to(self.conv_in.weight.dtype)
        emb = self.time_mlp(sinusoids)
        if self.label_embed is None:
            check_unconditional(labels, "this UNet")
        else:
            emb = emb + self.label_embed(labels, n)
        return emb

    def forward(self, x: Tensor, t: Tensor, labels: Tensor | None = None) -> Tensor:
        """x (n, C, H, W), t (n,) integer timesteps in [0, T) -> predicted noise (n, C, H, W)."""
        emb = F.silu(self.embed(t, labels, x.shape[0]))
        h = self.conv_in(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.mid(h, emb)
        for i, block in enumerate(self.up):
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
            if i < len(self.upsample):
                h = self.upsample[i](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))
