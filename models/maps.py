"""Two-dimensional slices of a latent space, for drawing latent maps.

A `Plane` is an origin and two flat directions u, v: the latent at plane coordinates (s, t) is
origin + s u + t v. A map decodes a K x K grid of such latents. Three ways to pick the plane:
two latent dimensions (`dims_plane`), the two principal directions of a population of latents
(`principal_plane`), or the plane through three latents (`points_plane`). Grids come back as a
picture reads: row 0 is the top of the map (the largest t), column 0 its left (the smallest s).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from models.latent import plane_grid, plane_through, principal_directions

__all__ = [
    "Plane",
    "Projection",
    "dims_plane",
    "directions_plane",
    "principal_plane",
    "points_plane",
    "grid_latents",
    "cell_coordinates",
    "project",
    "pca_project",
]


@dataclass(frozen=True)
class Plane:
    """origin + s u + t v for s, t in [lo, hi]; flat (D,) tensors on the CPU."""

    origin: Tensor
    u: Tensor
    v: Tensor
    lo: float
    hi: float
    axis_names: tuple[str, str] = ("s", "t")
    # Named latents that lie in the plane, as (name, s, t): the three points of `points_plane`.
    anchors: tuple[tuple[str, float, float], ...] = ()

    @property
    def dim(self) -> int:
        return int(self.origin.numel())

    def latent(self, s: float, t: float) -> Tensor:
        return self.origin + s * self.u + t * self.v


def _flat(z: Tensor) -> Tensor:
    return z.detach().reshape(-1).to("cpu", torch.float32)


def dims_plane(latent_dim: int, i: int, j: int, center: Tensor | None = None,
               extent: float = 3.0) -> Plane:
    """The plane of latent dimensions i and j through `center` (default: the prior's mean, 0),
    spanning +-extent; the other dimensions stay at the centre's values."""
    if latent_dim < 2:
        raise ValueError(f"a latent map needs at least 2 latent dimensions, this model has {latent_dim}")
    for name, d in (("first", i), ("second", j)):
        if not 0 <= d < latent_dim:
            raise ValueError(f"the {name} dimension must be in 0..{latent_dim - 1}, got {d}")
    if i == j:
        raise ValueError(f"pick two different latent dimensions (both are {i})")
    if extent <= 0:
        raise ValueError(f"extent must be positive, got {extent}")
    origin = torch.zeros(latent_dim) if center is None else _flat(center)
    if origin.numel() != latent_dim:
        raise ValueError(f"centre has {origin.numel()} numbers for a {latent_dim}-D latent")
    u = torch.zeros(latent_dim)
    v = torch.zeros(latent_dim)
    u[i] = 1.0
    v[j] = 1.0
    return Plane(origin, u, v, -float(extent), float(extent), (f"z{i}", f"z{j}"))


def directions_plane(mean: Tensor, directions: Tensor, std: Tensor, extent: float = 2.5,
                     names: tuple[str, str] = ("PC1", "PC2")) -> Plane:
    """The plane through `mean` along the first two rows of `directions`, scaled by `std` so the
    coordinates are in standard deviations of the population (+-extent of them)."""
    if directions.shape[0] < 2:
        raise ValueError("a plane needs two directions")
    if extent <= 0:
        raise ValueError(f"extent must be positive, got {extent}")
    # A direction the population does not vary along would collapse the map to a line.
    scale = [max(float(s), 1e-6) for s in std[:2]]
    u = _flat(directions[0]) * scale[0]
    v = _flat(directions[1]) * scale[1]
    return Plane(_flat(mean), u, v, -float(extent), float(extent), (f"{names[0]} (sd)", f"{names[1]} (sd)"))


def principal_plane(samples: Tensor, extent: float = 2.5) -> Plane:
    """The plane of the two principal directions of latents (N, *latent_shape), through their
    mean; coordinates in standard deviations along each direction."""
    flat = samples.detach().reshape(samples.shape[0], -1).to("cpu", torch.float32)
    if flat.shape[1] < 2:
        raise ValueError(f"a latent map needs at least 2 latent dimensions, these latents have {flat.shape[1]}")
    if flat.shape[0] < 3:
        raise ValueError(f"principal directions need at least 3 latents, got {flat.shape[0]}")
    mean, directions, std = principal_directions(flat, 2)
    return directions_plane(mean, directions, std, extent)


def points_plane(a: Tensor, b: Tensor, c: Tensor, margin: float = 0.25,
                 names: Sequence[str] = ("A", "B", "C")) -> Plane:
    """The plane through three latents: a at (0, 0), b at (1, 0), c at (0, 1), with a margin
    around the triangle so all three sit inside the map."""
    a, b, c = _flat(a), _flat(b), _flat(c)
    origin, u, v = plane_through(a, b, c)
    nu, nv = float(u.norm()), float(v.norm())
    if nu == 0.0 or nv == 0.0:
        raise ValueError("two of the three points are the same latent; pick three different ones")
    cos = float(u @ v) / (nu * nv)
    if abs(cos) > 1 - 1e-6:
        raise ValueError("the three points lie on one line, so they do not span a plane")
    if margin < 0:
        raise ValueError(f"margin must not be negative, got {margin}")
    anchors = ((names[0], 0.0, 0.0), (names[1], 1.0, 0.0), (names[2], 0.0, 1.0))
    return Plane(origin, u, v, -float(margin), 1.0 + float(margin), ("toward " + names[1], "toward " + names[2]),
                 anchors)


def cell_coordinates(plane: Plane, k: int) -> Tensor:
    """The plane coordinates of the grid's cells: (k,) values, shared by s (left to right) and,
    reversed, by t (top to bottom)."""
    if k < 1:
        raise ValueError(f"the grid needs at least 1 cell a side, got {k}")
    return torch.linspace(plane.lo, plane.hi, k)


def grid_latents(plane: Plane, k: int, latent_shape: Sequence[int] | None = None) -> Tensor:
    """(k, k, *latent_shape) latents of the map; [row, col] has s from col and t from row, row 0
    at the top (largest t)."""
    if k < 1:
        raise ValueError(f"the grid needs at least 1 cell a side, got {k}")
    grid = plane_grid(plane.origin, plane.u, plane.v, k, (plane.lo, plane.hi))  # rows: t ascending
    grid = grid.flip(0)
    if latent_shape is not None:
        shape = tuple(int(s) for s in latent_shape)
        if math.prod(shape) != plane.dim:
            raise ValueError(f"latent shape {shape} does not hold {plane.dim} numbers")
        grid = grid.reshape((k, k) + shape)
    return grid


def project(plane: Plane, z: Tensor) -> Tensor:
    """Plane coordinates (n, 2) of latents (n, *shape): the least-squares (s, t) of their
    projection onto the plane."""
    flat = z.detach().reshape(-1, plane.dim).to("cpu", torch.float32) - plane.origin
    basis = torch.stack([plane.u, plane.v], dim=1)  # (D, 2)
    return torch.linalg.lstsq(basis, flat.T).solution.T


@dataclass(frozen=True)
class Projection:
    """Points reduced to two coordinates for a scatter plot."""

    coords: Tensor          # (n, 2)
    mean: Tensor            # (D,)
    directions: Tensor      # (2, D) unit rows; identity rows when D <= 2
    explained: tuple[float, float]  # share of the total variance along each axis


def pca_project(points: Tensor) -> Projection:
    """Latents (n, *shape) in two dimensions: as they are when D <= 2, else on their first two
    principal directions (centred)."""
    flat = points.detach().reshape(points.shape[0], -1).to("cpu", torch.float32)
    n, d = flat.shape
    if n < 2:
        raise ValueError(f"a scatter needs at least 2 points, got {n}")
    total = float(flat.var(dim=0).sum()) or 1.0
    if d <= 2:
        coords = torch.zeros(n, 2)
        coords[:, :d] = flat
        variances = [float(flat[:, i].var()) if i < d else 0.0 for i in range(2)]
        directions = torch.eye(2, d)
        return Projection(coords, torch.zeros(d), directions,
                          (variances[0] / total, variances[1] / total))
    mean, directions, std = principal_directions(flat, 2)
    coords = (flat - mean) @ directions.T
    explained = tuple(float(s) ** 2 / total for s in std)
    return Projection(coords, mean, directions, explained)  # type: ignore[arg-type]
