"""Jobs of the compare view: latent maps, scatters of latents, paths between corresponding
endpoints (seeds, or real images encoded by a VAE / inverted into a GAN) and the metrics table.

Requests carry plain data (`PlaneSpec`, `EndpointSpec`, sources, numbers); results are NumPy
arrays in small frozen dataclasses. The math lives in models/ (maps, inversion, latent,
evaluation); this module only loads what a job needs, calls it, and streams partial results.
Long jobs (maps, scatters, paths with inversion, the metrics) are step iterators; what they
compute once per model (the encoded test set, principal directions, inversions) is cached on
the worker. Torch is imported inside the functions that run on the worker, so the view can
import this module for its dataclasses and job factories without pulling torch into the UI.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.jobs.common import cached_directions, judges
from models.images import to_uint8

if TYPE_CHECKING:
    from torch import Tensor

    from explorer.job_context import JobContext
    from models.generative import GenerativeModel
    from models.steps import Steps

CLASSIFIER = "classifier"          # the bundled classifier's name
PLANE_KINDS = ("dims", "pca", "points")
MAP_BATCH = 256                    # images per forward pass: big enough to be efficient, small
                                   # enough that a 32 x 32 map fills in over four updates
ENCODE_BATCH = 500
DEFAULT_SCATTER_SAMPLES = 2000
MAX_GRID = 64


def default_classifier() -> str | None:
    """The bundled classifier's name, or None when it is not installed."""
    import resources

    return CLASSIFIER if CLASSIFIER in resources.bundled_checkpoints() else None


# -- plain data in ---------------------------------------------------------------------------

Point = int | tuple[float, ...]      # a seed, or a flat latent


@dataclass(frozen=True)
class PlaneSpec:
    """Which 2-D slice of the latent space a map shows.

    "dims": latent dimensions `dims` through `center` (default the prior's mean), +-extent;
    "pca": the two principal directions (a VAE: of its encoded test set; a GAN: GANSpace, the
    principal components of its early activations), +-extent standard deviations;
    "points": the plane through three points (seeds or latents) at (0,0), (1,0), (0,1).
    """

    kind: str = "dims"
    dims: tuple[int, int] = (0, 1)
    extent: float = 3.0
    center: tuple[float, ...] | None = None
    points: tuple[Point, ...] = ()
    point_names: tuple[str, ...] = ("A", "B", "C")
    seed: int = 0

    def describe(self) -> str:
        if self.kind == "dims":
            return f"latent dimensions {self.dims[0]} and {self.dims[1]}"
        if self.kind == "pca":
            return "the two principal directions"
        return "the plane through " + ", ".join(self.point_names[:3])


@dataclass(frozen=True)
class EndpointSpec:
    """One end of a path: a prior sample ("seed"), a latent ("latent") or a Fashion-MNIST test
    image ("test"), which a VAE encodes and a GAN inverts."""

    kind: str = "seed"
    seed: int = 0
    latent: tuple[float, ...] | None = None
    index: int = 0

    def describe(self) -> str:
        if self.kind == "seed":
            return f"seed {self.seed}"
        if self.kind == "test":
            return f"test image {self.index}"
        return "latent"


@dataclass(frozen=True)
class InversionSettings:
    steps: int = 150
    lr: float = 0.05
    feature_weight: float = 0.5
    seed: int = 0


# -- plain data out --------------------------------------------------------------------------

@dataclass(frozen=True)
class MapLayout:
    """Streamed first: the map's geometry, so the view can draw rows as they come."""

    k: int
    cell_shape: tuple[int, int, int]     # (H, W, C)
    lo: float
    hi: float
    axis_names: tuple[str, str]
    anchors: tuple[tuple[str, float, float], ...]
    class_names: tuple[str, ...]
    description: str
    note: str = ""


@dataclass(frozen=True)
class MapRows:
    """A streamed block of map rows, as they are decoded."""

    start: int
    images: np.ndarray               # (rows, k, H, W, C) uint8
    classes: np.ndarray | None       # (rows, k) int64
    confidence: np.ndarray | None    # (rows, k) float32
    realness: np.ndarray | None = None   # (rows, k) float32 in [0, 1]: the GAN's own discriminator


