"""GANs: an MLP GAN (Goodfellow et al. 2014) and a DCGAN (Radford et al. 2016), each optionally
class-conditional (Mirza & Osindero 2014): the label embedding is concatenated to z in G and fed
to D with its input.

Generators output images in [-1, 1] (tanh); discriminators return one logit per image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from models.nets.common import LabelEmbedding, check_unconditional

# Width of the label embedding concatenated to z / to the MLP discriminator's input.
LABEL_DIM = 32


def _cat_labels(embed: LabelEmbedding | None, h: Tensor, labels: Tensor | None, owner: str) -> Tensor:
    if embed is None:
        check_unconditional(labels, owner)
        return h
    return torch.cat([h, embed(labels, h.shape[0])], dim=1)


# ---------------------------------------------------------------------------------------------
# MLP GAN


@dataclass
class MLPGANConfig:
    latent_dim: int = 100
    image_shape: tuple[int, int, int] = (1, 28, 28)
    hidden: tuple[int, ...] = (256, 512, 1024)  # generator; discriminator uses reversed
    num_classes: int = 0  # > 0 -> conditional (label embedding concatenated to z and to D's input)


class MLPGenerator(nn.Module):
    """z [| label] -> Linear+LeakyReLU per hidden width (BatchNorm after the first) -> Linear -> tanh."""

    def __init__(self, config: MLPGANConfig) -> None:
        super().__init__()
        self.config = config
        self.image_shape = tuple(config.image_shape)
        label_dim = LABEL_DIM if config.num_classes > 0 else 0
        self.label_embed = LabelEmbedding(config.num_classes, LABEL_DIM) if label_dim else None
        widths = [config.latent_dim + label_dim, *config.hidden]
        # The first layer has no BatchNorm so early_features depends on one sample only.
        self.first = nn.Sequential(nn.Linear(widths[0], widths[1]), nn.LeakyReLU(0.2, inplace=True))
        rest: list[nn.Module] = []
        for w_in, w_out in zip(widths[1:-1], widths[2:]):
            rest += [nn.Linear(w_in, w_out), nn.BatchNorm1d(w_out), nn.LeakyReLU(0.2, inplace=True)]
        rest += [nn.Linear(widths[-1], math.prod(self.image_shape)), nn.Tanh()]
        self.rest = nn.Sequential(*rest)

    def early_features(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """(n, hidden[0]) activations after the first layer."""
        return self.first(_cat_labels(self.label_embed, z.flatten(1), labels, "this generator"))

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """z (n, latent_dim) -> (n, C, H, W) in [-1, 1]."""
        return self.rest(self.early_features(z, labels)).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """flatten(x) [| label] -> Linear+LeakyReLU per reversed hidden width -> Linear -> logit."""

    def __init__(self, config: MLPGANConfig) -> None:
        super().__init__()
        self.config = config
        label_dim = LABEL_DIM if config.num_classes > 0 else 0
        self.label_embed = LabelEmbedding(config.num_classes, LABEL_DIM) if label_dim else None
        widths = [math.prod(config.image_shape) + label_dim, *reversed(config.hidden)]
        layers: list[nn.Module] = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(w_in, w_out), nn.LeakyReLU(0.2, inplace=True)]
        layers.append(nn.Linear(widths[-1], 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """x (n, C, H, W) in [-1, 1] -> (n,) logits."""
        h = _cat_labels(self.label_embed, x.flatten(1), labels, "this discriminator")
        return self.net(h).squeeze(1)


# ---------------------------------------------------------------------------------------------
# DCGAN


@dataclass
class DCGANConfig:
    latent_dim: int = 100
    image_shape: tuple[int, int, int] = (1, 28, 28)  # also (3, 64, 64)
    g_channels: int = 64
    d_channels: int = 64
    num_classes: int = 0  # > 0 -> conditional GAN (embedding fed to G with z, and to D as an extra input channel)
    # how D's convolutions are normalised: "batch" (Radford et al.) or "spectral" (Miyato et al.
    # 2018: no BatchNorm, each weight divided by its largest singular value), which keeps D from
    # winning outright on a small dataset. G is the same either way.
    d_norm: str = "batch"


D_NORMS = ("batch", "spectral")


def dcgan_sizes(image_shape: tuple[int, int, int]) -> list[int]:
    """Feature-map sides from the 4x4 seed up to the image, one stride-2 layer per step.

    Powers of two double all the way (64: 4 8 16 32 64, as in Radford et al.); 7 * 2^k sides go
    4 -> 7 once with a 3x3 kernel, then double (28: 4 7 14 28).
    """
    _, h, w = image_shape
    if h != w:
        raise ValueError(f"DCGAN needs square images, got {h}x{w}")
    sizes = [h]
    while sizes[-1] > 7 and sizes[-1] % 2 == 0:
        sizes.append(sizes[-1] // 2)
    if sizes[-1] == 4 and len(sizes) >= 2:
        return sizes[::-1]
    if sizes[-1] == 7 and len(sizes) >= 2:
        return [4, *sizes[::-1]]
    raise ValueError(
        f"DCGAN supports square sides 2^k (>= 8) or 7 * 2^k (>= 14), e.g. 28, 32, 64; got {h}"
    )


def _dcgan_init(module: nn.Module) -> None:
    """Radford et al.: weights from N(0, 0.02), BatchNorm scales from N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _up_kernel(size_in: int, size_out: int) -> tuple[int, int]:
    """(kernel, padding) of a stride-2 (transposed) conv joining size_in and size_out."""
    # 4 -> 7 needs kernel 3: (4 - 1) * 2 - 2 + 3 = 7; exact doubling uses kernel 4.
    return (4, 1) if size_out == 2 * size_in else (3, 1)


