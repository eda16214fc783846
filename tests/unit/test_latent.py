"""Interpolation, paths, principal directions, GANSpace, planes (models/latent.py)."""

from __future__ import annotations

import pytest
import torch

from models.latent import (
    ganspace_directions,
    lerp,
    move_along,
    path,
    plane_grid,
    plane_through,
    principal_directions,
    slerp,
)


def _gaussians(n: int, d: int, seed: int = 0) -> torch.Tensor:
    return torch.randn((n, d), generator=torch.Generator().manual_seed(seed))


# --- interpolation ----------------------------------------------------------------------------


def test_lerp_shape_endpoints_and_midpoint() -> None:
    a, b = _gaussians(2, 16)
    out = lerp(a, b, torch.linspace(0, 1, 5))
    assert out.shape == (5, 16)
    assert torch.equal(out[0], a) and torch.equal(out[-1], b)
    assert torch.allclose(out[2], (a + b) / 2, atol=1e-6)


def test_slerp_keeps_norm_while_lerp_shrinks() -> None:
    a, b = _gaussians(2, 128, seed=1)
    ts = torch.linspace(0, 1, 21)
    s = slerp(a, b, ts)
    lo, hi = sorted((a.norm().item(), b.norm().item()))
    norms = s.norm(dim=1)
    assert bool((norms >= lo - 1e-4).all()) and bool((norms <= hi + 1e-4).all())
    # Two independent Gaussians are nearly orthogonal, so lerp's midpoint is ~1/sqrt(2) as long.
    mid_lerp = lerp(a, b, torch.tensor([0.5]))[0].norm().item()
    assert mid_lerp < 0.8 * lo
    assert norms[10].item() > 0.95 * lo


def test_slerp_equal_norms_stays_on_sphere_and_moves_at_constant_angle() -> None:
    a, b = _gaussians(2, 64, seed=2)
    b = b / b.norm() * a.norm()
    s = slerp(a, b, torch.linspace(0, 1, 11))
    assert torch.allclose(s.norm(dim=1), torch.full((11,), a.norm().item()), rtol=1e-5)
    cosines = torch.nn.functional.cosine_similarity(s[:-1], s[1:], dim=1)
    assert torch.allclose(cosines, cosines[0].expand_as(cosines), atol=1e-5)


def test_slerp_endpoints_exact_any_shape() -> None:
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn((2, 1, 7, 7), generator=g)
    out = slerp(a, b, [0.0, 0.25, 1.0])
    assert out.shape == (3, 1, 7, 7)
    assert torch.equal(out[0], a) and torch.equal(out[-1], b)
    assert not torch.allclose(out[1], lerp(a, b, [0.25])[0], atol=1e-3)


def test_slerp_parallel_falls_back_to_lerp() -> None:
    a = _gaussians(1, 32, seed=4)[0]
    b = 2.0 * a
    out = slerp(a, b, torch.linspace(0, 1, 5))
    assert torch.isfinite(out).all()
    assert torch.allclose(out, lerp(a, b, torch.linspace(0, 1, 5)))
    zero = torch.zeros(32)
    assert torch.allclose(slerp(zero, a, [0.5])[0], a / 2)


# --- paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spherical", [False, True])
@pytest.mark.parametrize("frames", [9, 10, 24])
def test_path_through_three_keyframes_hits_them(spherical: bool, frames: int) -> None:
    keys = list(_gaussians(3, 20, seed=5))
    out = path(keys, frames=frames, spherical=spherical)
    assert out.shape == (frames, 20)
    assert torch.equal(out[0], keys[0]) and torch.equal(out[-1], keys[-1])
    middle = [i for i in range(frames) if torch.equal(out[i], keys[1])]
    assert middle == [round((frames - 1) / 2)]
    # Consecutive frames are close: no jumps across segment boundaries.
    steps = (out[1:] - out[:-1]).norm(dim=1)
    assert steps.max().item() < 3.0 * steps.median().item()


def test_path_with_fewer_frames_than_keyframes_and_errors() -> None:
    keys = list(_gaussians(5, 4, seed=6))
    out = path(keys, frames=3, spherical=False)
    assert torch.equal(out[0], keys[0]) and torch.equal(out[-1], keys[-1])
    assert torch.equal(out[1], keys[2])
    assert torch.equal(path(keys[:1], 4, True), keys[0].expand(4, 4))
    with pytest.raises(ValueError):
        path(keys, frames=1, spherical=False)
    with pytest.raises(ValueError):
        path([keys[0], torch.zeros(5)], frames=4, spherical=False)


# --- directions -------------------------------------------------------------------------------


