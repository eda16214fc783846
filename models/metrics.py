"""Figures of merit for generators, measured with the bundled classifier.

Two layers:

- pure functions on arrays (Frechet distance, coverage, KL per dimension, active units) and on
  callables (path length and class changes take a `Render`, ``render(z, labels)`` -> images, and
  an embedding, so they can be checked against closed forms with linear maps);
- model drivers that render images in batches from a generator (the DDPM through deterministic
  DDIM) and push them through the judge, a model with the `classifier` capability.

Everything that loops over batches is a step iterator (models/steps.py): it yields a `Progress`
after each batch, and after each DDIM step of a DDPM, and returns its figures. The parts of one
measurement share a `WorkCount`, so their progress is one count that rises to its total; closing
the iterator stops the work at the next step. Everything random comes from generators seeded by
the caller, so a fixed seed gives the same figures every time.

The one-line explanations of the metrics are in `EXPLANATIONS` (display names in `TITLES`): the
GUI's tooltips and the command line print the same words.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import closing, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from models.data import ImageDataset
from models.capabilities import to_unit
from models.generative import GenerativeModel
from models.latent import lerp, slerp
from models.precision import batch_precision
from models.steps import Progress, Steps

Generate = Callable[[Tensor, "Tensor | None"], Tensor]      # (z, labels) -> images (n, C, H, W)
Render = Callable[[Tensor, "Tensor | None"], "Steps[Tensor]"]   # the same as a step iterator
Embed = Callable[[Tensor], Tensor]                          # images -> features (n, D)
Classify = Callable[[Tensor], "tuple[Tensor, Tensor]"]      # images -> (features (n, D), probs (n, K))

PPL_EPSILON = 1e-4              # Karras et al. 2019
PPL_PERCENTILES = (1.0, 99.0)   # the tails dropped before averaging, as in Karras et al. 2019
CONFIDENCE_THRESHOLD = 0.9
ACTIVE_UNIT_THRESHOLD = 0.01    # Burda et al. 2016
DEFAULT_BATCH_SIZE = 250

TITLES: dict[str, str] = {
    "fid": "classifier-FID",
    "fid_floor": "FID floor",
    "kid": "classifier-KID",
    "classifier_accuracy": "classifier test accuracy",
    "coverage_min_share": "smallest class share",
    "coverage_entropy": "class entropy",
    "coverage_histogram": "class histogram",
    "conditional_accuracy": "conditional accuracy",
    "guidance": "guidance sweep",
    "confident_share": "confident share",
    "ppl_lerp": "path length (lerp)",
    "ppl_slerp": "path length (slerp)",
    "class_changes_per_length": "class changes / unit length",
    "class_changes_per_path": "class changes / path",
    "kl_per_dim": "KL per dimension",
    "precision": "precision (k = 3)",
    "recall": "recall (k = 3)",
    "kl_total": "KL total",
    "active_units": "active units",
}

EXPLANATIONS: dict[str, str] = {
    "fid": "Frechet distance between Gaussians fitted to the classifier's penultimate-layer features "
           "of generated images and of the test set; lower is closer to the real data.",
    "fid_floor": "The same distance for as many real training images as samples: the best a perfect "
                 "generator could score at this sample size.",
    "kid": "Kernel distance (Binkowski et al. 2018) between the same features of generated and test "
           "images: the unbiased squared MMD under a cubic kernel, mean and spread over 100 subsets. "
           "Less biased than FID at small sample sizes; 0 for the same distribution. The second value "
           "is the training images' (the floor).",
    "classifier_accuracy": "How often the measuring classifier names the right class on the test "
                           "set; every class-based figure is only as good as this.",
    "coverage_min_share": "Share of samples in the class the classifier sees least often; 0.1 for "
                          "ten perfectly balanced classes, 0 when a class is missing (mode collapse).",
    "coverage_entropy": "Entropy of the classifier's class histogram of the samples, in bits; "
                        "log2(10) = 3.32 when all ten classes are equally common.",
    "coverage_histogram": "How many samples the classifier puts in each class.",
    "conditional_accuracy": "How often the classifier recognises the class the model was asked for.",
    "guidance": "Conditional accuracy and FID at each classifier-free guidance scale: more guidance "
                "trades diversity for recognisability.",
    "confident_share": "Share of samples the classifier labels with probability at least 0.9: "
                       "clear, unambiguous images.",
    "ppl_lerp": "Perceptual path length on straight lines: mean squared feature change per unit "
                "latent step (eps 1e-4), 1%/99% tails dropped; lower is smoother.",
    "ppl_slerp": "Perceptual path length on great-circle paths that stay on the prior's shell; "
                 "lower is smoother.",
    "class_changes_per_length": "How often the predicted class flips along random great-circle "
                                "paths, per unit of distance travelled in feature space; lower means "
                                "classes form larger regions.",
    "class_changes_per_path": "Average number of predicted-class flips along one random "
                              "great-circle path between two prior samples.",
    "kl_per_dim": "KL divergence of the encoder's posterior from the N(0, 1) prior in each latent "
                  "dimension, averaged over the test set, in nats.",
    "kl_total": "Sum of the per-dimension KL: the information the latent carries, in nats.",
    "precision": "Share of samples whose features fall inside the real images' manifold: the union of "
                 "balls round each training image reaching its 3rd nearest neighbour (Kynkaanniemi et al. "
                 "2019; the test images when there are no training images); how many samples look real. "
                 "The second value is the held-out test images', measured the same way.",
    "recall": "Share of the real (training) images whose features fall inside the samples' manifold "
              "(the same balls round the samples): how much of the real variety the model makes. The "
              "second value is the test images'; with fewer test images than samples it is lower than "
              "a perfect generator's.",
    "active_units": "Latent dimensions whose posterior mean varies across images (variance above "
                    "0.01, Burda et al. 2016); the rest are ignored by the decoder.",
}


# -- one progress count for a whole measurement ------------------------------------------------

class WorkCount:
    """Work units done of a measurement's total, shared by all its parts: each part adds what it
    did and yields the resulting `Progress`, so several parts show as one rising count."""

    def __init__(self, total: int, message: str = ""):
        self.total = int(total)
        self.done = 0
        self.message = message      # what is being measured now; parts set it as they start

    def advance(self, units: int) -> Progress:
        self.done += int(units)
        # an estimate that fell short must not show more than 100 %
        return Progress(self.done, max(self.total, self.done), self.message)


def _batches(n: int, batch_size: int) -> list[slice]:
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


def _f64(x: Any) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.detach().to("cpu", torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


# -- Frechet distance ----------------------------------------------------------------------------

@dataclass(frozen=True)
class FeatureStats:
    """Mean (D,) and covariance (D, D) of features, float64, from `count` samples."""

    mean: np.ndarray
    cov: np.ndarray
    count: int


def feature_statistics(features: Tensor | np.ndarray) -> FeatureStats:
    """Mean and unbiased covariance of feature rows (N, D), in float64."""
    x = _f64(features)
    if x.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {x.shape}")
    if len(x) < 2:
        raise ValueError(f"a covariance needs at least 2 samples, got {len(x)}")
    mean = x.mean(axis=0)
    centred = x - mean
    cov = centred.T @ centred / (len(x) - 1)
    return FeatureStats(mean, cov, len(x))


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition.

    Rounding can leave tiny negative eigenvalues on a singular covariance (fewer samples than
    dimensions); they are zero in exact arithmetic, so they are clipped."""
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64:

        |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2)

    The trace term equals tr((S1 S2)^1/2) but is computed on a symmetric PSD matrix, so eigh
    suffices (no general matrix square root, no complex parts to discard).
    """
    mu1, mu2, s1, s2 = _f64(mu1), _f64(mu2), _f64(sigma1), _f64(sigma2)
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"shapes do not match: means {mu1.shape}, {mu2.shape}; "
                         f"covariances {s1.shape}, {s2.shape}")
    root1 = _sqrt_psd(s1)
    inner = root1 @ s2 @ root1
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    trace_sqrt = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt)
    # the distance is >= 0; a result of -1e-12 for identical statistics is rounding
    return max(value, 0.0)


def fid_between(a: FeatureStats, b: FeatureStats) -> float:
    return frechet_distance(a.mean, a.cov, b.mean, b.cov)


# -- kernel distance (KID) -----------------------------------------------------------------------

KID_SUBSETS = 100        # as Bińkowski et al. 2018 compute it: the mean over subsets of both sets
KID_SUBSET_SIZE = 1000


def _cubic_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3, the polynomial kernel of KID."""
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def unbiased_mmd2(a: np.ndarray, b: np.ndarray) -> float:
    """The unbiased estimate of the squared maximum mean discrepancy between rows of `a` and `b`
    under the cubic kernel: the within-set means leave out each row's kernel with itself."""
    m, n = len(a), len(b)
    kaa, kbb, kab = _cubic_kernel(a, a), _cubic_kernel(b, b), _cubic_kernel(a, b)
    within_a = (kaa.sum() - np.trace(kaa)) / (m * (m - 1))
    within_b = (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
    return float(within_a + within_b - 2 * kab.mean())


def kernel_distance(a: Tensor | np.ndarray, b: Tensor | np.ndarray, subsets: int = KID_SUBSETS,
                    subset_size: int = KID_SUBSET_SIZE, seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance (Bińkowski et al. 2018) between feature sets `a` and `b`, here in
    the measuring classifier's features: the mean and standard deviation of the unbiased MMD²
    over `subsets` random subsets of min(subset_size, len(a), len(b)) rows of each. Unlike FID it
    is unbiased, so figures at different sample counts compare; it can be slightly negative."""
    x, y = _f64(a), _f64(b)
    size = min(subset_size, len(x), len(y))
    if size < 2:
        raise ValueError(f"KID needs at least 2 rows in each set, got {len(x)} and {len(y)}")
    rng = np.random.default_rng(seed)
    values = [unbiased_mmd2(x[rng.choice(len(x), size, replace=False)], y[rng.choice(len(y), size, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


# -- precision and recall -------------------------------------------------------------------------

PR_NEIGHBOUR = 3        # k of Kynkaanniemi et al. 2019
_DISTANCE_ROWS = 1024   # rows of a distance block: 1024 x 10,000 float64 values is 80 MB


def _distance_blocks(a: np.ndarray, b: np.ndarray):
    """(start, block) pairs of the Euclidean distances from rows of `a` to all rows of `b`."""
    bb = torch.from_numpy(b)
    for start in range(0, len(a), _DISTANCE_ROWS):
        yield start, torch.cdist(torch.from_numpy(a[start:start + _DISTANCE_ROWS]), bb).numpy()


def neighbour_radii(features: Tensor | np.ndarray, k: int = PR_NEIGHBOUR) -> np.ndarray:
    """(N,) distance from each row to its k-th nearest other row."""
    x = _f64(features)
    if len(x) <= k:
        raise ValueError(f"the {k}th nearest neighbour needs more than {k} rows, got {len(x)}")
    radii = np.empty(len(x))
    for start, d in _distance_blocks(x, x):
        # the row itself is at distance 0 and comes first: the k-th neighbour is at index k
        radii[start:start + len(d)] = np.partition(d, k, axis=1)[:, k]
    return radii


def manifold_share(reference: Tensor | np.ndarray, queries: Tensor | np.ndarray, k: int = PR_NEIGHBOUR) -> float:
    """Share of `queries` rows inside the union of balls round each `reference` row whose radius
    reaches that row's k-th nearest reference neighbour."""
    ref, q = _f64(reference), _f64(queries)
    radii = neighbour_radii(ref, k)
    inside = np.zeros(len(q), dtype=bool)
    for start, d in _distance_blocks(q, ref):
        inside[start:start + len(d)] = (d <= radii[None, :]).any(axis=1)
    return float(inside.mean())


def precision_recall(real: Tensor | np.ndarray, fake: Tensor | np.ndarray, k: int = PR_NEIGHBOUR) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of features `fake` against `real`:
    precision is the share of fake rows inside the real manifold, recall the share of real rows
    inside the fake one."""
    return {"precision": manifold_share(real, fake, k), "recall": manifold_share(fake, real, k)}


# -- class statistics ----------------------------------------------------------------------------

def predicted_classes(probs: Tensor | np.ndarray) -> np.ndarray:
    return np.asarray(_f64(probs).argmax(axis=1), dtype=np.int64)


def class_histogram(classes: Sequence[int] | np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (num_classes,) of class indices."""
    classes = np.asarray(classes, dtype=np.int64)
    if classes.size and (classes.min() < 0 or classes.max() >= num_classes):
        raise ValueError(f"class indices must be in [0, {num_classes})")
    return np.bincount(classes, minlength=num_classes)


def coverage(counts: Sequence[int] | np.ndarray, class_names: Sequence[str] = ()) -> dict[str, Any]:
    """Mode coverage of a class histogram: shares, the smallest share and the entropy in bits."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        raise ValueError("coverage of an empty histogram")
    shares = counts / total
    nonzero = shares[shares > 0]
    entropy = float(-(nonzero * np.log2(nonzero)).sum())
    smallest = int(shares.argmin())
    names = list(class_names) if len(class_names) == len(counts) else [str(i) for i in range(len(counts))]
    return {
        "counts": counts.tolist(),
        "shares": shares.tolist(),
        "class_names": names,
        "min_share": float(shares[smallest]),
        "min_class": names[smallest],
        "entropy_bits": entropy + 0.0,   # -0.0 for a single class reads badly
        "max_entropy_bits": math.log2(len(counts)),
    }


def accuracy(probs: Tensor | np.ndarray, labels: Tensor | np.ndarray | Sequence[int]) -> float:
    """Share of rows whose most probable class is the label."""
    labels = np.asarray(_f64(labels), dtype=np.int64) if isinstance(labels, Tensor) else np.asarray(labels)
    predicted = predicted_classes(probs)
    if predicted.shape != labels.shape:
        raise ValueError(f"{len(predicted)} predictions for {len(labels)} labels")
    return float((predicted == labels).mean())


def confident_share(probs: Tensor | np.ndarray, threshold: float = CONFIDENCE_THRESHOLD) -> float:
    """Share of rows whose top class probability is at least `threshold`."""
    return float((_f64(probs).max(axis=1) >= threshold).mean())


# -- VAE posterior -------------------------------------------------------------------------------

def kl_per_dimension(mu: Tensor | np.ndarray, logvar: Tensor | np.ndarray) -> np.ndarray:
    """KL(N(mu, exp(logvar)) || N(0, 1)) per latent dimension, averaged over rows, in nats."""
    mu, logvar = _f64(mu), _f64(logvar)
    return (0.5 * (mu ** 2 + np.exp(logvar) - 1.0 - logvar)).mean(axis=0)


def posterior_mean_variance(mu: Tensor | np.ndarray) -> np.ndarray:
    """Cov_x(E_q[z_d | x]) for each dimension d: the variance of the posterior means over images."""
    mu = _f64(mu)
    if len(mu) < 2:
        raise ValueError("active units need at least 2 images")
    return mu.var(axis=0, ddof=1)


def active_units(mu: Tensor | np.ndarray, threshold: float = ACTIVE_UNIT_THRESHOLD) -> int:
    """Number of latent dimensions whose posterior mean varies by more than `threshold` across
    images (Burda et al. 2016)."""
    return int((posterior_mean_variance(mu) > threshold).sum())


# -- path length and class changes (pure: any generate / embed callables) ------------------------

def _interpolate(z1: Tensor, z2: Tensor, ts: Tensor, spherical: bool) -> Tensor:
    """(n, len(ts), *shape): each pair's points at ts, computed in float64."""
    fn = slerp if spherical else lerp
    a, b = z1.to(torch.float64), z2.to(torch.float64)
    ts = ts.to(torch.float64)
    if ts.ndim == 1:
        return torch.stack([fn(a[i], b[i], ts) for i in range(len(a))])
    return torch.stack([fn(a[i], b[i], ts[i]) for i in range(len(a))])


def filtered_mean(values: np.ndarray, percentiles: tuple[float, float] | None = PPL_PERCENTILES) -> float:
    """Mean after dropping values outside the given percentiles (Karras et al. 2019 drop the
    1% and 99% tails, where a few near-singular steps would dominate the mean)."""
    values = np.asarray(values, dtype=np.float64)
    if percentiles is None:
        return float(values.mean())
    lo = np.percentile(values, percentiles[0], method="lower")
    hi = np.percentile(values, percentiles[1], method="higher")
    return float(values[(values >= lo) & (values <= hi)].mean())


def single_pass(generate: Generate) -> Render:
    """A plain ``generate(z, labels)`` as a `Render` that makes its images in one step."""

    def render(z: Tensor, labels: Tensor | None = None) -> Steps[Tensor]:
        images = generate(z, labels)
        yield None
        return images

    return render


def path_length_sample_steps(render: Render, embed: Embed, z1: Tensor, z2: Tensor, ts: Tensor,
                             labels: Tensor | None = None, *, eps: float = PPL_EPSILON, spherical: bool = False,
                             batch_size: int = DEFAULT_BATCH_SIZE) -> Steps[np.ndarray]:
    """Karras et al. 2019: |f(G(p(t))) - f(G(p(t + eps)))|^2 / eps^2 for each pair (z1[i], z2[i])
    at t = ts[i], where p is the lerp or slerp path. Returns (n,) float64.

    Both points of a pair go through the networks in the same batch, so they see the same
    arithmetic and the tiny difference is not swamped by batch-dependent rounding."""
    n = len(z1)
    out = np.empty(n, dtype=np.float64)
    ts = torch.as_tensor(ts, dtype=torch.float64)
    pairs_per_batch = max(1, batch_size // 2)
    for s in _batches(n, pairs_per_batch):
        both = _interpolate(z1[s], z2[s], torch.stack([ts[s], ts[s] + eps], dim=1), spherical)
        k = both.shape[0]
        z = torch.cat([both[:, 0], both[:, 1]]).to(z1.dtype)
        lab = None if labels is None else torch.cat([labels[s], labels[s]])
        images = yield from render(z, lab)
        feats = embed(images).reshape(2 * k, -1).to(torch.float64)
        out[s] = ((feats[:k] - feats[k:]) ** 2).sum(dim=1).cpu().numpy() / eps ** 2
    return out


def class_change_sample_steps(render: Render, classify: Classify, z1: Tensor, z2: Tensor,
                              labels: Tensor | None = None, *, points: int = 16, spherical: bool = True,
                              batch_size: int = DEFAULT_BATCH_SIZE) -> Steps[tuple[np.ndarray, np.ndarray]]:
    """For each path z1[i] -> z2[i] sampled at `points` evenly spaced frames: the number of times
    the predicted class changes between neighbouring frames, and the path's length in feature
    space (the sum of the feature steps). Returns two (n,) arrays."""
    if points < 2:
        raise ValueError(f"a path needs at least 2 points, got {points}")
    n = len(z1)
    changes = np.empty(n, dtype=np.int64)
    lengths = np.empty(n, dtype=np.float64)
    ts = torch.linspace(0.0, 1.0, points, dtype=torch.float64)
    for s in _batches(n, max(1, batch_size // points)):
        frames = _interpolate(z1[s], z2[s], ts, spherical)          # (k, points, *shape)
        k = frames.shape[0]
        z = frames.reshape(k * points, *frames.shape[2:]).to(z1.dtype)
        lab = None if labels is None else labels[s].repeat_interleave(points, dim=0)
        images = yield from render(z, lab)
        feats, probs = classify(images)
        feats = feats.reshape(k, points, -1).to(torch.float64)
        classes = probs.reshape(k, points, -1).argmax(dim=2)
        changes[s] = (classes[:, 1:] != classes[:, :-1]).sum(dim=1).cpu().numpy()
        lengths[s] = (feats[:, 1:] - feats[:, :-1]).norm(dim=2).sum(dim=1).cpu().numpy()
    return changes, lengths


def changes_per_length(changes: np.ndarray, lengths: np.ndarray) -> float:
    """Class changes per unit of feature-space length over all paths: a ratio of totals, so a
    few almost-constant paths cannot blow it up."""
    total = float(np.sum(lengths))
    return float(np.sum(changes)) / total if total > 0 else 0.0


# -- model drivers -------------------------------------------------------------------------------

def has_posterior(model: GenerativeModel) -> bool:
    """Whether `model` is a generator whose encoder gives a posterior q(z | x) (a VAE), the
    distribution that KL per dimension and active units are measured on."""
    return model.prior is not None and model.encoder is not None and model.encoder.gives_posterior


def check_judge(judge: GenerativeModel) -> None:
    """ValueError, saying what to do, when `judge` cannot classify images."""
    if judge.classifier is None:
        raise ValueError(f"{judge.name} is a {judge.kind.title}, not a classifier; pass the "
                         f"classifier checkpoint with --classifier")


def render_cost(model: GenerativeModel, ddim_steps: int) -> int:
    """Work units to render one image: one network pass, or one per DDIM step."""
    return int(ddim_steps) if model.sampler is not None else 1


def sampler_description(model: GenerativeModel, ddim_steps: int, guidance: float | None = None) -> str:
    if model.sampler is None:
        return "one decoder pass per sample"
    text = f"DDIM, {ddim_steps} steps, eta 0 (deterministic)"
    if model.conditional is not None and guidance is not None:
        text += f", guidance {guidance:g}"
    return text


def image_renderer(model: GenerativeModel, work: WorkCount, *, ddim_steps: int = 50,
                   guidance: float | None = None, float32: bool = False) -> Render:
    """``render(z, labels)`` -> images in [0, 1] on the model's device, counting
    len(z) * render_cost units on `work`. An iterative model samples with deterministic DDIM
    (eta 0) and yields after every step; guidance None is the model's default. A batch is
    computed in models.precision's `batch_precision` (bfloat16 for large batches on a CPU that
    has it) unless `float32`."""
    if ddim_steps < 1:
        raise ValueError(f"DDIM steps must be at least 1, got {ddim_steps}")

    def precision(z: Tensor):
        return nullcontext() if float32 else batch_precision(model.device, len(z))

    def render(z: Tensor, labels: Tensor | None = None) -> Steps[Tensor]:
        if model.sampler is None:
            with precision(z):
                images = model.decode(z, labels)
            yield work.advance(len(z))
            return images.float()
        last = None
        # closed explicitly when this render is: the sampler's run must end with it, not later
        with closing(model.sampler.steps(z, labels, guidance=guidance, sampler="ddim", num_steps=ddim_steps,
                                         eta=0.0)) as run:
            while True:
                with precision(z):      # around one step, never across a yield
                    step = next(run, None)
                if step is None:
                    break
                last = step
                yield work.advance(len(z))
        return to_unit(last.x_t.float())

    return render


def classifier_outputs(judge: GenerativeModel) -> Classify:
    """``classify(images)`` -> (penultimate features, class probabilities), float32 on the CPU."""
    check_judge(judge)
    classifier = judge.classifier

    def classify(images: Tensor) -> tuple[Tensor, Tensor]:
        feats, probs = classifier.outputs(images)
        return feats.float().cpu(), probs.float().cpu()

    return classify


def balanced_labels(n: int, num_classes: int) -> Tensor:
    """Class indices 0, 1, ..., K-1, 0, 1, ...: every class equally often, like the test set."""
    return torch.arange(n) % num_classes


def sample_labels(model: GenerativeModel, n: int) -> Tensor | None:
    return balanced_labels(n, model.conditional.num_classes) if model.conditional is not None else None


def generated_output_steps(model: GenerativeModel, judge: GenerativeModel, n: int, seed: int, *,
                           labels: Tensor | None = None, ddim_steps: int = 50, guidance: float | None = None,
                           batch_size: int = DEFAULT_BATCH_SIZE,
                           work: WorkCount | None = None) -> Steps[tuple[Tensor, Tensor]]:
    """Classifier features and probabilities of n samples from latents `model.sample_latent(n, seed)`.
    Costs n * render_cost units."""
    if work is None:
        work = WorkCount(n * render_cost(model, ddim_steps), "sampling")
    z = model.sample_latent(n, seed)
    render = image_renderer(model, work, ddim_steps=ddim_steps, guidance=guidance)
    classify = classifier_outputs(judge)
    feats, probs = [], []
    for s in _batches(n, batch_size):
        images = yield from render(z[s], None if labels is None else labels[s])
        f, p = classify(images)
        feats.append(f)
        probs.append(p)
    return torch.cat(feats), torch.cat(probs)


def dataset_output_steps(judge: GenerativeModel, data: ImageDataset, indices: np.ndarray | None = None, *,
                         batch_size: int = DEFAULT_BATCH_SIZE,
                         work: WorkCount | None = None) -> Steps[tuple[Tensor, Tensor]]:
    """Classifier features and probabilities of dataset images (all, or `indices`).
    Costs one unit per image."""
    order = np.arange(len(data)) if indices is None else np.asarray(indices)
    if work is None:
        work = WorkCount(len(order), "classifying images")
    classify = classifier_outputs(judge)
    feats, probs = [], []
    for s in _batches(len(order), batch_size):
        f, p = classify(data.tensor(order[s]))
        feats.append(f)
        probs.append(p)
        yield work.advance(len(order[s]))
    return torch.cat(feats), torch.cat(probs)


def posterior_statistic_steps(model: GenerativeModel, data: ImageDataset, *, batch_size: int = DEFAULT_BATCH_SIZE,
                              work: WorkCount | None = None) -> Steps[tuple[np.ndarray, np.ndarray]]:
    """The encoder's posterior (mu, logvar) for every dataset image, float64 (N, D); a conditional
    model is given each image's own label. Costs one unit per image."""
    if not has_posterior(model):
        raise ValueError(f"{model.name} is a {model.kind.title}: it has no posterior to measure")
    if model.conditional is not None and not data.has_labels:
        raise ValueError("a conditional VAE's posterior needs labelled images")
    if work is None:
        work = WorkCount(len(data), "encoding images")
    mus, logvars = [], []
    for s in _batches(len(data), batch_size):
        labels = data.labels_tensor(s) if model.conditional is not None else None
        mu, logvar = model.encoder.posterior(data.tensor(s), labels)
        mus.append(_f64(mu))
        logvars.append(_f64(logvar))
        yield work.advance(s.stop - s.start)
    return np.concatenate(mus), np.concatenate(logvars)


def vae_posterior_metric_steps(model: GenerativeModel, data: ImageDataset, *, batch_size: int = DEFAULT_BATCH_SIZE,
                               work: WorkCount | None = None) -> Steps[dict[str, Any]]:
    """Per-dimension KL, its total and the active units of a VAE on a dataset."""
    mu, logvar = yield from posterior_statistic_steps(model, data, batch_size=batch_size, work=work)
    kl = kl_per_dimension(mu, logvar)
    variance = posterior_mean_variance(mu)
    return {
        "kl_per_dim": kl.tolist(),
        "kl_total": float(kl.sum()),
        "active_units": int((variance > ACTIVE_UNIT_THRESHOLD).sum()),
        "latent_dim": int(mu.shape[1]),
        "posterior_mean_variance": variance.tolist(),
        "images": int(len(mu)),
    }


def _endpoints(model: GenerativeModel, n: int, seed: int) -> tuple[Tensor, Tensor, torch.Generator]:
    generator = torch.Generator().manual_seed(int(seed))
    shape = (n, *model.latent_shape)
    return torch.randn(shape, generator=generator), torch.randn(shape, generator=generator), generator


def _path_labels(model: GenerativeModel, n: int, generator: torch.Generator) -> Tensor | None:
    # one random class per path, held along it: the path moves through the latent only
    if model.conditional is None:
        return None
    return torch.randint(model.conditional.num_classes, (n,), generator=generator)


def path_length_steps(model: GenerativeModel, judge: GenerativeModel, n: int, seed: int, *,
                      spherical: bool, eps: float = PPL_EPSILON, ddim_steps: int = 50, guidance: float | None = None,
                      batch_size: int = DEFAULT_BATCH_SIZE, work: WorkCount | None = None) -> Steps[dict[str, float]]:
    """Perceptual path length in the classifier's feature space over n random pairs of prior
    samples (lerp or slerp). Costs 2 n * render_cost units."""
    if n < 2:
        raise ValueError(f"path length needs at least 2 pairs, got {n}")
    if work is None:
        work = WorkCount(2 * n * render_cost(model, ddim_steps), "path length")
    z1, z2, generator = _endpoints(model, n, seed)
    ts = torch.rand(n, generator=generator, dtype=torch.float64)
    labels = _path_labels(model, n, generator)
    classify = classifier_outputs(judge)
    values = yield from path_length_sample_steps(
        image_renderer(model, work, ddim_steps=ddim_steps, guidance=guidance, float32=True),
        lambda images: classify(images)[0], z1, z2, ts, labels,
        eps=eps, spherical=spherical, batch_size=batch_size)
    return {"mean": filtered_mean(values), "median": float(np.median(values)), "pairs": n}


def class_change_steps(model: GenerativeModel, judge: GenerativeModel, paths: int, seed: int, *,
                       points: int = 16, spherical: bool = True, ddim_steps: int = 50, guidance: float | None = None,
                       batch_size: int = DEFAULT_BATCH_SIZE, work: WorkCount | None = None) -> Steps[dict[str, float]]:
    """Predicted-class changes along random paths between prior samples, per path and per unit
    of feature-space length. Costs paths * points * render_cost units."""
    if paths < 1:
        raise ValueError(f"class changes need at least 1 path, got {paths}")
    if work is None:
        work = WorkCount(paths * points * render_cost(model, ddim_steps), "class changes")
    z1, z2, generator = _endpoints(model, paths, seed)
    labels = _path_labels(model, paths, generator)
    changes, lengths = yield from class_change_sample_steps(
        image_renderer(model, work, ddim_steps=ddim_steps, guidance=guidance, float32=True),
        classifier_outputs(judge), z1, z2, labels,
        points=points, spherical=spherical, batch_size=batch_size)
    return {"per_length": changes_per_length(changes, lengths), "per_path": float(changes.mean()),
            "paths": paths, "points": points}
