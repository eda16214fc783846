"""Directions that a classifier names: class boundaries, attribute vectors, latent arithmetic.

- Class boundaries after InterFaceGAN (Shen, Gu, Tang & Zhou, "Interpreting the Latent Space of
  GANs for Semantic Face Editing", CVPR 2020): latents labelled by a classifier, a linear
  boundary fitted between two classes (or one class and the rest); its unit normal is the
  direction "towards Sneaker". Their conditional manipulation removes from it the component along
  another boundary, so the move does not cross that one too ("towards Sneaker, not away from
  Sandal").
- Attribute vectors (Larsen et al. 2016, White 2016, and Magenta's MusicVAE, Roberts et al.
  2018): the mean latent of class B minus the mean latent of class A.
- Latent arithmetic A - B + C (Radford, Metz & Chintala 2016, the DCGAN paper's face arithmetic).

The classifier's labels are its probabilities, not its top class: a latent counts p times for a
class and 1 - p against it. The boundary is then a logistic regression on soft targets, and it
still finds the way towards a class that few samples reach, as in a conditional model drawing one
class, where hard labels would leave almost nothing on one side.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from models.data import ImageDataset
from models.directions import ATTRIBUTE, BOUNDARY, Directions, DirectionSpec, encode_images, repeat_labels
from models.capabilities import Labels
from models.generative import GenerativeModel
from models.steps import Progress, Steps

# A side of a boundary, or a class mean, needs at least this many samples' worth of probability.
MIN_WEIGHT = 20.0
HELD_OUT = 0.2              # share of the samples a boundary is checked on, not fitted on
REGULARISATION = 1.0        # scikit-learn's C: latents are N(0, I), so the default scale fits
CLASSIFY_BATCH = 500


# -- class boundaries --------------------------------------------------------------------------

@dataclass(frozen=True)
class Boundary:
    normal: np.ndarray          # (D,) unit normal, pointing to the positive side
    accuracy: float             # balanced accuracy on the held-out samples
    std: float                  # σ of the latents' projection on the normal
    margin: float               # half the gap between the two sides' mean projections, in that σ


def fit_boundary(latents: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None,
                 seed: int = 0) -> Boundary:
    """A linear boundary between latents (n, D) with target 1 and those with target 0 (InterFaceGAN).
    Targets are in [0, 1]: a latent counts `target` times on the positive side and 1 - target on
    the negative one, times its `weight`. Both sides weigh the same in the fit, so a rare class is
    not drowned by the rest. ValueError when either side has less than MIN_WEIGHT samples' worth."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    x = np.asarray(latents, dtype=np.float64).reshape(len(latents), -1)
    t = np.clip(np.asarray(target, dtype=np.float64), 0.0, 1.0)
    w = np.ones(len(x)) if weight is None else np.asarray(weight, dtype=np.float64)
    positive, negative = w * t, w * (1.0 - t)
    if positive.sum() < MIN_WEIGHT or negative.sum() < MIN_WEIGHT:
        raise ValueError(f"one side of the boundary has only {min(positive.sum(), negative.sum()):.1f} samples' "
                         f"worth of the classifier's probability (at least {MIN_WEIGHT:g} are needed): the samples "
                         f"barely show that class, as when a conditional model draws another one")
    order = np.random.default_rng(seed).permutation(len(x))
    held, fit = order[:int(len(x) * HELD_OUT)], order[int(len(x) * HELD_OUT):]
    if positive[fit].sum() == 0 or negative[fit].sum() == 0:
        raise ValueError("one side of the boundary has no samples to fit on")
    # each latent twice, once per side, weighted by its share of that side
    rows = np.concatenate([x[fit], x[fit]])
    sides = np.concatenate([np.ones(len(fit)), np.zeros(len(fit))])
    weights = np.concatenate([positive[fit] / positive[fit].sum(), negative[fit] / negative[fit].sum()]) * len(fit) / 2
    kept = weights > 1e-12 * len(fit)
    classifier = LogisticRegression(C=REGULARISATION, max_iter=1000)
    # one BLAS thread: on matrices this small, more only wait for each other (20 times slower on
    # two cores), and the app's worker leaves the other core to the window
    with threadpool_limits(limits=1):
        classifier.fit(rows[kept], sides[kept], sample_weight=weights[kept])
    coef, intercept = classifier.coef_[0], float(classifier.intercept_[0])
    length = float(np.linalg.norm(coef))
    if not np.isfinite(length) or length == 0.0:
        raise ValueError("the classifier's labels do not depend on the latent: there is no boundary")
    predicted = x[held] @ coef + intercept > 0
    shares = [float((side[held] * right).sum() / side[held].sum())
              for side, right in ((positive, predicted), (negative, ~predicted)) if side[held].sum() > 0]
    normal = coef / length
    std, margin = _spread(x, normal, positive, negative)
    return Boundary(normal, float(np.mean(shares)) if shares else float("nan"), std, margin)


