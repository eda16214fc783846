"""Jobs of the translate view: one image through a translator and back, x -> G(x) -> F(G(x)),
with the cycle error, a heat map of |x - F(G(x))|, the classifier's verdict on each image and the
probes of what the cycle hides (models/cycle_probe.py); and a batch of 16 test items at once.

The input is a test item of the direction's source domain (its index within that domain's test
images), a picture file, or pixels (another view's image, or the sketch drawn in the view). A
test edge map of the sketch translator comes with its true garment.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from explorer.job_context import JobContext
from explorer.jobs.common import ImageInput, judges
from explorer.jobs.upscale import fit_pixels
from models.cycle_probe import amplified_detail, heat_map, noisy_reconstruction
from models.devices import torch_threads
from models.images import to_uint8

BATCH = 16


@dataclass(frozen=True)
class Probes:
    """What the cycle hides: the detail gain, the noise level, and what each makes."""

    gain: float
    sigma: float
    amplified: np.ndarray | None        # uint8 (H, W, C): G(x) with its high frequencies x (1 + gain)
    noisy: np.ndarray | None            # uint8: G(x) + noise
    noisy_reconstruction: np.ndarray | None   # uint8: F(G(x) + noise)
    noisy_heat: np.ndarray | None       # uint8 RGB: |x - F(G(x) + noise)|
    noisy_error: float | None           # its mean L1


@dataclass(frozen=True)
class TranslateFrame:
    images: dict[str, np.ndarray]        # "input", "translated", "reconstructed", "heat" (RGB); "truth" when known
    cycle_error: float                   # mean |x - F(G(x))|, images in [0, 1]
    probs: dict[str, np.ndarray]         # image -> class probabilities, when a classifier reads them
    class_names: tuple[str, ...]
    source_domain: str
    target_domain: str
    reverse: bool
    description: str
    true_class: str | None
    probes: Probes
    seconds: float = 0.0                 # the translator's time for G(x) at batch 1


@dataclass(frozen=True)
class TranslateBatch:
    inputs: np.ndarray                   # uint8 (16, H, W, C)
    outputs: np.ndarray
    cycle_errors: np.ndarray             # (16,)
    predictions: tuple[str, ...]         # the classifier's top class of each output ("" without one)
    in_target: tuple[bool | None, ...]   # whether it is a class of the target domain (None: not known)
    indices: tuple[int, ...]
    source_domain: str
    target_domain: str
    reverse: bool


def domain_test_set(ctx: JobContext, source: str, model, reverse: bool):
    """The test images of the direction's source domain (models/domains.py), cached; None for a
    translator whose metadata does not name its domains."""
    from models.domains import load_domain
    from models.translator_evaluation import domain_specs

    try:
        specs = domain_specs(model)
    except ValueError:
        return None
    spec = specs[1] if reverse else specs[0]
    return ctx.cached_value(("translate-domain", ctx.model_key(source), spec),
                            lambda: load_domain(spec, ctx.dataset(model, "test")))


def target_classes(model, reverse: bool) -> list[int] | None:
    """The classes of the direction's target domain, None when it is not made of classes."""
    from models.translator_evaluation import domain_specs, is_edges

    try:
        spec = domain_specs(model)[0 if reverse else 1]
    except ValueError:
        return None
    domains = model.metadata.get("domains") or {}
    classes = (domains.get("a" if reverse else "b") or {}).get("classes")
    if is_edges(spec) or not isinstance(classes, list) or not classes:
        return None
    return [int(c) for c in classes if isinstance(c, int)]


def _input(ctx: JobContext, source: str, model, inp: ImageInput, reverse: bool):
    """(uint8 (C, H, W), what it is, its class name or None, its true garment or None)."""
    shape = tuple(int(s) for s in model.image_shape)
    if inp.test_index is not None:
        domain = domain_test_set(ctx, source, model, reverse)
        if domain is None:
            raise ValueError(f"{model.name} does not name its domains, so it has no test items: open a picture "
                             f"or draw one")
        if not 0 <= inp.test_index < len(domain):
            raise ValueError(f"{domain.name} has {len(domain)} test images; choose an index from 0 to {len(domain) - 1}")
        data = ctx.dataset(model, "test")
        label = int(domain.labels[inp.test_index])
        name = data.class_names[label] if 0 <= label < len(data.class_names) else None
        truth = None
        origin = int(domain.source_index[inp.test_index])
        if origin >= 0 and not np.array_equal(domain.images[inp.test_index], data.images[origin]):
            truth = data.images[origin]          # an edge map: its garment is the ground truth
        return domain.images[inp.test_index], f"{domain.name}, test item {inp.test_index}", name, truth
    if inp.path is not None:
        from models.data import read_image

        return read_image(inp.path, shape), inp.path, None, None
    return fit_pixels(np.asarray(inp.pixels, dtype=np.uint8), shape), inp.note or "an image", None, None


