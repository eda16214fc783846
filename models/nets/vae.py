"""Convolutional VAE (Kingma & Welling 2014), optionally class-conditional (cVAE, Sohn et al. 2015).

Encoder: stride-2 convs -> flatten [-> concat label embedding] -> (mu, logvar).
Decoder: [concat label embedding to z] -> Linear -> stride-2 transposed convs -> logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from models.latent_prior import MAX_COMPONENTS
from models.nets.common import ConvDecoder, ConvEncoder, LabelEmbedding, check_unconditional

# Small next to the encoder's thousands of features, but learned, so classes can separate.
LABEL_DIM = 16


@dataclass
class VAEConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)  # 28x28 (or 32/64 multiples of 4)
    latent_dim: int = 16
    num_classes: int = 0  # > 0 makes it a conditional VAE
    base_channels: int = 32
    # > 0: the prior is a mixture of this many Gaussians fitted to the encoded training set after
    # training (models/latent_prior.py), kept as buffers; 0: N(0, I)
    prior_components: int = 0


class VAE(nn.Module):
    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        image_shape = tuple(config.image_shape)
        label_dim = LABEL_DIM if config.num_classes > 0 else 0
        self.label_embed = LabelEmbedding(config.num_classes, LABEL_DIM) if label_dim else None
        self.encoder = ConvEncoder(image_shape, config.base_channels)
        # one Linear for both heads: (n, 2 * latent_dim) split into mu | logvar
        self.to_stats = nn.Linear(self.encoder.out_features + label_dim, 2 * config.latent_dim)
        self.decoder = ConvDecoder(config.latent_dim + label_dim, image_shape, config.base_channels)
        k, d = config.prior_components, config.latent_dim
        if not 0 <= k <= MAX_COMPONENTS:
            raise ValueError(f"prior_components must be 0 to {MAX_COMPONENTS}, not {k}")
        if k:
            self.register_buffer("prior_weights", torch.full((k,), 1.0 / k))
            self.register_buffer("prior_means", torch.zeros(k, d))
            self.register_buffer("prior_scale_tril", torch.eye(d).repeat(k, 1, 1))

    def _with_labels(self, h: Tensor, labels: Tensor | None) -> Tensor:
        if self.label_embed is None:
            check_unconditional(labels, "this VAE")
            return h
        return torch.cat([h, self.label_embed(labels, h.shape[0])], dim=1)

    def encode(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """x in [0, 1], (n, C, H, W) -> (mu, logvar), each (n, latent_dim)."""
        h = self._with_labels(self.encoder(x), labels)
        mu, logvar = self.to_stats(h).chunk(2, dim=1)
        return mu, logvar

    def decode_logits(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """z (n, latent_dim) -> (n, C, H, W) logits."""
        return self.decoder(self._with_labels(z, labels))

    def decode(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return torch.sigmoid(self.decode_logits(z, labels))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """Returns (logits, mu, logvar). Samples z in training mode; in eval mode z = mu, so
        validation reconstructions are deterministic."""
        mu, logvar = self.encode(x, labels)
        if self.training:
            # the clamp keeps exp() finite if an early step sends logvar far out
            std = torch.exp(0.5 * logvar.clamp(-30.0, 20.0))
            z = mu + std * torch.randn_like(std)
        else:
            z = mu
        return self.decode_logits(z, labels), mu, logvar
