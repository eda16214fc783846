"""Interpolation between latent points: the path's settings, and the worker jobs that decode the
frames, analyse them (classifier prediction, distance to the training data) and export them.

`PathSettings` is plain data shared by the panel, the worker, the GIF comment and the command line:
it holds everything needed to rebuild a path exactly, endpoint latents included. Torch and the
models are imported inside the functions that run on the worker, so a view can import this
module for the settings and the job factories without pulling in torch.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.jobs.common import cached_references
from models.images import to_uint8

if TYPE_CHECKING:
    from torch import Tensor

    from explorer.job_context import JobContext
    from models.data import ImageDataset
    from models.generative import GenerativeModel
    from models.references import ReferenceSet
    from models.steps import Steps

MIN_FRAMES = 2
MAX_FRAMES = 512
DECODE_CHUNK = 16
FILMSTRIP_COLUMNS = 16                 # a long path's filmstrip wraps into rows of this many frames

ENDPOINT_KINDS = ("latent", "seed", "image", "dataset")

# -- settings ----------------------------------------------------------------------------------

Label = int | tuple[float, ...] | None


@dataclass(frozen=True)
class Endpoint:
    """A keyframe of the path: where its latent comes from, and its class.

    kind "latent" carries the latent itself (the current point, a bookmark, a restored path);
    "seed" draws it from the prior; "image" and "dataset" (an item of the Fashion-MNIST test
    split) encode a picture, for models with an encoder. `note` says where it came from, for
    people ("seed 3", "bookmark 'boot'").
    """

    kind: str
    latent: tuple[float, ...] | None = None
    seed: int | None = None
    path: str | None = None
    index: int | None = None
    label: Label = None
    note: str = ""
    psi: float = 1.0          # a GAN bookmark's truncation, folded into the latent when resolved

    def describe(self) -> str:
        if self.note:
            return self.note
        if self.kind == "seed":
            return f"seed {self.seed}"
        if self.kind == "image":
            return f"image {Path(self.path or '').name}"
        if self.kind == "dataset":
            return f"test item {self.index}"
        return "latent"

    def to_dict(self) -> dict[str, Any]:
        if self.kind != "latent" or self.latent is None:
            raise ValueError("only resolved endpoints (kind 'latent') can be stored; resolve the path first")
        label = list(self.label) if isinstance(self.label, tuple) else self.label
        return {"latent": list(self.latent), "label": label, "note": self.describe()}


@dataclass(frozen=True)
class PathSettings:
    """Everything that defines an interpolation path and its animation.

    `model` is the source the model was opened from (bundled name or file path); `keyframes` are
    A, any extra keyframes, then B. Stored latents are float32 values kept as Python floats, so
    JSON carries them exactly.
    """

    model: str
    model_name: str
    latent_shape: tuple[int, ...]
    keyframes: tuple[Endpoint, ...]
    frames: int = 32
    slerp: bool = True
    fps: float = 12.0
    scale: int = 4
    loop: bool = True
    pingpong: bool = False

    @property
    def resolved(self) -> bool:
        return all(k.kind == "latent" and k.latent is not None for k in self.keyframes)

    @property
    def class_changes(self) -> bool:
        return len({k.label for k in self.keyframes}) > 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "model_name": self.model_name, "latent_shape": list(self.latent_shape),
            "keyframes": [k.to_dict() for k in self.keyframes], "frames": self.frames,
            "slerp": self.slerp, "fps": self.fps, "scale": self.scale, "loop": self.loop,
            "pingpong": self.pingpong,
        }

    @classmethod
    def from_dict(cls, data: Any) -> PathSettings:
        """Settings from stored JSON; ValueError saying what is wrong with it."""
        if not isinstance(data, dict):
            raise ValueError("the stored path settings are not a JSON object")
        missing = [k for k in ("model", "latent_shape", "keyframes", "frames") if k not in data]
        if missing:
            raise ValueError(f"the stored path settings lack {', '.join(missing)}")
        shape = data["latent_shape"]
        if not isinstance(shape, list) or not shape or not all(isinstance(s, int) and s > 0 for s in shape):
            raise ValueError(f"latent_shape must be a list of positive integers, not {shape!r}")
        size = math.prod(shape)
        raw_keys = data["keyframes"]
        if not isinstance(raw_keys, list) or len(raw_keys) < 2:
            raise ValueError("a path needs at least two keyframes")
        keyframes = []
        for i, key in enumerate(raw_keys):
            if not isinstance(key, dict) or not isinstance(key.get("latent"), list):
                raise ValueError(f"keyframe {i} has no latent")
            latent = key["latent"]
            if len(latent) != size or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in latent):
                raise ValueError(f"keyframe {i} must hold {size} finite numbers for latent shape {tuple(shape)}")
            keyframes.append(Endpoint("latent", latent=tuple(float(v) for v in latent),
                                      label=_parse_label(key.get("label"), i), note=str(key.get("note") or "")))
        frames = data["frames"]
        if not isinstance(frames, int) or not MIN_FRAMES <= frames <= MAX_FRAMES:
            raise ValueError(f"frames must be a whole number from {MIN_FRAMES} to {MAX_FRAMES}, not {frames!r}")
        fps = data.get("fps", 12.0)
        scale = data.get("scale", 4)
        if not isinstance(fps, (int, float)) or not 0 < fps <= 100:
            raise ValueError(f"fps must be a number in (0, 100], not {fps!r}")
        if not isinstance(scale, int) or not 1 <= scale <= 32:
            raise ValueError(f"scale must be a whole number from 1 to 32, not {scale!r}")
        return cls(model=str(data["model"]), model_name=str(data.get("model_name") or data["model"]),
                   latent_shape=tuple(shape), keyframes=tuple(keyframes), frames=frames,
                   slerp=bool(data.get("slerp", True)), fps=float(fps), scale=scale,
                   loop=bool(data.get("loop", True)), pingpong=bool(data.get("pingpong", False)))


def _parse_label(value: Any, i: int) -> Label:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"keyframe {i} has an invalid label {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"keyframe {i} has a negative class {value}")
        return value
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        return tuple(float(v) for v in value)
    raise ValueError(f"keyframe {i} has an invalid label {value!r}: use a class index or a list of class weights")


def float32_values(values: Any) -> tuple[float, ...]:
    """Flattened values rounded to float32 and kept as Python floats (exact in JSON)."""
    return tuple(np.asarray(values, dtype=np.float32).reshape(-1).tolist())


# -- resolving endpoints (worker) --------------------------------------------------------------

def read_picture(path: str | Path, shape: Sequence[int]) -> Tensor:
    """One picture file as a (1, C, H, W) tensor in [0, 1] of the model's image shape."""
    import torch

    from models.data import read_image

    return torch.from_numpy(read_image(path, shape)).float().div_(255.0)[None]


