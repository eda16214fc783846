"""Distances to the training data (models/references.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.references import fit_images, nearest_distances, reference_set


def test_nearest_distance_is_the_rms_pixel_distance_to_the_closest_reference():
    refs = torch.stack([torch.zeros(16), torch.ones(16)])
    images = torch.stack([torch.zeros(16), torch.full((16,), 0.9), torch.full((16,), 0.3)]).reshape(3, 1, 4, 4)
    np.testing.assert_allclose(nearest_distances(images, refs), [0.0, 0.1, 0.3], atol=1e-6)


def test_fit_images_matches_channels_and_size():
    colour = torch.rand(2, 3, 8, 8)
    gray = fit_images(colour, (1, 4, 4))
    assert gray.shape == (2, 1, 4, 4) and 0 <= float(gray.min()) and float(gray.max()) <= 1
    assert fit_images(gray, (3, 4, 4)).shape == (2, 3, 4, 4)


def test_the_reference_set_comes_from_the_training_split_with_a_typical_distance(idx_data):
    refs = reference_set((1, 28, 28), str(idx_data))
    assert refs.images.shape[1] == 784 and len(refs.images) >= 1
    assert np.isfinite(refs.typical) and refs.typical > 0
    again = reference_set((1, 28, 28), str(idx_data))
    assert torch.equal(refs.images, again.images) and refs.typical == again.typical


def test_without_data_the_reference_set_says_how_to_get_it(tmp_path):
    from models.data import DataError

    with pytest.raises(DataError):
        reference_set((1, 28, 28), str(tmp_path / "nowhere"))
