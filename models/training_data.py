"""Which data a model was trained on, as the `data` argument of models.data.load_dataset, so the
views compare a model's images with its own training images (an emoji model with emoji, a
Fashion-MNIST model with Fashion-MNIST) and never with another model's data.

Read from the checkpoint's metadata: the recipe's `data` (a folder, a font file, "emoji") when
training named one, else the default data (Fashion-MNIST). A file without training metadata (a
user's state dict with a sidecar, a TorchScript generator) is taken to be a Fashion-MNIST model
when its images are 1x28x28; for any other shape its data is unknown. Torch-free.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from models.data import DataError

FASHION_SHAPE = (1, 28, 28)


def training_data_of(metadata: Mapping[str, Any], image_shape: Sequence[int]) -> str | None:
    """The `data` argument that loads this model's training data (None: the default data).
    DataError saying so when the metadata does not tell and the images are not Fashion-MNIST's."""
    from models.errors import CheckpointError
    from models.metadata import parse_metadata

    try:
        m = parse_metadata(metadata)
    except CheckpointError:
        m = None
    training = m.training if m is not None else None
    if training is not None:
        data = training.recipe.get("data")
        return str(data) if isinstance(data, str) and data else None
    if tuple(int(s) for s in image_shape) == FASHION_SHAPE:
        return None
    name = m.dataset.name if m is not None and m.dataset is not None and m.dataset.name else ""
    shape = "x".join(str(int(s)) for s in image_shape)
    raise DataError(f"the data this {shape} model was trained on ({name or 'its file does not say'}) is not "
                    f"known here, so its images are not compared with training images")


def data_for(model: Any, data: str | None = None) -> str | None:
    """`data` when it is given, else the data `model` (a GenerativeModel) was trained on."""
    return data if data is not None else training_data_of(model.metadata, model.image_shape)
