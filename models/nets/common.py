"""Pieces shared by the network families: class-label embedding and the small conv encoder /
decoder pair used by the VAE and the autoencoder classifier."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class LabelEmbedding(nn.Module):
    """Maps the `labels` argument used everywhere in the project to one vector per sample.

    labels may be
      - None: the null row (only when `null_class`, for classifier-free guidance),
      - a LongTensor (n,) of class indices,
      - a FloatTensor (n, K) of class weights, K == num_classes (or num_classes + 1 to weight the
        null row too). The result is the weighted sum of the embedding rows, so one-hot weights
        give exactly the index lookup and fractional weights blend classes.
    A batch of one label is broadcast to n samples.
    """

    def __init__(self, num_classes: int, dim: int, null_class: bool = False) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"LabelEmbedding needs num_classes >= 1, got {num_classes}")
        self.num_classes = num_classes
        self.dim = dim
        self.null_class = null_class
        self.embedding = nn.Embedding(num_classes + int(null_class), dim)

    @property
    def null_index(self) -> int:
        if not self.null_class:
            raise ValueError("this embedding has no null class")
        return self.num_classes

    def forward(self, labels: Tensor | None, n: int) -> Tensor:
        table = self.embedding.weight  # (rows, dim)
        if labels is None:
            if not self.null_class:
                raise ValueError(
                    "this network is class-conditional: pass labels (class indices or class "
                    "weights); labels=None is only allowed for networks with a null class"
                )
            return table[self.num_classes].expand(n, self.dim)
        if labels.dim() == 0:
            labels = labels.reshape(1)
        if labels.shape[0] not in (1, n):
            raise ValueError(f"got {labels.shape[0]} labels for a batch of {n}")

        if labels.is_floating_point():
            if labels.dim() != 2 or labels.shape[1] not in (self.num_classes, table.shape[0]):
                raise ValueError(
                    f"class weights must have shape (n, {self.num_classes}), got {tuple(labels.shape)}"
                )
            out = labels.to(table.dtype) @ table[: labels.shape[1]]  # (n or 1, dim)
        else:
            if labels.dim() != 1:
                raise ValueError(f"class indices must have shape (n,), got {tuple(labels.shape)}")
            labels = labels.long()
            if labels.numel() and (labels.min() < 0 or labels.max() >= table.shape[0]):
                raise ValueError(
                    f"class index out of range [0, {table.shape[0]}): {labels.tolist()}"
                )
            out = self.embedding(labels)
        return out.expand(n, self.dim)


def check_unconditional(labels: Tensor | None, owner: str) -> None:
    """Unconditional nets reject labels rather than silently ignoring a caller's class choice."""
    if labels is not None:
        raise ValueError(f"{owner} is unconditional (num_classes=0): pass labels=None")


def conv_stage_sizes(image_shape: tuple[int, int, int]) -> list[tuple[int, int]]:
    """Spatial sizes visited by a stride-2 encoder, from the image down to the smallest map.

    Halves while both sides are even and larger than 8: 28 -> 14 -> 7, 32 -> 16 -> 8,
    64 -> 32 -> 16 -> 8. Odd sides stop early because a stride-2 transposed conv could not
    restore them exactly.
    """
    _, h, w = image_shape
    sizes = [(h, w)]
    while h % 2 == 0 and w % 2 == 0 and min(h, w) > 8:
        h, w = h // 2, w // 2
        sizes.append((h, w))
    if len(sizes) < 2:
        raise ValueError(
            f"image size {image_shape[1]}x{image_shape[2]} cannot be downsampled; use sides that "
            "are even and larger than 8 (e.g. 28, 32, 64)"
        )
    return sizes


class ConvEncoder(nn.Module):
    """Stride-2 4x4 convs with ReLU, channels doubling per stage, then flatten.

    (n, C, H, W) -> (n, out_features); 28x28 with base 32: 1 -> 32 @14x14 -> 64 @7x7 -> 3136.
    """

    def __init__(self, image_shape: tuple[int, int, int], base_channels: int) -> None:
        super().__init__()
        sizes = conv_stage_sizes(image_shape)
        channels = [image_shape[0]] + [base_channels * 2**i for i in range(len(sizes) - 1)]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
        self.net = nn.Sequential(*layers, nn.Flatten())
        h, w = sizes[-1]
        self.feature_shape = (channels[-1], h, w)
        self.out_features = channels[-1] * h * w

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ConvDecoder(nn.Module):
    """Mirror of ConvEncoder: Linear to the smallest map, then stride-2 4x4 transposed convs.

    (n, in_features) -> (n, C, H, W) logits (no output activation).
    """

    def __init__(self, in_features: int, image_shape: tuple[int, int, int], base_channels: int) -> None:
        super().__init__()
        sizes = conv_stage_sizes(image_shape)
        channels = [image_shape[0]] + [base_channels * 2**i for i in range(len(sizes) - 1)]
        h, w = sizes[-1]
        self.feature_shape = (channels[-1], h, w)
        self.fc = nn.Linear(in_features, channels[-1] * h * w)
        layers: list[nn.Module] = []
        rev = channels[::-1]
        for i, (c_in, c_out) in enumerate(zip(rev[:-1], rev[1:])):
            layers.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1))
            if i < len(rev) - 2:
                layers.append(nn.ReLU(inplace=True))
        self.net = nn.Sequential(*layers)

    def forward(self, h: Tensor) -> Tensor:
        x = torch.relu(self.fc(h)).view(h.shape[0], *self.feature_shape)
        return self.net(x)
