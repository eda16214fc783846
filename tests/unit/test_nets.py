"""Shapes, value ranges, label handling and gradient flow of every network family."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from models.nets.classifier import AutoencoderClassifier, ClassifierConfig
from models.nets.common import LabelEmbedding
from models.nets.gan import (
    DCGANConfig,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGANConfig,
    MLPGenerator,
    dcgan_sizes,
)
from models.nets.unet import UNet, UNetConfig
from models.nets.vae import VAE, VAEConfig

N = 3
MNIST = (1, 28, 28)
RGB64 = (3, 64, 64)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def one_hot(labels: torch.Tensor, k: int) -> torch.Tensor:
    return F.one_hot(labels, k).float()


# ---------------------------------------------------------------------------------------------
# LabelEmbedding


def test_label_embedding_indices_match_one_hot_weights() -> None:
    emb = LabelEmbedding(5, 7)
    labels = torch.tensor([0, 4, 2])
    by_index = emb(labels, 3)
    assert by_index.shape == (3, 7)
    torch.testing.assert_close(by_index, emb.embedding.weight[labels])
    torch.testing.assert_close(emb(one_hot(labels, 5), 3), by_index)


def test_label_embedding_blend_is_weighted_sum_of_rows() -> None:
    emb = LabelEmbedding(4, 6)
    rows = emb.embedding.weight
    weights = torch.tensor([[0.25, 0.0, 0.75, 0.0], [0.0, 1.0, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4]])
    out = emb(weights, 3)
    torch.testing.assert_close(out[0], 0.25 * rows[0] + 0.75 * rows[2])
    torch.testing.assert_close(out[1], rows[1])
    torch.testing.assert_close(out[2], 0.1 * rows[0] + 0.2 * rows[1] + 0.3 * rows[2] + 0.4 * rows[3])
    # a weighted sum, not a normalised average: the caller decides the weights
    torch.testing.assert_close(emb(torch.tensor([[2.0, 0.0, 0.0, 0.0]]), 1)[0], 2 * rows[0])


def test_label_embedding_null_row_and_broadcast() -> None:
    emb = LabelEmbedding(3, 4, null_class=True)
    null = emb(None, 2)
    assert null.shape == (2, 4)
    torch.testing.assert_close(null, emb.embedding.weight[3].expand(2, 4))
    torch.testing.assert_close(emb(torch.tensor([3]), 2), null)
    # weights may include the null column (K = num_classes + 1)
    torch.testing.assert_close(emb(torch.tensor([[0.0, 0.0, 0.0, 1.0]]), 2), null)
    # a single label is broadcast over the batch
    torch.testing.assert_close(emb(torch.tensor([1]), 5), emb.embedding.weight[1].expand(5, 4))


def test_label_embedding_rejects_bad_labels() -> None:
    emb = LabelEmbedding(3, 4)
    with pytest.raises(ValueError, match="labels"):
        emb(None, 2)
    with pytest.raises(ValueError, match="out of range"):
        emb(torch.tensor([0, 3]), 2)
    with pytest.raises(ValueError, match="shape"):
        emb(torch.ones(2, 5), 2)
    with pytest.raises(ValueError, match="batch"):
        emb(torch.tensor([0, 1, 2]), 2)


# ---------------------------------------------------------------------------------------------
# VAE


@pytest.mark.parametrize(("image_shape", "latent_dim"), [(MNIST, 2), (MNIST, 16), (RGB64, 16)])
def test_vae_shapes_and_ranges(image_shape: tuple[int, int, int], latent_dim: int) -> None:
    vae = VAE(VAEConfig(image_shape=image_shape, latent_dim=latent_dim)).eval()
    x = torch.rand(N, *image_shape)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (N, latent_dim)
    z = torch.randn(N, latent_dim) * 3
    logits = vae.decode_logits(z)
    assert logits.shape == (N, *image_shape)
    img = vae.decode(z)
    assert img.min() >= 0 and img.max() <= 1
    torch.testing.assert_close(img, torch.sigmoid(logits))
    assert not torch.allclose(img[0], img[1])  # the decoder depends on z
    out, mu2, _ = vae(x)
    torch.testing.assert_close(mu2, mu)
    torch.testing.assert_close(out, vae.decode_logits(mu))  # eval mode decodes the mean


def test_vae_forward_samples_in_training_mode() -> None:
    vae = VAE(VAEConfig()).train()
    x = torch.rand(N, *MNIST)
    a, mu, _ = vae(x)
    b, _, _ = vae(x)
    assert not torch.allclose(a, b)
    assert not torch.allclose(a, vae.decode_logits(mu))


def test_cvae_indices_equal_one_hot_and_label_matters() -> None:
    vae = VAE(VAEConfig(num_classes=10, latent_dim=2)).eval()
    x, z = torch.rand(N, *MNIST), torch.randn(N, 2)
    labels = torch.tensor([1, 5, 9])
    torch.testing.assert_close(vae.decode(z, labels), vae.decode(z, one_hot(labels, 10)))
    mu_i, lv_i = vae.encode(x, labels)
    mu_w, lv_w = vae.encode(x, one_hot(labels, 10))
    torch.testing.assert_close(mu_i, mu_w)
    torch.testing.assert_close(lv_i, lv_w)
    assert not torch.allclose(vae.decode(z, labels), vae.decode(z, torch.tensor([0, 0, 0])))
    with pytest.raises(ValueError):
        vae.decode(z)  # a conditional VAE has no null class


def test_unconditional_nets_reject_labels() -> None:
    with pytest.raises(ValueError, match="unconditional"):
        VAE(VAEConfig()).decode(torch.randn(1, 16), torch.tensor([0]))
    with pytest.raises(ValueError, match="unconditional"):
        MLPGenerator(MLPGANConfig()).eval()(torch.randn(1, 100), torch.tensor([0]))
    with pytest.raises(ValueError, match="unconditional"):
        UNet(UNetConfig()).eval()(torch.randn(1, *MNIST), torch.tensor([0]), torch.tensor([0]))


# ---------------------------------------------------------------------------------------------
# GANs


def test_mlp_gan_shapes_ranges_and_early_features() -> None:
    cfg = MLPGANConfig()
    g, d = MLPGenerator(cfg).eval(), MLPDiscriminator(cfg).eval()
    z = torch.randn(N, cfg.latent_dim)
    img = g(z)
    assert img.shape == (N, *MNIST)
    assert img.min() >= -1 and img.max() <= 1
    assert img.std() > 0 and not torch.allclose(img[0], img[1])
    feats = g.early_features(z)
    assert feats.shape == (N, cfg.hidden[0])
    assert not torch.allclose(feats[0], feats[1])
    logits = d(img)
    assert logits.shape == (N,)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize(
    ("image_shape", "first_channels"), [(MNIST, 4 * 64), ((1, 32, 32), 4 * 64), (RGB64, 8 * 64)]
)
def test_dcgan_shapes_ranges_and_early_features(
    image_shape: tuple[int, int, int], first_channels: int
) -> None:
    cfg = DCGANConfig(image_shape=image_shape)
    g, d = DCGANGenerator(cfg).eval(), DCGANDiscriminator(cfg).eval()
    z = torch.randn(N, cfg.latent_dim)
    img = g(z)
    assert img.shape == (N, *image_shape)
    assert img.min() >= -1 and img.max() <= 1
    assert not torch.allclose(img[0], img[1])
    assert g.early_features(z).shape == (N, first_channels * 4 * 4)
    assert d(img).shape == (N,)


def test_dcgan_layer_stack_follows_image_size() -> None:
    assert dcgan_sizes(MNIST) == [4, 7, 14, 28]
    assert dcgan_sizes(RGB64) == [4, 8, 16, 32, 64]
    g = DCGANGenerator(DCGANConfig(image_shape=RGB64))
    n_transposed = sum(isinstance(m, torch.nn.ConvTranspose2d) for m in g.modules())
    assert n_transposed == 5  # 1x1 -> 4 -> 8 -> 16 -> 32 -> 64
    for bad in [(1, 30, 30), (1, 28, 32), (1, 7, 7)]:
        with pytest.raises(ValueError):
            DCGANGenerator(DCGANConfig(image_shape=bad))


def test_generators_are_batch_invariant_in_eval_mode() -> None:
    """Decoding one latent alone gives the same image as decoding it inside a batch."""
    for g in (MLPGenerator(MLPGANConfig()).eval(), DCGANGenerator(DCGANConfig()).eval()):
        z = torch.randn(N, 100)
        torch.testing.assert_close(g(z[1:2]), g(z)[1:2], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "make",
    [
        lambda: (MLPGenerator(MLPGANConfig(num_classes=10)), MLPDiscriminator(MLPGANConfig(num_classes=10))),
        lambda: (
            DCGANGenerator(DCGANConfig(num_classes=10, g_channels=16, d_channels=16)),
            DCGANDiscriminator(DCGANConfig(num_classes=10, g_channels=16, d_channels=16)),
        ),
        lambda: (
            DCGANGenerator(DCGANConfig(image_shape=RGB64, num_classes=4, g_channels=8, d_channels=8)),
            DCGANDiscriminator(DCGANConfig(image_shape=RGB64, num_classes=4, g_channels=8, d_channels=8)),
        ),
    ],
    ids=["mlp", "dcgan28", "dcgan64"],
)
def test_conditional_gan_indices_equal_one_hot(make) -> None:
    g, d = (m.eval() for m in make())
    k = g.config.num_classes
    z = torch.randn(N, g.config.latent_dim)
    labels = torch.tensor([0, k - 1, 2])
    img = g(z, labels)
    assert img.shape == (N, *g.config.image_shape)
    torch.testing.assert_close(img, g(z, one_hot(labels, k)))
    torch.testing.assert_close(g.early_features(z, labels), g.early_features(z, one_hot(labels, k)))
    assert not torch.allclose(img, g(z, torch.tensor([1, 1, 1])))  # the label changes the image
    torch.testing.assert_close(d(img, labels), d(img, one_hot(labels, k)))
    assert not torch.allclose(d(img, labels), d(img, torch.tensor([1, 1, 1])))
    with pytest.raises(ValueError):
        g(z)  # a conditional GAN has no null class


# ---------------------------------------------------------------------------------------------
# UNet


def test_unet_shapes() -> None:
    unet = UNet(UNetConfig()).eval()
    x = torch.randn(N, *MNIST)
    eps = unet(x, torch.tensor([0, 500, 999]))
    assert eps.shape == x.shape
    assert torch.isfinite(eps).all()
    assert not torch.allclose(eps, unet(x, torch.tensor([10, 10, 10])))  # timestep matters
    rgb = UNet(UNetConfig(image_shape=(3, 32, 32), channel_mults=(1, 2, 2, 2))).eval()
    assert rgb(torch.randn(2, 3, 32, 32), torch.tensor([1, 2])).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="channel_mults"):
        UNet(UNetConfig(channel_mults=(1, 2, 2, 2)))  # 7x7 cannot be halved again


def test_unet_labels_none_equals_null_class() -> None:
    k = 10
    unet = UNet(UNetConfig(num_classes=k)).eval()
    x, t = torch.randn(N, *MNIST), torch.tensor([3, 300, 900])
    by_none = unet(x, t)
    torch.testing.assert_close(by_none, unet(x, t, torch.full((N,), k)))
    torch.testing.assert_close(by_none, unet(x, t, one_hot(torch.full((N,), k), k + 1)))
    labels = torch.tensor([0, 4, 9])
    by_index = unet(x, t, labels)
    torch.testing.assert_close(by_index, unet(x, t, one_hot(labels, k)))
    assert not torch.allclose(by_index, by_none)


def test_unet_class_blend_interpolates_the_embedding() -> None:
    unet = UNet(UNetConfig(num_classes=4)).eval()
    t = torch.tensor([100, 100])
    a, b = unet.embed(t, torch.tensor([0, 0]), 2), unet.embed(t, torch.tensor([3, 3]), 2)
    weights = torch.tensor([[0.25, 0.0, 0.0, 0.75], [0.5, 0.0, 0.0, 0.5]])
    blended = unet.embed(t, weights, 2)
    torch.testing.assert_close(blended[0], 0.25 * a[0] + 0.75 * b[0])
    torch.testing.assert_close(blended[1], 0.5 * a[1] + 0.5 * b[1])


# ---------------------------------------------------------------------------------------------
# Classifier


def test_classifier_shapes_and_ranges() -> None:
    cfg = ClassifierConfig()
    clf = AutoencoderClassifier(cfg).eval()
    x = torch.rand(N, *MNIST)
    code = clf.encode(x)
    assert code.shape == (N, cfg.code_dim)
    recon = clf.decode(code)
    assert recon.shape == x.shape
    assert recon.min() >= 0 and recon.max() <= 1
    feats = clf.features(x)
    assert feats.shape == (N, cfg.head_hidden)
    assert feats.min() >= 0 and feats.max() > 0  # post-ReLU, not dead
    logits = clf(x)
    assert logits.shape == (N, cfg.num_classes)
    # the logits are a linear function of the features
    torch.testing.assert_close(logits, clf.head_out[-1](feats))


# ---------------------------------------------------------------------------------------------
# gradient flow


def _vae_loss() -> tuple[torch.nn.Module, torch.Tensor]:
    vae = VAE(VAEConfig(num_classes=3, latent_dim=2)).train()
    x = torch.rand(4, *MNIST)
    logits, mu, logvar = vae(x, torch.tensor([0, 1, 2, 1]))
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1).mean()
    return vae, F.binary_cross_entropy_with_logits(logits, x) + kl


def _mlp_gan_loss() -> tuple[torch.nn.Module, torch.Tensor]:
    cfg = MLPGANConfig(num_classes=3, hidden=(32, 64, 128))
    g, d = MLPGenerator(cfg).train(), MLPDiscriminator(cfg).train()
    labels = torch.tensor([0, 1, 2, 0])
    loss = F.softplus(-d(g(torch.randn(4, cfg.latent_dim), labels), labels)).mean()
    return torch.nn.ModuleList([g, d]), loss


def _dcgan_loss(image_shape: tuple[int, int, int]) -> tuple[torch.nn.Module, torch.Tensor]:
    cfg = DCGANConfig(image_shape=image_shape, num_classes=3, g_channels=8, d_channels=8)
    g, d = DCGANGenerator(cfg).train(), DCGANDiscriminator(cfg).train()
    labels = torch.tensor([[0.5, 0.5, 0.0], [0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=torch.float32)
    loss = F.softplus(-d(g(torch.randn(4, cfg.latent_dim), labels), labels)).mean()
    return torch.nn.ModuleList([g, d]), loss


def _unet_loss() -> tuple[torch.nn.Module, torch.Tensor]:
    unet = UNet(UNetConfig(num_classes=3, base_channels=16)).train()
    x, noise = torch.randn(4, *MNIST), torch.randn(4, *MNIST)
    eps = unet(x, torch.tensor([1, 50, 500, 999]), torch.tensor([0, 1, 2, 3]))
    return unet, F.mse_loss(eps, noise)


def _classifier_loss() -> tuple[torch.nn.Module, torch.Tensor]:
    clf = AutoencoderClassifier(ClassifierConfig(base_channels=8)).train()
    x = torch.rand(4, *MNIST)
    recon = F.binary_cross_entropy_with_logits(clf.decode_logits(clf.encode(x)), x)
    return clf, F.cross_entropy(clf(x), torch.tensor([0, 3, 7, 9])) + recon


@pytest.mark.parametrize(
    "make_loss",
    [_vae_loss, _mlp_gan_loss, lambda: _dcgan_loss(MNIST), lambda: _dcgan_loss(RGB64), _unet_loss, _classifier_loss],
    ids=["vae", "mlp-gan", "dcgan28", "dcgan64", "unet", "classifier"],
)
def test_gradients_reach_every_parameter(make_loss) -> None:
    net, loss = make_loss()
    assert torch.isfinite(loss)
    loss.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, f"{name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{name} has an all-zero gradient"
