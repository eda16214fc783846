"""A GAN's discriminator kept in its checkpoint: saved beside the generator, checked against
its config before it is built, and loaded as the `discriminator` capability."""
from __future__ import annotations

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from models.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from models.errors import CheckpointError
from models.generative import DISCRIMINATOR_PREFIX, build_discriminator, build_model
from models.metadata import CheckpointMetadata, TrainingInfo
from tests.conftest import CLASS_NAMES, TINY


def gan_file(tmp_path, name: str, half: bool = False, keep: bool = True):
    architecture, config = TINY[name]
    torch.manual_seed(1)
    model = build_model(architecture, config, {"name": name})
    disc = build_discriminator(architecture, config)
    meta = CheckpointMetadata(name=name, kind="gan", architecture=architecture, config=config,
                              image_shape=tuple(model.image_shape), latent_shape=tuple(model.latent_shape),
                              class_names=tuple(CLASS_NAMES), training=TrainingInfo(recipe={}, seed=1, epochs=0))
    path = tmp_path / f"{name}.safetensors"
    save_checkpoint(path, model.net, meta, half=half, discriminator=disc if keep else None)
    return path, disc.eval()


@pytest.mark.parametrize("name", ["gan-mlp", "dcgan", "cgan"])
def test_a_kept_discriminator_loads_as_the_realness_capability(name, tmp_path):
    path, disc = gan_file(tmp_path, name)
    model = load_checkpoint(path)
    assert model.discriminator is not None
    images = model.decode(model.sample_latent(4, seed=0), torch.arange(4) if model.conditional else None)
    labels = torch.arange(4) if model.conditional else None
    realness = model.discriminator.realness(images, labels)
    assert realness.shape == (4,) and bool(((realness >= 0) & (realness <= 1)).all())
    with torch.no_grad():
        expected = torch.sigmoid(disc(images * 2 - 1, labels))
    assert torch.allclose(realness, expected, atol=1e-6)


def test_the_discriminator_round_trips_and_a_file_without_one_has_none(tmp_path):
    path, _ = gan_file(tmp_path, "dcgan")
    with safe_open(str(path), "pt") as f:
        assert any(k.startswith(DISCRIMINATOR_PREFIX) for k in f.keys())
    model = load_checkpoint(path)
    again = tmp_path / "again.safetensors"
    save_checkpoint(again, model.net, read_metadata(path), discriminator=model.discriminator.net)
    first, second = load_file(str(path)), load_file(str(again))
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    plain, _ = gan_file(tmp_path, "gan-mlp", keep=False)
    assert load_checkpoint(plain).discriminator is None
    half, _ = gan_file(tmp_path, "cgan", half=True)
    assert load_checkpoint(half).discriminator is not None


def test_a_discriminator_that_does_not_fit_its_config_is_refused_before_it_is_built(tmp_path):
    path, _ = gan_file(tmp_path, "dcgan")
    tensors = load_file(str(path))
    key = next(k for k in tensors if k.startswith(DISCRIMINATOR_PREFIX) and tensors[k].ndim == 4)
    tensors[key] = torch.zeros(4096, 4096, 1, 1)
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata=metadata)
    with pytest.raises(CheckpointError, match="wrong shape"):
        load_checkpoint(bad)


def test_discriminator_tensors_in_a_model_without_one_are_unexpected(tmp_path):
    from tests.conftest import make_tiny_checkpoint

    path = make_tiny_checkpoint("vae", tmp_path)
    tensors = load_file(str(path))
    tensors[DISCRIMINATOR_PREFIX + "x"] = torch.zeros(3)
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(CheckpointError, match="unexpected"):
        load_checkpoint(path)


def test_training_a_gan_keeps_its_discriminator(tmp_path):
    from models.data import load_dataset
    from models.train import TrainOptions, train
    from tests.unit.test_train import SMALL_ARCH, synthetic_idx

    data = load_dataset(synthetic_idx(tmp_path, n=64), split="train")
    out = tmp_path / "gan.safetensors"
    meta = train(TrainOptions(kind="gan", epochs=1, batch_size=16, latent_dim=8, device="cpu",
                              arch=SMALL_ARCH["gan"]), data, out)
    assert meta["training"]["recipe"]["discriminator"] == "kept in the file"
    model = load_checkpoint(out)
    real = data.tensor(slice(0, 8))
    assert model.discriminator.realness(real).shape == (8,)


def test_an_interpolation_gives_d_s_verdict_on_every_frame_for_the_class_it_was_drawn_as(tmp_path):
    from explorer.jobs.interpolation import (Endpoint, PathSettings, decode_path, frame_realness, path_labels,
                                             resolve_settings)

    path, disc = gan_file(tmp_path, "cgan")
    model = load_checkpoint(path)
    settings = PathSettings(str(path), model.name, tuple(model.latent_shape),
                            (Endpoint("seed", seed=1, label=2), Endpoint("seed", seed=2, label=7)), frames=6)
    resolved = resolve_settings(model, settings, None, None)
    images, _ = decode_path(model, resolved)
    realness = frame_realness(model, resolved, images)
    labels = path_labels(resolved, 10)
    with torch.no_grad():
        expected = torch.sigmoid(disc(images * 2 - 1, labels)).numpy()
    assert realness.shape == (6,) and realness == pytest.approx(expected, abs=1e-5)
    plain, _ = gan_file(tmp_path, "dcgan", keep=False)
    assert frame_realness(load_checkpoint(plain), resolved, images) is None
