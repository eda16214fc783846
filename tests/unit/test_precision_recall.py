"""Improved precision and recall (Kynkaanniemi et al. 2019) on cases worked out by hand, and the
figures in the evaluation report and on the command line."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.cli import main
from models import metrics as m
from models.evaluation import evaluate

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_radii_reach_the_kth_nearest_other_point():
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_array_equal(m.neighbour_radii(points, 1), [1, 1, 2, 4])
    np.testing.assert_array_equal(m.neighbour_radii(points, 2), [3, 2, 3, 6])
    with pytest.raises(ValueError, match="more than 3 rows"):
        m.neighbour_radii(points[:3], 3)


def test_precision_and_recall_on_a_line():
    real = np.array([[0.0], [1.0], [2.0], [3.0]])         # radii (k = 1): 1 each, covering [-1, 4]
    fake = np.array([[0.5], [10.0]])                       # radii: 9.5 each
    # 0.5 lies inside the real balls, 10 does not; every real point lies within 9.5 of 0.5
    assert m.precision_recall(real, fake, k=1) == {"precision": 0.5, "recall": 1.0}
    # a fake set bunched at one end covers only the real points near it
    bunched = np.array([[0.0], [0.1], [0.2]])              # radii (k = 1): 0.1 each
    assert m.precision_recall(real, bunched, k=1) == {"precision": 1.0, "recall": 0.25}


def test_identical_sets_have_full_precision_and_recall_in_many_dimensions():
    x = np.random.default_rng(0).standard_normal((300, 16))
    assert m.precision_recall(x, x) == {"precision": 1.0, "recall": 1.0}
    far = x + 100.0
    assert m.precision_recall(x, far) == {"precision": 0.0, "recall": 0.0}


def test_distances_in_blocks_give_the_same_shares(monkeypatch):
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((50, 3)), rng.standard_normal((40, 3)) + 0.5
    whole = m.precision_recall(real, fake)
    monkeypatch.setattr(m, "_DISTANCE_ROWS", 7)
    assert m.precision_recall(real, fake) == whole


def test_the_report_holds_precision_and_recall_with_their_real_reference(tiny_models, idx_data):
    from models.checkpoint import load_checkpoint
    from models.data import load_dataset

    gan, judge = load_checkpoint(tiny_models["dcgan"]), load_checkpoint(tiny_models["classifier"])
    test, train = load_dataset(idx_data, "test"), load_dataset(idx_data, "train")
    report = evaluate(gan, judge, test, n=20, seed=0, train=train)
    for key in ("precision", "recall", "precision_floor", "recall_floor"):
        assert 0.0 <= report[key] <= 1.0
    # the real manifold is that of the training images picked for the floor; the reference figures
    # are the test images' against it
    train_feats, _ = m.classifier_outputs(judge)(train.tensor(np.sort(
        np.random.default_rng(0).choice(len(train), size=20, replace=False))))
    test_feats, _ = m.classifier_outputs(judge)(test.tensor())
    assert report["precision_floor"] == m.manifold_share(train_feats, test_feats)
    assert report["recall_floor"] == m.manifold_share(test_feats, train_feats)
    sample_feats, _ = yield_free_features(gan, judge, 20)
    assert report["precision"] == m.manifold_share(train_feats, sample_feats)
    # KID beside them: the samples' against the test set, its floor the training images'
    assert report["kid"] == pytest.approx(m.kernel_distance(sample_feats, test_feats, seed=0)[0])
    assert report["kid_floor"] == pytest.approx(m.kernel_distance(train_feats, test_feats, seed=0)[0])
    assert report["kid_std"] >= 0


def yield_free_features(gan, judge, n: int):
    from models.steps import run_to_end

    return run_to_end(m.generated_output_steps(gan, judge, n, 0))


def test_evaluate_prints_precision_and_recall(capsys, tiny_models, idx_data):
    code = main(["evaluate", str(tiny_models["dcgan"]), "--classifier", str(tiny_models["classifier"]),
                 "--data", str(idx_data), "--device", "cpu", "--samples", "10"])
    out = capsys.readouterr().out
    assert code == 0
    assert "precision (k = 3)" in out and "recall (k = 3)" in out and "held-out real images" in out
