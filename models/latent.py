"""Latent-space geometry: interpolation, keyframe paths, principal directions, planes.

GAN inversion lives in models/inversion.py.

Latents are N(0, I) for every model (see the spec), of any shape: a (16,) VAE code, a (100,) GAN
noise vector or a (1, 28, 28) DDPM x_T. Functions that work on a single latent take it in its
own shape; functions that see a population (PCA, GANSpace) flatten each latent to D numbers and
return flat (D,) vectors; ``move_along`` brings such flat directions back to the latent's shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

__all__ = [
    "lerp",
    "slerp",
    "path",
    "principal_directions",
    "ganspace_directions",
    "move_along",
    "plane_through",
    "plane_grid",
]


def _as_ts(ts: Tensor | Sequence[float] | float, dtype: torch.dtype, device: torch.device) -> Tensor:
    ts = torch.as_tensor(ts, dtype=dtype, device=device)
    if ts.ndim > 1:
        raise ValueError(f"ts must be a scalar or 1-D, got shape {tuple(ts.shape)}")
    return ts.reshape(-1)


def _check_pair(a: Tensor, b: Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(f"endpoints differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")


def lerp(a: Tensor, b: Tensor, ts: Tensor | Sequence[float]) -> Tensor:
    """Linear interpolation, (len(ts), *a.shape). ts = 0 gives ``a`` and ts = 1 ``b`` exactly."""
    _check_pair(a, b)
    ts = _as_ts(ts, a.dtype, a.device).reshape((-1,) + (1,) * a.ndim)
    # (1 - t) a + t b rather than a + t (b - a): the latter misses b by rounding at t = 1.
    return (1.0 - ts) * a + ts * b


def slerp(a: Tensor, b: Tensor, ts: Tensor | Sequence[float], eps: float = 1e-4) -> Tensor:
    """Spherical interpolation, (len(ts), *a.shape), over the flattened latents.

    The direction moves along the great circle from a/|a| to b/|b| and the norm moves linearly
    from |a| to |b|, so every frame stays on the shell where Gaussian samples live (lerp's
    midpoint of two independent samples is ~1/sqrt(2) too short). With |a| = |b| this is the
    classic slerp. When the endpoints are (anti)parallel within ``eps`` (sin of the angle), or
    one is zero, the great circle is undefined and lerp is used.
    """
    _check_pair(a, b)
    # Coefficients in float64: sin(t w) / sin(w) loses digits for small angles in float32.
    a64 = a.reshape(-1).to(torch.float64)
    b64 = b.reshape(-1).to(torch.float64)
    ts64 = _as_ts(ts, torch.float64, a.device)
    na, nb = a64.norm(), b64.norm()
    if float(na) == 0.0 or float(nb) == 0.0:
        return lerp(a, b, ts)
    cos = (a64 @ b64 / (na * nb)).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    if float(sin) < eps:
        return lerp(a, b, ts)
    c_a = torch.sin((1.0 - ts64) * omega) / sin
    c_b = torch.sin(ts64 * omega) / sin
    norm_t = (1.0 - ts64) * na + ts64 * nb
    # At t = 0 the coefficients are exactly (1, 0) and norm_t / na exactly 1 (and mirrored at
    # t = 1), so the endpoints come back bit-exact after the cast.
    w_a = (c_a * norm_t / na)[:, None]
    w_b = (c_b * norm_t / nb)[:, None]
    out = w_a * a64 + w_b * b64
    return out.to(a.dtype).reshape((-1,) + tuple(a.shape))


def path(keyframes: Sequence[Tensor], frames: int, spherical: bool) -> Tensor:
    """A piecewise lerp/slerp path through ``keyframes``: (frames, *shape).

    Each segment gets an equal share of the frames. The first and last frames are the first and
    last keyframes exactly; with frames >= len(keyframes) every keyframe appears exactly, at
    frame round(j * (frames - 1) / (len(keyframes) - 1)).
    """
    keyframes = list(keyframes)
    if not keyframes:
        raise ValueError("path needs at least one keyframe")
    shape = keyframes[0].shape
    for k in keyframes[1:]:
        if k.shape != shape:
            raise ValueError(f"keyframes differ in shape: {tuple(shape)} vs {tuple(k.shape)}")
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    K = len(keyframes)
    if K == 1:
        return keyframes[0].unsqueeze(0).expand((frames,) + tuple(shape)).clone()
    if frames < 2:
        raise ValueError("a path through two or more keyframes needs at least 2 frames")
    interpolate = slerp if spherical else lerp

    if frames >= K:
        positions = [round(j * (frames - 1) / (K - 1)) for j in range(K)]
    else:
        positions = None  # too few frames to show every keyframe; sample the path uniformly

    out = torch.empty((frames,) + tuple(shape), dtype=keyframes[0].dtype,
                      device=keyframes[0].device)
    if positions is not None:
        for j in range(K - 1):
            start, stop = positions[j], positions[j + 1]
            n = stop - start
            # Include the segment's end only on the last segment; it is the next one's start.
            last = j == K - 2
            ts = [i / n for i in range(n + 1 if last else n)]
            out[start:start + len(ts)] = interpolate(keyframes[j], keyframes[j + 1], ts)
    else:
        for i in range(frames):
            s = i * (K - 1) / (frames - 1)
            j = min(int(math.floor(s)), K - 2)
            out[i] = interpolate(keyframes[j], keyframes[j + 1], [s - j])[0]
    return out


def _fix_signs(directions: Tensor) -> Tensor:
    # SVD's sign is arbitrary; make the largest-magnitude entry of each row positive so the same
    # data always gives the same slider orientation.
    idx = directions.abs().argmax(dim=1, keepdim=True)
    signs = torch.sign(directions.gather(1, idx))
    signs[signs == 0] = 1.0
    return directions * signs


# Above this many rows and columns, the top components come from a randomized SVD (Halko et al.
# 2011), a few times faster than the full one and equal to it to float precision for the few
# leading components asked for.
_EXACT_SVD_LIMIT = 512
_POWER_ITERATIONS = 6


def _pca(x: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """(mean (D,), components (k, D), singular values (k,)) of the rows of x (N, D)."""
    n, d = x.shape
    if n < 2:
        raise ValueError(f"PCA needs at least 2 samples, got {n}")
    if not 1 <= k <= min(n, d):
        raise ValueError(f"k must be in [1, {min(n, d)}] for {n} samples of dimension {d}")
    mean = x.mean(dim=0)
    centred = x - mean
    if min(n, d) <= _EXACT_SVD_LIMIT or 4 * k >= min(n, d):
        _, s, vh = torch.linalg.svd(centred, full_matrices=False)
        return mean, _fix_signs(vh[:k]), s[:k]
    with torch.random.fork_rng(devices=[]):      # the same data always gives the same components
        torch.manual_seed(0)
        _, s, v = torch.svd_lowrank(centred, q=min(k + 10, min(n, d)), niter=_POWER_ITERATIONS)
    return mean, _fix_signs(v[:, :k].T.contiguous()), s[:k]


def principal_directions(samples: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """PCA of latent samples (N, *latent_shape): (mean (D,), directions (k, D), std (k,)).

    Directions are unit rows, ordered by variance; std is the standard deviation of the samples
    along each (unbiased, N - 1).
    """
    x = samples.reshape(samples.shape[0], -1)
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    mean, directions, s = _pca(x, k)
    std = s / math.sqrt(x.shape[0] - 1)
    return mean, directions, std


def ganspace_directions(
    generator_features: Callable[[Tensor], Tensor],
    latents: Tensor,
    k: int,
    batch_size: int = 256,
) -> tuple[Tensor, Tensor, Tensor]:
    """`ganspace_basis` of the activations ``generator_features(z)`` returns for latents z,
    computed batch_size latents at a time (e.g. ``MLPGenerator.early_features``)."""
    if latents.shape[0] < 2:
        raise ValueError("ganspace_directions needs at least 2 latents")
    with torch.no_grad():
        features = torch.cat([generator_features(chunk).reshape(chunk.shape[0], -1).float()
                              for chunk in latents.split(batch_size)])
    return ganspace_basis(features, latents, k)


def ganspace_basis(features: Tensor, latents: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """Interpretable latent directions after GANSpace (Härkönen et al. 2020).

    `features` (N, F) are early-layer activations of latents (N, ...). PCA of the activations
    gives components V and per-sample coordinates x_i = V (y_i - mean_y); the latent basis U
    solves the least-squares problem min_U sum_i |U^T x_i - (z_i - mean_z)|^2, so row j of U is
    the latent-space direction that moves the activations along component j. Returns (mean
    latent (D,), unit directions (k, D), std (k,) of the latents' projection on each direction).
    """
    y = features.reshape(features.shape[0], -1).float()
    z = latents.reshape(latents.shape[0], -1).to(device=y.device, dtype=y.dtype)
    if z.shape[0] < 2 or y.shape[0] != z.shape[0]:
        raise ValueError(f"GANSpace needs the features of at least 2 latents, got {y.shape[0]} "
                         f"features for {z.shape[0]} latents")
    if not 1 <= k <= min(y.shape[1], z.shape[1], z.shape[0] - 1):
        raise ValueError(
            f"k must be in [1, {min(y.shape[1], z.shape[1], z.shape[0] - 1)}] for "
            f"{z.shape[0]} latents of dimension {z.shape[1]} and {y.shape[1]} features"
        )
    y_mean, components, _ = _pca(y, k)
    coords = (y - y_mean) @ components.T  # (N, k)
    z_mean = z.mean(dim=0)
    z_c = z - z_mean
    u = torch.linalg.lstsq(coords, z_c).solution  # (k, D)
    norms = u.norm(dim=1, keepdim=True)
    if bool((norms == 0).any()):
        raise ValueError("a feature component does not depend on the latent; use a smaller k")
    directions = u / norms
    std = (z_c @ directions.T).std(dim=0)
    return z_mean.to(latents.device), directions.to(latents.device), std.to(latents.device)


def move_along(z: Tensor, directions: Tensor, amounts: Tensor | Sequence[float]) -> Tensor:
    """z + sum_j amounts[j] * directions[j], with flat (k, D) directions reshaped to z's latent.

    z is one latent (*latent_shape) or a batch (n, *latent_shape); amounts is (k,) (the same for
    every latent) or (n, k). Scale amounts by the std from the PCA functions for sliders in
    units of standard deviations.
    """
    directions = directions.to(device=z.device, dtype=z.dtype)
    amounts = torch.as_tensor(amounts, dtype=z.dtype, device=z.device)
    k, d = directions.shape
    if amounts.shape[-1] != k:
        raise ValueError(f"{amounts.shape[-1]} amounts for {k} directions")
    offset = amounts @ directions  # (d,) or (n, d)
    if z.numel() == d:
        if offset.ndim == 1:
            return z + offset.reshape(z.shape)
        return z.unsqueeze(0) + offset.reshape((-1,) + tuple(z.shape))
    if z.shape[0] * d != z.numel():
        raise ValueError(f"latent of shape {tuple(z.shape)} does not match directions of size {d}")
    return z + offset.reshape((-1,) + tuple(z.shape[1:]))


def plane_through(a: Tensor, b: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(origin, u, v) of the plane through three latents: a + s u + t v is b at (1, 0), c at (0, 1)."""
    _check_pair(a, b)
    _check_pair(a, c)
    return a.clone(), b - a, c - a


def plane_grid(
    origin: Tensor,
    u: Tensor,
    v: Tensor,
    k: int,
    extent: float | tuple[float, float] = 1.0,
) -> Tensor:
    """A k x k grid of latents origin + s u + t v: (k, k, *origin.shape).

    ``extent`` e spans s, t over [-e, e]; a pair (lo, hi) spans [lo, hi] (use (0, 1) with
    ``plane_through`` to put a, b and c at three corners). Element [i, j] has t from row i and s
    from column j, so rows move along v and columns along u.
    """
    _check_pair(origin, u)
    _check_pair(origin, v)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    lo, hi = (-float(extent), float(extent)) if isinstance(extent, (int, float)) else extent
    coords = torch.linspace(float(lo), float(hi), k, dtype=origin.dtype, device=origin.device)
    bshape = (1,) * origin.ndim
    s = coords.reshape((1, k) + bshape)
    t = coords.reshape((k, 1) + bshape)
    return origin + s * u + t * v
