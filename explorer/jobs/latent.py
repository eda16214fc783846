"""Jobs of the latent panel: decode one point (with the classifier's opinion), a grid of its
neighbours, and principal directions of the latent space.

The UI sends latents as flat float32 NumPy vectors and labels as None, a class index or a list of
class weights; everything comes back as uint8 pixels and NumPy arrays.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from explorer.jobs.common import to_uint8
from explorer.worker import JobContext
from models.data import DataError, load_dataset
from models.generative import GANModel, GenerativeModel
from models.latent import ganspace_directions, plane_grid, principal_directions

Label = int | Sequence[float] | np.ndarray | None

# GANSpace samples: enough latents for a stable PCA of a few thousand early features, small
# enough to finish in a couple of seconds on two CPU cores.
GANSPACE_SAMPLES = 3000
PRIOR_SAMPLES = 2000       # VAE fallback when the dataset is missing
BATCH = 250


@dataclass(frozen=True)
class Frame:
    image: np.ndarray                 # (H, W, C) uint8
    probs: np.ndarray | None = None   # (num_classes,) from the classifier, when one applies
    latent: np.ndarray | None = None  # (D,) the point decoded


@dataclass(frozen=True)
class NeighbourGrid:
    mosaic: np.ndarray                # (k*H + (k-1)*gap, k*W + (k-1)*gap, C) uint8
    k: int
    cell: tuple[int, int]             # (H, W) of one image
    gap: int


@dataclass(frozen=True)
class Directions:
    mean: np.ndarray                  # (D,)
    directions: np.ndarray            # (k, D) unit rows
    std: np.ndarray                   # (k,) spread of the samples along each direction
    method: str                       # "GANSpace" | "PCA of the test set" | ...
    message: str = ""                 # e.g. why a fallback was used


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


@contextmanager
def intra_op_threads(n: int) -> Iterator[None]:
    """Runs torch kernels on n threads for a while. Only the worker thread runs torch, so the
    process-wide setting is in effect this job's own."""
    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if before != n:
            torch.set_num_threads(before)


def decode(model: GenerativeModel, z: Tensor, label: Label, psi: float) -> Tensor:
    labels = labels_tensor(label, len(z))
    if isinstance(model, GANModel):
        return model.decode(z, labels, psi=psi)
    return model.decode(z, labels)


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
        with intra_op_threads(1):
            images = decode(model, z, label, psi)
            probs = None
            if judge is not None and tuple(judge.image_shape) == tuple(images.shape[1:]):
                probs = judge.predict(images)[0].float().cpu().numpy()
        flat = latent if latent is not None else z.reshape(-1).numpy().astype(np.float32)
        return Frame(to_uint8(images)[0], probs, flat)

    return job


def mosaic(images: np.ndarray, k: int, gap: int = 1, background: int = 40) -> np.ndarray:
    """(k*k, H, W, C) uint8, row-major -> one (k*H + (k-1)*gap, k*W + (k-1)*gap, C) image."""
    _, h, w, c = images.shape
    out = np.full((k * h + (k - 1) * gap, k * w + (k - 1) * gap, c), background, dtype=np.uint8)
    for i in range(k):
        for j in range(k):
            out[i * (h + gap): i * (h + gap) + h, j * (w + gap): j * (w + gap) + w] = images[i * k + j]
    return out


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
        ctx.check()
        images = decode(model, grid.reshape(k * k, *model.latent_shape), label, psi)
        pixels = to_uint8(images)
        return NeighbourGrid(mosaic(pixels, k), k, (pixels.shape[1], pixels.shape[2]), 1)

    return job


def directions_job(source: str, k: int = 10, label: Label = None, seed: int = 0,
                   data: str | None = None) -> Callable[[JobContext], Directions]:
    """Principal directions: GANSpace for GANs, PCA of the encoded test set for models with an
    encoder (falling back to encoded prior samples when the dataset is missing)."""

    def job(ctx: JobContext) -> Directions:
        model = ctx.model(source)
        k_ = max(1, min(k, model.latent_dim))
        if isinstance(model, GANModel):
            return _ganspace(ctx, model, k_, label, seed)
        if model.can_encode:
            return _encoded_pca(ctx, model, k_, label, seed, data)
        raise ValueError(f"principal directions need a GAN or a model with an encoder, not a {model.kind}")

    return job


def _ganspace(ctx: JobContext, model: GANModel, k: int, label: Label, seed: int) -> Directions:
    latents = model.sample_latent(GANSPACE_SAMPLES, seed)
    # The PCA and the regression after the activations take about a fifth of the time.
    total = len(latents) + len(latents) // 4
    done = 0

    def features(z: Tensor) -> Tensor:
        nonlocal done
        ctx.check()
        out = model.early_features(z, labels_tensor(label, len(z)))
        done += len(z)
        finished = done >= len(latents)
        ctx.progress(done, total, message="GANSpace: PCA" if finished else "GANSpace: activations")
        return out

    mean, directions, std = ganspace_directions(features, latents, k, batch_size=BATCH)
    return Directions(_np(mean), _np(directions), _np(std), "GANSpace")


def _encoded_pca(ctx: JobContext, model: GenerativeModel, k: int, label: Label, seed: int,
                 data: str | None) -> Directions:
    message = ""
    try:
        dataset = load_dataset(data, split="test", image_shape=model.image_shape)
        images = dataset.tensor()
        labels = dataset.labels_tensor() if dataset.has_labels else None
        method = "PCA of the encoded test set"
    except DataError as e:
        message = f"{e} — directions come from encoded samples of the prior instead"
        images, labels = None, None
        method = "PCA of encoded prior samples"
    if images is None:
        z = model.sample_latent(PRIOR_SAMPLES, seed)
        chunks = []
        for i, chunk in enumerate(z.split(BATCH)):
            ctx.check()
            chunks.append(decode(model, chunk, label, 1.0).cpu())
            ctx.progress(i + 1, 2 * len(z.split(BATCH)), message="decoding prior samples")
        images = torch.cat(chunks)
    if model.is_conditional and labels is None:
        labels = labels_tensor(label if label is not None else 0, len(images))
    codes = []
    batches = list(range(0, len(images), BATCH))
    for i, start in enumerate(batches):
        ctx.check()
        batch_labels = None if labels is None else labels[start:start + BATCH]
        codes.append(model.encode(images[start:start + BATCH], batch_labels).reshape(-1, model.latent_dim).cpu())
        ctx.progress(i + 1, len(batches), message="encoding")
    mean, directions, std = principal_directions(torch.cat(codes), k)
    return Directions(_np(mean), _np(directions), _np(std), method, message)


def _np(t: Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()