def dataset_item(index: int, test_split: ImageDataset, shape: Sequence[int]) -> tuple[Tensor, int]:
    """Item `index` of the test split, fitted to `shape`, with its class."""
    from models.data import DataError
    from models.references import fit_images

    if not 0 <= index < len(test_split):
        raise DataError(f"test item {index} does not exist: the test split has items 0 to {len(test_split) - 1}")
    return fit_images(test_split.tensor([index]), shape), int(test_split.labels[index])


def resolve_endpoint(model: GenerativeModel, endpoint: Endpoint, test_split: ImageDataset | None = None) -> Endpoint:
    """The endpoint as a latent (kind "latent"), keeping its label and a note of its origin. A
    dataset item comes from `test_split`."""
    import torch

    label = endpoint.label
    if endpoint.kind == "latent":
        if endpoint.latent is None or len(endpoint.latent) != model.latent_dim:
            got = 0 if endpoint.latent is None else len(endpoint.latent)
            raise ValueError(f"{endpoint.describe()} has {got} numbers but {model.name} needs "
                             f"{model.latent_dim} (latent shape {tuple(model.latent_shape)})")
        z = torch.tensor(endpoint.latent, dtype=torch.float32)
        if model.truncation is not None and endpoint.psi != 1.0:
            z = z * endpoint.psi   # what decode does with psi, so the frame looks the same
        latent = float32_values(z)
    elif endpoint.kind == "seed":
        latent = float32_values(model.sample_latent(1, int(endpoint.seed or 0))[0])
    elif endpoint.kind in ("image", "dataset"):
        if model.encoder is None:
            raise ValueError(f"{model.name} has no encoder: pick a seed, a bookmark or the current point")
        if endpoint.kind == "image":
            x = read_picture(endpoint.path or "", model.image_shape)
        else:
            if test_split is None:
                raise ValueError("a test item needs the test split")
            x, true_class = dataset_item(int(endpoint.index or 0), test_split, model.image_shape)
            if label is None and model.conditional is not None:
                label = true_class
        labels = _labels_tensor([label], model.conditional.num_classes) if model.conditional is not None else None
        latent = float32_values(model.encoder.encode(x, labels)[0])
    else:
        raise ValueError(f"unknown endpoint kind {endpoint.kind!r} (known: {', '.join(ENDPOINT_KINDS)})")
    if model.conditional is None:
        label = None
    elif label is None:
        label = 0
    return Endpoint("latent", latent=latent, label=label, note=endpoint.describe())


