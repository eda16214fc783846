"""The measured report of directions: what moving along each one changes."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from models.checkpoint import open_model
from models.direction_report import COLUMNS, report_directions
from models.directions import Directions
from models.references import ReferenceSet
from models.sefa import sefa_of
from models.steps import run_to_end

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def models(tiny_models):
    return open_model(tiny_models["gan-mlp"]), open_model(tiny_models["classifier"])


def references(typical: float) -> ReferenceSet:
    return ReferenceSet(torch.rand((60, 784), generator=torch.Generator().manual_seed(0)), typical)


def axes(d: int, *which: int) -> Directions:
    return Directions(np.zeros(d, np.float32), np.eye(d, dtype=np.float32)[list(which)],
                      np.ones(len(which), np.float32), "axes", names=tuple(f"axis {i}" for i in which))


def numbers(report) -> list[float]:
    return [v for row in report.rows for v in dataclasses.astuple(row) if isinstance(v, float)]


def test_the_report_is_finite_and_reproducible_for_a_fixed_seed(models):
    model, judge = models
    found = sefa_of(model, 4)
    first = run_to_end(report_directions(model, judge, found, references(0.3), starts=40, seed=3))
    again = run_to_end(report_directions(model, judge, found, references(0.3), starts=40, seed=3))
    assert first.to_dict() == again.to_dict()
    assert len(first.rows) == 4 and [r.name for r in first.rows] == list(found.names)
    assert all(math.isfinite(v) for v in numbers(first))
    assert all(0 <= r.top_class_moves <= 1 and 0 <= r.leaves_data <= 1 for r in first.rows)
    assert all(r.towards in judge.classifier.class_names and r.towards_gain >= 0 for r in first.rows)
    other = run_to_end(report_directions(model, judge, found, references(0.3), starts=40, seed=4))
    assert numbers(other) != numbers(first)          # the seed does choose the starting points


def test_a_direction_the_generator_ignores_changes_nothing(models):
    model, judge = models
    with torch.no_grad():
        saved = model.net.first[0].weight[:, 1].clone()
        model.net.first[0].weight[:, 1] = 0.0          # latent coordinate 1 is read by nothing
    try:
        report = run_to_end(report_directions(model, judge, axes(model.latent_dim, 0, 1), references(0.3),
                                              starts=30))
    finally:
        with torch.no_grad():
            model.net.first[0].weight[:, 1] = saved
    moving, ignored = report.rows
    assert moving.pixel_change > 0.001
    assert ignored.pixel_change == 0.0 and ignored.top_class_moves == 0.0 and ignored.leakage == 0.0
    assert ignored.towards == ignored.away == "" and ignored.towards_gain == ignored.away_loss == 0.0
    assert ignored.leaves_data == report.starts_off_data      # the ends are the starts


class SigmoidJudge:
    """Four class scores of an image that is its own latent: c0 and c1 follow z0 up and down, c2
    follows it more gently, c3 follows z1 alone."""

    class_names = ("c0", "c1", "c2", "c3")

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        z = images.reshape(len(images), -1)
        return torch.sigmoid(torch.stack([5 * z[:, 0], -5 * z[:, 0], 2 * z[:, 0], 5 * z[:, 1]], dim=1))


class LatentIsImage:
    name = "latent world"
    device = torch.device("cpu")
    conditional = None
    prior = object()
    latent_shape = (3,)
    latent_dim = 3
    image_shape = (1, 1, 3)

    def __init__(self, classifier=None):
        self.classifier = classifier

    def sample_latent(self, n: int, seed: int) -> torch.Tensor:
        return torch.randn((n, 3), generator=torch.Generator().manual_seed(seed))

    def decode(self, z: torch.Tensor, labels=None, *, psi: float = 1.0) -> torch.Tensor:
        return z.reshape(len(z), 1, 1, 3)


def test_towards_away_and_leakage_name_what_the_classifier_sees_change():
    report = run_to_end(report_directions(LatentIsImage(), LatentIsImage(SigmoidJudge()), axes(3, 0, 1, 2), None,
                                          starts=200))
    along_z0, along_z1, along_z2 = report.rows
    assert (along_z0.towards, along_z0.away) == ("c0", "c1")
    assert along_z0.towards_gain > 0.7 and along_z0.away_loss > 0.7
    assert along_z0.leakage > 0.95          # c2 changes too, on nearly every start
    assert along_z1.towards == "c3" and along_z1.leakage == 0.0
    # the classifier does not read z2: no class moves, though the pixel does
    assert (along_z2.towards, along_z2.away) == ("", "") and along_z2.towards_gain == along_z2.away_loss == 0.0
    assert along_z2.top_class_moves == 0.0
    assert along_z0.pixel_change == along_z2.pixel_change == pytest.approx(2.0 / 3)   # one of three pixels, by 2


def test_leaving_the_data_is_counted_against_the_typical_distance(models):
    model, judge = models
    directions = axes(model.latent_dim, 0)
    near = run_to_end(report_directions(model, judge, directions, references(1e9), starts=20))
    far = run_to_end(report_directions(model, judge, directions, references(1e-9), starts=20))
    assert near.rows[0].leaves_data == 0.0 and near.starts_off_data == 0.0
    assert far.rows[0].leaves_data == 1.0 and far.starts_off_data == 1.0
    unmeasured = run_to_end(report_directions(model, judge, directions, None, "no data here", starts=20))
    assert unmeasured.rows[0].leaves_data is None and "no data here" in unmeasured.notes[0]


def test_a_conditional_model_is_measured_drawing_the_chosen_class(tiny_models, models):
    model, judge = open_model(tiny_models["cgan"]), models[1]
    with torch.no_grad():     # untrained, the class barely reaches the image: make it count
        model.net.first[0].weight[model.latent_dim:] *= 300.0
    directions = axes(model.latent_dim, 0, 1)
    three = run_to_end(report_directions(model, judge, directions, None, labels=3, starts=20))
    four = run_to_end(report_directions(model, judge, directions, None, labels=4, starts=20))
    assert numbers(three) != numbers(four)
    # the ends are drawn as the same class as the starts: a tiny move changes (almost) nothing
    tiny = run_to_end(report_directions(model, judge, directions, None, labels=3, starts=20, reach=1e-4))
    assert max(r.pixel_change for r in tiny.rows) < 1e-3 and max(r.top_class_moves for r in tiny.rows) == 0.0


def test_rows_sort_by_a_chosen_column(models):
    model, judge = models
    report = run_to_end(report_directions(model, judge, sefa_of(model, 5), references(0.3), starts=20))
    by_pixels = report.sorted_by("pixel_change")
    assert [r.pixel_change for r in by_pixels.rows] == sorted((r.pixel_change for r in report.rows), reverse=True)
    assert [r.index for r in report.sorted_by("index").rows] == [0, 1, 2, 3, 4]
    gains = [r.towards_gain for r in report.sorted_by("towards").rows]
    assert gains == sorted(gains, reverse=True)
    assert set(COLUMNS) >= {"top_class_moves", "leakage", "pixel_change", "leaves_data"}
    with pytest.raises(ValueError, match="unknown column"):
        report.sorted_by("colour")
    unmeasured = run_to_end(report_directions(model, judge, sefa_of(model, 2), None, starts=5))
    assert [r.leaves_data for r in unmeasured.sorted_by("leaves_data").rows] == [None, None]


def test_directions_of_another_latent_are_refused(models):
    model, judge = models
    with pytest.raises(ValueError, match="3-dimensional"):
        run_to_end(report_directions(model, judge, axes(3, 0), None))
