"""SeFa: closed-form directions from the weights that read the latent."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import hadamard
from torch import nn

import resources
from models.checkpoint import open_model
from models.generative import GANModel, ScriptedGenerator, VAEModel
from models.layer_weights import latent_weight_matrices
from models.nets.gan import DCGANConfig, DCGANGenerator, MLPGANConfig, MLPGenerator
from models.nets.vae import VAE, VAEConfig
from models.sefa import layer_count, sefa_basis, sefa_of

LATENT = 8
SINGULAR = np.array([9.0, 7.0, 5.5, 4.0, 3.0, 2.0, 1.5, 1.0])


def planted(features: int, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """A (features, LATENT) matrix U diag(SINGULAR) V^T with known right singular vectors V. U's
    columns are Hadamard columns, so every row has the same length and SeFa's per-feature
    normalisation leaves the singular vectors as they are."""
    u = hadamard(features)[:, 1:LATENT + 1] / np.sqrt(features)
    v, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((LATENT, LATENT)))
    return torch.tensor(u @ np.diag(SINGULAR) @ v.T, dtype=torch.float32), v.T      # rows of v.T: the vectors


def assert_recovers(directions: np.ndarray, vectors: np.ndarray) -> None:
    cosines = np.abs(np.sum(directions * vectors, axis=1))
    assert cosines.min() > 0.9999, cosines


def mlp_gan(num_classes: int = 0) -> tuple[GANModel, np.ndarray]:
    net = MLPGenerator(MLPGANConfig(latent_dim=LATENT, hidden=(64, 32, 32), num_classes=num_classes))
    matrix, vectors = planted(64)
    with torch.no_grad():
        net.first[0].weight[:, :LATENT] = matrix
    return GANModel(net, {"name": "planted mlp"}), vectors


def dcgan(num_classes: int = 10) -> tuple[GANModel, np.ndarray]:
    """A conditional DCGAN: its first transposed convolution reads z and then the label embedding."""
    net = DCGANGenerator(DCGANConfig(latent_dim=LATENT, g_channels=4, num_classes=num_classes))
    weight = net.first[0].weight                     # (in, out, 4, 4): out = 16 channels of 4 x 4
    matrix, vectors = planted(weight.shape[1] * 16, seed=1)
    with torch.no_grad():
        weight[:LATENT] = matrix.T.reshape(LATENT, weight.shape[1], 4, 4)
    return GANModel(net.eval(), {"name": "planted dcgan"}), vectors


def vae() -> tuple[VAEModel, np.ndarray]:
    net = VAE(VAEConfig(latent_dim=LATENT, base_channels=4, num_classes=10))
    fc = net.decoder.fc                              # (out = 8 x 7 x 7, LATENT + label)
    matrix, vectors = planted(256, seed=2)
    with torch.no_grad():
        fc.weight.zero_()
        fc.weight[:256, :LATENT] = matrix            # the other outputs do not read z
    return VAEModel(net, {"name": "planted vae"}), vectors


@pytest.mark.parametrize("make", [mlp_gan, dcgan, vae], ids=["mlp-gan", "conditional dcgan", "conditional vae"])
def test_sefa_returns_the_planted_right_singular_vectors_in_order(make):
    model, vectors = make()
    found = sefa_of(model, LATENT)
    assert found.directions.shape == (LATENT, LATENT)
    assert_recovers(found.directions, vectors)
    # every feature row has the same length, so the eigenvalues keep the squared singular values' ratios
    np.testing.assert_allclose(found.scale / found.scale[0], SINGULAR ** 2 / SINGULAR[0] ** 2, rtol=1e-4)
    assert found.scale_name == "eigenvalue" and found.layers == (0, 1)
    np.testing.assert_array_equal(found.std, np.ones(LATENT))      # the prior's σ along any unit direction
    assert found.names[0] == "SeFa 1"


def test_sefa_ignores_a_conditional_generators_label_inputs():
    model, vectors = dcgan()
    with torch.no_grad():     # the label columns are large: read by mistake they would dominate
        model.net.first[0].weight[LATENT:] = 50.0 * torch.randn_like(model.net.first[0].weight[LATENT:])
    assert_recovers(sefa_of(model, 3).directions, vectors[:3])


def test_a_features_scale_does_not_change_the_directions():
    """A batch norm after the first layer rescales whole features; SeFa normalises each feature's
    weights, so the directions do not depend on such scales."""
    matrix, _ = planted(64)
    rng = np.random.default_rng(5)
    matrix = matrix + 0.3 * torch.tensor(rng.standard_normal(matrix.shape), dtype=torch.float32)
    scaled = matrix * torch.tensor(rng.uniform(0.01, 100.0, (64, 1)), dtype=torch.float32)
    plain, plain_values, _ = sefa_basis([matrix], LATENT)
    rescaled, rescaled_values, _ = sefa_basis([scaled], LATENT)
    np.testing.assert_allclose(rescaled.numpy(), plain.numpy(), atol=1e-4)
    np.testing.assert_allclose(rescaled_values.numpy(), plain_values.numpy(), rtol=1e-4)


def test_the_layer_range_chooses_which_layers_are_factorised():
    first, _ = planted(64, seed=3)
    second, second_vectors = planted(32, seed=4)
    directions, _, used = sefa_basis([first, second], 4, layers=(1, 2))
    assert used == (1, 2)
    assert_recovers(directions.numpy(), second_vectors[:4])
    directions, _, used = sefa_basis([first, second], 4)
    assert used == (0, 2)
    with pytest.raises(ValueError, match="not within the 2 layer"):
        sefa_basis([first, second], 4, layers=(1, 3))


def test_sefa_of_a_torchscript_generator_says_why_not():
    scripted = torch.jit.script(nn.Sequential(nn.Linear(4, 784), nn.Tanh()))
    model = ScriptedGenerator(scripted, {"latent_shape": [4], "image_shape": [1, 28, 28]})
    with pytest.raises(ValueError, match="SeFa does not apply to .*TorchScript program"):
        sefa_of(model, 4)


def test_weight_matrices_of_the_nets_are_per_latent_input():
    net = DCGANGenerator(DCGANConfig(latent_dim=LATENT, g_channels=4))
    (matrix,) = latent_weight_matrices(net, LATENT)
    assert matrix.shape == (16 * 16, LATENT)
    # column i is what latent input i writes into the 16 channels x 4 x 4 pixels of the first layer
    z = torch.zeros(1, LATENT)
    z[0, 2] = 1.0
    with torch.no_grad():
        written = net.first[0](z[:, :, None, None]).flatten()
    np.testing.assert_allclose(written, matrix[:, 2], atol=1e-6)


BUNDLED = resources.bundled_checkpoints()


@pytest.mark.skipif("cgan" not in BUNDLED, reason="needs the bundled models")
@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_sefa_works_on_every_bundled_gan_and_vae_and_says_why_not_elsewhere(name):
    model = open_model(name)
    if model.sampler is not None:
        with pytest.raises(ValueError, match="many-step sampler"):
            sefa_of(model, 4)
        return
    if model.upscaler is not None or model.translator is not None or model.pyramid is not None:
        with pytest.raises(ValueError, match="no latent to factorise|own part of the latent"):
            sefa_of(model, 4)
        return
    found = sefa_of(model, 4)
    assert layer_count(model) == 1
    assert len(found) == min(4, model.latent_dim) and np.isfinite(found.directions).all()
    np.testing.assert_allclose(np.linalg.norm(found.directions, axis=1), 1.0, rtol=1e-5)
    assert (np.diff(found.scale) <= 0).all()
