"""GAN inversion (models/inversion.py) on tiny random generators."""
from __future__ import annotations

import pytest
import torch

from models.generative import build_model
from models.inversion import InversionConfig, invert, invert_gan

# An MLP generator: a freshly initialised DCGAN's output barely depends on z (BatchNorm at its
# initial statistics), so there would be nothing to optimise.
GAN = ("mlp-gan", {"image_shape": [1, 28, 28], "latent_dim": 8, "hidden": [16, 32, 64]})
CLASSIFIER = ("ae-classifier", {"image_shape": [1, 28, 28], "code_dim": 8, "base_channels": 8, "head_hidden": 16})


@pytest.fixture(scope="module")
def gan():
    torch.manual_seed(0)
    return build_model(*GAN, {"name": "gan"})


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(1)
    return build_model(*CLASSIFIER, {"name": "classifier"})


def test_inversion_lowers_its_loss(gan, classifier):
    target = gan.decode(gan.sample_latent(2, seed=123))   # reachable targets
    result = invert_gan(gan, target, classifier, seed=5,
                        config=InversionConfig(steps=40, lr=0.05, candidates=4))
    assert result.steps_run == 40
    assert len(result.pixel_history) == len(result.feature_history) == 40
    assert result.final_loss < 0.9 * result.initial_loss
    assert result.history[-1] < result.history[0]
    assert result.final_loss <= min(result.history) + 1e-6   # the best latent is the one returned
    assert result.z.shape == (2, 8) and result.images.shape == (2, 1, 28, 28)
    # the returned images are what the returned latents decode to
    assert torch.allclose(gan.decode(result.z), result.images, atol=1e-5)


def test_feature_term_counts_in_the_loss(gan, classifier):
    target = gan.decode(gan.sample_latent(1, seed=7))
    config = InversionConfig(steps=3, candidates=2, feature_weight=1.0)
    with_features = invert_gan(gan, target, classifier, seed=1, config=config)
    pixels_only = invert_gan(gan, target, None, seed=1, config=config)
    assert with_features.feature_history[0] > 0
    assert pixels_only.feature_history == [0.0, 0.0, 0.0]


def test_progress_and_cancel_callbacks(gan):
    target = gan.decode(gan.sample_latent(1, seed=3))
    seen: list[tuple[int, int]] = []
    result = invert(lambda z: gan.decode_differentiable(z), target, gan.sample_latent(1, 0),
                    config=InversionConfig(steps=50),
                    on_step=lambda step, total, loss, images: seen.append((step, total)),
                    should_stop=lambda: len(seen) >= 5)
    assert result.stopped
    assert seen == [(1, 50), (2, 50), (3, 50), (4, 50), (5, 50)]
    assert result.steps_run == 5


def test_bad_input_is_refused(gan):
    with pytest.raises(ValueError, match="target images"):
        invert_gan(gan, torch.zeros(1, 3, 28, 28))
    with pytest.raises(ValueError, match="at least 1 step"):
        InversionConfig(steps=0)
