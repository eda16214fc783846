"""A Gaussian mixture prior fitted to a trained VAE's encoded training set.

Latents drawn from N(0, I) land partly where no training image was encoded (the "holes" between
the aggregate posterior's clusters), and the decoder draws unlikely hybrids there. Fitting a
density to the encoded training images after training and sampling from it instead is Ghosh et
al. 2020's ex-post density estimation ("From Variational to Deterministic Autoencoders", ICLR
2020, §5): a mixture of Gaussians with full covariances, fitted by EM (scikit-learn).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

MAX_COMPONENTS = 64        # bounds what a checkpoint's config can ask to be allocated


def fit_mixture(latents: np.ndarray, components: int, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """(weights (K,), means (K, D), scale_tril (K, D, D)) of a K-component mixture fitted to
    latents (n, D); scale_tril is the Cholesky factor of each component's covariance."""
    from sklearn.mixture import GaussianMixture

    if not 1 <= components <= MAX_COMPONENTS:
        raise ValueError(f"a mixture prior has 1 to {MAX_COMPONENTS} components, not {components}")
    if len(latents) < components * 2:
        raise ValueError(f"{len(latents)} latents are too few to fit {components} components")
    # reg_covar keeps every covariance positive definite even for a nearly flat cluster
    gmm = GaussianMixture(components, covariance_type="full", reg_covar=1e-4, random_state=seed)
    gmm.fit(np.asarray(latents, dtype=np.float64))
    scale_tril = np.linalg.cholesky(gmm.covariances_)
    return (torch.as_tensor(gmm.weights_, dtype=torch.float32), torch.as_tensor(gmm.means_, dtype=torch.float32),
            torch.as_tensor(scale_tril, dtype=torch.float32))


def sample_mixture(weights: Tensor, means: Tensor, scale_tril: Tensor, n: int, seed: int) -> Tensor:
    """n latents (n, D) from the mixture, reproducible from the seed, on the CPU. Weights need
    not sum to one; a mixture whose weights are not finite and positive is refused."""
    weights = weights.detach().to("cpu", torch.float64)
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()) or float(weights.sum()) <= 0:
        raise ValueError("the model's mixture prior has weights that are not finite and positive; "
                         "its file may be damaged: retrain or re-copy it")
    generator = torch.Generator().manual_seed(int(seed))
    picked = torch.multinomial(weights, n, replacement=True, generator=generator)
    noise = torch.randn((n, means.shape[1], 1), generator=generator)
    means, scale_tril = means.detach().to("cpu", torch.float32), scale_tril.detach().to("cpu", torch.float32)
    return means[picked] + (torch.tril(scale_tril[picked]) @ noise).squeeze(-1)
