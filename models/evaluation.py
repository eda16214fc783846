"""Quality reports built from models/metrics.py.

`evaluate_steps` is the per-model quality report (classifier-FID against the test set with its
floor, mode coverage, conditional accuracy with a guidance sweep for a conditional iterative
model, the posterior's KL per dimension and active units, the classifier's own accuracy).
`model_metrics_steps` and `compare_steps` measure the latent space (path length, class changes
along paths, confident share, coverage, KL and active units) for the side-by-side comparison of
two generators.

Each is a step iterator (models/steps.py): it yields one rising `Progress` count for the whole
measurement and returns the report; closing it stops the work at the next batch. `evaluate`,
`evaluate_classifier` and `compare` run them to the end for the command line, passing
``progress(done, total)`` on.

All results are plain JSON-ready dicts, and for a fixed seed the same inputs give the same
figures: every random draw comes from a generator seeded from `seed`, and iterative models are
sampled with deterministic DDIM (eta 0).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from models import metrics as m
from models.data import ImageDataset
from models.generative import GenerativeModel
from models.steps import Progress, Steps, run_to_end

ProgressFn = Callable[[int, int], None]     # (done, total)

DEFAULT_SAMPLES = 1000
DEFAULT_COMPARE_SAMPLES = 500
DEFAULT_DDIM_STEPS = 50
DEFAULT_GUIDANCE_SCALES: tuple[float, ...] = (0.0, 1.0, 2.0, 4.0)
PATH_POINTS = 16

# Rows of the side-by-side table, in order; keys of `model_metrics_steps` and of metrics.EXPLANATIONS.
COMPARE_ROWS: tuple[str, ...] = (
    "ppl_lerp", "ppl_slerp", "class_changes_per_length", "class_changes_per_path",
    "confident_share", "coverage_min_share", "coverage_entropy", "kl_total", "active_units",
)


def _on_progress(progress: ProgressFn | None) -> Callable[[Progress], None] | None:
    return None if progress is None else (lambda p: progress(p.done, p.total))


def _describe(model: GenerativeModel) -> dict[str, Any]:
    return {
        "name": model.name,
        "kind": str(model.kind),
        "architecture": model.metadata.get("architecture", ""),
        "latent_shape": [int(s) for s in model.latent_shape],
        "conditional": model.conditional is not None,
    }


def check_pairing(model: GenerativeModel, judge: GenerativeModel) -> None:
    """ValueError, saying what to do, when `judge` cannot measure `model`."""
    m.check_judge(judge)
    if model.prior is None:
        raise ValueError(f"{model.name} is a {model.kind.title} without a prior to sample from; only "
                         f"generators (VAE, GAN, DDPM) can be measured")
    if tuple(model.image_shape) != tuple(judge.image_shape):
        raise ValueError(f"{model.name} makes {tuple(model.image_shape)} images but the classifier reads "
                         f"{tuple(judge.image_shape)}; use a classifier trained on the same images")


def _labels_match(model: GenerativeModel, judge: GenerativeModel) -> bool:
    return model.conditional is not None and model.conditional.num_classes == judge.classifier.num_classes


def _check_counts(n: int, batch_size: int, ddim_steps: int) -> None:
    if n < 2:
        raise ValueError(f"need at least 2 samples, got {n}")
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    if ddim_steps < 1:
        raise ValueError(f"DDIM steps must be at least 1, got {ddim_steps}")


def _posterior_measurable(model: GenerativeModel, data: ImageDataset | None) -> bool:
    return data is not None and m.has_posterior(model) and (model.conditional is None or data.has_labels)


# -- the quality report ------------------------------------------------------------------------------

def _guidance_plan(model: GenerativeModel, scales: Sequence[float]) -> tuple[list[float | None], float | None]:
    """The guidance scales to sample at, and the one the headline figures use."""
    if model.sampler is None or model.conditional is None:
        return [None], None
    default = float(model.sampler.default_guidance)
    plan = [float(g) for g in dict.fromkeys(scales)]
    if any(g < 0 for g in plan):
        raise ValueError(f"guidance scales must be >= 0, got {plan}")
    if default not in plan:
        plan.append(default)
    return plan, default


def evaluate_steps(model: GenerativeModel, judge: GenerativeModel, data: ImageDataset, n: int = DEFAULT_SAMPLES,
                   seed: int = 0, *, train: ImageDataset | None = None, ddim_steps: int = DEFAULT_DDIM_STEPS,
                   guidance_scales: Sequence[float] = DEFAULT_GUIDANCE_SCALES,
                   batch_size: int = m.DEFAULT_BATCH_SIZE) -> Steps[dict[str, Any]]:
    """The quality report of a generator, measured with `judge` (a model with the classifier
    capability) against the test set `data`.

    n samples are drawn from latents seeded by `seed` (conditional models: every class equally
    often). `train`, when given, supplies n real images for the FID floor. A conditional iterative
    model is sampled at every scale in `guidance_scales` (plus its default, which the headline
    figures use)."""
    check_pairing(model, judge)
    _check_counts(n, batch_size, ddim_steps)
    if len(data) < 2:
        raise ValueError(f"the test set has {len(data)} images; it needs at least 2")
    if tuple(data.image_shape) != tuple(judge.image_shape):
        raise ValueError(f"the test images are {data.image_shape} but the classifier reads "
                         f"{tuple(judge.image_shape)}")
    classifier = judge.classifier
    plan, headline = _guidance_plan(model, guidance_scales)
    floor_n = min(n, len(train)) if train is not None else 0
    posterior_ok = _posterior_measurable(model, data)
    total = (len(data) + floor_n + (len(data) if posterior_ok else 0)
             + len(plan) * n * m.render_cost(model, ddim_steps))
    work = m.WorkCount(total, "classifying the test set")
    notes: list[str] = []
    names = list(model.class_names) or list(judge.class_names)

    test_feats, test_probs = yield from m.dataset_output_steps(judge, data, batch_size=batch_size, work=work)
    test_stats = m.feature_statistics(test_feats)
    classifier_accuracy = None
    if data.has_labels and data.num_classes == classifier.num_classes:
        classifier_accuracy = m.accuracy(test_probs, data.labels)
    else:
        notes.append("the test set has no usable labels: the classifier's accuracy is not measured")
    dim = test_feats.shape[1]
    if n <= dim:
        notes.append(f"{n} samples for {dim} feature dimensions: the covariance is singular and FID is "
                     f"strongly biased upwards; compare it with the floor, measured at the same size")

    fid_floor = None
    kid_floor: tuple[float, float] | None = None
    floor_pr = None
    # precision and recall are measured against training images, as many as samples when there
    # are enough (Kynkaanniemi et al.): a small test set's neighbour balls would be too wide
    pr_reference = test_feats
    if train is not None and floor_n >= 2:
        work.message = "classifying training images for the FID floor"
        rng = np.random.default_rng(seed)
        picked = np.sort(rng.choice(len(train), size=floor_n, replace=False))
        train_feats, _ = yield from m.dataset_output_steps(judge, train, picked, batch_size=batch_size, work=work)
        fid_floor = m.fid_between(m.feature_statistics(train_feats), test_stats)
        kid_floor = m.kernel_distance(train_feats, test_feats, seed=seed)
        pr_reference = train_feats
        floor_pr = _precision_recall(train_feats, test_feats)     # held-out real images, measured alike
        if floor_n < n:
            notes.append(f"the floor uses all {floor_n} training images (fewer than {n} samples)")
    else:
        notes.append("no training images: the FID floor is not measured")

    labels = m.sample_labels(model, n)
    cond_ok = _labels_match(model, judge)
    if model.conditional is not None and not cond_ok:
        notes.append(f"the model has {model.conditional.num_classes} classes and the classifier "
                     f"{classifier.num_classes}: conditional accuracy is not measured")
    sweep: list[dict[str, Any]] = []
    head: dict[str, Any] = {}
    for guidance in plan:
        work.message = f"sampling {model.name}" + (f" at guidance {guidance:g}" if guidance is not None else "")
        feats, probs = yield from m.generated_output_steps(model, judge, n, seed, labels=labels,
                                                           ddim_steps=ddim_steps, guidance=guidance,
                                                           batch_size=batch_size, work=work)
        figures = {
            "fid": m.fid_between(m.feature_statistics(feats), test_stats),
            "coverage": m.coverage(m.class_histogram(m.predicted_classes(probs), probs.shape[1]), names),
            "confident_share": m.confident_share(probs),
            "conditional_accuracy": m.accuracy(probs, labels.numpy()) if cond_ok else None,
            "features": feats,
        }
        if guidance is not None:
            sweep.append({"scale": guidance, "fid": figures["fid"],
                          "conditional_accuracy": figures["conditional_accuracy"],
                          "coverage_min_share": figures["coverage"]["min_share"],
                          "confident_share": figures["confident_share"]})
        if guidance == headline:
            head = figures

    posterior = None
    if posterior_ok:
        work.message = "encoding the test set"
        posterior = yield from m.vae_posterior_metric_steps(model, data, batch_size=batch_size, work=work)
    elif m.has_posterior(model):
        notes.append("the test set has no labels: a conditional VAE's KL and active units are not measured")

    sampler = m.sampler_description(model, ddim_steps, headline)
    if model.sampler is not None:
        notes.append(f"the {model.kind.title} is sampled with {sampler} for evaluation")
    coverage = head["coverage"]
    pr = _precision_recall(pr_reference, head["features"])
    kid = m.kernel_distance(head["features"], test_feats, seed=seed)
    return {
        "model": _describe(model),
        "classifier": {"name": judge.name, "test_accuracy": classifier_accuracy,
                       "test_images": len(data), "feature_dim": int(dim)},
        "samples": n,
        "seed": seed,
        "sampler": sampler,
        "ddim_steps": ddim_steps if model.sampler is not None else None,
        "guidance_scale": headline,
        "fid": head["fid"],
        "fid_floor": fid_floor,
        "floor_samples": floor_n if fid_floor is not None else 0,
        "kid": kid[0],
        "kid_std": kid[1],
        "kid_floor": kid_floor[0] if kid_floor else None,
        "coverage": coverage,
        "coverage_min_share": coverage["min_share"],
        "coverage_entropy": coverage["entropy_bits"],
        "confident_share": head["confident_share"],
        "conditional_accuracy": head["conditional_accuracy"],
        "precision": pr["precision"] if pr else None,
        "recall": pr["recall"] if pr else None,
        "precision_floor": floor_pr["precision"] if floor_pr else None,
        "recall_floor": floor_pr["recall"] if floor_pr else None,
        "guidance": sweep,
        "vae": posterior,
        "notes": notes,
    }


def _precision_recall(real, fake) -> dict[str, float] | None:
    """Precision and recall of `fake` features against `real` ones; None when either set is too
    small to have k nearest neighbours."""
    if min(len(real), len(fake)) <= m.PR_NEIGHBOUR:
        return None
    return m.precision_recall(real, fake)


def evaluate(model: GenerativeModel, judge: GenerativeModel, data: ImageDataset, n: int = DEFAULT_SAMPLES,
             seed: int = 0, *, train: ImageDataset | None = None, ddim_steps: int = DEFAULT_DDIM_STEPS,
             guidance_scales: Sequence[float] = DEFAULT_GUIDANCE_SCALES, batch_size: int = m.DEFAULT_BATCH_SIZE,
             progress: ProgressFn | None = None) -> dict[str, Any]:
    """`evaluate_steps` run to the end."""
    return run_to_end(evaluate_steps(model, judge, data, n, seed, train=train, ddim_steps=ddim_steps,
                                     guidance_scales=guidance_scales, batch_size=batch_size),
                      _on_progress(progress))


def evaluate_classifier_steps(judge: GenerativeModel, data: ImageDataset,
                              batch_size: int = 500) -> Steps[dict[str, Any]]:
    """The measuring classifier's own figures on a labelled test set: accuracy overall and per class."""
    m.check_judge(judge)
    classifier = judge.classifier
    if not data.has_labels or data.num_classes != classifier.num_classes:
        raise ValueError("measuring a classifier needs a test set labelled with its classes")
    _, probs = yield from m.dataset_output_steps(judge, data, batch_size=batch_size)
    predicted = m.predicted_classes(probs)
    names = list(judge.class_names) or list(data.class_names)
    per_class = {names[c]: float((predicted[data.labels == c] == c).mean()) for c in range(classifier.num_classes)}
    return {"model": _describe(judge), "test_images": len(data),
            "test_accuracy": m.accuracy(probs, data.labels), "per_class_accuracy": per_class}