class DCGANGenerator(nn.Module):
    """z (1x1) -> ConvT to 4x4 -> stride-2 ConvT+BN+ReLU per doubling -> ConvT to C -> tanh.

    Channels halve on the way up: 64x64 with g=64: 512@4 256@8 128@16 64@32 3@64;
    28x28: 256@4 128@7 64@14 1@28.
    """

    def __init__(self, config: DCGANConfig) -> None:
        super().__init__()
        self.config = config
        self.image_shape = tuple(config.image_shape)
        sizes = dcgan_sizes(self.image_shape)
        label_dim = LABEL_DIM if config.num_classes > 0 else 0
        self.label_embed = LabelEmbedding(config.num_classes, LABEL_DIM) if label_dim else None
        n_up = len(sizes) - 1
        channels = [config.g_channels * 2 ** (n_up - 1 - i) for i in range(n_up)] + [self.image_shape[0]]
        self.first = nn.Sequential(
            nn.ConvTranspose2d(config.latent_dim + label_dim, channels[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        for i in range(n_up):
            k, p = _up_kernel(sizes[i], sizes[i + 1])
            last = i == n_up - 1
            layers.append(nn.ConvTranspose2d(channels[i], channels[i + 1], k, 2, p, bias=last))
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(channels[i + 1]), nn.ReLU(inplace=True)]
        self.rest = nn.Sequential(*layers)
        _dcgan_init(self)

    def _first(self, z: Tensor, labels: Tensor | None) -> Tensor:
        h = _cat_labels(self.label_embed, z.flatten(1), labels, "this generator")
        return self.first(h[:, :, None, None])  # (n, channels[0], 4, 4)

    def early_features(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """(n, channels[0] * 16) activations after the first (4x4) layer."""
        return self._first(z, labels).flatten(1)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """z (n, latent_dim) -> (n, C, H, W) in [-1, 1]."""
        return self.rest(self._first(z, labels))


class DCGANDiscriminator(nn.Module):
    """Mirror of the generator: stride-2 convs with LeakyReLU 0.2 and BatchNorm (not on the
    first layer), no pooling, a final 4x4 conv to one logit. A conditional D gets its label
    embedding as one extra H x W input channel."""

    def __init__(self, config: DCGANConfig) -> None:
        super().__init__()
        self.config = config
        self.image_shape = tuple(config.image_shape)
        c, h, w = self.image_shape
        sizes = dcgan_sizes(self.image_shape)[::-1]  # image side down to 4
        self.label_embed = LabelEmbedding(config.num_classes, h * w) if config.num_classes > 0 else None
        if config.d_norm not in D_NORMS:
            raise ValueError(f"d_norm must be one of {', '.join(D_NORMS)}, not {config.d_norm!r}")
        spectral = config.d_norm == "spectral"
        n_down = len(sizes) - 1
        channels = [c + int(config.num_classes > 0)] + [config.d_channels * 2**i for i in range(n_down)]
        layers: list[nn.Module] = []
        for i in range(n_down):
            k, p = _up_kernel(sizes[i + 1], sizes[i])
            layers.append(nn.Conv2d(channels[i], channels[i + 1], k, 2, p, bias=i == 0 or spectral))
            if i > 0 and not spectral:
                layers.append(nn.BatchNorm2d(channels[i + 1]))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
        layers.append(nn.Conv2d(channels[-1], 1, 4, 1, 0))  # 4x4 -> 1x1
        self.net = nn.Sequential(*layers)
        _dcgan_init(self)
        if spectral:   # after the initialisation: the parametrisation wraps the initialised weights
            for m in self.net:
                if isinstance(m, nn.Conv2d):
                    nn.utils.parametrizations.spectral_norm(m)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """x (n, C, H, W) in [-1, 1] -> (n,) logits."""
        if self.label_embed is None:
            check_unconditional(labels, "this discriminator")
        else:
            _, h, w = self.image_shape
            label_map = self.label_embed(labels, x.shape[0]).reshape(x.shape[0], 1, h, w)
            x = torch.cat([x, label_map], dim=1)
        return self.net(x).flatten()
