"""The weights through which a network reads its latent: what SeFa (models/sefa.py) factorises.

Each matrix is (features, latent_dim): how the layer's outputs move when one latent coordinate
does. Only the latent's columns are kept; a conditional network's label-embedding inputs are not
part of the latent. The bundled networks read the latent in their first layer only, so the list
holds one matrix; a generator that feeds the latent to several layers (StyleGAN's per-layer style
affines) would list them coarse to fine.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


def latent_weight_matrices(net: nn.Module, latent_dim: int) -> list[Tensor]:
    """The (features, latent_dim) weight matrices of the layers of `net` that read the latent,
    coarse to fine. ValueError saying why for a network whose layers cannot be read."""
    if isinstance(net, torch.jit.ScriptModule):
        raise ValueError("it is a TorchScript program: its layers are code, not weights that can be read")
    if isinstance(net, (nn.Linear, nn.ConvTranspose2d)):
        return [input_matrix(net, latent_dim)]
    first = getattr(net, "first", None)
    if isinstance(first, nn.Sequential):
        return [input_matrix(first[0], latent_dim)]          # the GANs: z [| label] -> first[0]
    fc = getattr(getattr(net, "decoder", None), "fc", None)
    if isinstance(fc, nn.Linear):
        return [input_matrix(fc, latent_dim)]                # the VAEs: z [| label] -> decoder.fc
    raise ValueError("its first layer is not a linear map of the latent that can be read")


def input_matrix(layer: nn.Module, latent_dim: int) -> Tensor:
    """The (features, latent_dim) matrix of a Linear or a ConvTranspose2d applied to a latent of
    1 x 1 pixels, for the latent's inputs (the first latent_dim)."""
    weight = layer.weight.detach()
    if isinstance(layer, nn.Linear):                   # (out, in)
        matrix = weight
    elif isinstance(layer, nn.ConvTranspose2d):        # (in, out, kh, kw): each input writes out*kh*kw values
        matrix = weight.flatten(1).T
    else:
        raise ValueError(f"a {type(layer).__name__} is not a linear layer of the latent")
    if matrix.shape[1] < latent_dim:
        raise ValueError(f"the first layer reads {matrix.shape[1]} inputs, fewer than the latent's {latent_dim}")
    return matrix[:, :latent_dim].float()
