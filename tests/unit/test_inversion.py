"""GAN inversion (models/inversion.py) on tiny random generators."""
from __future__ import annotations

import pytest
import torch

from models.generative import build_model
from models.inversion import InversionConfig, InversionStep, invert_gan, invert_gan_steps
from models.steps import run_to_end

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
    """The classifier capability of a tiny judge: its features give the perceptual term."""
    torch.manual_seed(1)
    return build_model(*CLASSIFIER, {"name": "classifier"}).classifier


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


def test_inversion_steps_stream_the_loss_and_images_and_give_the_wrappers_result(gan, classifier):
    target = gan.decode(gan.sample_latent(2, seed=3))
    config = InversionConfig(steps=6, candidates=3)
    seen = []
    result = run_to_end(invert_gan_steps(gan, target, classifier, seed=2, config=config), seen.append)
    assert [(p.done, p.total) for p in seen] == [(step, 6) for step in range(1, 7)]
    for p, loss in zip(seen, result.history):
        assert isinstance(p.partial, InversionStep) and p.partial.step == p.done
        assert p.partial.loss == loss and f"{loss:.4f}" in p.message
        assert p.partial.images.shape == (2, 1, 28, 28) and not p.partial.images.requires_grad
        assert 0 <= float(p.partial.images.min()) and float(p.partial.images.max()) <= 1
    calls: list[tuple[int, int]] = []
    again = invert_gan(gan, target, classifier, seed=2, config=config,
                       progress=lambda done, total: calls.append((done, total)))
    assert calls == [(p.done, p.total) for p in seen]
    assert again.history == result.history and torch.equal(again.z, result.z)


def test_closing_the_inversion_after_two_steps_stops_it(gan, monkeypatch):
    decodes: list[int] = []
    original = gan.decode_differentiable

    def counted(*args, **kwargs):
        decodes.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(gan, "decode_differentiable", counted)
    steps = invert_gan_steps(gan, gan.decode(gan.sample_latent(1, seed=3)), seed=0, config=InversionConfig(steps=50))
    next(steps), next(steps)
    # the choice of the start, the evaluation before the first step and one per step
    assert len(decodes) == 1 + 1 + 2
    steps.close()
    with pytest.raises(StopIteration):
        next(steps)
    assert len(decodes) == 4


def test_inversion_leaves_the_threads_grad_mode_alone_between_steps(gan):
    # between two steps the worker runs other jobs on the same thread: none may find gradients on
    steps = invert_gan_steps(gan, gan.decode(gan.sample_latent(1, seed=3)), config=InversionConfig(steps=5))
    with torch.no_grad():
        next(steps)
        assert not torch.is_grad_enabled()
        next(steps)
        assert not torch.is_grad_enabled()
    with torch.inference_mode():     # and a step still gets its gradients inside inference mode
        next(steps)
        assert torch.is_inference_mode_enabled()
    steps.close()


def test_bad_input_is_refused(gan):
    with pytest.raises(ValueError, match="target images"):
        invert_gan(gan, torch.zeros(1, 3, 28, 28))
    with pytest.raises(ValueError, match="at least 1 step"):
        InversionConfig(steps=0)