def evaluate_classifier(judge: GenerativeModel, data: ImageDataset, batch_size: int = 500,
                        progress: ProgressFn | None = None) -> dict[str, Any]:
    """`evaluate_classifier_steps` run to the end."""
    return run_to_end(evaluate_classifier_steps(judge, data, batch_size), _on_progress(progress))


def metadata_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The figures of an `evaluate` report worth keeping in a checkpoint's `metrics` metadata:
    flat numbers (short enough for `latent-explorer inspect`), plus the guidance sweep and the
    per-dimension KL."""
    if "per_class_accuracy" in report:   # a classifier's own report
        return {"test_accuracy": report["test_accuracy"], "test_images": report["test_images"],
                "per_class_accuracy": report["per_class_accuracy"]}
    out: dict[str, Any] = {
        "fid": report["fid"],
        "fid_floor": report["fid_floor"],
        "coverage_min_share": report["coverage_min_share"],
        "coverage_min_class": report["coverage"]["min_class"],
        "coverage_entropy": report["coverage_entropy"],
        "confident_share": report["confident_share"],
        "classifier_accuracy": report["classifier"]["test_accuracy"],
        "samples": report["samples"],
        "seed": report["seed"],
        "sampler": report["sampler"],
        "classifier": report["classifier"]["name"],
    }
    if report["conditional_accuracy"] is not None:
        out["conditional_accuracy"] = report["conditional_accuracy"]
    for key in ("kid", "kid_floor", "precision", "recall", "precision_floor", "recall_floor"):
        if report.get(key) is not None:
            out[key] = report[key]
    if report["guidance"]:
        out["guidance"] = report["guidance"]
    if report["vae"]:
        out["kl_total"] = report["vae"]["kl_total"]
        out["active_units"] = report["vae"]["active_units"]
        out["kl_per_dim"] = report["vae"]["kl_per_dim"]
    return out


# -- latent-space metrics ----------------------------------------------------------------------------

def _paths_for(n: int, paths: int | None) -> int:
    return max(2, n // 8) if paths is None else int(paths)


def metrics_cost(model: GenerativeModel, n: int, *, data: ImageDataset | None = None,
                 ddim_steps: int = DEFAULT_DDIM_STEPS, paths: int | None = None,
                 path_points: int = PATH_POINTS) -> int:
    """Work units `model_metrics_steps` counts, for one overall progress count over several models."""
    renders = n + 2 * 2 * n + _paths_for(n, paths) * path_points
    posterior = len(data) if _posterior_measurable(model, data) else 0
    return renders * m.render_cost(model, ddim_steps) + posterior


def model_metrics_steps(model: GenerativeModel, judge: GenerativeModel, n: int = DEFAULT_COMPARE_SAMPLES,
                        seed: int = 0, *, data: ImageDataset | None = None, ddim_steps: int = DEFAULT_DDIM_STEPS,
                        guidance: float | None = None, paths: int | None = None, path_points: int = PATH_POINTS,
                        batch_size: int = m.DEFAULT_BATCH_SIZE,
                        work: m.WorkCount | None = None) -> Steps[dict[str, Any]]:
    """Latent-space figures of one generator (keys as in COMPARE_ROWS, plus details).

    n samples for the confident share and coverage, n random pairs for each path length, and
    `paths` (default n // 8) random slerp paths of `path_points` frames for the class changes.
    `data` (test images) is needed only for a posterior's KL and active units. An iterative model
    is sampled with DDIM at `guidance` (None: the model's default). Pass `work` to count the
    progress of several calls as one."""
    check_pairing(model, judge)
    _check_counts(n, batch_size, ddim_steps)
    paths = _paths_for(n, paths)
    if work is None:
        work = m.WorkCount(metrics_cost(model, n, data=data, ddim_steps=ddim_steps, paths=paths,
                                        path_points=path_points))
    if model.sampler is not None and model.conditional is not None and guidance is None:
        guidance = float(model.sampler.default_guidance)
    common = dict(ddim_steps=ddim_steps, guidance=guidance, batch_size=batch_size, work=work)
    notes: list[str] = []
    names = list(model.class_names) or list(judge.class_names)

    work.message = f"{model.name}: coverage"
    _, probs = yield from m.generated_output_steps(model, judge, n, seed, labels=m.sample_labels(model, n), **common)
    coverage = m.coverage(m.class_histogram(m.predicted_classes(probs), probs.shape[1]), names)
    work.message = f"{model.name}: path length (lerp)"
    ppl_lerp = yield from m.path_length_steps(model, judge, n, seed + 1, spherical=False, **common)
    work.message = f"{model.name}: path length (slerp)"
    ppl_slerp = yield from m.path_length_steps(model, judge, n, seed + 1, spherical=True, **common)
    work.message = f"{model.name}: class changes"
    changes = yield from m.class_change_steps(model, judge, paths, seed + 2, points=path_points, **common)

    posterior = None
    if m.has_posterior(model):
        if data is None:
            notes.append("no test images: KL per dimension and active units are not measured")
        elif model.conditional is not None and not data.has_labels:
            notes.append("the images have no labels: a conditional VAE's KL is not measured")
        else:
            work.message = f"{model.name}: KL and active units"
            posterior = yield from m.vae_posterior_metric_steps(model, data, batch_size=batch_size, work=work)
    sampler = m.sampler_description(model, ddim_steps, guidance)
    if model.sampler is not None:
        notes.append(f"the {model.kind.title} is sampled with {sampler}")
    return {
        "model": _describe(model),
        "samples": n,
        "seed": seed,
        "sampler": sampler,
        "ppl_lerp": ppl_lerp["mean"],
        "ppl_slerp": ppl_slerp["mean"],
        "class_changes_per_length": changes["per_length"],
        "class_changes_per_path": changes["per_path"],
        "confident_share": m.confident_share(probs),
        "coverage_min_share": coverage["min_share"],
        "coverage_entropy": coverage["entropy_bits"],
        "kl_total": posterior["kl_total"] if posterior else None,
        "active_units": posterior["active_units"] if posterior else None,
        "coverage": coverage,
        "kl_per_dim": posterior["kl_per_dim"] if posterior else None,
        "paths": {"pairs": n, "class_change_paths": paths, "points": path_points, "eps": m.PPL_EPSILON},
        "notes": notes,
    }


def compare_steps(a: GenerativeModel, b: GenerativeModel, judge: GenerativeModel,
                  n: int = DEFAULT_COMPARE_SAMPLES, seed: int = 0, *, data: ImageDataset | None = None,
                  ddim_steps: int = DEFAULT_DDIM_STEPS, paths: int | None = None, path_points: int = PATH_POINTS,
                  batch_size: int = m.DEFAULT_BATCH_SIZE) -> Steps[dict[str, Any]]:
    """`model_metrics_steps` of two generators with the same seed and settings, as one progress count."""
    for model in (a, b):
        check_pairing(model, judge)
    total = sum(metrics_cost(model, n, data=data, ddim_steps=ddim_steps, paths=paths, path_points=path_points)
                for model in (a, b))
    work = m.WorkCount(total)
    results = []
    for model in (a, b):
        results.append((yield from model_metrics_steps(model, judge, n, seed, data=data, ddim_steps=ddim_steps,
                                                       paths=paths, path_points=path_points,
                                                       batch_size=batch_size, work=work)))
    return {
        "models": results,
        "rows": list(COMPARE_ROWS),
        "titles": {k: m.TITLES[k] for k in COMPARE_ROWS},
        "explanations": {k: m.EXPLANATIONS[k] for k in COMPARE_ROWS},
        "classifier": judge.name,
        "samples": n,
        "seed": seed,
    }


def compare(a: GenerativeModel, b: GenerativeModel, judge: GenerativeModel, n: int = DEFAULT_COMPARE_SAMPLES,
            seed: int = 0, *, data: ImageDataset | None = None, ddim_steps: int = DEFAULT_DDIM_STEPS,
            paths: int | None = None, path_points: int = PATH_POINTS, batch_size: int = m.DEFAULT_BATCH_SIZE,
            progress: ProgressFn | None = None) -> dict[str, Any]:
    """`compare_steps` run to the end."""
    return run_to_end(compare_steps(a, b, judge, n, seed, data=data, ddim_steps=ddim_steps, paths=paths,
                                    path_points=path_points, batch_size=batch_size),
                      _on_progress(progress))
