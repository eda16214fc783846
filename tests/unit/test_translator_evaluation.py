"""The report `evaluate` gives a translator, against figures computed here by hand: success,
cycle error and FID each way, and for edge maps the comparison with their true garments."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.checkpoint import open_model
from models.data import FASHION_MNIST_CLASSES, ImageDataset
from models.domains import load_domain
from models.generative import build_model
from models.steps import run_to_end
from models.translator_evaluation import (
    blurred,
    format_translator_report,
    translator_report_steps,
    translator_summary,
)
from models.upscale import psnr

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CONFIG = {"image_shape": [1, 28, 28], "base_channels": 4, "res_blocks": 1, "d_channels": 4}


def fashion_like(n: int, seed: int) -> ImageDataset:
    """Blobs of random size, every class equally often."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 1, 28, 28), dtype=np.uint8)
    for i in range(n):
        a, b = rng.integers(3, 12, 2)
        images[i, 0, a:28 - a, b:28 - b] = rng.integers(80, 256)
    return ImageDataset(images, (np.arange(n) % 10).astype(np.int64), list(FASHION_MNIST_CLASSES), "blobs")


def translator(spec_a: str, spec_b: str, data: ImageDataset):
    torch.manual_seed(0)
    domains = {k: {"spec": s, "name": load_domain(s, data).name} for k, s in (("a", spec_a), ("b", spec_b))}
    return build_model("cyclegan", CONFIG, {"name": "t", "domains": domains})


def test_the_figures_each_way_are_what_they_say(tiny_models):
    test, train = fashion_like(60, 1), fashion_like(80, 2)
    model, judge = translator("Sneaker", "Ankle boot,Bag", test), open_model(tiny_models["classifier"])
    report = run_to_end(translator_report_steps(model, judge, test, train, batch_size=4))
    assert report["sketch"] is None
    sneakers = torch.from_numpy(load_domain("Sneaker", test).images).float() / 255
    boots = torch.from_numpy(test.images[np.isin(test.labels, [8, 9])]).float() / 255
    tr = model.translator
    forward = report["directions"]["a_to_b"]
    assert forward["images"] == len(sneakers) == 6
    assert forward["cycle_l1"] == pytest.approx(float((tr.b_to_a(tr.a_to_b(sneakers)) - sneakers).abs().mean()), rel=1e-5)
    predicted = judge.classifier.predict(tr.a_to_b(sneakers)).argmax(1).numpy()
    assert forward["success"] == pytest.approx(np.isin(predicted, [8, 9]).mean())
    backward = report["directions"]["b_to_a"]
    assert backward["images"] == len(boots) == 12
    predicted = judge.classifier.predict(tr.b_to_a(boots)).argmax(1).numpy()
    assert backward["success"] == pytest.approx((predicted == 7).mean())
    for row in (forward, backward):
        assert np.isfinite(row["fid"]) and np.isfinite(row["fid_floor"]) and row["fid_floor"] >= 0
    summary = translator_summary(report)
    assert summary["a_to_b_success"] == forward["success"] and summary["b_to_a_cycle_l1"] == backward["cycle_l1"]
    text = format_translator_report(report)
    assert "Sneaker -> Ankle boot, Bag" in text and f"{backward['cycle_l1']:.4f}" in text


def test_edge_maps_are_measured_against_their_true_garments(tiny_models):
    test, train = fashion_like(30, 3), fashion_like(30, 4)
    model, judge = translator("edges", "all", test), open_model(tiny_models["classifier"])
    report = run_to_end(translator_report_steps(model, judge, test, train, n=20))
    sketch = report["sketch"]
    edges = torch.from_numpy(load_domain("edges", test).images[:20]).float() / 255
    truth = torch.from_numpy(test.images[:20]).float() / 255
    made = model.translator.a_to_b(edges)
    assert sketch["psnr_db"] == pytest.approx(float(np.mean(psnr(truth, made))), rel=1e-4)
    assert sketch["blur_psnr_db"] == pytest.approx(float(np.mean(psnr(truth, blurred(edges)))), rel=1e-4)
    predicted = judge.classifier.predict(made).argmax(1).numpy()
    assert sketch["true_class_accuracy"] == pytest.approx((predicted == test.labels[:20]).mean())
    assert report["directions"]["a_to_b"]["success"] == 1.0              # every class is the target's
    assert report["directions"]["b_to_a"]["success"] is None             # edge maps are no class
    assert "G(edges) against the true garment" in format_translator_report(report)


def test_a_translator_that_does_not_name_its_domains_cannot_be_measured(tiny_models):
    model = build_model("cyclegan", CONFIG, {"name": "t"})
    with pytest.raises(ValueError, match="does not say which domains"):
        run_to_end(translator_report_steps(model, open_model(tiny_models["classifier"]), fashion_like(10, 0),
                                           fashion_like(10, 1)))
