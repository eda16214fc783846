"""Jobs of the latent view's Directions tab: find a set of directions with any method, measure
what each one changes (the report), and walk along one as a GIF.

Directions are cached on the worker (explorer/jobs/common.py `cached_directions`) per model file,
method, class and seed, so the latent and compare views share them. Torch is imported inside the
functions that run on the worker.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.jobs.common import cached_directions, cached_references

if TYPE_CHECKING:
    from explorer.job_context import JobContext
    from models.direction_report import DirectionReport
    from models.directions import Directions, DirectionSpec
    from models.steps import Steps

Label = int | Sequence[float] | None
WALK_FRAMES = 32
WALK_REACH = 2.0          # a walk goes from -2σ to +2σ along its direction, as the report measures


def directions_job(source: str, label: Label = None, seed: int = 0, data: str | None = None,
                   spec: DirectionSpec | None = None,
                   classifier: str | None = None) -> Callable[[JobContext], Steps[Directions]]:
    """The directions `spec` asks for (default: the principal ones) of the model `source`, drawn as
    class `label`; the supervised methods label images with `classifier`."""

    def job(ctx: JobContext) -> Steps[Directions]:
        return cached_directions(ctx, source, label, seed, data, spec, classifier)

    return job


def report_job(source: str, directions: Directions, classifier: str, label: Label = None,
               seed: int = 0, data: str | None = None) -> Callable[[JobContext], Steps[DirectionReport]]:
    """What moving ±2σ along each direction changes, measured with `classifier`
    (models/direction_report.py)."""

    def job(ctx: JobContext) -> Steps[DirectionReport]:
        from models.direction_report import report_directions

        model = ctx.model(source)
        references = cached_references(ctx, model, data)
        problem = references if isinstance(references, str) else ""
        return (yield from report_directions(model, ctx.model(classifier), directions,
                                             None if problem else references, problem,
                                             labels=_labels(label), seed=seed))

    return job


@dataclass(frozen=True)
class WalkResult:
    path: str
    frames: int


def walk_job(source: str, start: np.ndarray, direction: np.ndarray, sigma: float, out: str, label: Label = None,
             psi: float = 1.0, fps: float = 12.0, scale: int = 4) -> Callable[[JobContext], Steps[WalkResult]]:
    """A GIF of the walk from start - 2σ·direction to start + 2σ·direction and back (`direction`
    a flat unit vector, `sigma` its slider unit in latent units), written atomically."""
    start = np.array(start, dtype=np.float32).reshape(-1)
    direction = np.array(direction, dtype=np.float32).reshape(-1)

    def job(ctx: JobContext) -> Steps[WalkResult]:
        import torch

        from explorer.export import write_gif
        from explorer.jobs.latent import labels_tensor
        from models.images import to_uint8
        from models.steps import Progress

        model = ctx.model(source)
        amounts = np.linspace(-WALK_REACH, WALK_REACH, WALK_FRAMES, dtype=np.float32)
        points = torch.from_numpy(start[None] + (amounts * sigma)[:, None] * direction[None])
        frames = []
        batches = points.split(8)
        for i, batch in enumerate(batches):
            images = model.decode(batch.reshape(len(batch), *model.latent_shape), labels_tensor(label, len(batch)),
                                  psi=psi)
            frames.append(to_uint8(images))
            yield Progress(i + 1, len(batches), "walking")
        path = write_gif(out, np.concatenate(frames), fps=fps, scale=scale, pingpong=True, overwrite=True)
        return WalkResult(str(path), WALK_FRAMES)

    return job


def _labels(label: Any) -> Any:
    import torch

    if label is None or isinstance(label, int):
        return label
    return torch.as_tensor([float(w) for w in label], dtype=torch.float32)


def save_job(source: str, directions: Directions, out: str) -> Callable[[JobContext], str]:
    """Writes `directions` of the model `source` as our JSON file (models/direction_files.py)."""

    def job(ctx: JobContext) -> str:
        from models.direction_files import save_directions

        save_directions(out, directions, ctx.model(source))
        return out

    return job


def load_job(source: str, path: str) -> Callable[[JobContext], Directions]:
    """Directions for the model `source` from our JSON file or a GANSpace `.npz` component file;
    a file of another model, or a malformed one, fails with a message saying why."""

    def job(ctx: JobContext) -> Directions:
        from models.direction_files import load_directions

        return load_directions(path, ctx.model(source))

    return job
