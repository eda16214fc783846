"""The CycleGAN family: network shapes and ranges, the losses against hand-computed values, the
image pool, the domains, a short training run on tiny synthetic domains, the checkpoint round
trip through our format, `inspect`, the probes of what the cycle hides and the evaluation report."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.checkpoint import inspect_model_file, open_model, save_checkpoint
from models.cycle_probe import amplified_detail, heat_map, lowpass, noisy_reconstruction
from models.cyclegan_train import cycle_loss, identity_loss, lsgan_d_loss, lsgan_g_loss
from models.data import DataError, ImageDataset
from models.describe import describe
from models.domains import load_domain
from models.generative import build_model
from models.image_pool import ImagePool
from models.metadata import CheckpointMetadata, DatasetInfo, TrainingInfo
from models.nets.cyclegan import (
    CycleGAN,
    CycleGANConfig,
    PatchDiscriminator,
    check_config,
    make_generator,
)
from models.train import TrainOptions, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {"base_channels": 4, "res_blocks": 1, "d_channels": 4}


def bars(n: int = 48, side: int = 12, seed: int = 0) -> ImageDataset:
    """Class 0: one horizontal bar; class 1: one vertical bar, each at a random place."""
    rng = np.random.default_rng(seed)
    images = np.zeros((2 * n, 1, side, side), dtype=np.uint8)
    for i in range(n):
        images[i, 0, rng.integers(2, side - 2), 1:-1] = 255
        images[n + i, 0, 1:-1, rng.integers(2, side - 2)] = 255
    labels = np.repeat(np.arange(2, dtype=np.int64), n)
    return ImageDataset(images, labels, ["across", "down"], "synthetic bars")


@pytest.mark.parametrize("generator", ["resnet", "unet"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_generators_keep_the_image_shape_in_the_tanh_range_and_patchgan_gives_a_map(generator, shape):
    config = CycleGANConfig(image_shape=shape, generator=generator, **TINY)
    x = torch.rand(2, *shape) * 2 - 1
    y = make_generator(config)(x)
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    d = PatchDiscriminator(config)(x)
    assert d.shape == (2, 1, shape[1] // 4, shape[2] // 4)
    net = CycleGAN(config)
    assert net.g_ab is not net.g_ba and torch.equal(net(x), net.g_ab(x))


def test_configs_no_network_can_be_built_from_are_refused():
    with pytest.raises(ValueError, match="multiples of 4"):
        check_config(CycleGANConfig(image_shape=(1, 30, 30)))
    with pytest.raises(ValueError, match="unknown generator"):
        check_config(CycleGANConfig(generator="vit"))


def test_losses_equal_their_hand_computed_values():
    real = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    rebuilt = torch.tensor([[0.5, 1.0], [1.0, 1.0]])
    assert cycle_loss(real, rebuilt).item() == pytest.approx((0.5 + 0 + 0 + 1) / 4)
    assert identity_loss(real, rebuilt).item() == pytest.approx(0.375)
    # real patches towards 1, translated towards 0, halved
    d_real, d_fake = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert lsgan_d_loss(d_real, d_fake).item() == pytest.approx(0.5 * (0.5 + 0.5))
    assert lsgan_d_loss(torch.ones(3), torch.zeros(3)).item() == 0
    assert lsgan_g_loss(torch.tensor([1.0, 0.0, 0.5])).item() == pytest.approx((0 + 1 + 0.25) / 3)


def test_the_image_pool_keeps_its_size_and_returns_a_mix_of_old_and_new():
    pool = ImagePool(4, torch.Generator().manual_seed(0))
    first = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first) and len(pool) == 4      # filling: every image passes through
    mixed = []
    for step in range(1, 6):
        new = torch.full((4, 1, 1, 1), 100.0 * step)
        out = pool.query(new)
        assert out.shape == new.shape and len(pool) == 4
        mixed.append(out.flatten())
    values = torch.cat(mixed)
    assert (values < 100).any()                                          # old images come back
    assert any(bool((row == 100.0 * (i + 1)).any()) for i, row in enumerate(mixed))   # and new ones pass
    assert any(bool((s >= 100).all()) for s in pool.images)              # the pool takes in new images
    assert torch.equal(ImagePool(0).query(first), first)


def test_domains_are_classes_edge_maps_or_folders(tmp_path):
    data = bars()
    down = load_domain("down", data)
    assert len(down) == 48 and set(down.labels) == {1} and np.array_equal(down.images, data.images[48:])
    edges = load_domain("edges:across", data)
    assert edges.name == "edge maps of across" and list(edges.source_index) == list(range(48))
    assert set(np.unique(edges.images)) <= {0, 255} and not np.array_equal(edges.images, data.images[:48])
    assert len(load_domain("all", data)) == 96
    with pytest.raises(DataError, match="Diagonal is not a class"):
        load_domain("Diagonal", data)
    from PIL import Image

    folder = tmp_path / "pictures"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((20, 20), 60 * i, dtype=np.uint8)).save(folder / f"{i}.png")
    pictures = load_domain(str(folder), data)
    assert pictures.images.shape == (3, 1, 12, 12) and set(pictures.labels) == {-1}


def test_training_on_tiny_domains_lowers_the_cycle_loss_and_the_file_opens_as_a_translator(tmp_path):
    out = tmp_path / "bars.safetensors"
    options = TrainOptions(kind="cyclegan", epochs=1, batch_size=8, epoch_size=320, lr=2e-3, seed=0,
                           device="cpu", domain_a="across", domain_b="down", arch=TINY, name="bars")
    meta = train(options, bars(), out)
    cycle = meta["training"]["step_losses"]["cycle"]
    assert len(cycle) == 40
    assert np.mean(cycle[-5:]) < 0.7 * np.mean(cycle[:5])
    assert meta["domains"]["a"]["name"] == "across" and meta["domains"]["b"]["classes"] == [1]

    model = open_model(out)
    assert model.kind == "cyclegan" and model.prior is None and model.translator is not None
    assert (model.translator.domain_a, model.translator.domain_b) == ("across", "down")
    x = torch.from_numpy(bars().images[:4]).float() / 255
    with torch.no_grad():
        expected = (model.net.g_ab(x * 2 - 1) + 1) / 2
    assert torch.allclose(model.translator.a_to_b(x), expected, atol=1e-6)
    assert torch.equal(model.decode(x), model.translator.a_to_b(x))
    with pytest.raises(ValueError, match="takes 1x12x12 images"):
        model.translator.b_to_a(torch.rand(1, 1, 28, 28))
    text = describe(inspect_model_file(out))
    assert "cyclegan (architecture cyclegan)" in text and "input:" in text
    assert "translates:   across <-> down (A <-> B)" in text


def test_a_translator_without_domain_names_gets_plain_ones(tmp_path):
    config = {"image_shape": [1, 28, 28], **TINY}
    model = build_model("cyclegan", config, {})
    path = tmp_path / "t.safetensors"
    save_checkpoint(path, model.net, CheckpointMetadata(
        name="t", kind="cyclegan", architecture="cyclegan", config=config, image_shape=(1, 28, 28),
        latent_shape=(1, 28, 28), dataset=DatasetInfo(name="x"), training=TrainingInfo(seed=0, epochs=0)))
    opened = open_model(path)
    assert (opened.translator.domain_a, opened.translator.domain_b) == ("domain A", "domain B")


def test_the_probes_of_what_the_cycle_hides():
    flat = torch.full((1, 1, 12, 12), 0.4)
    assert torch.allclose(lowpass(flat), flat)                      # a blur keeps a flat image
    x = torch.rand(2, 1, 12, 12)
    assert torch.equal(amplified_detail(x, 0.0), x.clamp(0, 1))
    detail = x - lowpass(x)
    assert torch.allclose(amplified_detail(x, 2.0), (x + 2 * detail).clamp(0, 1))
    noisy, rebuilt = noisy_reconstruction(lambda y: 1 - y, x, sigma=0.0)
    assert torch.equal(noisy, x) and torch.equal(rebuilt, 1 - x)
    noisy, _ = noisy_reconstruction(lambda y: y, x, sigma=0.1, seed=3)
    assert 0.02 < float((noisy - x).abs().mean()) < 0.12
    heat = heat_map(np.array([[0.0, 0.5], [0.25, 1.0]]))
    assert heat.shape == (2, 2, 3) and heat.dtype == np.uint8
    assert heat[0, 0].tolist() == [0, 0, 0] and heat[0, 1].tolist() == [255, 255, 255]
    assert heat[1, 1].tolist() == [255, 255, 255] and heat[1, 0, 0] == 255 and heat[1, 0, 2] == 0


def test_frames_of_an_interpolation_stand_beside_their_translations():
    from explorer.jobs.translate import translated_frames
    from explorer.jobs.upscale import fit_pixels
    from models.images import to_uint8

    torch.manual_seed(0)
    model = build_model("cyclegan", {"image_shape": [1, 28, 28], **TINY}, {})
    frames = np.random.default_rng(0).integers(0, 256, (3, 20, 20, 3), dtype=np.uint8)
    out = translated_frames(model, frames, gap=2)
    assert out.shape == (3, 28, 58, 1)
    fitted = np.stack([fit_pixels(f, (1, 28, 28)) for f in frames])
    assert np.array_equal(out[:, :, :28, 0], fitted[:, 0]) and not out[:, :, 28:30].any()
    expected = to_uint8(model.translator.a_to_b(torch.from_numpy(fitted).float() / 255))
    assert np.array_equal(out[:, :, 30:], expected)
    back = translated_frames(model, frames, reverse=True)
    assert not np.array_equal(back[:, :, 30:], out[:, :, 30:])     # the other generator
