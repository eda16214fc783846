"""What every feature's jobs share: opening a model and describing it, tensors to uint8 pixels.

Torch is imported inside the functions that need it."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from explorer.model_info import ModelInfo

if TYPE_CHECKING:
    from torch import Tensor

    from explorer.worker import JobContext


def to_uint8(images: Tensor) -> np.ndarray:
    """(n, C, H, W) floats in [0, 1], on any device -> (n, H, W, C) uint8 on the CPU."""
    import torch

    pixels = images.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    return np.ascontiguousarray(pixels.permute(0, 2, 3, 1).cpu().numpy())


def load_info_job(source: str) -> Callable[[JobContext], ModelInfo]:
    """Opens `source` on the worker's device (cached there for later jobs) and describes it."""

    def job(ctx: JobContext) -> ModelInfo:
        return ModelInfo.from_model(source, ctx.model(source))

    return job
