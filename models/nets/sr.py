"""Super-resolution networks after SRGAN (Ledig et al. 2017): an SRResNet generator (residual
blocks, sub-pixel upsampling) and a small discriminator.

Differences from the paper, each for a reason:
- no BatchNorm in the residual blocks (as EDSR and ESRGAN found, it costs quality and makes
  interpolating two weight sets, ESRGAN's network interpolation, ill-defined);
- the generator predicts the detail a bicubic upscale lacks and adds it to that upscale (a global
  skip, as in VDSR), which trains in far fewer steps than predicting the whole image.

`SRPair` holds the two weight sets of one bundle: the PSNR-oriented SRResNet and the SRGAN
fine-tuned from it with a discriminator. A checkpoint of architecture "srgan" is one `SRPair`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

SCALES = (2, 3, 4, 8)


@dataclass
class SRConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)   # the high-resolution output (C, H, W)
    scale: int = 4                                    # each side of the input is H / scale
    channels: int = 32
    blocks: int = 6
    d_channels: int = 32                              # the discriminator's first width

    def __post_init__(self) -> None:
        _, h, w = (int(s) for s in self.image_shape)
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(map(str, SCALES))}, got {self.scale}")
        if h % self.scale or w % self.scale:
            raise ValueError(f"a {h}x{w} image does not divide by the scale {self.scale}")

    @property
    def low_shape(self) -> tuple[int, int, int]:
        """The input's shape (C, H / scale, W / scale)."""
        c, h, w = (int(s) for s in self.image_shape)
        return (c, h // self.scale, w // self.scale)


def upsample_bicubic(low: Tensor, scale: int) -> Tensor:
    """The bicubic upscale every SR figure is compared with (not clamped)."""
    return F.interpolate(low, scale_factor=scale, mode="bicubic", align_corners=False)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.PReLU(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class SubPixelUp(nn.Module):
    """A convolution to factor² times the channels, then pixel shuffle (Shi et al. 2016)."""

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels * factor * factor, 3, padding=1)
        self.shuffle = nn.PixelShuffle(factor)
        self.act = nn.PReLU(channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.shuffle(self.conv(x)))


def _factors(scale: int) -> list[int]:
    return [3] if scale == 3 else [2] * (scale.bit_length() - 1)


class SRGenerator(nn.Module):
    """Low-resolution images (n, C, h, w) in [0, 1] -> (n, C, h * scale, w * scale), unclamped."""

    def __init__(self, config: SRConfig) -> None:
        super().__init__()
        self.config = config
        c, ch = int(config.image_shape[0]), config.channels
        self.head = nn.Sequential(nn.Conv2d(c, ch, 9, padding=4), nn.PReLU(ch))
        self.body = nn.Sequential(*(ResidualBlock(ch) for _ in range(config.blocks)))
        self.body_out = nn.Conv2d(ch, ch, 3, padding=1)
        self.up = nn.Sequential(*(SubPixelUp(ch, f) for f in _factors(config.scale)))
        self.tail = nn.Conv2d(ch, c, 9, padding=4)
        nn.init.zeros_(self.tail.weight)   # starts as the bicubic upscale itself
        nn.init.zeros_(self.tail.bias)

    def forward(self, low: Tensor) -> Tensor:
        head = self.head(low)
        features = head + self.body_out(self.body(head))     # the paper's long skip
        return upsample_bicubic(low, self.config.scale) + self.tail(self.up(features))


class SRDiscriminator(nn.Module):
    """High-resolution images in [0, 1] -> one realness logit each: strided convolutions that halve
    the image while they can, then global average pooling and a linear layer."""

    def __init__(self, config: SRConfig) -> None:
        super().__init__()
        self.config = config
        c, h, w = (int(s) for s in config.image_shape)
        width, layers = config.d_channels, [nn.Conv2d(c, config.d_channels, 3, padding=1), nn.LeakyReLU(0.2)]
        while min(h, w) > 4 and h % 2 == 0 and w % 2 == 0:
            layers += [nn.Conv2d(width, width * 2, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            width, h, w = width * 2, h // 2, w // 2
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(width, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.features(x * 2 - 1).mean(dim=(2, 3))).squeeze(1)


class SRPair(nn.Module):
    """The two weight sets of one bundle: `srresnet` (trained on pixel loss) and `srgan` (the same
    network fine-tuned with content and adversarial losses)."""

    def __init__(self, config: SRConfig) -> None:
        super().__init__()
        self.config = config
        self.srresnet = SRGenerator(config)
        self.srgan = SRGenerator(config)

    def forward(self, low: Tensor) -> Tensor:
        return self.srgan(low)