def needs_test_split(settings: PathSettings) -> bool:
    return any(k.kind == "dataset" for k in settings.keyframes)


def resolve_settings(model: GenerativeModel, settings: PathSettings, data_dir: str | None = None,
                     test_split: ImageDataset | None = None) -> PathSettings:
    """Settings whose keyframes are all latents (seeds drawn, pictures encoded). Test items come
    from `test_split`, else from the test split of `data_dir` (default: Fashion-MNIST)."""
    from models.data import load_dataset

    if len(settings.keyframes) < 2:
        raise ValueError("a path needs two endpoints")
    if test_split is None and needs_test_split(settings):
        test_split = load_dataset(data_dir, split="test")
    keyframes = [resolve_endpoint(model, endpoint, test_split) for endpoint in settings.keyframes]
    return replace(settings, model_name=model.name, latent_shape=tuple(model.latent_shape),
                   keyframes=tuple(keyframes))


# -- the path ----------------------------------------------------------------------------------

def _labels_tensor(labels: Sequence[Label], num_classes: int) -> Tensor:
    """Keyframe labels as one LongTensor of classes, or (n, K) class weights when any is a blend."""
    import torch

    if all(not isinstance(label, tuple) for label in labels):
        return torch.tensor([int(label or 0) for label in labels], dtype=torch.long)
    rows = []
    for label in labels:
        if isinstance(label, tuple):
            if len(label) != num_classes:
                raise ValueError(f"class weights need {num_classes} numbers, got {len(label)}")
            rows.append(torch.tensor(label, dtype=torch.float32))
        else:
            rows.append(torch.nn.functional.one_hot(torch.tensor(int(label or 0)), num_classes).float())
    return torch.stack(rows)


def path_latents(settings: PathSettings) -> Tensor:
    """(frames, *latent_shape) float32: the lerp or slerp path through the keyframes."""
    import torch

    from models.latent import path

    if not settings.resolved:
        raise ValueError("resolve the path's endpoints first")
    keys = [torch.tensor(k.latent, dtype=torch.float32).reshape(settings.latent_shape) for k in settings.keyframes]
    return path(keys, settings.frames, spherical=settings.slerp)


def path_labels(settings: PathSettings, num_classes: int) -> Tensor | None:
    """Per-frame labels: None for unconditional models; one class for all frames when the class
    never changes; otherwise class weights moving linearly between the keyframes' classes, in step
    with the latent (so a frame halfway between keyframes is a 50/50 class blend)."""
    import torch

    from models.latent import path

    if num_classes <= 0:
        return None
    labels = [k.label for k in settings.keyframes]
    if len(set(labels)) == 1 and not isinstance(labels[0], tuple):
        return torch.full((settings.frames,), int(labels[0] or 0), dtype=torch.long)
    weights = _labels_tensor(labels, num_classes)
    if weights.dtype == torch.long:
        weights = torch.nn.functional.one_hot(weights, num_classes).float()
    return path(list(weights), settings.frames, spherical=False)


@dataclass(frozen=True)
class FramesChunk:
    """A streamed part of a path: frames[start:start + len(images)] of `total`."""

    start: int
    images: np.ndarray       # uint8 (n, H, W, C)
    total: int


def decode_path_steps(model: GenerativeModel, settings: PathSettings,
                      chunk: int = DECODE_CHUNK) -> Steps[tuple[Tensor, np.ndarray]]:
    """Decode every frame of a resolved path, a chunk at a time (each chunk streamed as a
    FramesChunk). Returns the images as float (frames, C, H, W) in [0, 1] on the CPU, and as
    uint8 (frames, H, W, C)."""
    import torch

    from models.steps import Progress

    latents = path_latents(settings)
    labels = path_labels(settings, model.conditional.num_classes if model.conditional is not None else 0)
    total = settings.frames
    out: list[Tensor] = []
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        images = model.decode(latents[start:stop], None if labels is None else labels[start:stop])
        images = images.float().clamp(0, 1).cpu()
        out.append(images)
        yield Progress(stop, total, "decoding frames", FramesChunk(start, to_uint8(images), total))
    images = torch.cat(out)
    return images, to_uint8(images)