@dataclass(frozen=True)
class LatentMap:
    k: int
    images: np.ndarray               # (k, k, H, W, C) uint8; [0, 0] is the top-left cell
    classes: np.ndarray | None       # (k, k) int64: the classifier's prediction per cell
    confidence: np.ndarray | None    # (k, k) float32: its probability
    class_names: tuple[str, ...]
    lo: float                        # s and t span [lo, hi]: s left to right, t bottom to top
    hi: float
    axis_names: tuple[str, str]
    anchors: tuple[tuple[str, float, float], ...]
    origin: np.ndarray               # (D,) float32: the latent at cell (s, t) is origin + s u + t v
    u: np.ndarray
    v: np.ndarray
    description: str
    note: str = ""                   # e.g. why there is no class map
    realness: np.ndarray | None = None   # (k, k) float32 in [0, 1]: how real the GAN's own
                                         # discriminator finds each cell (None: its file kept none)

    def cell_latent(self, row: int, col: int) -> np.ndarray:
        coords = np.linspace(self.lo, self.hi, self.k, dtype=np.float64)
        s, t = coords[col], coords[self.k - 1 - row]
        return (self.origin + s * self.u + t * self.v).astype(np.float32)


@dataclass(frozen=True)
class ScatterData:
    coords: np.ndarray               # (n, 2) float32
    classes: np.ndarray              # (n,) int64
    latents: np.ndarray              # (n, D) float32: what a clicked point decodes
    class_names: tuple[str, ...]
    axis_names: tuple[str, str]
    explained: tuple[float, float]   # share of the latents' variance along each axis
    description: str                 # what the points are and what the colours mean


@dataclass(frozen=True)
class PointImage:
    image: np.ndarray                # (H, W, C) uint8
    latent: np.ndarray               # (D,) float32
    predicted: int | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class InversionProgress:
    step: int
    total: int
    loss: float
    images: np.ndarray               # (n, H, W, C) uint8: the current reconstructions


@dataclass(frozen=True)
class PathStrip:
    frames: np.ndarray               # (F, H, W, C) uint8
    latents: np.ndarray              # (F, D) float32
    classes: np.ndarray | None       # (F,) int64
    confidence: np.ndarray | None    # (F,) float32
    class_names: tuple[str, ...]
    method: str                      # how the endpoints were found
    targets: np.ndarray | None = None           # (2, H, W, C): the real images, for "test" ends
    reconstructions: np.ndarray | None = None   # (2, H, W, C): what the endpoints decode to
    history: tuple[float, ...] = ()             # inversion loss per step
    initial_loss: float | None = None
    final_loss: float | None = None
    note: str = ""


# -- shared helpers (worker thread) ------------------------------------------------------------

def check_map_model(model: GenerativeModel) -> None:
    """Maps, scatters and paths need a one-pass decoder with a prior."""
    if model.sampler is not None:
        raise ValueError(f"{model.name} is a {model.kind.title}: the compare view shows models that decode "
                         f"in one pass (a DDPM's latent is a whole noise image, decoded by a sampling run)")
    if model.prior is None:
        raise ValueError(f"{model.name} is a {model.kind.title} without a prior: its random latents are "
                         f"not samples, so the compare view does not show it")


def _labels(model: GenerativeModel, label: int | None, n: int) -> Tensor | None:
    import torch

    if model.conditional is None:
        return None
    return torch.full((n,), int(label or 0), dtype=torch.long)


def _decode(model: GenerativeModel, z: Tensor, label: int | None, psi: float = 1.0,
            labels: Tensor | None = None) -> Tensor:
    """Images of latents z; a conditional model draws class `label`, or per-image `labels`."""
    if labels is None:
        labels = _labels(model, label, len(z))
    return model.decode(z, labels, psi=psi if model.truncation is not None else 1.0)


def open_classifier(ctx: JobContext, source: str | None, model: GenerativeModel) -> tuple[Any, str]:
    """The classifier capability of `source` if it can judge `model`'s images, else None and why not."""
    from models.checkpoint import CheckpointError

    if not source:
        return None, "no classifier is installed, so cells are not classified"
    try:
        judge = ctx.model(source)
    except CheckpointError as e:
        return None, f"classifier unavailable: {e}"
    if judge.classifier is None:
        return None, f"{source} is a {judge.kind.title}, not a classifier"
    if not judges(judge, model):
        return None, (f"the classifier reads {tuple(judge.image_shape)} images but {model.name} makes "
                      f"{tuple(model.image_shape)}")
    return judge.classifier, ""


