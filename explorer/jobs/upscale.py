"""Jobs of the upscale view: one input image through an upscaler, side by side with its
low-resolution version, bicubic, the SRResNet and SRGAN weight sets and a blend of the two, each
measured against the truth (PSNR, SSIM) and labelled by the classifier.

The input is a test-set item, a picture file or an image another view showed (uint8 pixels); it
is fitted to the upscaler's image shape and is the truth the outputs are measured against: the
upscaler's input is its downscaled version, the way the model was trained.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from explorer.job_context import JobContext
from explorer.jobs.common import ImageInput, judges
from models.devices import torch_threads
from models.images import to_uint8
from models.upscale import psnr, sharpness, ssim

# the columns of the view, in order; the measured ones are compared with the truth
COLUMNS = ("low", "bicubic", "srresnet", "blend", "srgan", "truth")
MEASURED = ("bicubic", "srresnet", "blend", "srgan")
CURVE_BLENDS = tuple(i / 10 for i in range(11))


@dataclass(frozen=True)
class BlendCurve:
    """What the blend trades, for one input: PSNR against the truth and sharpness (the mean Sobel
    edge magnitude relative to the truth's, 1 = as much fine detail as the truth) at each blend."""

    blends: np.ndarray
    psnr: np.ndarray
    sharpness: np.ndarray
    bicubic_psnr: float
    bicubic_sharpness: float


@dataclass(frozen=True)
class UpscaleFrame:
    images: dict[str, np.ndarray]          # column -> uint8 (H, W, C)
    psnr: dict[str, float]                 # measured column -> dB against the truth
    ssim: dict[str, float]
    probs: dict[str, np.ndarray]           # column -> class probabilities (when a classifier reads them)
    class_names: tuple[str, ...]
    blend: float
    scale: int
    description: str                       # what the truth is, for the view's caption
    true_class: str | None = None          # a test item's label
    curve: BlendCurve | None = None        # when asked for (a new input): the blend's trade-off


def fit_pixels(pixels: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    """uint8 (H, W[, C]) pixels as uint8 (C, H, W) of `image_shape`: grey or RGB, resized."""
    channels, height, width = image_shape
    image = Image.fromarray(np.ascontiguousarray(pixels if pixels.ndim == 2 or pixels.shape[2] != 1
                                                 else pixels[:, :, 0]))
    image = image.convert("L" if channels == 1 else "RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.uint8)
    return np.ascontiguousarray(array[None] if channels == 1 else array.transpose(2, 0, 1))


def _truth(ctx: JobContext, model, inp: ImageInput) -> tuple[np.ndarray, str, str | None]:
    """(uint8 (C, H, W), what it is, its class name or None)."""
    shape = tuple(int(s) for s in model.image_shape)
    side = "x".join(map(str, shape[1:]))
    if inp.test_index is not None:
        data = ctx.dataset(model, "test")
        if not 0 <= inp.test_index < len(data):
            raise ValueError(f"the test set has {len(data)} images; choose an index from 0 to {len(data) - 1}")
        label = int(data.labels[inp.test_index])
        name = data.class_names[label] if 0 <= label < len(data.class_names) else None
        return data.images[inp.test_index], f"test image {inp.test_index}", name
    if inp.path is not None:
        from models.data import read_image

        return read_image(inp.path, shape), f"{inp.path} (resized to {side})", None
    return fit_pixels(np.asarray(inp.pixels, dtype=np.uint8), shape), inp.note or "an image", None


def blend_curve(up, low: torch.Tensor, truth: torch.Tensor, bicubic: torch.Tensor) -> BlendCurve:
    """PSNR and relative sharpness of the upscale at each of CURVE_BLENDS."""
    outputs = torch.cat([up.upscale(low, b) for b in CURVE_BLENDS])
    reference = float(sharpness(truth)[0]) or 1.0      # a flat truth has no edges to compare with
    return BlendCurve(np.array(CURVE_BLENDS), psnr(truth.expand_as(outputs), outputs), sharpness(outputs) / reference,
                      float(psnr(truth, bicubic)[0]), float(sharpness(bicubic)[0]) / reference)


def upscale_job(source: str, inp: ImageInput, blend: float, classifier: str | None = None,
                curve: bool = False) -> Callable[[JobContext], UpscaleFrame]:
    """The whole comparison for one input at one blend (a few small images: fast enough to follow
    the blend slider); with `curve`, also the trade-off over every blend (a dozen more passes,
    asked for once per input)."""
    if not 0.0 <= blend <= 1.0:
        raise ValueError(f"blend must be in [0, 1], got {blend}")

    def job(ctx: JobContext) -> UpscaleFrame:
        model = ctx.model(source)
        up = model.upscaler
        if up is None:
            raise ValueError(f"{model.name} is not an upscaler; open one (the bundled srgan) in this view")
        truth_pixels, description, true_class = _truth(ctx, model, inp)
        judge = ctx.model(classifier) if classifier is not None else None
        with torch_threads(1):
            truth = torch.tensor(truth_pixels).float().div_(255)[None].to(model.device)
            low = up.downscale(truth)
            outputs = {"low": low, "bicubic": up.bicubic(low), "srresnet": up.upscale(low, 0.0),
                       "blend": up.upscale(low, blend), "srgan": up.upscale(low, 1.0), "truth": truth}
            probs = {}
            if judges(judge, model):
                batch = torch.cat([outputs[k] for k in COLUMNS if k != "low"])
                p = judge.classifier.predict(batch).float().cpu().numpy()
                probs = dict(zip([k for k in COLUMNS if k != "low"], p))
            trade_off = blend_curve(up, low, truth, outputs["bicubic"]) if curve else None
        images = {k: to_uint8(v)[0] for k, v in outputs.items()}
        return UpscaleFrame(
            images=images,
            psnr={k: float(psnr(truth, outputs[k])[0]) for k in MEASURED},
            ssim={k: float(ssim(truth, outputs[k])[0]) for k in MEASURED},
            probs=probs,
            class_names=tuple(judge.classifier.class_names) if probs else (),
            blend=float(blend), scale=up.scale, description=description, true_class=true_class, curve=trade_off)

    return job