def translate_job(source: str, inp: ImageInput, reverse: bool = False, gain: float = 0.0, sigma: float = 0.0,
                  seed: int = 0, classifier: str | None = None) -> Callable[[JobContext], TranslateFrame]:
    """x, G(x), F(G(x)) and the heat map for one input (F and G swapped when `reverse`), with the
    probes at detail gain `gain` and noise `sigma` (0: off). A few passes of a small network:
    fast enough to follow a pen on the sketch canvas."""
    if not 0.0 <= sigma <= 1.0 or not 0.0 <= gain <= 100.0:
        raise ValueError(f"noise must be in [0, 1] and the detail gain in [0, 100], got {sigma} and {gain}")

    def job(ctx: JobContext) -> TranslateFrame:
        import time

        model = ctx.model(source)
        tr = model.translator
        if tr is None:
            raise ValueError(f"{model.name} is not a translator; open one (the bundled cyclegan-footwear) here")
        pixels, description, true_class, truth = _input(ctx, source, model, inp, reverse)
        forward, back = (tr.b_to_a, tr.a_to_b) if reverse else (tr.a_to_b, tr.b_to_a)
        judge = ctx.model(classifier) if classifier is not None else None
        with torch_threads(1):
            x = torch.from_numpy(np.array(pixels, dtype=np.uint8)).float().div_(255)[None].to(model.device)
            start = time.perf_counter()
            y = forward(x)
            seconds = time.perf_counter() - start
            r = back(y)
            error = (r - x).abs()
            outputs = {"input": x, "translated": y, "reconstructed": r}
            if truth is not None:
                outputs["truth"] = torch.from_numpy(np.ascontiguousarray(truth)).float().div_(255)[None].to(model.device)
            amplified = amplified_detail(y, gain) if gain > 0 else None
            noisy = noisy_r = None
            if sigma > 0:
                noisy, noisy_r = noisy_reconstruction(back, y, sigma, seed)
            probs = {}
            if judges(judge, model):
                keys = list(outputs) + (["noisy_reconstruction"] if noisy_r is not None else [])
                batch = torch.cat([outputs[k] for k in outputs] + ([noisy_r] if noisy_r is not None else []))
                probs = dict(zip(keys, judge.classifier.predict(batch).float().cpu().numpy()))
        images = {k: to_uint8(v)[0] for k, v in outputs.items()}
        images["heat"] = heat_map(error[0].cpu().numpy())
        probes = Probes(
            gain=float(gain), sigma=float(sigma),
            amplified=to_uint8(amplified)[0] if amplified is not None else None,
            noisy=to_uint8(noisy)[0] if noisy is not None else None,
            noisy_reconstruction=to_uint8(noisy_r)[0] if noisy_r is not None else None,
            noisy_heat=heat_map((noisy_r - x).abs()[0].cpu().numpy()) if noisy_r is not None else None,
            noisy_error=float((noisy_r - x).abs().mean()) if noisy_r is not None else None)
        return TranslateFrame(
            images=images, cycle_error=float(error.mean()), probs=probs,
            class_names=tuple(judge.classifier.class_names) if probs else (),
            source_domain=tr.domain_b if reverse else tr.domain_a, target_domain=tr.domain_a if reverse else tr.domain_b,
            reverse=reverse, description=description, true_class=true_class, probes=probes, seconds=seconds)

    return job


def batch_job(source: str, first: int, reverse: bool = False,
              classifier: str | None = None) -> Callable[[JobContext], TranslateBatch]:
    """16 consecutive test items of the source domain from `first` (wrapping round), translated at once."""

    def job(ctx: JobContext) -> TranslateBatch:
        model = ctx.model(source)
        tr = model.translator
        if tr is None:
            raise ValueError(f"{model.name} is not a translator")
        domain = domain_test_set(ctx, source, model, reverse)
        if domain is None:
            raise ValueError(f"{model.name} does not name its domains, so it has no test items to translate")
        indices = [(int(first) + i) % len(domain) for i in range(BATCH)]
        forward, back = (tr.b_to_a, tr.a_to_b) if reverse else (tr.a_to_b, tr.b_to_a)
        judge = ctx.model(classifier) if classifier is not None else None
        with torch_threads(1):
            x = torch.from_numpy(domain.images[indices]).float().div_(255).to(model.device)
            y = forward(x)
            errors = (back(y) - x).abs().mean(dim=(1, 2, 3)).cpu().numpy()
            predictions: tuple[str, ...] = ("",) * BATCH
            in_target: tuple[bool | None, ...] = (None,) * BATCH
            if judges(judge, model):
                top = judge.classifier.predict(y).argmax(1).cpu().numpy()
                names = judge.classifier.class_names
                predictions = tuple(names[int(t)] if int(t) < len(names) else f"class {int(t)}" for t in top)
                classes = target_classes(model, reverse)
                if classes is not None:
                    in_target = tuple(int(t) in classes for t in top)
        return TranslateBatch(to_uint8(x), to_uint8(y), errors, predictions, in_target, tuple(indices),
                              tr.domain_b if reverse else tr.domain_a, tr.domain_a if reverse else tr.domain_b,
                              reverse)

    return job


def translated_frames(translator_model, frames: np.ndarray, reverse: bool = False, gap: int = 2) -> np.ndarray:
    """Each frame (uint8 (n, H, W, C)) beside its translation: uint8 (n, H', 2 W' + gap, C') at the
    translator's image shape, frames fitted to it first. What an interpolation looks like through
    a translator (a generator's sneakers walking, and the boots they become)."""
    tr = translator_model.translator
    if tr is None:
        raise ValueError(f"{translator_model.name} is not a translator")
    shape = tuple(int(s) for s in translator_model.image_shape)
    fitted = np.stack([fit_pixels(frame[:, :, 0] if frame.shape[2] == 1 else frame, shape) for frame in frames])
    with torch.inference_mode():
        x = torch.from_numpy(fitted).float().div_(255).to(translator_model.device)
        y = to_uint8(tr.translate(x, reverse))
    x = np.ascontiguousarray(fitted.transpose(0, 2, 3, 1))
    between = np.zeros((len(x), shape[1], gap, shape[0]), dtype=np.uint8)
    return np.concatenate([x, between, y], axis=2)
