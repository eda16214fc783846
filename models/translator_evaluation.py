"""The quality report of a translator, for `latent-explorer evaluate`. For each direction, every
test image of the source domain is translated and measured:

- translation success: the share of translations the classifier puts in a class of the target
  domain (where the target domain is made of classes, not edge maps or a folder);
- cycle error: the mean L1 of F(G(x)) - x, images in [0, 1];
- classifier-FID of the translations against the real test images of the target domain, with its
  floor: the same distance for as many real training images of that domain.

Where domain A is the edge maps of the images domain B is drawn from (the sketch translator), the
true garment of every test edge map is known, and G(edges) is also measured against it: the share
classified as the true garment's class, PSNR and SSIM, beside the PSNR of a plain Gaussian blur of
the edge map (what a translator must beat to have learnt anything).

A step iterator (models/steps.py) like the other reports; JSON-ready result.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from skimage.filters import gaussian

from models import metrics as m
from models.data import ImageDataset
from models.domains import EDGES, Domain, load_domain
from models.generative import GenerativeModel
from models.steps import Steps
from models.upscale import psnr, ssim

DIRECTIONS = ("a_to_b", "b_to_a")
BLUR_SIGMA = 1.0       # the baseline blur of an edge map


def domain_specs(model: GenerativeModel) -> tuple[str, str]:
    """The domain specs a translator was trained with (its metadata's `domains`)."""
    domains = model.metadata.get("domains") or {}
    specs = [(domains.get(k) or {}).get("spec") if isinstance(domains.get(k), dict) else None for k in ("a", "b")]
    if not all(isinstance(s, str) and s for s in specs):
        raise ValueError(f"{model.name} does not say which domains it translates between (no 'domains' in its "
                         f"metadata), so it cannot be measured on test images")
    return specs[0], specs[1]


def is_edges(spec: str) -> bool:
    return spec.strip().lower() == EDGES or spec.strip().lower().startswith(EDGES + ":")


def blurred(edges: torch.Tensor, sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """A Gaussian blur of each image (n, C, H, W) in [0, 1]: the baseline of G(edges)."""
    out = np.stack([gaussian(x.numpy(), sigma=sigma, channel_axis=0) for x in edges.cpu()])
    return torch.from_numpy(out).float()


def translator_report_steps(model: GenerativeModel, judge: GenerativeModel, test: ImageDataset,
                            train: ImageDataset, n: int | None = None,
                            batch_size: int = 500) -> Steps[dict[str, Any]]:
    """The report on the first `n` test images of each domain (all when None)."""
    tr = model.translator
    if tr is None:
        raise ValueError(f"{model.name} is not a translator")
    m.check_judge(judge)
    if tuple(judge.image_shape) != tuple(model.image_shape):
        raise ValueError(f"the classifier reads {tuple(judge.image_shape)} images, not the translator's "
                         f"{tuple(model.image_shape)}; use a classifier trained on the same images")
    spec_a, spec_b = domain_specs(model)
    domains = {"a": (load_domain(spec_a, test), load_domain(spec_b, test)),
               "b": (load_domain(spec_a, train), load_domain(spec_b, train))}
    test_a, test_b = domains["a"]
    train_a, train_b = domains["b"]
    count = {"a": len(test_a) if n is None else min(n, len(test_a)),
             "b": len(test_b) if n is None else min(n, len(test_b))}
    work = m.WorkCount(2 * (count["a"] + count["b"]), "translating and measuring the test images")
    classify = m.classifier_outputs(judge)
    paired = is_edges(spec_a) and not is_edges(spec_b)
    rows: dict[str, dict[str, Any]] = {}
    sketch: dict[str, Any] | None = None
    for direction, source, target, target_train, forward, back in (
            ("a_to_b", test_a, test_b, train_b, tr.a_to_b, tr.b_to_a),
            ("b_to_a", test_b, test_a, train_a, tr.b_to_a, tr.a_to_b)):
        k = count["a"] if direction == "a_to_b" else count["b"]
        feats, probs, l1 = [], [], []
        true_psnr, true_ssim, blur_psnr = [], [], []
        for start in range(0, k, batch_size):
            idx = np.arange(start, min(k, start + batch_size))
            x = torch.from_numpy(source.images[idx]).float().div_(255).to(model.device)
            y = forward(x)
            l1.append((back(y) - x).abs().mean(dim=(1, 2, 3)).cpu())
            f, p = classify(y)
            feats.append(f)
            probs.append(p)
            if paired and direction == "a_to_b":
                truth = torch.from_numpy(test.images[source.source_index[idx]]).float().div_(255)
                true_psnr.append(psnr(truth, y.cpu()))
                true_ssim.append(ssim(truth, y.cpu()))
                blur_psnr.append(psnr(truth, blurred(x.cpu())))
            yield work.advance(len(idx))
        real_feats = _features(classify, target.images, model.device, batch_size)
        floor_feats = _features(classify, target_train.images[:len(target)], model.device, batch_size)
        yield work.advance(k)
        probs_all = torch.cat(probs)
        rows[direction] = {
            "images": k,
            "cycle_l1": float(torch.cat(l1).mean()),
            "success": _success(probs_all, target),
            "fid": m.fid_between(m.feature_statistics(torch.cat(feats)), m.feature_statistics(real_feats)),
            "fid_floor": m.fid_between(m.feature_statistics(floor_feats), m.feature_statistics(real_feats)),
        }
        if paired and direction == "a_to_b":
            labels = source.labels[:k]
            sketch = {"true_class_accuracy": m.accuracy(probs_all, labels),
                      "psnr_db": float(np.mean(np.concatenate(true_psnr))),
                      "ssim": float(np.mean(np.concatenate(true_ssim))),
                      "blur_psnr_db": float(np.mean(np.concatenate(blur_psnr))),
                      "blur_sigma": BLUR_SIGMA}
    truth_accuracy = None
    if paired:
        _, true_probs = classify(torch.from_numpy(test_b.images[:count["b"]]).float().div_(255).to(model.device))
        truth_accuracy = m.accuracy(true_probs, test_b.labels[:count["b"]])
    return {
        "model": {"name": model.name, "kind": str(model.kind), "architecture": model.metadata.get("architecture", ""),
                  "image_shape": list(model.image_shape)},
        "applicable": True,
        "domains": {"a": {"spec": spec_a, "name": test_a.name, "test_images": len(test_a)},
                    "b": {"spec": spec_b, "name": test_b.name, "test_images": len(test_b)}},
        "classifier": {"name": judge.name},
        "directions": rows,
        "sketch": sketch,
        "notes": [
            "success: the share of translations the classifier puts in a class of the target domain",
            "cycle L1: mean |F(G(x)) - x| with images in [0, 1]",
            ("FID: classifier features of the translations against the real test images of the target domain; "
            "floor: as many real training images of that domain against the same"),
            *([(f"sketch: G(edges) against the true garment of each test edge map; the baseline blurs the edge map "
               f"(Gaussian, sigma {BLUR_SIGMA}); the classifier is right on {100 * truth_accuracy:.1f}% of the "
               f"true garments")] if sketch is not None else []),
        ],
    }


def _features(classify, images: np.ndarray, device: torch.device, batch_size: int) -> torch.Tensor:
    out = []
    for start in range(0, len(images), batch_size):
        out.append(classify(torch.from_numpy(images[start:start + batch_size]).float().div_(255).to(device))[0])
    return torch.cat(out)


def _success(probs: torch.Tensor, target: Domain) -> float | None:
    """The share of translations classified into one of the target domain's classes; None when
    the target is not made of classes the classifier knows (edge maps, a folder)."""
    classes = sorted({int(c) for c in target.labels if c >= 0})
    if not classes or is_edges(target.spec):
        return None
    predicted = m.predicted_classes(probs)
    return float(np.isin(predicted, classes).mean())


def translator_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The figures worth keeping in the checkpoint's `metrics` metadata (flat numbers)."""
    out: dict[str, Any] = {"classifier": report["classifier"]["name"]}
    for direction, row in report["directions"].items():
        out.update({f"{direction}_{k}": v for k, v in row.items() if v is not None})
    for k, v in (report.get("sketch") or {}).items():
        out[f"sketch_{k}"] = v
    return out


def format_translator_report(r: dict[str, Any]) -> str:
    """The report as a table for the terminal."""
    a, b = r["domains"]["a"], r["domains"]["b"]
    names = {"a_to_b": f"{a['name']} -> {b['name']}", "b_to_a": f"{b['name']} -> {a['name']}"}
    width = max(len(v) for v in names.values()) + 2
    lines = [(f"{r['model']['name']} ({r['model']['kind']}): {a['name']} <-> {b['name']}, classifier "
             f"{r['classifier']['name']}"), "",
             f"{'direction':<{width}}{'images':>7}{'success':>9}{'cycle L1':>10}{'FID':>9}{'floor':>8}"]
    for key in DIRECTIONS:
        row = r["directions"][key]
        success = "n/a" if row["success"] is None else f"{100 * row['success']:.1f}%"
        lines.append(f"{names[key]:<{width}}{row['images']:>7}{success:>9}{row['cycle_l1']:>10.4f}"
                     f"{row['fid']:>9.2f}{row['fid_floor']:>8.2f}")
    s = r.get("sketch")
    if s:
        lines += ["", (f"G(edges) against the true garment: class right {100 * s['true_class_accuracy']:.1f}%, "
                      f"PSNR {s['psnr_db']:.2f} dB (blurred edge map {s['blur_psnr_db']:.2f} dB), "
                      f"SSIM {s['ssim']:.3f}")]
    lines += ["", "notes:"] + [f"  {note}" for note in r["notes"]]
    return "\n".join(lines)
