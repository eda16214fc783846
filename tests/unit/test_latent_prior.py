"""A VAE's mixture prior fitted to its encoded training set (models/latent_prior.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from models.capabilities import seeded_normal
from models.checkpoint import CheckpointError, load_checkpoint, read_metadata
from models.data import load_dataset
from models.latent_prior import MAX_COMPONENTS, fit_mixture, sample_mixture
from models.train import TrainOptions, train
from tests.unit.test_train import SMALL_ARCH, synthetic_idx


def test_one_component_draws_have_its_mean_and_covariance():
    means = torch.tensor([[2.0, -1.0]])
    scale_tril = torch.tensor([[[0.5, 0.0], [0.3, 0.2]]])
    z = sample_mixture(torch.ones(1), means, scale_tril, 20000, seed=1)
    assert torch.allclose(z.mean(0), means[0], atol=0.02)
    expected = (scale_tril[0] @ scale_tril[0].T).numpy()
    assert np.allclose(np.cov(z.numpy().T), expected, atol=0.02)


def test_draws_follow_the_weights_and_the_seed():
    means = torch.tensor([[-10.0], [10.0]])
    scale_tril = torch.ones(2, 1, 1)
    z = sample_mixture(torch.tensor([0.25, 0.75]), means, scale_tril, 8000, seed=0)
    assert abs(float((z > 0).float().mean()) - 0.75) < 0.02
    assert bool((sample_mixture(torch.tensor([0.0, 3.0]), means, scale_tril, 100, seed=0) > 0).all())
    assert torch.equal(sample_mixture(torch.ones(2), means, scale_tril, 50, 4),
                       sample_mixture(torch.ones(2), means, scale_tril, 50, 4))
    assert not torch.equal(sample_mixture(torch.ones(2), means, scale_tril, 50, 4),
                           sample_mixture(torch.ones(2), means, scale_tril, 50, 5))


@pytest.mark.parametrize("weights", [[float("nan"), 1.0], [-1.0, 2.0], [0.0, 0.0]])
def test_a_damaged_mixture_is_refused(weights):
    with pytest.raises(ValueError, match="not finite and positive"):
        sample_mixture(torch.tensor(weights), torch.zeros(2, 3), torch.eye(3).repeat(2, 1, 1), 4, 0)


def test_the_fit_finds_planted_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([[-4.0, 0.0], [4.0, 1.0]])
    latents = np.concatenate([c + 0.3 * rng.standard_normal((300, 2)) for c in centres])
    weights, means, scale_tril = fit_mixture(latents, 2, seed=0)
    order = means[:, 0].argsort()
    assert np.allclose(means[order].numpy(), centres, atol=0.1)
    assert np.allclose(weights.numpy(), 0.5, atol=0.01)
    assert np.allclose((scale_tril @ scale_tril.transpose(1, 2)).numpy(), 0.09 * np.eye(2), atol=0.03)
    with pytest.raises(ValueError):
        fit_mixture(latents, MAX_COMPONENTS + 1, seed=0)


@pytest.fixture(scope="module")
def vae_with_prior(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prior")
    data = load_dataset(synthetic_idx(folder / "idx", n=48), split="train")
    out = folder / "vae.safetensors"
    train(TrainOptions(kind="vae", epochs=1, batch_size=16, latent_dim=3, seed=2, device="cpu",
                       arch={**SMALL_ARCH["vae"], "prior_components": 2}), data, out)
    return out


def test_a_vae_trained_with_a_prior_samples_from_its_mixture(vae_with_prior):
    model = load_checkpoint(vae_with_prior)
    net = model.net
    assert net.prior_weights.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert not torch.equal(net.prior_means, torch.zeros_like(net.prior_means))     # fitted, not the initial
    z = model.sample_latent(6, seed=3)
    assert torch.equal(z, sample_mixture(net.prior_weights, net.prior_means, net.prior_scale_tril, 6, 3))
    assert not torch.allclose(z, seeded_normal((6, 3), 3))
    assert "Gaussian mixture" in read_metadata(vae_with_prior)["training"]["recipe"]["prior"]


def test_a_training_set_too_small_for_every_component_fits_what_it_can(tmp_path):
    data = load_dataset(synthetic_idx(tmp_path / "idx", n=8), split="train")
    out = tmp_path / "vae.safetensors"
    train(TrainOptions(kind="vae", epochs=1, batch_size=8, latent_dim=3, seed=2, device="cpu",
                       arch={**SMALL_ARCH["vae"], "prior_components": 30}), data, out)
    weights = load_checkpoint(out).net.prior_weights
    assert (weights[:4] > 0).all() and (weights[4:] == 0).all()        # 8 images hold 4 components
    assert weights.sum().item() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("components", [MAX_COMPONENTS + 1, -1])
def test_a_file_asking_for_too_many_components_is_refused_before_anything_is_built(vae_with_prior, tmp_path,
                                                                                  components):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(vae_with_prior), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        document = json.loads(f.metadata()["latent_explorer"])
    document["config"]["prior_components"] = components
    document.pop("digest", None)
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata={"latent_explorer": json.dumps(document)})
    with pytest.raises(CheckpointError, match="prior_components"):
        load_checkpoint(bad)