def _predict(judge: Any, images: Tensor) -> tuple[np.ndarray | None, np.ndarray | None]:
    if judge is None:
        return None, None
    probs = judge.predict(images).float().cpu()
    confidence, classes = probs.max(dim=1)
    return classes.numpy().astype(np.int64), confidence.numpy().astype(np.float32)


def class_names_for(model: GenerativeModel, judge: Any) -> tuple[str, ...]:
    if judge is not None and judge.class_names:
        return tuple(judge.class_names)
    return tuple(model.class_names)


@dataclass(frozen=True)
class EncodedSet:
    latents: Any        # (N, D) float32 CPU tensor: the posterior means
    labels: np.ndarray  # (N,) int64


def encoded_test_set(ctx: JobContext, source: str, model: GenerativeModel, data: str | None,
                     label: int | None = None) -> Steps[EncodedSet]:
    """The posterior means of the whole test set, cached on the worker per model file and data."""
    import torch

    from models.data import DataError
    from models.steps import Progress

    def compute() -> Steps[EncodedSet]:
        try:
            dataset = ctx.dataset(model, "test", data)
        except DataError as e:
            raise DataError(f"the encoded test set needs Fashion-MNIST: {e}") from None
        codes = []
        batches = range(0, len(dataset), ENCODE_BATCH)
        for i, start in enumerate(batches):
            images = dataset.tensor(slice(start, start + ENCODE_BATCH))
            labels = None
            if model.conditional is not None:
                true = dataset.labels_tensor(slice(start, start + ENCODE_BATCH))
                labels = torch.where(true >= 0, true, torch.full_like(true, int(label or 0)))
            codes.append(model.encoder.encode(images, labels).reshape(len(images), -1).float().cpu())
            yield Progress(i + 1, len(batches), "encoding the test set")
        return EncodedSet(torch.cat(codes), dataset.labels.copy())

    label_key = label if model.conditional is not None else None
    return (yield from ctx.cached(("encoded", ctx.model_key(source), data, label_key), compute))


def _point_latent(model: GenerativeModel, point: Point) -> Tensor:
    import torch

    if isinstance(point, (int, np.integer)):
        return model.sample_latent(1, int(point))[0].reshape(-1)
    flat = torch.tensor([float(x) for x in point], dtype=torch.float32)
    if flat.numel() != model.latent_dim:
        raise ValueError(f"a point has {flat.numel()} numbers but {model.name}'s latent has {model.latent_dim}")
    return flat


def resolve_plane(ctx: JobContext, source: str, model: GenerativeModel, spec: PlaneSpec,
                  label: int | None = None, data: str | None = None) -> Steps[tuple[Any, str]]:
    """The `models.maps.Plane` a spec describes, and a line saying how it was found."""
    import torch

    from models.maps import dims_plane, directions_plane, points_plane

    if spec.kind == "dims":
        center = None if spec.center is None else torch.tensor(spec.center, dtype=torch.float32)
        return dims_plane(model.latent_dim, spec.dims[0], spec.dims[1], center, spec.extent), spec.describe()
    if spec.kind == "pca":
        if model.latent_dim < 2:
            raise ValueError(f"{model.name} has a {model.latent_dim}-D latent: no plane to show")
        found = yield from cached_directions(ctx, source, label, spec.seed, data)
        how = found.method + (f" ({found.message})" if found.message else "")
        mean, directions, std = (torch.from_numpy(a) for a in (found.mean, found.directions[:2], found.std[:2]))
        return directions_plane(mean, directions, std, spec.extent), how
    if spec.kind == "points":
        if len(spec.points) != 3:
            raise ValueError(f"the plane through points needs 3 points, got {len(spec.points)}")
        a, b, c = (_point_latent(model, p) for p in spec.points)
        return points_plane(a, b, c, names=spec.point_names), spec.describe()
    raise ValueError(f"unknown plane {spec.kind!r}: use one of {', '.join(PLANE_KINDS)}")


# -- jobs ------------------------------------------------------------------------------------

