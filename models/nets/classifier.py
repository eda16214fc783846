"""An autoencoder with a classification head on its code.

Trained in two stages: reconstruction first (encoder + decoder), then the head with the encoder
fine-tuned. The head's hidden layer is the feature space for classifier-FID, so `features`
exposes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from models.nets.common import ConvDecoder, ConvEncoder

HEAD_DROPOUT = 0.3


@dataclass
class ClassifierConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)
    code_dim: int = 64
    num_classes: int = 10
    base_channels: int = 32
    head_hidden: int = 128


class AutoencoderClassifier(nn.Module):
    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        image_shape = tuple(config.image_shape)
        self.encoder = ConvEncoder(image_shape, config.base_channels)
        self.to_code = nn.Linear(self.encoder.out_features, config.code_dim)
        self.decoder = ConvDecoder(config.code_dim, image_shape, config.base_channels)
        self.head_hidden = nn.Sequential(nn.Linear(config.code_dim, config.head_hidden), nn.ReLU())
        self.head_out = nn.Sequential(nn.Dropout(HEAD_DROPOUT), nn.Linear(config.head_hidden, config.num_classes))

    def encode(self, x: Tensor) -> Tensor:
        """x in [0, 1], (n, C, H, W) -> code (n, code_dim)."""
        return self.to_code(self.encoder(x))

    def decode_logits(self, code: Tensor) -> Tensor:
        """code (n, code_dim) -> (n, C, H, W) logits, for a numerically stable BCE loss."""
        return self.decoder(code)

    def decode(self, code: Tensor) -> Tensor:
        """code (n, code_dim) -> (n, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decoder(code))

    def features(self, x: Tensor) -> Tensor:
        """(n, head_hidden): the head's hidden (post-ReLU) activations, the penultimate layer."""
        return self.head_hidden(self.encode(x))

    def forward(self, x: Tensor) -> Tensor:
        """x in [0, 1] -> (n, num_classes) logits."""
        return self.head_out(self.features(x))
