"""SeFa, closed-form directions of a generator from its weights alone.

Shen & Zhou, "Closed-Form Factorization of Latent Semantics in GANs", CVPR 2021. A layer that
reads the latent maps it by a matrix A (features x latent_dim); the unit directions n that move
its output most, max |A n|^2, are the eigenvectors of A^T A with the largest eigenvalues. No
sampling and no training: one small eigendecomposition, in milliseconds.

As in the paper's code, each output feature's weights are scaled to unit length before the
factorisation, so no feature counts more because its weights happen to be large (a batch norm
after the layer rescales whole features, and this makes its scale irrelevant). Where several
layers read the latent (StyleGAN's per-layer styles), stacking the rows of a range of them finds
the directions of those layers: early ones change layout, later ones finer detail. The bundled
generators read the latent in their first layer only, so their one range is layer 0.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from models.directions import SEFA, Directions
from models.generative import GenerativeModel
from models.latent import _fix_signs


def sefa_basis(matrices: Sequence[Tensor], k: int,
               layers: tuple[int, int] | None = None) -> tuple[Tensor, Tensor, tuple[int, int]]:
    """(directions (k, D) unit rows, eigenvalues (k,), the layer range used) of the weight
    matrices (features_i, D) of the layers in [start, stop) of `layers` (all of them for None)."""
    if not matrices:
        raise ValueError("no layer reads the latent")
    start, stop = (0, len(matrices)) if layers is None else (int(layers[0]), int(layers[1]))
    if not 0 <= start < stop <= len(matrices):
        raise ValueError(f"layer range {start}:{stop} is not within the {len(matrices)} layer(s) that read "
                         f"the latent (0:{len(matrices)})")
    d = matrices[0].shape[1]
    if any(m.ndim != 2 or m.shape[1] != d for m in matrices):
        raise ValueError("the layers' weight matrices differ in their latent width")
    if not 1 <= k <= d:
        raise ValueError(f"k must be in [1, {d}] for a latent of {d} dimensions, got {k}")
    a = torch.cat([m.detach().to("cpu", torch.float64) for m in matrices[start:stop]])
    norms = a.norm(dim=1, keepdim=True)
    a = a[norms[:, 0] > 0] / norms[norms[:, 0] > 0]
    if len(a) == 0:
        raise ValueError("the layers' weights are all zero")
    eigenvalues, eigenvectors = torch.linalg.eigh(a.T @ a)       # ascending
    order = torch.argsort(eigenvalues, descending=True)[:k]
    directions = _fix_signs(eigenvectors[:, order].T.contiguous())
    return directions.float(), eigenvalues[order].clamp_min(0).float(), (start, stop)


def sefa_of(model: GenerativeModel, k: int, layers: tuple[int, int] | None = None) -> Directions:
    """The model's k (or fewer) SeFa directions. The latent is N(0, I), so one slider unit (the σ of
    the prior's projection on a unit direction) is 1; each direction's scale is its eigenvalue.
    ValueError saying why for a model whose weights that read the latent cannot be read."""
    try:
        matrices = _weight_matrices(model)
    except ValueError as e:
        raise ValueError(f"SeFa does not apply to {model.name}: {e}") from None
    k = max(1, min(int(k), model.latent_dim))
    directions, eigenvalues, used = sefa_basis(matrices, k, layers)
    count = len(directions)
    return Directions(np.zeros(model.latent_dim, np.float32), directions.numpy(), np.ones(count, np.float32), SEFA,
                      names=tuple(f"SeFa {j + 1}" for j in range(count)), scale=eigenvalues.numpy(),
                      scale_name="eigenvalue", layers=used)


def layer_count(model: GenerativeModel) -> int:
    """How many layers of `model` read the latent: the layer ranges SeFa can be given are within
    0:layer_count. ValueError saying why when SeFa does not apply."""
    return len(_weight_matrices(model))


def _weight_matrices(model: GenerativeModel) -> list[Tensor]:
    if model.latent_weights is None:
        if model.sampler is not None:
            why = "its latent is the starting noise of a many-step sampler, not the input of one layer"
        elif model.upscaler is not None or model.translator is not None:
            why = "it turns images into images: it has no latent to factorise"
        elif model.pyramid is not None:
            why = ("each level of its pyramid has a generator of its own reading its own part of the latent, "
                   "so no one layer reads it all")
        else:
            why = ("it exposes no weights that read the latent (a TorchScript program's layers are code, "
                   "not weights that can be read)")
        raise ValueError(why)
    return list(model.latent_weights.matrices())
