"""The measuring layer against closed forms and planted data."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models import metrics as m
from models.steps import run_to_end


def _rotation(d: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


def _random_spd(d: int, seed: int) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


# -- Frechet distance ----------------------------------------------------------------------------

def test_frechet_distance_of_commuting_gaussians_matches_closed_form():
    # same eigenbasis: the trace term is sum sqrt(a_i b_i), so FD = |dmu|^2 + sum (sqrt a - sqrt b)^2
    d = 6
    q = _rotation(d, 0)
    a = np.array([0.5, 1.0, 2.0, 3.0, 0.1, 4.0])
    b = np.array([1.5, 0.2, 2.0, 1.0, 0.3, 9.0])
    mu1, mu2 = np.arange(d, dtype=float), np.ones(d)
    expected = float(((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    got = m.frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_of_general_gaussians_matches_eigenvalues_of_the_product():
    # tr((S1 S2)^1/2) is the sum of square roots of the (real, positive) eigenvalues of S1 S2
    s1, s2 = _random_spd(5, 1), _random_spd(5, 2)
    mu1, mu2 = np.random.default_rng(3).normal(size=(2, 5))
    trace_sqrt = np.sqrt(np.linalg.eigvals(s1 @ s2).real).sum()
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    assert m.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)
    # and the distance is symmetric although the formula is not written symmetrically
    assert m.frechet_distance(mu2, s2, mu1, s1) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_of_one_dimensional_gaussians():
    # 1-D: (mu1 - mu2)^2 + (sigma1 - sigma2)^2
    assert m.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)


def test_frechet_distance_is_zero_for_identical_statistics():
    features = torch.randn(200, 8, generator=torch.Generator().manual_seed(0))
    stats = m.feature_statistics(features)
    assert m.fid_between(stats, stats) == pytest.approx(0.0, abs=1e-9)
    # also for a singular covariance (fewer samples than dimensions)
    few = m.feature_statistics(features[:4])
    assert m.fid_between(few, few) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_grows_with_a_mean_shift_and_rejects_bad_shapes():
    features = torch.randn(300, 4, generator=torch.Generator().manual_seed(1))
    base = m.feature_statistics(features)
    shifted = m.feature_statistics(features + torch.tensor([3.0, 0, 0, 0]))
    assert m.fid_between(base, shifted) == pytest.approx(9.0, rel=1e-6)
    with pytest.raises(ValueError):
        m.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_feature_statistics_are_float64_mean_and_unbiased_covariance():
    x = np.random.default_rng(5).normal(size=(50, 3)).astype(np.float32)
    stats = m.feature_statistics(torch.from_numpy(x))
    assert stats.mean.dtype == np.float64 and stats.cov.dtype == np.float64 and stats.count == 50
    np.testing.assert_allclose(stats.mean, x.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.cov, np.cov(x.astype(np.float64), rowvar=False), rtol=1e-10)
    with pytest.raises(ValueError):
        m.feature_statistics(np.zeros((1, 3)))


# -- classes -------------------------------------------------------------------------------------

def test_coverage_of_planted_histograms():
    uniform = m.coverage(m.class_histogram(np.arange(100) % 10, 10))
    assert uniform["min_share"] == pytest.approx(0.1)
    assert uniform["entropy_bits"] == pytest.approx(math.log2(10))
    assert uniform["max_entropy_bits"] == pytest.approx(math.log2(10))

    two = m.coverage(m.class_histogram([3] * 50 + [7] * 50, 10), class_names=[f"c{i}" for i in range(10)])
    assert two["entropy_bits"] == pytest.approx(1.0)
    assert two["min_share"] == 0.0 and two["min_class"] == "c0"
    assert two["counts"][3] == 50 and two["counts"][7] == 50 and sum(two["counts"]) == 100

    skewed = m.coverage([1, 3])  # shares 1/4, 3/4
    assert skewed["min_share"] == pytest.approx(0.25)
    assert skewed["entropy_bits"] == pytest.approx(-(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75)))
    collapsed = m.coverage(m.class_histogram([4] * 20, 10))
    assert collapsed["entropy_bits"] == 0.0 and collapsed["min_share"] == 0.0


def test_accuracy_and_confident_share_on_planted_probabilities():
    probs = torch.tensor([[0.95, 0.05], [0.2, 0.8], [0.5, 0.5], [0.01, 0.99]])
    assert m.accuracy(probs, torch.tensor([0, 1, 1, 1])) == pytest.approx(0.75)  # argmax of a tie is 0
    assert m.confident_share(probs) == pytest.approx(0.5)
    assert m.confident_share(probs, threshold=0.75) == pytest.approx(0.75)
    with pytest.raises(ValueError):
        m.class_histogram([0, 10], 10)


# -- VAE posterior -------------------------------------------------------------------------------

def test_active_units_on_a_planted_posterior():
    g = torch.Generator().manual_seed(0)
    n = 2000
    mu = torch.stack([
        torch.randn(n, generator=g),                 # variance 1: active
        0.5 * torch.randn(n, generator=g),           # variance 0.25: active
        0.03 * torch.randn(n, generator=g),          # variance 0.0009: inactive
        torch.full((n,), 2.0),                       # constant: inactive
    ], dim=1)
    assert m.active_units(mu) == 2
    np.testing.assert_allclose(m.posterior_mean_variance(mu), [1.0, 0.25, 0.0009, 0.0], rtol=0.1, atol=1e-12)
    assert m.active_units(mu, threshold=1e-4) == 3


def test_kl_per_dimension_matches_closed_form():
    mu = torch.tensor([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, 0.0, math.log(4.0)], [0.0, 0.0, math.log(4.0)]], dtype=torch.float64)
    # KL(N(mu, s^2) || N(0, 1)) = (mu^2 + s^2 - 1 - log s^2) / 2
    expected = [0.0, 0.5, (4.0 - 1.0 - math.log(4.0)) / 2]
    np.testing.assert_allclose(m.kl_per_dimension(mu, logvar), expected, rtol=1e-12, atol=1e-15)


# -- path length and class changes -----------------------------------------------------------------

def _linear(a: torch.Tensor) -> m.Render:
    return m.single_pass(lambda z, labels=None: z.reshape(len(z), -1) @ a.T)


def _path_lengths(*args, **kwargs) -> np.ndarray:
    return run_to_end(m.path_length_sample_steps(*args, **kwargs))


def test_lerp_path_length_of_a_linear_map_equals_its_closed_form():
    # G(z) = A z, f = identity: every lerp step has |A (z2 - z1)|^2 / unit step^2, for any t
    g = torch.Generator().manual_seed(0)
    a = torch.randn(5, 3, generator=g, dtype=torch.float64)
    z1, z2 = torch.randn(64, 3, generator=g, dtype=torch.float64), torch.randn(64, 3, generator=g, dtype=torch.float64)
    ts = torch.rand(64, generator=g, dtype=torch.float64)
    values = _path_lengths(_linear(a), lambda x: x, z1, z2, ts, batch_size=10)
    expected = (((z2 - z1) @ a.T) ** 2).sum(dim=1).numpy()
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    # the unfiltered mean converges to E|A (z2 - z1)|^2 = 2 |A|_F^2
    big1 = torch.randn(4000, 3, generator=g, dtype=torch.float64)
    big2 = torch.randn(4000, 3, generator=g, dtype=torch.float64)
    t_big = torch.rand(4000, generator=g, dtype=torch.float64)
    many = _path_lengths(_linear(a), lambda x: x, big1, big2, t_big)
    assert m.filtered_mean(many, None) == pytest.approx(2 * float((a ** 2).sum()), rel=0.1)


def test_slerp_path_length_of_a_scaled_identity_equals_its_closed_form():
    # latent.slerp moves the direction along the great circle at angular speed omega and the norm
    # linearly, so |dp/dt|^2 = (|b| - |a|)^2 + r(t)^2 omega^2; G = c I scales it by c^2
    g = torch.Generator().manual_seed(1)
    c = 3.0
    z1, z2 = torch.randn(32, 4, generator=g, dtype=torch.float64), torch.randn(32, 4, generator=g, dtype=torch.float64)
    ts = torch.rand(32, generator=g, dtype=torch.float64)
    values = _path_lengths(_linear(c * torch.eye(4, dtype=torch.float64)), lambda x: x, z1, z2, ts,
                           spherical=True)
    na, nb = z1.norm(dim=1), z2.norm(dim=1)
    omega = torch.arccos(((z1 * z2).sum(1) / (na * nb)).clamp(-1, 1))
    radius = (1 - ts) * na + ts * nb
    expected = (c ** 2 * ((nb - na) ** 2 + (radius * omega) ** 2)).numpy()
    np.testing.assert_allclose(values, expected, rtol=1e-3)


def test_filtered_mean_drops_the_percentile_tails():
    values = np.concatenate([np.ones(994), [1e6] * 3, [-1e6] * 3])
    assert m.filtered_mean(values) == pytest.approx(1.0)
    assert m.filtered_mean(values, None) == pytest.approx(994 / 1000)


def test_class_changes_on_straight_paths_through_a_planted_boundary():
    # classify by the sign of the first coordinate: a straight path crosses the boundary once
    # exactly when its endpoints differ in sign, and its feature length is |z2 - z1|
    def classify(x):
        probs = torch.stack([(x[:, 0] < 0).double(), (x[:, 0] >= 0).double()], dim=1)
        return x, probs

    z1 = torch.tensor([[-1.0, 0.0], [1.0, 1.0], [-2.0, -1.0]], dtype=torch.float64)
    z2 = torch.tensor([[1.0, 0.0], [2.0, -1.0], [-1.0, 3.0]], dtype=torch.float64)
    changes, lengths = run_to_end(m.class_change_sample_steps(m.single_pass(lambda z, labels=None: z), classify,
                                                              z1, z2, points=9, spherical=False, batch_size=10))
    assert changes.tolist() == [1, 0, 0]
    np.testing.assert_allclose(lengths, (z2 - z1).norm(dim=1).numpy(), rtol=1e-12)
    assert m.changes_per_length(changes, lengths) == pytest.approx(1 / float(lengths.sum()))


# -- progress, cancellation and the model drivers ---------------------------------------------------

def test_work_count_adds_up_the_parts_and_never_shows_more_than_100_percent():
    work = m.WorkCount(10, "measuring")
    assert [(p.done, p.total, p.message) for p in (work.advance(4), work.advance(6))] == [
        (4, 10, "measuring"), (10, 10, "measuring")]
    overrun = work.advance(5)                       # an estimate that fell short
    assert (overrun.done, overrun.total) == (15, 15)


def _count_calls(monkeypatch, obj, name: str) -> list[int]:
    """Replaces obj.name by a wrapper that records each call (the stub model's meter)."""
    calls: list[int] = []
    original = getattr(obj, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(obj, name, counted)
    return calls


@pytest.fixture
def gan_and_judge(tiny_models):
    from models.checkpoint import open_model

    return open_model(tiny_models["dcgan"]), open_model(tiny_models["classifier"])


def test_model_drivers_are_seed_reproducible(gan_and_judge):
    gan, judge = gan_and_judge
    first = run_to_end(m.path_length_steps(gan, judge, 6, seed=3, spherical=True, batch_size=4))
    again = run_to_end(m.path_length_steps(gan, judge, 6, seed=3, spherical=True, batch_size=4))
    assert first == again and math.isfinite(first["mean"]) and first["mean"] >= 0
    feats, probs = run_to_end(m.generated_output_steps(gan, judge, 5, seed=0, batch_size=2))
    assert feats.shape == (5, judge.net.config.head_hidden) and probs.shape == (5, 10)
    torch.testing.assert_close(probs.sum(1), torch.ones(5))


def test_a_driver_yields_after_each_batch_and_closing_it_stops_the_batches(gan_and_judge, monkeypatch):
    gan, judge = gan_and_judge
    decodes = _count_calls(monkeypatch, gan, "decode")
    steps = m.generated_output_steps(gan, judge, 20, seed=0, batch_size=2)
    first, second = next(steps), next(steps)
    assert (first.done, second.done, second.total) == (2, 4, 20)
    assert len(decodes) == 2                        # one batch per step, nothing computed ahead
    steps.close()
    with pytest.raises(StopIteration):
        next(steps)
    assert len(decodes) == 2


def test_an_iterative_model_yields_after_each_ddim_step_and_closing_stops_the_run(tiny_models, monkeypatch):
    from models.checkpoint import open_model

    ddpm, judge = open_model(tiny_models["ddpm"]), open_model(tiny_models["classifier"])
    passes = _count_calls(monkeypatch, ddpm.sampler, "eps")
    steps = m.generated_output_steps(ddpm, judge, 4, seed=0, ddim_steps=5, batch_size=4,
                                     labels=m.sample_labels(ddpm, 4))
    reports = [next(steps), next(steps)]
    assert [(p.done, p.total) for p in reports] == [(4, 20), (8, 20)]   # 4 images x 5 steps
    assert len(passes) == 2
    steps.close()
    assert len(passes) == 2


def _dataset(folder, split: str):
    from models.data import load_dataset

    return load_dataset(folder, split=split)


def _progress_of(steps) -> tuple[object, list]:
    seen: list = []
    return run_to_end(steps, seen.append), seen


def _assert_rises_to_its_total(seen: list, total: int) -> None:
    dones = [p.done for p in seen]
    assert all(b > a for a, b in zip(dones, dones[1:]))          # strictly rising
    assert {p.total for p in seen} == {total} and dones[-1] == total
    assert all(p.message for p in seen)


def test_evaluate_steps_count_up_to_their_total_and_give_the_wrappers_report(tiny_models, idx_data):
    from models.checkpoint import open_model
    from models.evaluation import evaluate, evaluate_steps

    vae, judge = open_model(tiny_models["vae"]), open_model(tiny_models["classifier"])
    test, train = _dataset(idx_data, "test"), _dataset(idx_data, "train")
    report, seen = _progress_of(evaluate_steps(vae, judge, test, 12, 3, train=train, batch_size=5))
    # 30 test images, 12 training images for the floor, 12 samples, 30 test images encoded
    _assert_rises_to_its_total(seen, 30 + 12 + 12 + 30)
    calls: list[tuple[int, int]] = []
    assert evaluate(vae, judge, test, 12, 3, train=train, batch_size=5,
                    progress=lambda done, total: calls.append((done, total))) == report
    assert calls == [(p.done, p.total) for p in seen]


def test_evaluating_an_iterative_model_counts_every_ddim_step(tiny_models, idx_data):
    from models.checkpoint import open_model
    from models.evaluation import evaluate_steps

    ddpm, judge = open_model(tiny_models["ddpm"]), open_model(tiny_models["classifier"])
    report, seen = _progress_of(evaluate_steps(ddpm, judge, _dataset(idx_data, "test"), 4, ddim_steps=2,
                                               guidance_scales=(0.0,)))
    # the test set, then 4 samples x 2 DDIM steps at guidance 0 and at the default
    _assert_rises_to_its_total(seen, 30 + 2 * 4 * 2)
    assert [g["scale"] for g in report["guidance"]] == [0.0, ddpm.sampler.default_guidance]


def test_compare_steps_are_one_count_over_both_models_and_give_the_wrappers_report(tiny_models, idx_data):
    from models.checkpoint import open_model
    from models.evaluation import compare, compare_steps, metrics_cost

    vae, gan, judge = (open_model(tiny_models[k]) for k in ("vae", "cgan", "classifier"))
    test = _dataset(idx_data, "test")
    result, seen = _progress_of(compare_steps(vae, gan, judge, 8, 1, data=test, batch_size=16))
    # per model 8 samples, 2 x 2 x 8 path-length images, 2 paths x 16 frames; the VAE encodes 30
    assert metrics_cost(vae, 8, data=test) == 8 + 32 + 32 + 30 and metrics_cost(gan, 8, data=test) == 72
    _assert_rises_to_its_total(seen, 174)
    assert any(p.message.startswith("vae:") for p in seen) and seen[-1].message.startswith("cgan:")
    assert compare(vae, gan, judge, 8, 1, data=test, batch_size=16) == result


def test_closing_an_evaluation_after_two_steps_stops_it(tiny_models, idx_data, monkeypatch):
    from models.checkpoint import open_model
    from models.evaluation import evaluate_steps

    vae, judge = open_model(tiny_models["vae"]), open_model(tiny_models["classifier"])
    judged = _count_calls(monkeypatch, judge.classifier, "outputs")
    decodes = _count_calls(monkeypatch, vae, "decode")
    steps = evaluate_steps(vae, judge, _dataset(idx_data, "test"), 12, batch_size=5)
    next(steps), next(steps)
    assert len(judged) == 2                         # two batches of the test set, no more
    steps.close()
    assert len(judged) == 2 and decodes == []


def test_a_generator_is_not_a_judge_and_a_classifier_is_not_measured(gan_and_judge):
    from models.evaluation import check_pairing

    gan, judge = gan_and_judge
    with pytest.raises(ValueError, match="not a classifier"):
        check_pairing(gan, gan)
    with pytest.raises(ValueError, match="only generators"):
        check_pairing(judge, judge)
    assert not m.has_posterior(gan) and not m.has_posterior(judge)


def test_every_metric_has_a_title_and_an_explanation():
    assert set(m.TITLES) == set(m.EXPLANATIONS)
    assert all(text.strip() and "\n" not in text for text in m.EXPLANATIONS.values())


def test_models_metrics_do_not_import_qt():
    import subprocess
    import sys

    code = "import sys, models.metrics, models.evaluation; print(any(k.startswith('PySide6') for k in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
