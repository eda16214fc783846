"""Latent-map planes and grids (models/maps.py)."""
from __future__ import annotations

import pytest
import torch

from models.maps import (cell_coordinates, dims_plane, grid_latents, pca_project, points_plane,
                         principal_plane, project)


def test_dims_plane_varies_only_the_two_dimensions():
    center = torch.arange(6, dtype=torch.float32)
    plane = dims_plane(6, 1, 4, center=center, extent=2.0)
    grid = grid_latents(plane, 5)
    assert grid.shape == (5, 5, 6)
    flat = grid.reshape(-1, 6)
    untouched = [0, 2, 3, 5]
    assert torch.equal(flat[:, untouched], center[untouched].expand(25, 4))
    # columns move dimension 1 left to right, rows move dimension 4 top (largest) to bottom
    assert torch.allclose(grid[0, :, 1], center[1] + torch.linspace(-2, 2, 5))
    assert torch.allclose(grid[:, 0, 4], center[4] + torch.linspace(2, -2, 5))
    assert plane.axis_names == ("z1", "z4")


@pytest.mark.parametrize("args, message", [((1, 0, 0), "at least 2"), ((4, 2, 2), "different"),
                                           ((4, 0, 4), "0..3")])
def test_dims_plane_rejects_bad_dimensions(args, message):
    with pytest.raises(ValueError, match=message):
        dims_plane(*args)


def test_points_plane_puts_the_three_points_on_the_grid():
    g = torch.Generator().manual_seed(0)
    a, b, c = torch.randn(3, 8, generator=g)
    plane = points_plane(a, b, c, margin=0.0)
    grid = grid_latents(plane, 3)   # coordinates 0, 0.5, 1
    assert torch.allclose(grid[2, 0], a, atol=1e-6)   # bottom-left (s=0, t=0)
    assert torch.allclose(grid[2, 2], b, atol=1e-6)   # bottom-right (s=1, t=0)
    assert torch.allclose(grid[0, 0], c, atol=1e-6)   # top-left (s=0, t=1)
    assert [name for name, *_ in plane.anchors] == ["A", "B", "C"]
    assert torch.allclose(project(plane, torch.stack([a, b, c])),
                          torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), atol=1e-4)


def test_points_plane_rejects_collinear_points():
    a = torch.zeros(4)
    b = torch.ones(4)
    with pytest.raises(ValueError, match="one line"):
        points_plane(a, b, 2 * b)
    with pytest.raises(ValueError, match="same latent"):
        points_plane(a, b, a)


def test_principal_plane_follows_the_spread_of_the_samples():
    g = torch.Generator().manual_seed(1)
    samples = torch.randn(2000, 5, generator=g) * torch.tensor([0.1, 4.0, 0.1, 2.0, 0.1]) + 3.0
    plane = principal_plane(samples, extent=2.0)
    assert torch.allclose(plane.origin, samples.mean(0), atol=1e-4)
    # first direction is dimension 1 (sd 4), second dimension 3 (sd 2), scaled to one sd
    assert plane.u.abs().argmax() == 1 and plane.v.abs().argmax() == 3
    assert plane.u.norm() == pytest.approx(4.0, rel=0.1)
    assert plane.v.norm() == pytest.approx(2.0, rel=0.1)
    coords = project(plane, samples)
    assert coords.std(0).tolist() == pytest.approx([1.0, 1.0], rel=0.05)


def test_cell_coordinates_span_the_plane():
    plane = dims_plane(3, 0, 1, extent=1.5)
    assert cell_coordinates(plane, 4).tolist() == pytest.approx([-1.5, -0.5, 0.5, 1.5])


def test_grid_reshapes_to_the_latent_shape():
    plane = dims_plane(6, 0, 5)
    assert grid_latents(plane, 2, (1, 2, 3)).shape == (2, 2, 1, 2, 3)
    with pytest.raises(ValueError, match="does not hold"):
        grid_latents(plane, 2, (4,))


def test_pca_project_keeps_2d_points_and_reduces_higher_ones():
    g = torch.Generator().manual_seed(2)
    two = torch.randn(50, 2, generator=g)
    proj = pca_project(two)
    assert torch.equal(proj.coords, two)
    high = torch.randn(300, 6, generator=g) * torch.tensor([5.0, 0.1, 0.1, 0.1, 3.0, 0.1])
    proj = pca_project(high)
    assert proj.coords.shape == (300, 2)
    assert proj.explained[0] > proj.explained[1] > 0.2
    assert sum(proj.explained) > 0.95
