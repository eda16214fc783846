"""CycleGAN (Zhu et al. 2017), sized for small images: two generators G: A -> B and F: B -> A,
and a PatchGAN discriminator per domain.

Generators take and return images in [-1, 1] (tanh); a discriminator returns a map of logits,
one per overlapping patch. The translator network saved in a checkpoint holds only the two
generators (`CycleGAN`); the discriminators live only while training.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

GENERATORS = ("resnet", "unet")


@dataclass
class CycleGANConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)   # both domains share it
    generator: str = "resnet"     # "resnet" (Johnson et al. 2016, as in the paper) or "unet"
    base_channels: int = 16       # width of the first generator layer; doubles at each downsampling
    res_blocks: int = 4           # residual blocks at the smallest scale (resnet generator)
    d_channels: int = 16          # width of the first discriminator layer


def check_config(config: CycleGANConfig) -> None:
    """ValueError for a config no network of this file can be built from."""
    c, h, w = (int(s) for s in config.image_shape)
    if config.generator not in GENERATORS:
        raise ValueError(f"unknown generator {config.generator!r}: use one of {', '.join(GENERATORS)}")
    if h % 4 or w % 4:
        raise ValueError(f"image sides must be multiples of 4 (two downsamplings), got {h}x{w}")
    if c not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels, got {c}")


def _norm(channels: int) -> nn.Module:
    # instance norm, as in the paper: a translation must not depend on the rest of the batch
    return nn.InstanceNorm2d(channels, affine=True)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """c7s1-b, d2b, d4b, R4b x res_blocks, u2b, ub, c7s1-C, tanh. 28x28: 28 -> 14 -> 7 -> 28."""

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__()
        c, b = int(config.image_shape[0]), int(config.base_channels)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(c, b, 7), _norm(b), nn.ReLU(inplace=True)]
        for i in range(2):
            layers += [nn.Conv2d(b * 2 ** i, b * 2 ** (i + 1), 3, stride=2, padding=1), _norm(b * 2 ** (i + 1)),
                       nn.ReLU(inplace=True)]
        layers += [ResidualBlock(4 * b) for _ in range(config.res_blocks)]
        for i in (2, 1):
            layers += [nn.ConvTranspose2d(b * 2 ** i, b * 2 ** (i - 1), 3, stride=2, padding=1, output_padding=1),
                       _norm(b * 2 ** (i - 1)), nn.ReLU(inplace=True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(b, c, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class UnetGenerator(nn.Module):
    """Two stride-2 downsamplings with skip connections to the matching upsamplings (Isola et al.
    2017), a 3x3 conv block at the bottom. Skips make it easy to copy detail through, and as easy
    to hide the input inside the output."""

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__()
        c, b = int(config.image_shape[0]), int(config.base_channels)
        self.down1 = nn.Sequential(nn.Conv2d(c, b, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True))          # H/2
        self.down2 = nn.Sequential(nn.Conv2d(b, 2 * b, 4, 2, 1), _norm(2 * b), nn.LeakyReLU(0.2, inplace=True))  # H/4
        self.bottom = nn.Sequential(nn.Conv2d(2 * b, 2 * b, 3, 1, 1), _norm(2 * b), nn.ReLU(inplace=True))
        self.up2 = nn.Sequential(nn.ConvTranspose2d(4 * b, b, 4, 2, 1), _norm(b), nn.ReLU(inplace=True))     # H/2
        self.up1 = nn.Sequential(nn.ConvTranspose2d(2 * b, b, 4, 2, 1), _norm(b), nn.ReLU(inplace=True))     # H
        self.out = nn.Sequential(nn.Conv2d(b + c, c, 3, 1, 1), nn.Tanh())

    def forward(self, x: Tensor) -> Tensor:
        d1 = self.down1(x)
        d2 = self.down2(d1)
        u2 = self.up2(torch.cat([self.bottom(d2), d2], 1))
        u1 = self.up1(torch.cat([u2, d1], 1))
        return self.out(torch.cat([u1, x], 1))


def make_generator(config: CycleGANConfig) -> nn.Module:
    check_config(config)
    return ResnetGenerator(config) if config.generator == "resnet" else UnetGenerator(config)


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al. 2017): C_d (no norm), C_2d, then two stride-1 convs to a logit per
    patch. 28x28 in, a 7x7 map out, each logit seeing a 26x26 patch."""

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__()
        check_config(config)
        c, d = int(config.image_shape[0]), int(config.d_channels)
        self.net = nn.Sequential(
            nn.Conv2d(c, d, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(d, 2 * d, 4, 2, 1), _norm(2 * d), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * d, 4 * d, 3, 1, 1), _norm(4 * d), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(4 * d, 1, 3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)   # (n, 1, H/4, W/4)


class CycleGAN(nn.Module):
    """The two generators of a trained translator: g_ab (A -> B) and g_ba (B -> A)."""

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__()
        self.config = config
        self.g_ab = make_generator(config)
        self.g_ba = make_generator(config)

    def forward(self, x: Tensor) -> Tensor:
        return self.g_ab(x)


def init_weights(net: nn.Module, std: float = 0.02) -> None:
    """N(0, 0.02) convolutions and N(1, 0.02) norm scales, as in the paper's code."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.InstanceNorm2d) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