def render_map(ctx: JobContext, source: str, plane: PlaneSpec, k: int, label: int | None = None,
               classifier: str | None = None, data: str | None = None, psi: float = 1.0) -> Steps[LatentMap]:
    """Decode (and classify, and for a GAN that kept its discriminator, judge) a k x k map,
    streaming blocks of rows as `MapRows` partials (the first Progress carries the `MapLayout`)."""
    from models.maps import grid_latents
    from models.steps import Progress

    if not 2 <= k <= MAX_GRID:
        raise ValueError(f"the map's size must be 2 to {MAX_GRID} cells a side, got {k}")
    model = ctx.model(source)
    check_map_model(model)
    found, description = yield from resolve_plane(ctx, source, model, plane, label, data)
    judge, note = open_classifier(ctx, classifier, model)
    grid = grid_latents(found, k, model.latent_shape)
    c, h, w = model.image_shape
    images = np.empty((k, k, h, w, c), dtype=np.uint8)
    classes = np.empty((k, k), dtype=np.int64) if judge is not None else None
    confidence = np.empty((k, k), dtype=np.float32) if judge is not None else None
    realness = np.empty((k, k), dtype=np.float32) if model.discriminator is not None else None
    names = class_names_for(model, judge)
    yield Progress(0, k, "decoding", MapLayout(k, (h, w, c), found.lo, found.hi, found.axis_names, found.anchors,
                                               names, description, note))
    rows = max(1, MAP_BATCH // k)
    for start in range(0, k, rows):
        stop = min(k, start + rows)
        labels = _labels(model, label, (stop - start) * k)
        x = _decode(model, grid[start:stop].reshape(-1, *model.latent_shape), label, psi, labels)
        block = to_uint8(x).reshape(stop - start, k, h, w, c)
        images[start:stop] = block
        cls, conf = _predict(judge, x)
        if classes is not None and cls is not None and confidence is not None and conf is not None:
            classes[start:stop] = cls.reshape(stop - start, k)
            confidence[start:stop] = conf.reshape(stop - start, k)
        if realness is not None:
            # judged for the class the cells were drawn as, like the latent view's single image
            real = model.discriminator.realness(x, labels).float().cpu().numpy()
            realness[start:stop] = real.reshape(stop - start, k)
        yield Progress(stop, k, f"decoding row {stop} of {k}",
                       MapRows(start, block, None if classes is None else classes[start:stop].copy(),
                               None if confidence is None else confidence[start:stop].copy(),
                               None if realness is None else realness[start:stop].copy()))
    return LatentMap(k, images, classes, confidence, names, found.lo, found.hi,
                     found.axis_names, found.anchors, found.origin.numpy().astype(np.float32),
                     found.u.numpy().astype(np.float32), found.v.numpy().astype(np.float32), description, note,
                     realness)


def map_job(source: str, plane: PlaneSpec, k: int = 16, label: int | None = None,
            classifier: str | None = None, data: str | None = None,
            psi: float = 1.0) -> Callable[[JobContext], Steps[LatentMap]]:
    def job(ctx: JobContext) -> Steps[LatentMap]:
        return render_map(ctx, source, plane, k, label, classifier, data, psi)

    return job


def scatter_job(source: str, classifier: str | None = None, samples: int = DEFAULT_SCATTER_SAMPLES,
                seed: int = 0, label: int | None = None, data: str | None = None,
                psi: float = 1.0) -> Callable[[JobContext], Steps[ScatterData]]:
    """A model with an encoder: its encoded test set coloured by true class. Any other: `samples`
    prior latents coloured by the classifier's prediction of their images. Projected by PCA when
    the latent is above 2-D."""

    def job(ctx: JobContext) -> Steps[ScatterData]:
        from models.maps import pca_project
        from models.steps import Progress

        model = ctx.model(source)
        check_map_model(model)
        if model.encoder is not None:
            encoded = yield from encoded_test_set(ctx, source, model, data, label)
            latents, classes = encoded.latents, encoded.labels
            names = tuple(model.class_names) or tuple(f"class {i}" for i in range(int(classes.max()) + 1))
            what = f"the encoded test set ({len(classes):,} images), coloured by true class"
        else:
            judge, note = open_classifier(ctx, classifier, model)
            if judge is None:
                raise ValueError(f"a GAN's scatter is coloured by the classifier's prediction: {note}")
            if samples < 2:
                raise ValueError(f"a scatter needs at least 2 samples, got {samples}")
            latents = model.sample_latent(samples, seed)
            parts = []
            for start in range(0, samples, ENCODE_BATCH):
                x = _decode(model, latents[start:start + ENCODE_BATCH], label, psi)
                parts.append(_predict(judge, x)[0])
                yield Progress(min(samples, start + ENCODE_BATCH), samples, "classifying samples")
            classes = np.concatenate(parts)
            names = class_names_for(model, judge)
            what = f"{samples:,} prior samples, coloured by the classifier's prediction"
        flat = latents.reshape(len(latents), -1).float()
        projection = pca_project(flat)
        if flat.shape[1] <= 2:
            axes = ("z0", "z1")
        else:
            axes = ("PC1", "PC2")
            what += f"; PCA of the {flat.shape[1]}-D latents"
        return ScatterData(projection.coords.numpy().astype(np.float32), np.asarray(classes, dtype=np.int64),
                           flat.numpy().astype(np.float32), names, axes,
                           (float(projection.explained[0]), float(projection.explained[1])), what)

    return job


def point_job(source: str, latent: Sequence[float] | int, label: int | None = None,
              classifier: str | None = None, psi: float = 1.0) -> Callable[[JobContext], PointImage]:
    """One latent (or a seed's latent) decoded, with the classifier's opinion."""
    point: Point = int(latent) if isinstance(latent, (int, np.integer)) else tuple(float(x) for x in latent)

    def job(ctx: JobContext) -> PointImage:
        model = ctx.model(source)
        check_map_model(model)
        z = _point_latent(model, point)
        x = _decode(model, z.reshape(1, *model.latent_shape), label, psi)
        judge, _ = open_classifier(ctx, classifier, model)
        cls, conf = _predict(judge, x)
        return PointImage(to_uint8(x)[0], z.numpy().astype(np.float32),
                          None if cls is None else int(cls[0]), None if conf is None else float(conf[0]))

    return job


def _invert(ctx: JobContext, model: GenerativeModel, judge: Any, targets: Tensor, key: tuple[Any, ...],
            settings: InversionSettings, labels: Tensor | None) -> Steps[Any]:
    """`models.inversion.invert_gan_steps`, with about 50 previews of the reconstructions on the
    way, cached on the worker."""
    from models.inversion import InversionConfig, invert_gan_steps
    from models.steps import Progress

    config = InversionConfig(steps=settings.steps, lr=settings.lr,
                             feature_weight=settings.feature_weight if judge is not None else 0.0)
    every = max(1, settings.steps // 50)

    def compute() -> Steps[Any]:
        steps = invert_gan_steps(model, targets, judge, labels=labels, seed=settings.seed, config=config)
        while True:
            try:
                report = next(steps)
            except StopIteration as finished:
                return finished.value
            if report is None:
                yield None
                continue
            step, loss, images = report.done, report.partial.loss, report.partial.images
            preview = None
            if step % every == 0 or step == report.total:
                preview = InversionProgress(step, report.total, loss, to_uint8(images))
            yield Progress(step, report.total, f"inverting: step {step} of {report.total}, loss {loss:.4f}", preview)

    return (yield from ctx.cached(key, compute))


def path_job(source: str, a: EndpointSpec, b: EndpointSpec, frames: int = 12, spherical: bool = True,
             label: int | None = None, classifier: str | None = None, data: str | None = None,
             inversion: InversionSettings = InversionSettings(),
             psi: float = 1.0) -> Callable[[JobContext], Steps[PathStrip]]:
    """Frames along the path from a to b (lerp or slerp), each with the classifier's prediction.

    Test-image ends are encoded by a model with an encoder and inverted into any other (per-step
    progress with the current reconstructions as `InversionProgress` partials)."""
    if frames < 2:
        raise ValueError(f"a path needs at least 2 frames, got {frames}")

    def job(ctx: JobContext) -> Steps[PathStrip]:
        import torch

        from models.latent import path

        model = ctx.model(source)
        check_map_model(model)
        judge, note = open_classifier(ctx, classifier, model)
        ends = (a, b)
        targets = recon = frame_labels = end_labels = None
        history: tuple[float, ...] = ()
        initial = final = None
        if any(e.kind == "test" for e in ends):
            if not all(e.kind == "test" for e in ends):
                raise ValueError("both ends must be test images, or neither")
            dataset = ctx.dataset(model, "test", data)
            for e in ends:
                if not 0 <= e.index < len(dataset):
                    raise ValueError(f"test image {e.index} does not exist: pick 0 to {len(dataset) - 1}")
            idx = [a.index, b.index]
            images = dataset.tensor(idx)
            targets = to_uint8(images)
            end_labels = _labels(model, label, 2)
            if end_labels is not None:
                # A conditional model sees each real image with its own class, and the path
                # blends from A's class to B's.
                true = dataset.labels_tensor(idx)
                end_labels = torch.where(true >= 0, true, end_labels)
                frame_labels = _blend(end_labels, frames, model.conditional.num_classes)
            if model.encoder is not None:
                z_ends = model.encoder.encode(images, end_labels).reshape(2, -1).float().cpu()
                method = "encoded by the model's encoder (posterior means)"
            else:
                labels_key = None if end_labels is None else tuple(end_labels.tolist())
                key = ("inversion", ctx.model_key(source), tuple(idx), inversion, labels_key, classifier, data)
                result = yield from _invert(ctx, model, judge, images, key, inversion, end_labels)
                z_ends = result.z.reshape(2, -1).float()
                history = tuple(result.history)
                initial, final = result.initial_loss, result.final_loss
                method = (f"inverted by {result.steps_run} Adam steps on pixel MSE"
                          + (" + classifier features" if judge is not None else ""))
        else:
            z_ends = torch.stack([_point_latent(model, _endpoint_point(e)) for e in ends])
            method = f"{a.describe()} to {b.describe()}"
        if frame_labels is not None and end_labels is not None:
            names = [model.class_names[i] if i < len(model.class_names) else f"class {i}"
                     for i in end_labels.tolist()]
            method += f"; the class blends from {names[0]} to {names[1]}"
        latents = path([z_ends[0], z_ends[1]], frames, spherical)
        x = _decode(model, latents.reshape(frames, *model.latent_shape), label, psi, frame_labels)
        cls, conf = _predict(judge, x)
        pixels = to_uint8(x)
        if targets is not None:
            recon = pixels[[0, -1]]
        return PathStrip(pixels, latents.numpy().astype(np.float32), cls, conf, class_names_for(model, judge),
                         method, targets, recon, history, initial, final, note)

    return job


def _blend(end_labels: Tensor, frames: int, num_classes: int) -> Tensor:
    """Class weights (frames, K) going linearly from one-hot(end_labels[0]) to one-hot(end_labels[1])."""
    import torch

    one_hot = torch.nn.functional.one_hot(end_labels.long(), num_classes).float()
    ts = torch.linspace(0, 1, frames)[:, None]
    return (1 - ts) * one_hot[0] + ts * one_hot[1]


def _endpoint_point(e: EndpointSpec) -> Point:
    if e.kind == "seed":
        return int(e.seed)
    if e.kind == "latent" and e.latent is not None:
        return tuple(e.latent)
    raise ValueError(f"unknown endpoint {e.kind!r}: use a seed, a latent or a test image")


def metrics_job(source_a: str, source_b: str, classifier: str | None = None, samples: int = 500,
                seed: int = 0, data: str | None = None) -> Callable[[JobContext], Steps[dict[str, Any]]]:
    """`models.evaluation.compare_steps` of two models: the metrics table, as a JSON-ready dict."""

    def job(ctx: JobContext) -> Steps[dict[str, Any]]:
        from models.data import DataError
        from models.evaluation import compare_steps
        from models.metrics import EXPLANATIONS, TITLES, has_posterior

        if not classifier:
            raise ValueError("the metrics are measured with the classifier, and none is installed "
                             "(resources/checkpoints/classifier.safetensors)")
        a, b = ctx.model(source_a), ctx.model(source_b)
        judge = ctx.model(classifier)
        notes = []
        dataset = None
        if has_posterior(a) or has_posterior(b):
            try:
                dataset = ctx.dataset(a, "test", data)
            except DataError as e:
                notes.append(f"KL and active units need the test set: {e}")
        report = yield from compare_steps(a, b, judge, samples, seed, data=dataset)
        if any(m.get("kl_per_dim") for m in report["models"]):
            report["rows"] = list(report["rows"]) + ["kl_per_dim"]
            report["titles"]["kl_per_dim"] = TITLES["kl_per_dim"]
            report["explanations"]["kl_per_dim"] = EXPLANATIONS["kl_per_dim"]
        report["notes"] = notes + report.get("notes", [])
        report["sources"] = [source_a, source_b]
        return report

    return job