def decode_path(model: GenerativeModel, settings: PathSettings, chunk: int = DECODE_CHUNK) -> tuple[Tensor, np.ndarray]:
    """`decode_path_steps` run to its end."""
    from models.steps import run_to_end

    return run_to_end(decode_path_steps(model, settings, chunk))


# -- what happens along the path ---------------------------------------------------------------

@dataclass(frozen=True)
class PathAnalysis:
    """Per-frame classifier prediction and distance to the nearest training image."""

    classes: np.ndarray | None = None        # int (frames,)
    confidence: np.ndarray | None = None     # float (frames,), probability of the predicted class
    class_names: tuple[str, ...] = ()
    distances: np.ndarray | None = None      # float (frames,), RMS pixel distance in [0, 1]
    typical_distance: float | None = None    # the calibration quantile for real images
    warnings: tuple[int, ...] = ()           # frames where the path jumps away from the data
    notes: tuple[str, ...] = ()              # why a part was skipped
    realness: np.ndarray | None = None       # float (frames,), the GAN's own D, when its file kept it


def classify_frames(judge: GenerativeModel, images: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class, its probability) per image, by a model with the classifier capability."""
    from models.references import fit_images

    x = fit_images(images, judge.image_shape)
    probs = judge.classifier.predict(x).float().cpu()
    confidence, classes = probs.max(dim=1)
    return classes.numpy().astype(np.int64), confidence.numpy().astype(np.float64)


def frame_realness(model: GenerativeModel, settings: PathSettings, images: Tensor) -> np.ndarray | None:
    """The model's own discriminator's realness of each frame (None without one), each judged
    for the class its frame was drawn as."""
    if model.discriminator is None:
        return None
    labels = path_labels(settings, model.conditional.num_classes if model.conditional is not None else 0)
    return model.discriminator.realness(images, labels).cpu().numpy().astype(np.float64)


def jump_frames(distances: np.ndarray, typical: float | None) -> tuple[int, ...]:
    """Frames where the path leaves the data: it crosses above the typical distance of real
    images, or the distance rises in one step by more than a quarter of that distance (and far
    more than the path's usual step)."""
    d = np.asarray(distances, dtype=np.float64)
    if len(d) < 2 or typical is None or not math.isfinite(typical):
        return ()
    steps = np.diff(d)
    usual = float(np.median(np.abs(steps))) if len(steps) else 0.0
    marks = []
    for i in range(len(d)):
        crossed = d[i] > typical and (i == 0 or d[i - 1] <= typical)
        jumped = i > 0 and steps[i - 1] > max(0.25 * typical, 4.0 * usual)
        if crossed or jumped:
            marks.append(i)
    return tuple(marks)


def analyse_path(images: Tensor, judge: GenerativeModel | None, data_dir: str | None = None,
                 judge_note: str = "", references: ReferenceSet | str | None = None) -> PathAnalysis:
    """Classifier predictions and nearest-training-image distances for decoded frames. `references`
    is the reference set (or why there is none); None reads it from `data_dir`."""
    from models.data import DataError
    from models.references import nearest_distances, reference_set

    notes = [judge_note] if judge_note else []
    classes = confidence = None
    names: tuple[str, ...] = ()
    if judge is not None:
        classes, confidence = classify_frames(judge, images)
        names = tuple(judge.classifier.class_names)
    if references is None:
        try:
            references = reference_set(tuple(images.shape[1:]), data_dir)
        except DataError as e:
            references = str(e)
    distances = typical = None
    if isinstance(references, str):
        notes.append(f"Distance to the training data skipped: {references}")
    else:
        distances, typical = nearest_distances(images, references.images), references.typical
    warnings = jump_frames(distances, typical) if distances is not None else ()
    return PathAnalysis(classes, confidence, names, distances, typical, warnings, tuple(notes))


# -- jobs --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PathResult:
    settings: PathSettings          # resolved: every keyframe is a latent
    frames: np.ndarray              # uint8 (frames, H, W, C)
    analysis: PathAnalysis = field(default_factory=PathAnalysis)


def _open_judge(ctx: JobContext, source: str | None) -> tuple[GenerativeModel | None, str]:
    from models.checkpoint import CheckpointError

    if not source:
        return None, "No classifier is installed, so frames are not classified."
    try:
        model = ctx.model(source)
    except CheckpointError as e:
        return None, f"Classifier unavailable: {e}"
    if model.classifier is None:
        return None, f"{source} is not a classifier, so frames are not classified."
    return model, ""


def _test_split(ctx: JobContext, model: GenerativeModel, settings: PathSettings,
                data_dir: str | None) -> ImageDataset | None:
    return ctx.dataset(model, "test", data_dir) if needs_test_split(settings) else None


def interpolation_job(settings: PathSettings, classifier: str | None = None, analyse: bool = True,
                      data_dir: str | None = None) -> Callable[[JobContext], Steps[PathResult]]:
    """Resolve the endpoints, decode every frame (streamed as FramesChunk partials), then analyse."""
    from models.steps import Progress

    def job(ctx: JobContext) -> Steps[PathResult]:
        model = ctx.model(settings.model)
        resolved = resolve_settings(model, settings, data_dir, _test_split(ctx, model, settings, data_dir))
        images, frames = yield from decode_path_steps(model, resolved)
        analysis = PathAnalysis()
        if analyse:
            yield Progress(settings.frames, settings.frames, "analysing frames")
            judge, note = _open_judge(ctx, classifier)
            references = cached_references(ctx, model, data_dir)
            analysis = analyse_path(images, judge, data_dir, note, references)
            analysis = replace(analysis, realness=frame_realness(model, resolved, images))
        return PathResult(resolved, frames, analysis)

    return job


@dataclass(frozen=True)
class ExportResult:
    path: str
    frames: int          # frames written (ping-pong included for a GIF)
    kind: str            # "gif" or "png"


def export_job(settings: PathSettings, out: str, kind: str = "gif", frames: np.ndarray | None = None,
               overwrite: bool = False, columns: int | None = None) -> Callable[[JobContext], Steps[ExportResult]]:
    """Write the path as a GIF or a PNG filmstrip (see export_steps). Cancelling leaves no output."""

    def job(ctx: JobContext) -> Steps[ExportResult]:
        return export_steps(settings, out, kind, frames, overwrite, columns, model_fn=lambda: ctx.model(settings.model))

    return job


def export_steps(settings: PathSettings, out: str | Path, kind: str = "gif", frames: np.ndarray | None = None,
                 overwrite: bool = False, columns: int | None = None,
                 model_fn: Callable[[], GenerativeModel] | None = None) -> Steps[ExportResult]:
    """Headless export, shared by the worker job, the command line and the bench: decodes the
    frames first unless `frames` (uint8, matching settings.frames) are given, then writes a GIF or
    a PNG filmstrip (rows of FILMSTRIP_COLUMNS frames unless `columns` is given)."""
    from explorer.export import frame_order, write_filmstrip, write_gif
    from models.steps import Progress

    if kind not in ("gif", "png"):
        raise ValueError(f"unknown export kind {kind!r}: use 'gif' or 'png'")
    written = len(frame_order(settings.frames, settings.pingpong)) if kind == "gif" else 1
    if not settings.resolved or frames is None or len(frames) != settings.frames:
        if model_fn is None:
            raise ValueError("no frames and no model to decode them with")
        model = model_fn()
        settings = resolve_settings(model, settings)
        decoding = decode_path_steps(model, settings)
        while True:
            try:
                report = next(decoding)
            except StopIteration as finished:
                _, frames = finished.value
                break
            yield Progress(report.done, settings.frames + 1, "decoding frames")
    yield Progress(settings.frames, settings.frames + 1, "writing")
    if kind == "gif":
        path = write_gif(out, frames, fps=settings.fps, scale=settings.scale, loop=settings.loop,
                         pingpong=settings.pingpong, settings=settings.to_dict(), overwrite=overwrite)
        return ExportResult(str(path), written, "gif")
    columns = columns or min(len(frames), FILMSTRIP_COLUMNS)
    path = write_filmstrip(out, frames, scale=settings.scale, columns=columns, settings=settings.to_dict(),
                           overwrite=overwrite)
    return ExportResult(str(path), len(frames), "png")


def export_path(settings: PathSettings, out: str | Path, kind: str = "gif", frames: np.ndarray | None = None,
                overwrite: bool = False, columns: int | None = None,
                model_fn: Callable[[], GenerativeModel] | None = None,
                on_progress: Callable[[Any], None] | None = None) -> ExportResult:
    """`export_steps` run to its end; `on_progress` hears each models.steps.Progress."""
    from models.steps import run_to_end

    return run_to_end(export_steps(settings, out, kind, frames, overwrite, columns, model_fn), on_progress)