def project_out(direction: np.ndarray, others: Sequence[np.ndarray]) -> np.ndarray:
    """The unit direction left when its components along `others` are removed (InterFaceGAN's
    conditional manipulation): moving along it leaves the others' projections unchanged.
    ValueError when nothing is left, the direction lying in the span of the others."""
    d = np.asarray(direction, dtype=np.float64)
    if len(others):
        basis, _ = np.linalg.qr(np.stack([np.asarray(o, dtype=np.float64) for o in others], axis=1))
        d = d - basis @ (basis.T @ d)
    length = float(np.linalg.norm(d))
    if length < 1e-6 * max(1.0, float(np.linalg.norm(direction))):
        raise ValueError("the direction lies along the boundaries it should keep: nothing is left of it")
    return d / length


def class_boundaries_of(model: GenerativeModel, judge: GenerativeModel | None, spec: DirectionSpec,
                        labels: Labels = None, seed: int = 0) -> Steps[Directions]:
    """Class boundaries of spec.samples classifier-labelled prior samples: "towards spec.towards"
    (from spec.away, else from the rest), or one "towards" direction per class when towards is
    None, each kept from crossing the boundaries of the classes in spec.keep."""
    names = _check_judge(model, judge, "class boundaries")
    _check_classes(spec, len(names))
    if model.prior is None:
        raise ValueError(f"class boundaries of {model.name} need samples of its prior, and it has none")
    latents, probs = yield from labelled_samples(model, judge, spec.samples, seed, labels)
    targets = list(range(len(names))) if spec.towards is None else [spec.towards]
    total = len(targets) + len(spec.keep)
    kept = []
    for i, c in enumerate(spec.keep):
        kept.append(_boundary(latents, probs, c, None, seed, names).normal)
        yield Progress(i + 1, total, "fitting boundaries")
    rows, stds, margins, titles, accuracies, missing = [], [], [], [], [], []
    for i, k in enumerate(targets):
        yield Progress(len(spec.keep) + i, total, "fitting boundaries")
        try:
            boundary = _boundary(latents, probs, k, spec.away, seed, names)
        except ValueError:
            if spec.towards is not None:
                raise
            missing.append(names[k])          # one direction per class: the others still count
            continue
        normal = boundary.normal
        std, margin = boundary.std, boundary.margin
        if kept:
            normal = project_out(normal, kept)
            std, margin = _spread(latents, normal, *_sides(probs, k, spec.away))
        rows.append(normal)
        stds.append(std)
        margins.append(margin)
        accuracies.append(boundary.accuracy)
        titles.append(_title(k, spec.away, spec.keep, names))
    source = f"{spec.samples} prior samples labelled by {judge.name}{_drawn_as(model, labels)}"
    if not rows:
        raise ValueError(f"no class boundary of {model.name}: among {source}, every class is too rare or too common")
    message = f"{source}; held-out balanced accuracy of the boundaries {_range(accuracies)}" + _missing(missing)
    return Directions(latents.mean(axis=0).astype(np.float32), np.stack(rows).astype(np.float32),
                      np.asarray(stds, np.float32), BOUNDARY, message, tuple(titles),
                      np.asarray(margins, np.float32), "margin (σ)")


def _boundary(latents: np.ndarray, probs: np.ndarray, k: int, away: int | None, seed: int,
              names: Sequence[str]) -> Boundary:
    positive, negative = _sides(probs, k, away)
    weight = positive + negative
    target = np.divide(positive, weight, out=np.zeros_like(weight), where=weight > 0)
    try:
        return fit_boundary(latents, target, weight, seed)
    except ValueError as e:
        other = f"from {names[away]}" if away is not None else "from the rest"
        raise ValueError(f"no boundary towards {names[k]} {other}: {e}") from None


