"""Jobs of the latent panel: decode one point (with the classifier's opinion) and a grid of its
neighbours (the Directions tab's jobs are in explorer/jobs/directions.py).

The UI sends latents as flat float32 NumPy vectors and labels as None, a class index or a list of
class weights; everything comes back as uint8 pixels and NumPy arrays.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from explorer.jobs.common import judges
from models.images import tile, to_uint8
from explorer.job_context import JobContext
from models.devices import torch_threads
from models.generative import GenerativeModel
from models.latent import plane_grid

Label = int | Sequence[float] | np.ndarray | None


@dataclass(frozen=True)
class Frame:
    image: np.ndarray                 # (H, W, C) uint8
    probs: np.ndarray | None = None   # (num_classes,) from the classifier, when one applies
    latent: np.ndarray | None = None  # (D,) the point decoded
    seed: int | None = None           # the prior sample decoded, when the point came from a seed
    realness: float | None = None     # the GAN's own discriminator's verdict, when its file kept it


@dataclass(frozen=True)
class NeighbourGrid:
    mosaic: np.ndarray                # (k*H + (k-1)*gap, k*W + (k-1)*gap, C) uint8
    k: int
    cell: tuple[int, int]             # (H, W) of one image
    gap: int


def labels_tensor(label: Label, n: int) -> Tensor | None:
    """None, a class index or class weights -> what the models' `labels` argument takes."""
    if label is None:
        return None
    if isinstance(label, (int, np.integer)):
        return torch.full((n,), int(label), dtype=torch.long)
    weights = torch.as_tensor(np.asarray(label, dtype=np.float32))
    return weights.reshape(1, -1).expand(n, -1).contiguous()


def latent_tensor(model: GenerativeModel, latent: np.ndarray) -> Tensor:
    """A flat vector (or a batch of them) -> (n, *latent_shape)."""
    flat = torch.from_numpy(np.ascontiguousarray(latent, dtype=np.float32))
    return flat.reshape(-1, *model.latent_shape)


def decode_job(source: str, latent: np.ndarray | None, label: Label = None, psi: float = 1.0,
               classifier: str | None = None, seed: int | None = None) -> Callable[[JobContext], Frame]:
    """One image at batch 1: the latency path of a slider drag, so nothing else happens here.
    With `latent` None, the point is the prior sample of `seed` (the Frame carries it back)."""
    if latent is None and seed is None:
        raise ValueError("decode_job needs a latent or a seed")
    latent = None if latent is None else np.array(latent, dtype=np.float32)  # a private copy

    def job(ctx: JobContext) -> Frame:
        model = ctx.model(source)
        judge = ctx.model(classifier) if classifier is not None else None
        z = model.sample_latent(1, int(seed)) if latent is None else latent_tensor(model, latent)
        # One image is too small to gain from parallel kernels: a second thread only waits for a
        # core that the UI thread needs, and stalls for tens of ms when the cores are busy.
        with torch_threads(1):
            labels = labels_tensor(label, 1)
            images = model.decode(z, labels, psi=psi)
            probs = None
            if judges(judge, model):
                probs = judge.classifier.predict(images)[0].float().cpu().numpy()
            realness = None
            if model.discriminator is not None:
                realness = float(model.discriminator.realness(images, model.labels_on_device(labels, 1))[0])
        if latent is not None:
            return Frame(to_uint8(images)[0], probs, latent, realness=realness)
        return Frame(to_uint8(images)[0], probs, z.reshape(-1).numpy().astype(np.float32), int(seed), realness)

    return job


def neighbours_job(source: str, latent: np.ndarray, u: np.ndarray, v: np.ndarray, extent: float = 1.0,
                   k: int = 5, label: Label = None, psi: float = 1.0) -> Callable[[JobContext], NeighbourGrid]:
    """A k x k grid of points latent + s u + t v with s, t in [-extent, extent]: s grows left to
    right and t bottom to top, so the centre cell is the point itself. u and v are flat vectors
    (a unit vector per latent dimension, or a principal direction scaled by its spread)."""
    latent = np.array(latent, dtype=np.float32)
    u = np.array(u, dtype=np.float32)
    v = np.array(v, dtype=np.float32)

    def job(ctx: JobContext) -> NeighbourGrid:
        model = ctx.model(source)
        grid = plane_grid(torch.from_numpy(latent), torch.from_numpy(u), torch.from_numpy(v), k, extent)
        grid = grid.flip(0)                  # plane_grid's rows go along +v; on screen +v is up
        images = model.decode(grid.reshape(k * k, *model.latent_shape), labels_tensor(label, k * k), psi=psi)
        pixels = to_uint8(images)
        return NeighbourGrid(tile(pixels, k, gap=1), k, (pixels.shape[1], pixels.shape[2]), 1)

    return job
