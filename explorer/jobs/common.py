"""What every feature's jobs share: opening a model and describing it, the classifier that judges
its images, its principal directions (cached on the worker).

Torch is imported inside the functions that need it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.model_info import ModelInfo

if TYPE_CHECKING:

    from explorer.job_context import JobContext
    from models.directions import Directions, DirectionSpec
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


def cached_directions(ctx: JobContext, source: str, label: Any = None, seed: int = 0, data: str | None = None,
                      spec: DirectionSpec | None = None, classifier: str | None = None) -> Steps[Directions]:
    """`models.directions.directions_of` the model `source` (the principal directions unless `spec`
    says otherwise), cached on the worker per model file, method, class and seed, so every view
    gets the same directions of the same model. The supervised methods label images with the
    model `classifier`."""
    from models.data import DataError
    from models.directions import DirectionSpec, directions_of

    spec = spec or DirectionSpec()
    model = ctx.model(source)
    if model.conditional is None:
        label = None
    label_key = label if label is None or isinstance(label, int) else tuple(float(w) for w in np.asarray(label))
    judge = ctx.model(classifier) if classifier and spec.method != DirectionSpec().method else None
    key = ("directions", ctx.model_key(source), spec, label_key, int(seed), data,
           ctx.model_key(classifier) if judge is not None else None)

    def compute() -> Steps[Directions]:
        test, problem = None, ""
        if model.encoder is not None and (model.early_layer is None or spec.method != DirectionSpec().method):
            try:
                test = ctx.dataset(model, "test", data)
            except DataError as e:
                problem = str(e)
        return (yield from directions_of(model, spec, judge=judge, labels=_labels(label), seed=seed, data=test,
                                         data_problem=problem))

    return (yield from ctx.cached(key, compute))


def cached_references(ctx: JobContext, model: GenerativeModel, data: str | None = None) -> Any:
    """The training images `model`'s images are compared with (models.references.reference_set:
    of its own training data unless `data` names other), cached on the worker, or why there are
    none (a string)."""
    from models.data import DataError
    from models.references import reference_set
    from models.training_data import data_for

    shape = tuple(int(s) for s in model.image_shape)
    try:
        data = data_for(model, data)
    except DataError as e:
        return str(e)
    return ctx.cached_value(("references", data, shape), lambda: _references_or_why(reference_set, shape, data))


def _references_or_why(reference_set: Any, shape: tuple[int, ...], data: str | None) -> Any:
    from models.data import DataError

    try:
        return reference_set(shape, data)
    except DataError as e:
        return str(e)


def _labels(label: Any) -> Any:
    import torch

    if label is None or isinstance(label, int):
        return label
    return torch.as_tensor([float(w) for w in label], dtype=torch.float32)


@dataclass(frozen=True)
class ImageInput:
    """The image an image-to-image view works on: a test item (`test_index`), a picture file
    (`path`) or pixels (uint8 (H, W) or (H, W, C)) with a note saying what made them."""

    test_index: int | None = None
    path: str | None = None
    pixels: np.ndarray | None = field(default=None, compare=False)
    note: str = ""

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.test_index, self.path, self.pixels)) != 1:
            raise ValueError("an input image is a test index, a file or pixels: exactly one")
