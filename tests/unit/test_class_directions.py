"""Class boundaries (InterFaceGAN), attribute vectors and latent arithmetic."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

import resources
from models.checkpoint import open_model
from models.class_directions import (attribute_vector, attribute_vectors_of, class_boundaries_of, fit_boundary,
                                     latent_arithmetic, project_out)
from models.data import FASHION_MNIST_CLASSES, ImageDataset
from models.directions import ATTRIBUTE_KEY, BOUNDARY_KEY, DirectionSpec, directions_of, methods_for
from models.steps import run_to_end

D = 6


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


# -- a synthetic latent space whose classifier is linear ----------------------------------------

@dataclass
class LinearClassifier:
    """p(class | z) = softmax(A z + b): the log-odds of class i against class j are linear in z."""

    a: np.ndarray
    b: np.ndarray
    class_names: tuple[str, ...] = ("c0", "c1", "c2")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        z = images.reshape(len(images), -1).double()
        return torch.softmax(z @ torch.from_numpy(self.a).T + torch.from_numpy(self.b), dim=1).float()

    def outputs(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return images.reshape(len(images), -1), self.predict(images)


class LatentIsImage:
    """A generator whose image is its latent, and a judge reading it: the model interface, nothing more."""

    name = "latent world"
    device = torch.device("cpu")
    conditional = None
    sampler = None
    encoder = None
    prior = object()
    image_shape = (1, 1, D)
    latent_shape = (D,)
    latent_dim = D

    def __init__(self, classifier: LinearClassifier | None = None):
        self.classifier = classifier

    def sample_latent(self, n: int, seed: int) -> torch.Tensor:
        return torch.randn((n, D), generator=torch.Generator().manual_seed(seed))

    def decode(self, z: torch.Tensor, labels=None, *, psi: float = 1.0) -> torch.Tensor:
        return z.reshape(len(z), *self.image_shape).float()


def world(bias=(0.0, 0.0, 0.0), seed: int = 0) -> tuple[LatentIsImage, LatentIsImage, np.ndarray]:
    a = np.random.default_rng(seed).standard_normal((3, D)) * 1.5
    return LatentIsImage(), LatentIsImage(LinearClassifier(a, np.asarray(bias, dtype=np.float64))), a


def test_a_planted_linear_boundary_is_recovered():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4000, 16))
    normal = rng.standard_normal(16)
    normal /= np.linalg.norm(normal)
    hard = (x @ normal > 0.4).astype(float)
    soft = 1 / (1 + np.exp(-4 * (x @ normal - 0.4)))
    for target, accuracy in ((hard, 0.95), (soft, 0.8)):    # soft labels: a sample near the boundary is half wrong
        boundary = fit_boundary(x, target)
        assert cosine(boundary.normal, normal) > 0.95
        assert boundary.accuracy > accuracy and boundary.margin > 0.5
        assert abs(boundary.std - 1.0) < 0.1


def test_a_pair_boundary_of_classifier_labelled_samples_is_the_log_odds_direction():
    model, judge, a = world()
    found = run_to_end(class_boundaries_of(model, judge, DirectionSpec(BOUNDARY_KEY, towards=0, away=1,
                                                                       samples=3000), seed=0))
    assert found.names == ("towards c0, away from c1",)
    assert cosine(found.directions[0], a[0] - a[1]) > 0.95
    assert found.scale_name == "margin (σ)" and found.scale[0] > 0


def test_a_class_few_samples_show_still_gets_its_boundary_from_the_soft_labels():
    """As in a conditional model drawing another class: class 0 is almost never the top class,
    but its probability still rises along the way it lies."""
    model, judge, a = world(bias=(-4.0, 0.0, 0.0))
    z = model.sample_latent(3000, 0)
    assert (judge.classifier.predict(z).argmax(dim=1) == 0).float().mean() < 0.05
    found = run_to_end(class_boundaries_of(model, judge, DirectionSpec(BOUNDARY_KEY, towards=0, away=1,
                                                                       samples=3000), seed=0))
    assert cosine(found.directions[0], a[0] - a[1]) > 0.95


def test_a_class_no_sample_shows_has_no_boundary_and_says_why():
    model, judge, _ = world(bias=(-30.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="no boundary towards c0 .*samples' worth"):
        run_to_end(class_boundaries_of(model, judge, DirectionSpec(BOUNDARY_KEY, towards=0, samples=500)))
    # one direction per class: the others are still found, and the missing one is named
    found = run_to_end(class_boundaries_of(model, judge, DirectionSpec(BOUNDARY_KEY, samples=500)))
    assert found.names == ("towards c1", "towards c2")
    assert "none towards c0" in found.message


def test_keeping_a_class_removes_the_component_along_its_boundary():
    model, judge, _ = world()
    plain = run_to_end(class_boundaries_of(model, judge, DirectionSpec(BOUNDARY_KEY, towards=0, samples=2000)))
    other = run_to_end(class_boundaries_of(model, judge, DirectionSpec(BOUNDARY_KEY, towards=2, samples=2000)))
    kept = run_to_end(class_boundaries_of(model, judge, DirectionSpec(BOUNDARY_KEY, towards=0, keep=(2,),
                                                                      samples=2000)))
    assert kept.names == ("towards c0, not away from c2",)
    n1, n2 = plain.directions[0].astype(np.float64), other.directions[0].astype(np.float64)
    expected = n1 - np.dot(n1, n2) * n2
    np.testing.assert_allclose(kept.directions[0], expected / np.linalg.norm(expected), atol=1e-5)
    assert abs(np.dot(kept.directions[0], n2)) < 1e-5


def test_project_out_leaves_the_others_projections_unchanged():
    rng = np.random.default_rng(2)
    d, others = rng.standard_normal(10), [rng.standard_normal(10) for _ in range(3)]
    kept = project_out(d, others)
    assert np.linalg.norm(kept) == pytest.approx(1.0)
    assert max(abs(np.dot(kept, o)) for o in others) < 1e-9
    with pytest.raises(ValueError, match="nothing is left"):
        project_out(others[0] + 2 * others[1], others)


def test_the_attribute_vector_of_two_planted_clusters_leads_from_one_mean_to_the_other():
    rng = np.random.default_rng(3)
    mean_a, mean_b = rng.standard_normal(8), rng.standard_normal(8) + 2.0
    latents = np.concatenate([rng.standard_normal((400, 8)) + mean_a, rng.standard_normal((400, 8)) + mean_b,
                              rng.standard_normal((400, 8))])
    in_a = np.r_[np.ones(400), np.zeros(800)]
    in_b = np.r_[np.zeros(400), np.ones(400), np.zeros(400)]
    direction, length = attribute_vector(latents, in_b, in_a)
    assert cosine(direction, mean_b - mean_a) > 0.99
    assert length == pytest.approx(np.linalg.norm(mean_b - mean_a), rel=0.05)
    # from A's mean, one vector's length along it lands at B's mean
    np.testing.assert_allclose(latents[:400].mean(0) + length * direction, latents[400:800].mean(0), atol=1e-9)


def test_attribute_vectors_of_a_vae_are_its_encoded_test_set_class_means(tiny_models):
    model = open_model(tiny_models["vae"])
    rng = np.random.default_rng(4)
    test = ImageDataset(rng.integers(0, 256, (300, 1, 28, 28), dtype=np.uint8), np.arange(300) % 10,
                        list(FASHION_MNIST_CLASSES))
    found = run_to_end(attribute_vectors_of(model, None, DirectionSpec(ATTRIBUTE_KEY, towards=3, away=7), data=test))
    codes = model.encoder.encode(test.tensor()).numpy().astype(np.float64)
    expected = codes[test.labels == 3].mean(0) - codes[test.labels == 7].mean(0)
    np.testing.assert_allclose(found.directions[0], expected / np.linalg.norm(expected), atol=1e-5)
    assert found.scale[0] == pytest.approx(np.linalg.norm(expected), rel=1e-5)
    assert found.names == ("Sneaker → Dress",) and "encoded test images, by their labels" in found.message


def test_attribute_vectors_of_classifier_labelled_samples_weigh_each_by_its_probability():
    model, judge, _ = world()
    found = run_to_end(attribute_vectors_of(model, judge, DirectionSpec(ATTRIBUTE_KEY, towards=1, samples=1500)))
    z = model.sample_latent(1500, 0).double().numpy()
    p = judge.classifier.predict(torch.from_numpy(z)).double().numpy()[:, 1]
    expected = np.average(z, axis=0, weights=p) - np.average(z, axis=0, weights=1 - p)
    np.testing.assert_allclose(found.directions[0], expected / np.linalg.norm(expected), atol=1e-5)


def test_latent_arithmetic_moves_c_by_the_difference_from_b_to_a():
    a, b, c = np.array([1.0, 2.0]), np.array([0.5, -1.0]), np.array([3.0, 0.0])
    np.testing.assert_array_equal(latent_arithmetic(a, b, c), np.array([3.5, 3.0], dtype=np.float32))
    with pytest.raises(ValueError, match="differ in size"):
        latent_arithmetic(a, b, np.zeros(3))


def test_methods_for_says_which_methods_a_model_has_and_why_not():
    gan = methods_for({"prior", "truncation", "early_layer", "latent_weights"})
    assert all(why == "" for why in gan.values())
    ddpm = methods_for({"prior", "sampler", "conditional"})
    assert ddpm["boundaries"] and ddpm["attributes"] and ddpm["sefa"] and ddpm["principal"]
    classifier = methods_for({"encoder", "classifier"})
    assert classifier["principal"] == classifier["attributes"] == "" and "prior" in classifier["boundaries"]


@pytest.mark.skipif(not {"cgan", "classifier"} <= set(resources.bundled_checkpoints()),
                    reason="needs the bundled cgan and classifier")
@pytest.mark.parametrize("drawn, towards", [(5, 7), (6, 0)], ids=["Sandal towards Sneaker", "Shirt towards T-shirt"])
def test_moving_towards_a_class_on_the_bundled_cgan_raises_its_probability_from_most_starts(drawn, towards,
                                                                                             one_torch_thread):
    model, judge = open_model("cgan"), open_model("classifier")
    found = run_to_end(directions_of(model, DirectionSpec(BOUNDARY_KEY, towards=towards), judge=judge, labels=drawn))
    starts = model.sample_latent(300, seed=1234)           # not the samples the boundary was fitted on
    step = 2 * float(found.std[0]) * torch.from_numpy(found.directions[0])
    labels = torch.full((300,), drawn)
    before = judge.classifier.predict(model.decode(starts, labels))[:, towards]
    after = judge.classifier.predict(model.decode(starts + step, labels))[:, towards]
    share = float((after > before).float().mean())
    assert share > 0.8, share
