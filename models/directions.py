"""Principal directions of a model's latent space: the one function every view and command uses.

- A model with an early layer (a GAN): GANSpace (Härkönen et al. 2020), the principal components
  of its first layer's activations over prior samples, carried back to the latent space.
- A model with an encoder (a VAE): PCA of the encoded test set, the aggregate posterior; without
  the dataset, of the model's own prior samples re-encoded.

COUNT directions are always computed, so the first two of the compare view are the first two of
the latent view's sliders: the same data and the same seeded SVD give the same directions.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from models.data import ImageDataset
from models.generative import GenerativeModel, Labels
from models.latent import ganspace_basis, principal_directions
from models.steps import Progress, Steps

COUNT = 12
# GANSpace samples: enough latents for a stable PCA of a few thousand early features, few enough
# to finish in about a second on two CPU cores.
GANSPACE_SAMPLES = 3000
PRIOR_SAMPLES = 2000       # encoded prior samples, when the dataset is missing
BATCH = 250

GANSPACE = "GANSpace"
ENCODED_PCA = "PCA of the encoded test set"
PRIOR_PCA = "PCA of encoded prior samples"


@dataclass(frozen=True)
class Directions:
    mean: np.ndarray                  # (D,)
    directions: np.ndarray            # (k, D) unit rows, ordered by variance
    std: np.ndarray                   # (k,) spread of the samples along each direction
    method: str                       # GANSPACE | ENCODED_PCA | PRIOR_PCA
    message: str = ""                 # e.g. why a fallback was used


def method_for(capabilities: Iterable[str]) -> str | None:
    """How a model with these capabilities gets its directions; None when it cannot."""
    names = set(capabilities)
    if "early_layer" in names:
        return GANSPACE
    if "encoder" in names:
        return ENCODED_PCA
    return None


def principal_directions_of(model: GenerativeModel, labels: Labels = None, seed: int = 0,
                            data: ImageDataset | None = None, data_problem: str = "") -> Steps[Directions]:
    """The model's COUNT (or fewer) principal directions, as a step iterator. `labels` is the
    class (an index, or class weights) a conditional model draws while they are found; `data` is
    the test split a model with an encoder is measured on (None: `data_problem` says why not)."""
    k = max(1, min(COUNT, model.latent_dim))
    if model.early_layer is not None:
        return (yield from _ganspace(model, k, labels, seed))
    if model.encoder is not None:
        return (yield from _encoded_pca(model, k, labels, seed, data, data_problem))
    raise ValueError(f"{model.name} has neither an encoder nor an early layer: it has no principal "
                     f"directions")


def _ganspace(model: GenerativeModel, k: int, labels: Labels, seed: int) -> Steps[Directions]:
    latents = model.sample_latent(GANSPACE_SAMPLES, seed)
    batches = latents.split(BATCH)
    total = len(batches) + 1          # the PCA after the activations takes about one batch's time
    features = []
    for i, z in enumerate(batches):
        features.append(model.early_layer.features(z, _repeat(labels, len(z))).reshape(len(z), -1).float())
        yield Progress(i + 1, total, "GANSpace: activations")
    yield Progress(len(batches), total, "GANSpace: PCA")
    mean, directions, std = ganspace_basis(torch.cat(features), latents.to(features[0].device), k)
    return Directions(_np(mean), _np(directions), _np(std), GANSPACE)


def _encoded_pca(model: GenerativeModel, k: int, labels: Labels, seed: int, data: ImageDataset | None,
                 data_problem: str) -> Steps[Directions]:
    message, method = "", ENCODED_PCA
    if data is not None:
        images = data.tensor()
        true = data.labels_tensor() if data.has_labels else None
    elif model.prior is not None:
        message = f"{data_problem} — directions come from encoded samples of the prior instead"
        method, true = PRIOR_PCA, None
        chunks = []
        batches = model.sample_latent(PRIOR_SAMPLES, seed).split(BATCH)
        for i, batch in enumerate(batches):
            chunks.append(model.decode(batch, _repeat(labels, len(batch))).cpu())
            yield Progress(i + 1, len(batches), "decoding prior samples")
        images = torch.cat(chunks)
    else:
        raise ValueError(f"{model.name}'s directions are measured on the test set: {data_problem}")
    codes = []
    starts = range(0, len(images), BATCH)
    for i, start in enumerate(starts):
        batch_labels = _encoding_labels(model, labels, true, start, min(len(images), start + BATCH))
        codes.append(model.encoder.encode(images[start:start + BATCH], batch_labels).reshape(-1, model.latent_dim).cpu())
        yield Progress(i + 1, len(starts), "encoding")
    mean, directions, std = principal_directions(torch.cat(codes), k)
    return Directions(_np(mean), _np(directions), _np(std), method, message)


def _encoding_labels(model: GenerativeModel, labels: Labels, true: Tensor | None, start: int, stop: int) -> Labels:
    """A conditional encoder reads each real image with its own class (the chosen class where the
    dataset has none)."""
    if model.conditional is None:
        return None
    chosen = _repeat(labels if labels is not None else 0, stop - start)
    if true is None or chosen.is_floating_point():
        return chosen
    part = true[start:stop]
    return torch.where(part >= 0, part, chosen)


def _repeat(labels: Labels | int, n: int) -> Labels:
    """One label (an index, or a (K,) vector of class weights) for n samples."""
    if labels is None:
        return None
    labels = torch.as_tensor(labels)
    if labels.is_floating_point():
        return labels.reshape(1, -1).expand(n, -1).contiguous()
    return labels.reshape(-1).expand(n).contiguous() if labels.numel() == 1 else labels


def _np(t: Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()