def _sides(probs: np.ndarray, k: int, away: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Each latent's weight on the positive (class k) and negative side (class `away`, or the rest)."""
    p = probs.astype(np.float64)
    return p[:, k], (p[:, away] if away is not None else 1.0 - p[:, k])


def _spread(x: np.ndarray, normal: np.ndarray, positive: np.ndarray, negative: np.ndarray) -> tuple[float, float]:
    """(σ of the latents along `normal`, half the gap between the sides' weighted mean projections in that σ)."""
    projection = np.asarray(x, np.float64) @ normal
    std = float(projection.std())
    gap = np.average(projection, weights=positive) - np.average(projection, weights=negative)
    return std, float(gap / (2 * std)) if std > 0 else 0.0


def _title(k: int, away: int | None, keep: Sequence[int], names: Sequence[str]) -> str:
    title = f"towards {names[k]}" + (f", away from {names[away]}" if away is not None else "")
    if keep:
        title += ", not away from " + " or ".join(names[c] for c in keep)
    return title


# -- attribute vectors -------------------------------------------------------------------------

def attribute_vector(latents: np.ndarray, towards: np.ndarray, away: np.ndarray) -> tuple[np.ndarray, float]:
    """(unit direction, length) of the mean latent weighted by `towards` minus the mean latent
    weighted by `away` (each (n,), class probabilities or 0/1 labels). ValueError when either
    weighs less than MIN_WEIGHT samples, or the two means coincide."""
    x = np.asarray(latents, dtype=np.float64).reshape(len(latents), -1)
    a, b = np.asarray(towards, np.float64), np.asarray(away, np.float64)
    if a.sum() < MIN_WEIGHT or b.sum() < MIN_WEIGHT:
        raise ValueError(f"one of the two classes has only {min(a.sum(), b.sum()):.1f} samples' worth of "
                         f"latents (at least {MIN_WEIGHT:g} are needed)")
    difference = np.average(x, axis=0, weights=a) - np.average(x, axis=0, weights=b)
    length = float(np.linalg.norm(difference))
    if length == 0.0:
        raise ValueError("the two classes have the same mean latent")
    return difference / length, length


def attribute_vectors_of(model: GenerativeModel, judge: GenerativeModel | None, spec: DirectionSpec,
                         labels: Labels = None, seed: int = 0, data: ImageDataset | None = None,
                         data_problem: str = "") -> Steps[Directions]:
    """Attribute vectors "towards spec.towards" (from spec.away, else from the rest), or one per
    class when towards is None: over the encoded test set (its own labels, or the classifier's
    where it has none) for a model with an encoder, else over classifier-labelled prior samples."""
    message = ""
    if model.encoder is not None and data is not None:
        true = data.labels_tensor() if data.has_labels else None
        latents = (yield from encode_images(model, data.tensor(), labels, true)).numpy().astype(np.float64)
        if true is not None:
            names = tuple(data.class_names)
            weights = np.eye(len(names))[true.numpy()]
            source = f"{len(latents)} encoded test images, by their labels"
        else:
            names = _check_judge(model, judge, "attribute vectors")
            weights = yield from _classify(judge, data.tensor())
            source = f"{len(latents)} encoded test images, labelled by {judge.name}"
    elif model.prior is not None:
        names = _check_judge(model, judge, "attribute vectors")
        _check_classes(spec, len(names))
        latents, weights = yield from labelled_samples(model, judge, spec.samples, seed, labels)
        source = f"{spec.samples} prior samples labelled by {judge.name}{_drawn_as(model, labels)}"
        if model.encoder is not None and data_problem:
            message = f"{data_problem} — "
    else:
        raise ValueError(f"attribute vectors of {model.name} are measured on its encoded test set: {data_problem}")
    _check_classes(spec, len(names))
    targets = list(range(len(names))) if spec.towards is None else [spec.towards]
    rows, lengths, titles, missing = [], [], [], []
    for k in targets:
        away = weights[:, spec.away] if spec.away is not None else 1.0 - weights[:, k]
        try:
            direction, length = attribute_vector(latents, weights[:, k], away)
        except ValueError as e:
            if spec.towards is not None:
                raise ValueError(f"no attribute vector towards {names[k]}: {e}") from None
            missing.append(names[k])
            continue
        rows.append(direction)
        lengths.append(length)
        titles.append(f"{names[spec.away]} → {names[k]}" if spec.away is not None else f"towards {names[k]}")
    if not rows:
        raise ValueError(f"no attribute vector of {model.name}: among {source}, every class is too rare")
    directions = np.stack(rows)
    stds = (latents @ directions.T).std(axis=0)
    return Directions(latents.mean(axis=0).astype(np.float32), directions.astype(np.float32),
                      stds.astype(np.float32), ATTRIBUTE, message + source + _missing(missing), tuple(titles),
                      np.asarray(lengths, np.float32), "length")


def latent_arithmetic(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """A - B + C of three flat latents (bookmarks): C moved by the difference that leads from B to A,
    as float32."""
    a, b, c = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (a, b, c))
    if not a.shape == b.shape == c.shape:
        raise ValueError(f"the three points differ in size: {a.size}, {b.size} and {c.size}")
    return (a - b + c).astype(np.float32)


# -- labelled samples --------------------------------------------------------------------------

def labelled_samples(model: GenerativeModel, judge: GenerativeModel, n: int, seed: int,
                     labels: Labels = None) -> Steps[tuple[np.ndarray, np.ndarray]]:
    """(latents (n, D), class probabilities (n, K)) of n prior samples `model.sample_latent(n,
    seed)` (drawn as class `labels` by a conditional model), their images read by `judge`."""
    from models.metrics import generated_output_steps

    if n < 2:
        raise ValueError(f"at least 2 samples are needed, got {n}")
    drawn = repeat_labels(labels, n) if model.conditional is not None else None
    _, probs = yield from generated_output_steps(model, judge, n, seed, labels=drawn)
    latents = model.sample_latent(n, seed).reshape(n, -1)
    return latents.numpy().astype(np.float64), probs.numpy().astype(np.float64)


def _classify(judge: GenerativeModel, images: torch.Tensor) -> Steps[np.ndarray]:
    probs = []
    batches = images.split(CLASSIFY_BATCH)
    for i, batch in enumerate(batches):
        probs.append(judge.classifier.predict(batch).float().cpu())
        yield Progress(i + 1, len(batches), "classifying")
    return torch.cat(probs).numpy().astype(np.float64)


def _check_judge(model: GenerativeModel, judge: GenerativeModel | None, what: str) -> tuple[str, ...]:
    """The judge's class names; ValueError saying what to do when it cannot label the model's images."""
    if judge is None or judge.classifier is None:
        raise ValueError(f"{what} need a classifier to label images; install the bundled classifier or pass "
                         f"one with --classifier")
    if model.sampler is not None:
        raise ValueError(f"{what} do not apply to {model.name}: its latent is the starting noise of a many-step "
                         f"sampler, and the thousands of labelled samples they need would take many minutes")
    if tuple(model.image_shape) != tuple(judge.image_shape):
        raise ValueError(f"{model.name} makes {tuple(model.image_shape)} images but {judge.name} reads "
                         f"{tuple(judge.image_shape)}; use a classifier trained on the same images")
    return tuple(judge.classifier.class_names)


def _check_classes(spec: DirectionSpec, count: int) -> None:
    chosen = [c for c in (spec.towards, spec.away, *spec.keep) if c is not None]
    wrong = [c for c in chosen if not 0 <= c < count]
    if wrong:
        raise ValueError(f"class {wrong[0]} does not exist: the classifier has classes 0 to {count - 1}")
    if spec.towards is not None and spec.towards == spec.away:
        raise ValueError("a direction towards a class and away from the same class is no direction")
    if spec.keep and spec.towards is None:
        raise ValueError("keeping a class's boundary needs one class to move towards")
    if set(spec.keep) & {spec.towards, spec.away}:
        raise ValueError("a class the direction moves towards or away from cannot also be kept")


def _drawn_as(model: GenerativeModel, labels: Labels) -> str:
    if model.conditional is None:
        return ""
    if labels is None or (isinstance(labels, int)) or torch.as_tensor(labels).numel() == 1:
        index = 0 if labels is None else int(torch.as_tensor(labels).reshape(-1)[0])
        return f", drawn as {model.conditional.class_names[index]}"
    return ", drawn as a blend of classes"


def _missing(names: Sequence[str]) -> str:
    if not names:
        return ""
    return f"; none towards {', '.join(names)}: too few samples look like {'it' if len(names) == 1 else 'them'}"


def _range(values: Sequence[float]) -> str:
    finite = [v for v in values if np.isfinite(v)]
    if not finite:
        return "unknown"
    low, high = min(finite), max(finite)
    return f"{100 * low:.0f}%" if round(100 * low) == round(100 * high) else f"{100 * low:.0f}–{100 * high:.0f}%"
