"""The quality report of an upscaler, for `latent-explorer evaluate`: every test image is
downscaled the way the model was trained, then upscaled by bicubic interpolation, by the SRResNet
weights (blend 0) and by the SRGAN weights (blend 1). Each output is measured against the truth
(PSNR and SSIM, scikit-image's), by its sharpness (mean Sobel edge magnitude over the truth's),
by the classifier (does upscaling recover the class?) and by its
classifier-FID against the test set itself.

A step iterator (models/steps.py) like the other reports; JSON-ready result.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from models import metrics as m
from models.data import ImageDataset
from models.generative import GenerativeModel
from models.steps import Steps
from models.upscale import psnr, sharpness, ssim

METHODS = ("bicubic", "srresnet", "srgan")
TITLES = {"bicubic": "bicubic", "srresnet": "SRResNet (blend 0)", "srgan": "SRGAN (blend 1)"}


def upscaler_report_steps(model: GenerativeModel, judge: GenerativeModel, data: ImageDataset,
                          n: int | None = None, batch_size: int = 500) -> Steps[dict[str, Any]]:
    """PSNR, SSIM, classifier accuracy and classifier-FID of bicubic, SRResNet and SRGAN on the
    first `n` test images (all when None)."""
    up = model.upscaler
    if up is None:
        raise ValueError(f"{model.name} is not an upscaler")
    m.check_judge(judge)
    if tuple(data.image_shape) != tuple(model.image_shape):
        raise ValueError(f"{model.name} makes {tuple(model.image_shape)} images but the test images are "
                         f"{tuple(data.image_shape)}; evaluate it on the data it was trained on")
    if tuple(judge.image_shape) != tuple(model.image_shape):
        raise ValueError(f"the classifier reads {tuple(judge.image_shape)} images, not the upscaler's "
                         f"{tuple(model.image_shape)}; use a classifier trained on the same images")
    count = len(data) if n is None else min(int(n), len(data))
    work = m.WorkCount(count, "upscaling and measuring the test images")
    classify = m.classifier_outputs(judge)
    outputs: dict[str, dict[str, list]] = {k: {"psnr": [], "ssim": [], "sharpness": [], "feats": [], "probs": []}
                                           for k in ("truth", *METHODS)}
    for start in range(0, count, batch_size):
        truth = data.tensor(np.arange(start, min(count, start + batch_size))).to(model.device)
        low = up.downscale(truth)
        images = {"truth": truth, "bicubic": up.bicubic(low),
                  "srresnet": up.upscale(low, 0.0), "srgan": up.upscale(low, 1.0)}
        for key, x in images.items():
            feats, probs = classify(x)
            outputs[key]["feats"].append(feats)
            outputs[key]["probs"].append(probs)
            outputs[key]["sharpness"].append(sharpness(x))
            if key in METHODS:
                outputs[key]["psnr"].append(psnr(truth, x))
                outputs[key]["ssim"].append(ssim(truth, x))
        yield work.advance(len(truth))

    labels = data.labels[:count]
    has_labels = bool((labels >= 0).all()) and len(data.class_names) > 0
    truth_stats = m.feature_statistics(torch.cat(outputs["truth"]["feats"]))
    truth_sharpness = float(np.mean(np.concatenate(outputs["truth"]["sharpness"]))) or 1.0
    rows: dict[str, dict[str, Any]] = {}
    for key in METHODS:
        o = outputs[key]
        rows[key] = {
            "psnr_db": float(np.mean(np.concatenate(o["psnr"]))),
            "ssim": float(np.mean(np.concatenate(o["ssim"]))),
            "sharpness": float(np.mean(np.concatenate(o["sharpness"]))) / truth_sharpness,
            "classifier_accuracy": m.accuracy(torch.cat(o["probs"]), labels) if has_labels else None,
            "fid": m.fid_between(m.feature_statistics(torch.cat(o["feats"])), truth_stats),
        }
    truth_accuracy = m.accuracy(torch.cat(outputs["truth"]["probs"]), labels) if has_labels else None
    return {
        "model": {"name": model.name, "kind": str(model.kind), "architecture": model.metadata.get("architecture", ""),
                  "scale": up.scale, "low_shape": list(up.low_shape), "image_shape": list(model.image_shape)},
        "applicable": True,
        "test_images": count,
        "classifier": {"name": judge.name, "accuracy_on_truth": truth_accuracy},
        "methods": rows,
        "psnr_gain_over_bicubic_db": rows["srresnet"]["psnr_db"] - rows["bicubic"]["psnr_db"],
        "notes": [
            "inputs: the test images downscaled by antialiased bicubic interpolation, as in training",
            ("FID: classifier features of each method's outputs against those of the test images themselves "
             "(the truth scores 0)"),
            "sharpness: mean Sobel edge magnitude of the outputs over the truth's (1 = as much fine detail)",
            f"the classifier is right on {_percent(truth_accuracy)} of the true images",
        ] if has_labels else ["FID: classifier features of each method's outputs against the test images'"],
    }


def upscaler_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The figures worth keeping in the checkpoint's `metrics` metadata (flat numbers)."""
    out: dict[str, Any] = {"test_images": report["test_images"], "classifier": report["classifier"]["name"]}
    for key, row in report["methods"].items():
        out.update({f"{key}_{name}": value for name, value in row.items() if value is not None})
    return out


def _percent(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f}%"


def format_upscaler_report(r: dict[str, Any]) -> str:
    """The report as a table for the terminal."""
    model = r["model"]
    low = "x".join(map(str, model["low_shape"][1:]))
    high = "x".join(map(str, model["image_shape"][1:]))
    lines = [(f"{model['name']} ({model['kind']}, x{model['scale']}: {low} -> {high}): {r['test_images']} "
              f"test images, classifier {r['classifier']['name']}"), "",
             f"{'method':<20}{'PSNR (dB)':>10}{'SSIM':>8}{'sharpness':>11}{'accuracy':>10}{'FID':>9}"]
    for key in METHODS:
        row = r["methods"][key]
        acc = "n/a" if row["classifier_accuracy"] is None else f"{100 * row['classifier_accuracy']:.1f}%"
        lines.append(f"{TITLES[key]:<20}{row['psnr_db']:>10.2f}{row['ssim']:>8.4f}{row['sharpness']:>11.3f}{acc:>10}"
                     f"{row['fid']:>9.3f}")
    lines += ["", f"SRResNet gains {r['psnr_gain_over_bicubic_db']:+.2f} dB over bicubic", "", "notes:"]
    lines += [f"  {note}" for note in r["notes"]]
    return "\n".join(lines)
