"""The LAPGAN family: shapes and ranges, its levels and their latent slices, the pyramid
capability's images (each level composes exactly and keeps the coarser levels), resampling fine
levels holding the coarse ones, and round trips through our checkpoint format."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from models import pyramid
from models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from models.generative import build_model, capability_names, declared_capabilities
from models.metadata import CheckpointMetadata
from models.nets.lapgan import LAPGANConfig, LAPGANDiscriminators, LAPGANGenerator

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {"image_shape": [1, 28, 28], "noise_dims": [6, 4, 3], "base_hidden": 16, "channels": [8, 8],
        "d_channels": 8}
NAMES = tuple(f"c{i}" for i in range(10))


def tiny_model(seed: int = 0, **changes):
    torch.manual_seed(seed)
    model = build_model("lapgan", {**TINY, **changes}, {"name": "tiny-lapgan", "class_names": NAMES})
    with torch.no_grad():       # fresh BatchNorm statistics are 0 / 1: move them so eval mode is tested
        for m in model.net.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model


def save(model, path: Path, config: dict) -> Path:
    meta = CheckpointMetadata(name="tiny-lapgan", kind=str(model.kind), architecture="lapgan", config=config,
                              image_shape=tuple(model.image_shape), latent_shape=tuple(model.latent_shape),
                              class_names=NAMES)
    save_checkpoint(path, model.net, meta)
    return path


def test_shapes_ranges_and_levels():
    model = tiny_model()
    assert model.latent_shape == (13,)
    assert [(lv.side, lv.start, lv.stop) for lv in model.pyramid.levels] == [(7, 0, 6), (14, 6, 10), (28, 10, 13)]
    assert [lv.name for lv in model.pyramid.levels] == ["7×7", "14×14", "28×28"]
    images = model.decode(model.sample_latent(5, seed=1))
    assert images.shape == (5, 1, 28, 28)
    assert 0 <= float(images.min()) and float(images.max()) <= 1
    assert float(images.std()) > 0
    # the default Fashion-MNIST pyramid, 7 -> 14 -> 28
    default = LAPGANGenerator(LAPGANConfig())
    assert default.sides == [7, 14, 28] and default.latent_dim == 64
    out = default.eval()(torch.randn(2, 64))
    assert out.shape == (2, 1, 28, 28)


def test_capabilities_from_the_model_and_from_the_config_agree():
    model = tiny_model()
    assert {"prior", "truncation", "pyramid"} <= capability_names(model)
    assert "conditional" not in capability_names(model)
    assert declared_capabilities("lapgan", TINY) == capability_names(model)
    conditional = tiny_model(num_classes=10)
    assert declared_capabilities("lapgan", {**TINY, "num_classes": 10}) == capability_names(conditional)
    assert conditional.conditional.class_names == NAMES


def test_each_level_composes_exactly_and_keeps_the_coarser_image():
    model = tiny_model()
    z = model.sample_latent(4, seed=2)
    levels = model.pyramid.images(z)
    assert [lv.image.shape[-1] for lv in levels] == [7, 14, 28]
    assert levels[0].low_pass is None and levels[0].band_pass is None
    for coarse, fine in itertools.pairwise(levels):
        assert torch.allclose(fine.image, fine.low_pass + fine.band_pass, atol=1e-6)
        assert torch.allclose(fine.low_pass, pyramid.up(coarse.image))
        assert torch.allclose(pyramid.down(fine.image), coarse.image, atol=1e-6)
        assert float(fine.band_pass.abs().max()) > 1e-3      # the level adds something
    assert torch.allclose(levels[-1].image.clamp(0, 1), model.decode(z), atol=1e-6)


def test_holding_the_coarse_level_while_resampling_the_fine_ones_keeps_the_7x7_low_pass():
    model = tiny_model()
    z = model.sample_latent(3, seed=3)
    held = model.pyramid.resample(z, [1, 2], seed=99)
    assert torch.equal(held[:, :6], z[:, :6]) and not torch.equal(held[:, 6:], z[:, 6:])
    before, after = model.pyramid.images(z), model.pyramid.images(held)
    assert torch.equal(before[0].image, after[0].image)
    low = pyramid.down(pyramid.down(after[-1].image))
    assert torch.allclose(low, before[0].image, atol=1e-6)
    assert float((after[-1].image - before[-1].image).abs().max()) > 1e-3    # the detail changed
    # resampling only the finest keeps the 14 x 14 image too
    finest = model.pyramid.resample(z, [2], seed=5)
    assert torch.equal(finest[:, :10], z[:, :10])
    assert torch.allclose(model.pyramid.images(finest)[1].image, before[1].image, atol=1e-6)
    # resampling the base changes the coarse image
    base = model.pyramid.resample(z, [0], seed=5)
    assert not torch.allclose(model.pyramid.images(base)[0].image, before[0].image)


def test_resampling_is_seeded_and_checks_its_levels():
    model = tiny_model()
    z = model.sample_latent(2, seed=4)
    assert torch.equal(model.pyramid.resample(z, [1], 7), model.pyramid.resample(z, [1], 7))
    assert not torch.equal(model.pyramid.resample(z, [1], 7), model.pyramid.resample(z, [1], 8))
    with pytest.raises(ValueError, match="no level 3"):
        model.pyramid.resample(z, [3], 0)


def test_a_conditional_lapgan_draws_its_class_at_every_level():
    model = tiny_model(num_classes=10)
    z = model.sample_latent(2, seed=5)
    a, b = model.pyramid.images(z, torch.tensor([1, 1])), model.pyramid.images(z, torch.tensor([2, 2]))
    for la, lb in zip(a, b):
        assert not torch.allclose(la.image, lb.image)
    blend = model.decode(z, torch.tensor([[0.0, 1.0] + [0.0] * 8] * 2))      # class weights work too
    assert torch.allclose(blend, model.decode(z, torch.tensor([1, 1])), atol=1e-6)


def test_truncation_scales_every_level():
    model = tiny_model()
    z = model.sample_latent(1, seed=6)
    assert torch.allclose(model.decode(z, psi=0.5), model.decode(z * 0.5))


def test_checkpoint_round_trip_is_exact(tmp_path):
    for config in (TINY, {**TINY, "num_classes": 10}):
        model = tiny_model(**config)
        path = save(model, tmp_path / "lapgan.safetensors", config)
        loaded = load_checkpoint(path)
        assert capability_names(loaded) == capability_names(model)
        assert loaded.latent_shape == model.latent_shape
        z = model.sample_latent(3, seed=7)
        labels = torch.tensor([0, 3, 9]) if config.get("num_classes") else None
        assert torch.equal(loaded.decode(z, labels), model.decode(z, labels))
        for la, lb in zip(loaded.pyramid.images(z, labels), model.pyramid.images(z, labels)):
            assert torch.equal(la.image, lb.image)


def test_a_config_that_does_not_fit_the_weights_is_refused_before_building(tmp_path):
    model = tiny_model()
    path = save(model, tmp_path / "lapgan.safetensors", {**TINY, "channels": [64, 8]})
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(path)


@pytest.mark.parametrize("changes, message", [
    ({"image_shape": [1, 30, 30]}, "divisible by 4"),
    ({"image_shape": [1, 28, 14]}, "square"),
    ({"channels": [8]}, "one channel count per finer level"),
])
def test_configs_the_pyramid_cannot_make_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        LAPGANGenerator(LAPGANConfig(**{**{k: tuple(v) if isinstance(v, list) else v for k, v in TINY.items()}, **changes}))


def test_discriminators_judge_each_level():
    config = LAPGANConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in TINY.items()}, num_classes=10)
    disc = LAPGANDiscriminators(config)
    labels = torch.tensor([1, 2])
    assert disc.base(torch.zeros(2, 1, 7, 7), labels).shape == (2,)
    for d, side in zip(disc.levels, (14, 28)):
        out = d(torch.zeros(2, 1, side, side), torch.randn(2, 1, side, side), labels)
        assert out.shape == (2,)
