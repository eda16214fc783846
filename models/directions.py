"""Directions of a model's latent space: one type for every method, and the one function every
view and command uses to find them.

Methods (each a function with its paper in its docstring):

- principal directions: for a model with an early layer (a GAN), GANSpace (Härkönen et al.
  2020), the principal components of its first layer's activations over prior samples, carried
  back to the latent space; for a model with an encoder (a VAE), PCA of the encoded test set, the
  aggregate posterior (without the dataset, of the model's own prior samples re-encoded);
- SeFa (models/sefa.py): closed-form, from the weights that read the latent;
- class boundaries and attribute vectors (models/class_directions.py): supervised by the
  bundled classifier.

COUNT principal directions are always computed, so the first two of the compare view are the
first two of the latent view's sliders: the same data and the same seeded SVD give the same
directions.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from models.data import ImageDataset
from models.capabilities import Labels
from models.generative import GenerativeModel
from models.latent import ganspace_basis, principal_directions
from models.steps import Progress, Steps

COUNT = 12
# GANSpace samples: enough latents for a stable PCA of a few thousand early features, few enough
# to finish in about a second on two CPU cores.
GANSPACE_SAMPLES = 3000
PRIOR_SAMPLES = 2000       # encoded prior samples, when the dataset is missing
BATCH = 250
# Classifier-labelled prior samples of a class boundary or an attribute vector: 5,000 label every
# class of the bundled models with hundreds of samples and take about two seconds on one core.
LABELLED_SAMPLES = 5000

# Directions.method: how a set was found, for people
GANSPACE = "GANSpace"
ENCODED_PCA = "PCA of the encoded test set"
PRIOR_PCA = "PCA of encoded prior samples"
SEFA = "SeFa"
BOUNDARY = "class boundaries"
ATTRIBUTE = "attribute vectors"
GANSPACE_FILE = "GANSpace components from a file"

# Directions.scale_name: what a direction's scale is
SIGMA = "σ of the projection"

# DirectionSpec.method: what a caller asks for
PRINCIPAL_KEY, SEFA_KEY, BOUNDARY_KEY, ATTRIBUTE_KEY = "principal", "sefa", "boundaries", "attributes"
METHOD_KEYS = (PRINCIPAL_KEY, SEFA_KEY, BOUNDARY_KEY, ATTRIBUTE_KEY)


@dataclass(frozen=True)
class Directions:
    """Unit directions of a latent space found by one method, with a name and a reach each.

    A slider along direction j moves a point by amount * std[j] * directions[j], so amounts are
    in standard deviations of the latents' projection on the direction. `scale` is the method's
    own figure of each direction, `scale_name` says which: the σ itself for PCA, the eigenvalue
    for SeFa, the margin for a class boundary, the length for an attribute vector."""

    mean: np.ndarray                  # (D,) centre of the samples the method saw (the prior's mean, 0, for SeFa)
    directions: np.ndarray            # (k, D) unit rows, the most important first
    std: np.ndarray                   # (k,) spread of the latents along each direction: one slider unit
    method: str                       # GANSPACE, ENCODED_PCA, PRIOR_PCA, SEFA, BOUNDARY, ATTRIBUTE, GANSPACE_FILE
    message: str = ""                 # e.g. why a fallback was used
    names: tuple[str, ...] = ()       # one per direction ("PC1", "towards Sneaker"); default PC1, PC2, ...
    scale: np.ndarray = field(default=None)   # (k,) the method's figure per direction; default std
    scale_name: str = SIGMA
    layers: tuple[int, int] | None = None     # [start, stop) of the layers that read the latent (SeFa)

    def __post_init__(self) -> None:
        k = len(self.directions)
        if self.directions.ndim != 2 or self.mean.shape != self.directions.shape[1:] or self.std.shape != (k,):
            raise ValueError(f"directions {self.directions.shape}, mean {self.mean.shape} and std "
                             f"{self.std.shape} do not fit together")
        if not self.names:
            object.__setattr__(self, "names", tuple(f"PC{j + 1}" for j in range(k)))
        if self.scale is None:
            object.__setattr__(self, "scale", self.std.copy())
        if len(self.names) != k or self.scale.shape != (k,):
            raise ValueError(f"{len(self.names)} names and {self.scale.shape} scales for {k} directions")

    def __len__(self) -> int:
        return len(self.directions)


@dataclass(frozen=True)
class DirectionSpec:
    """What to find: a method (METHOD_KEYS) and its choices. Hashable, so it keys a cache."""

    method: str = PRINCIPAL_KEY
    count: int = COUNT                    # principal, SeFa: how many
    layers: tuple[int, int] | None = None  # SeFa: [start, stop) of the layers that read the latent; None: all
    towards: int | None = None            # boundaries, attributes: this class; None: one direction per class
    away: int | None = None               # ... from this class; None: from the rest
    keep: tuple[int, ...] = ()            # boundaries: classes whose own boundary the direction must not cross
    samples: int = LABELLED_SAMPLES       # boundaries, attributes: classifier-labelled prior samples


def method_for(capabilities: Iterable[str]) -> str | None:
    """How a model with these capabilities gets its principal directions; None when it cannot."""
    names = set(capabilities)
    if "early_layer" in names:
        return GANSPACE
    if "encoder" in names:
        return ENCODED_PCA
    return None


def methods_for(capabilities: Iterable[str]) -> dict[str, str]:
    """Every method key (METHOD_KEYS) mapped to "" where a model with these capabilities has it, else to why
    not. The supervised methods also need a classifier that reads the model's images."""
    names = set(capabilities)
    many_steps = "sampler" in names
    sampled_why = ("its latent is the starting noise of a many-step sampler: the thousands of labelled samples "
                   "this needs would take many minutes" if many_steps else
                   "it has no prior to draw labelled samples from")
    return {
        PRINCIPAL_KEY: "" if method_for(names) else "it has neither an encoder nor an early layer",
        SEFA_KEY: "" if "latent_weights" in names else
        "its latent is the starting noise of a many-step sampler, not the input of one layer" if many_steps else
        "each pyramid level's generator reads its own part of the latent" if "pyramid" in names else
        "it exposes no weights that read the latent (a TorchScript generator)",
        BOUNDARY_KEY: "" if "prior" in names and not many_steps else sampled_why,
        ATTRIBUTE_KEY: "" if ("encoder" in names or "prior" in names) and not many_steps else sampled_why,
    }


