"""Which data a model's images are compared with: its recipe's, else Fashion-MNIST, and for a
file that does not say and is not 1x28x28, none."""
from __future__ import annotations

import pytest

from models.data import DataError
from models.training_data import training_data_of


def meta(recipe=None, shape=(1, 28, 28), dataset=None):
    doc = {"name": "m", "kind": "gan", "architecture": "dcgan", "image_shape": list(shape)}
    if recipe is not None:
        doc["training"] = {"recipe": recipe}
    if dataset is not None:
        doc["dataset"] = {"name": dataset}
    return doc


def test_the_recipes_data_is_the_models_data():
    assert training_data_of(meta({"kind": "dcgan", "data": "emoji"}, (3, 64, 64)), (3, 64, 64)) == "emoji"
    assert training_data_of(meta({"kind": "vae", "data": "/pictures/cats"}, (3, 32, 32)), (3, 32, 32)) \
        == "/pictures/cats"


def test_a_recipe_without_data_was_trained_on_the_default_data_at_any_shape():
    assert training_data_of(meta({"kind": "vae"}), (1, 28, 28)) is None
    assert training_data_of(meta({"kind": "dcgan"}, (3, 64, 64)), (3, 64, 64)) is None


def test_a_file_without_training_metadata_is_fashion_mnist_only_at_28_pixels():
    assert training_data_of({}, (1, 28, 28)) is None
    with pytest.raises(DataError, match="3x64x64 model was trained on \\(faces\\) is not known"):
        training_data_of(meta(dataset="faces", shape=(3, 64, 64)), (3, 64, 64))
    with pytest.raises(DataError, match="its file does not say"):
        training_data_of({}, (3, 64, 64))
