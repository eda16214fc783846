"""The bundled models: each loads, generates its declared shapes on the CPU and says how it was made."""
from __future__ import annotations

import math

import pytest
import torch

import resources
from models.checkpoint import load_checkpoint, read_metadata
from models.data import DEFAULT_DATA_DIR, FASHION_MNIST_CLASSES
from models.emoji import COLOUR_GROUPS
from models.recipes import BUNDLED

BUNDLED_FILES = resources.bundled_checkpoints()
MODEL_KIND = {"vae": "vae", "cvae": "vae", "gan": "gan", "dcgan": "gan", "cgan": "gan", "ddpm": "ddpm",
              "classifier": "classifier", "srgan": "srgan", "cyclegan": "cyclegan", "lapgan": "gan"}   # training kind -> the adapter's kind


def image_shape(name: str) -> list[int]:
    return [3, 64, 64] if BUNDLED[name].data == "emoji" else [1, 28, 28]


def test_every_recipe_has_its_bundled_checkpoint_and_the_bundle_fits_in_60_mb():
    assert sorted(BUNDLED_FILES) == sorted(BUNDLED)
    total = sum(p.stat().st_size for p in BUNDLED_FILES.values())
    assert total < 60 * 2**20


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_model_loads_and_generates_its_declared_shapes(name):
    meta = read_metadata(BUNDLED_FILES[name])
    model = load_checkpoint(BUNDLED_FILES[name])
    assert model.kind == meta["kind"] == MODEL_KIND[BUNDLED[name].kind]
    assert list(model.image_shape) == meta["image_shape"] == image_shape(name)
    assert list(model.latent_shape) == meta["latent_shape"]
    if model.classifier is not None:
        probs = model.classifier.predict(torch.rand(3, *image_shape(name)))
        classes = len(meta["class_names"])
        assert probs.shape == (3, classes) and torch.allclose(probs.sum(1), torch.ones(3), atol=1e-5)
        return
    z = model.sample_latent(2, seed=0)
    labels = torch.tensor([3, 7]) if model.conditional is not None else None
    if model.sampler is not None:     # 3 DDIM steps are enough to see an image, and quick
        images = model.sampler.sample(z, labels, num_steps=3)
    else:
        images = model.decode(z, labels)
    assert images.shape == (2, *image_shape(name))
    assert images.min() >= 0 and images.max() <= 1 and images.std() > 0.05   # not a blank image


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_metadata_records_the_recipe_and_the_measured_figures(name):
    meta = read_metadata(BUNDLED_FILES[name])
    recipe = BUNDLED[name]
    training = meta["training"]
    assert training["recipe"]["kind"] == recipe.kind
    assert training["seed"] == recipe.seed and training["epochs"] == recipe.epochs
    assert training["hardware"] and training["time_s"] > 0
    assert all(len(curve) == recipe.epochs or recipe.kind in ("classifier", "srgan")   # two phases
               for curve in training["loss_curve"].values())
    names = COLOUR_GROUPS if recipe.data == "emoji" else FASHION_MNIST_CLASSES
    assert meta["class_names"] == list(names)
    if training["recipe"].get("discriminator") == "kept in the file":    # and no step since dropped it
        assert load_checkpoint(BUNDLED_FILES[name]).discriminator is not None
    metrics = meta["metrics"]
    if recipe.kind == "classifier":
        assert metrics["test_accuracy"] > 0.85
    elif recipe.kind == "srgan":     # an upscaler's figures: the targets
        assert metrics["srresnet_psnr_db"] >= metrics["bicubic_psnr_db"] + 3
        assert metrics["srgan_fid"] < metrics["srresnet_fid"] < metrics["bicubic_fid"]
    elif recipe.kind == "cyclegan":  # a translator's figures, each way
        for direction in ("a_to_b", "b_to_a"):
            assert metrics[f"{direction}_cycle_l1"] < 0.1
            assert metrics[f"{direction}_fid_floor"] < metrics[f"{direction}_fid"]
        if "sketch_psnr_db" in metrics:  # G(edges) is closer to the true garment than a blurred edge map
            assert metrics["sketch_psnr_db"] > metrics["sketch_blur_psnr_db"]
    else:
        assert math.isfinite(metrics["fid"]) and metrics["fid"] > 0
        assert metrics["samples"] >= 1000


@pytest.mark.real_data
@pytest.mark.skipif(not DEFAULT_DATA_DIR.is_dir(), reason="needs Debian's dataset-fashion-mnist package")
def test_evaluate_a_bundled_model_is_finite_and_seed_reproducible():
    from models.checkpoint import open_model
    from models.data import load_dataset
    from models.evaluation import evaluate

    test = load_dataset(None, split="test").subset(slice(0, 500))
    model, classifier = open_model("vae"), open_model("classifier")
    a = evaluate(model, classifier, test, n=200, seed=4)
    b = evaluate(model, classifier, test, n=200, seed=4)
    assert a["fid"] == b["fid"] and math.isfinite(a["fid"])
    assert a["coverage"]["counts"] == b["coverage"]["counts"] and sum(a["coverage"]["counts"]) == 200