def directions_of(model: GenerativeModel, spec: DirectionSpec, *, judge: GenerativeModel | None = None,
                  labels: Labels = None, seed: int = 0, data: ImageDataset | None = None,
                  data_problem: str = "") -> Steps[Directions]:
    """The directions `spec` asks for, as a step iterator. `judge` is the classifier the
    supervised methods label images with; `labels` the class (an index, or class weights) a
    conditional model draws; `data` the test split a model with an encoder is measured on (None:
    `data_problem` says why not). ValueError saying why when the method does not apply."""
    if spec.method == PRINCIPAL_KEY:
        return (yield from principal_directions_of(model, labels, seed, data, data_problem, count=spec.count))
    if spec.method == SEFA_KEY:
        from models.sefa import sefa_of

        return sefa_of(model, spec.count, spec.layers)
    if spec.method in (BOUNDARY_KEY, ATTRIBUTE_KEY):
        from models import class_directions

        if spec.method == BOUNDARY_KEY:
            return (yield from class_directions.class_boundaries_of(model, judge, spec, labels, seed))
        return (yield from class_directions.attribute_vectors_of(model, judge, spec, labels, seed, data, data_problem))
    raise ValueError(f"unknown method {spec.method!r}: use one of {', '.join(METHOD_KEYS)}")


def principal_directions_of(model: GenerativeModel, labels: Labels = None, seed: int = 0,
                            data: ImageDataset | None = None, data_problem: str = "",
                            count: int = COUNT) -> Steps[Directions]:
    """The model's `count` (or fewer) principal directions, as a step iterator. `labels` is the
    class (an index, or class weights) a conditional model draws while they are found; `data` is
    the test split a model with an encoder is measured on (None: `data_problem` says why not)."""
    k = max(1, min(count, model.latent_dim))
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
        features.append(model.early_layer.features(z, repeat_labels(labels, len(z))).reshape(len(z), -1).float())
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
            chunks.append(model.decode(batch, repeat_labels(labels, len(batch))).cpu())
            yield Progress(i + 1, len(batches), "decoding prior samples")
        images = torch.cat(chunks)
    else:
        raise ValueError(f"{model.name}'s directions are measured on the test set: {data_problem}")
    codes = yield from encode_images(model, images, labels, true)
    mean, directions, std = principal_directions(codes, k)
    return Directions(_np(mean), _np(directions), _np(std), method, message)


def encode_images(model: GenerativeModel, images: Tensor, labels: Labels = None,
                  true: Tensor | None = None) -> Steps[Tensor]:
    """Flat latents (n, D) on the CPU of images (n, C, H, W) by the model's encoder, BATCH at a
    time. A conditional encoder reads each image with its class in `true` (-1: none), else with
    `labels`, the class the model draws."""
    codes = []
    starts = range(0, len(images), BATCH)
    for i, start in enumerate(starts):
        batch_labels = _encoding_labels(model, labels, true, start, min(len(images), start + BATCH))
        codes.append(model.encoder.encode(images[start:start + BATCH], batch_labels).reshape(-1, model.latent_dim).cpu())
        yield Progress(i + 1, len(starts), "encoding")
    return torch.cat(codes)


def _encoding_labels(model: GenerativeModel, labels: Labels, true: Tensor | None, start: int, stop: int) -> Labels:
    """A conditional encoder reads each real image with its own class (the chosen class where the
    dataset has none)."""
    if model.conditional is None:
        return None
    chosen = repeat_labels(labels if labels is not None else 0, stop - start)
    if true is None or chosen.is_floating_point():
        return chosen
    part = true[start:stop]
    return torch.where(part >= 0, part, chosen)


def repeat_labels(labels: Labels | int, n: int) -> Labels:
    """One label (an index, or a (K,) vector of class weights) for n samples."""
    if labels is None:
        return None
    labels = torch.as_tensor(labels)
    if labels.is_floating_point():
        return labels.reshape(1, -1).expand(n, -1).contiguous()
    return labels.reshape(-1).expand(n).contiguous() if labels.numel() == 1 else labels


def _np(t: Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()
