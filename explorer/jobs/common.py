"""What every feature's jobs share: opening a model and describing it, the classifier that judges
its images, its principal directions (cached on the worker).

Torch is imported inside the functions that need it."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.model_info import ModelInfo

if TYPE_CHECKING:

    from explorer.job_context import JobContext
    from models.directions import Directions
    from models.generative import GenerativeModel
    from models.steps import Steps


def load_info_job(source: str) -> Callable[[JobContext], ModelInfo]:
    """Opens `source` on the worker's device (cached there for later jobs) and describes it."""

    def job(ctx: JobContext) -> ModelInfo:
        return ModelInfo.from_model(source, ctx.model(source))

    return job


def judges(judge: GenerativeModel | None, model: GenerativeModel) -> bool:
    """Whether `judge` is a classifier that reads `model`'s images."""
    return (judge is not None and judge.classifier is not None
            and tuple(judge.image_shape) == tuple(model.image_shape))


def cached_directions(ctx: JobContext, source: str, label: Any = None, seed: int = 0,
                      data: str | None = None) -> Steps[Directions]:
    """`models.directions.principal_directions_of` the model `source`, cached on the worker per
    model file, class and seed, so every view gets the same directions of the same model."""

    from models.data import DataError
    from models.directions import principal_directions_of

    model = ctx.model(source)
    if model.conditional is None:
        label = None
    label_key = label if label is None or isinstance(label, int) else tuple(float(w) for w in np.asarray(label))
    key = ("directions", ctx.model_key(source), label_key, int(seed), data)

    def compute() -> Steps[Directions]:
        test, problem = None, ""
        if model.early_layer is None and model.encoder is not None:
            try:
                test = ctx.dataset("test", tuple(model.image_shape), data)
            except DataError as e:
                problem = str(e)
        return (yield from principal_directions_of(model, _labels(label), seed, test, problem))

    return (yield from ctx.cached(key, compute))


def _labels(label: Any) -> Any:
    import torch

    if label is None or isinstance(label, int):
        return label
    return torch.as_tensor([float(w) for w in label], dtype=torch.float32)