def test_principal_directions_recover_planted_direction() -> None:
    d = 32
    g = torch.Generator().manual_seed(7)
    planted = torch.randn(d, generator=g)
    planted /= planted.norm()
    coeff = 5.0 * torch.randn(2000, 1, generator=g)
    samples = 0.5 * torch.randn(2000, d, generator=g) + coeff * planted + 3.0
    mean, dirs, std = principal_directions(samples, k=3)
    assert mean.shape == (d,) and dirs.shape == (3, d) and std.shape == (3,)
    assert torch.allclose(mean, torch.full((d,), 3.0), atol=0.2)
    assert abs(float(dirs[0] @ planted)) > 0.99
    assert torch.allclose(dirs.norm(dim=1), torch.ones(3), atol=1e-5)
    assert torch.allclose(dirs @ dirs.T, torch.eye(3), atol=1e-5)
    assert std[0].item() == pytest.approx(5.0, rel=0.1)
    assert std[1].item() == pytest.approx(0.5, rel=0.15)
    assert bool((std[:-1] >= std[1:]).all())


def test_principal_directions_are_sign_stable_and_flatten_shapes() -> None:
    samples = torch.randn((200, 1, 4, 4), generator=torch.Generator().manual_seed(8))
    _, d1, _ = principal_directions(samples, 2)
    _, d2, _ = principal_directions(samples.flip(0), 2)
    assert d1.shape == (2, 16)
    assert torch.allclose(d1, d2, atol=1e-4)
    with pytest.raises(ValueError):
        principal_directions(samples, 17)


def test_ganspace_linear_features_recover_direction() -> None:
    d, f = 16, 40
    g = torch.Generator().manual_seed(9)
    u = torch.randn(d, generator=g)
    u /= u.norm()
    w = torch.randn(f, generator=g)
    w /= w.norm()
    # Features dominated by the latent's component along u, mapped onto feature axis w, plus a
    # weak generic linear map: the top feature PC is w, whose latent preimage is u.
    a = 8.0 * torch.outer(w, u) + 0.3 * torch.randn(f, d, generator=g)
    calls: list[int] = []

    def features(z: torch.Tensor) -> torch.Tensor:
        calls.append(z.shape[0])
        return torch.tanh(z @ a.T * 0.01) * 100  # nearly linear, (n, f)

    latents = torch.randn(1000, d, generator=g)
    mean, dirs, std = ganspace_directions(features, latents, k=3, batch_size=300)
    assert calls == [300, 300, 300, 100]
    assert mean.shape == (d,) and dirs.shape == (3, d) and std.shape == (3,)
    assert torch.allclose(mean, latents.mean(0))
    assert abs(float(dirs[0] @ u)) > 0.98
    assert torch.allclose(dirs.norm(dim=1), torch.ones(3), atol=1e-5)
    # Latents are N(0, I): their spread along any unit direction is about 1.
    assert torch.allclose(std, torch.ones(3), atol=0.1)


def test_ganspace_direction_moves_features_along_top_component() -> None:
    d, f = 8, 12
    g = torch.Generator().manual_seed(10)
    a = torch.randn(f, d, generator=g)
    features = lambda z: z @ a.T  # noqa: E731
    latents = torch.randn(500, d, generator=g)
    _, dirs, _ = ganspace_directions(features, latents, k=1)
    y = features(latents)
    top_pc = torch.linalg.svd(y - y.mean(0), full_matrices=False).Vh[0]
    moved = features(dirs[0:1])[0]
    # The latent direction maps (through the linear features) mostly onto the top component.
    assert abs(float(moved @ top_pc)) / moved.norm().item() > 0.9


def test_move_along_shapes() -> None:
    dirs = torch.eye(4)[:2]
    z = torch.zeros(4)
    assert torch.equal(move_along(z, dirs, [1.0, -2.0]), torch.tensor([1.0, -2.0, 0.0, 0.0]))
    batch = torch.zeros(3, 2, 2)
    out = move_along(batch, dirs, torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    assert out.shape == (3, 2, 2)
    assert torch.equal(out[2].reshape(-1), torch.tensor([1.0, 1.0, 0.0, 0.0]))
    with pytest.raises(ValueError):
        move_along(z, dirs, [1.0, 2.0, 3.0])


def test_plane_grid_through_three_latents() -> None:
    a, b, c = _gaussians(3, 10, seed=11)
    grid = plane_grid(*plane_through(a, b, c), k=5, extent=(0.0, 1.0))
    assert grid.shape == (5, 5, 10)
    assert torch.equal(grid[0, 0], a)
    assert torch.allclose(grid[0, -1], b, atol=1e-6)
    assert torch.allclose(grid[-1, 0], c, atol=1e-6)
    assert torch.allclose(grid[2, 2], a + 0.5 * (b - a) + 0.5 * (c - a), atol=1e-6)
    centred = plane_grid(torch.zeros(3), torch.tensor([1.0, 0, 0]), torch.tensor([0, 1.0, 0]), 3, 2.0)
    assert torch.allclose(centred[0, 0], torch.tensor([-2.0, -2.0, 0.0]))
    assert torch.allclose(centred[1, 2], torch.tensor([2.0, 0.0, 0.0]))
