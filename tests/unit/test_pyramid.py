"""The Laplacian pyramid's operators: a real image's pyramid reconstructs it, down undoes up, and
band_pass removes exactly the coarse content."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models import pyramid


def photo_like(n: int = 3, side: int = 28, seed: int = 0) -> torch.Tensor:
    """Images in [-1, 1] with structure at every scale: a smooth blob plus fine noise."""
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(-1, 1, side), torch.linspace(-1, 1, side), indexing="ij")
    blob = torch.exp(-(x ** 2 + y ** 2) * 3)
    return (blob + 0.3 * torch.rand(n, 1, side, side, generator=g)).clamp(0, 1) * 2 - 1


def test_down_is_the_mean_of_each_block_and_undoes_up():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert pyramid.down(x).tolist() == [[[[2.5, 4.5], [10.5, 12.5]]]]
    small = torch.randn(2, 3, 7, 7)
    assert pyramid.up(small).shape == (2, 3, 14, 14)
    assert torch.equal(pyramid.down(pyramid.up(small)), small)


def test_down_refuses_odd_sides():
    with pytest.raises(ValueError, match="even"):
        pyramid.down(torch.zeros(1, 1, 7, 7))


def test_a_pyramid_of_a_real_image_reconstructs_it():
    image = photo_like()
    p = pyramid.build(image, 3)
    assert p.levels == 3
    assert p.base.shape == (3, 1, 7, 7)
    assert [r.shape[-1] for r in p.residuals] == [14, 28]
    assert torch.allclose(pyramid.reconstruct(p), image, atol=1e-6)
    # the residuals hold real detail: dropping them loses it
    assert (pyramid.reconstruct(pyramid.Pyramid(p.base, tuple(torch.zeros_like(r) for r in p.residuals)))
            - image).abs().max() > 0.1


def test_the_pyramid_matches_the_low_passes():
    image = photo_like(seed=1)
    lows = pyramid.low_passes(image, 3)
    p = pyramid.build(image, 3)
    assert torch.equal(lows[0], p.base)
    assert torch.allclose(lows[1], pyramid.up(lows[0]) + p.residuals[0], atol=1e-6)
    assert torch.equal(lows[2], image)


def test_real_residuals_are_band_pass_and_band_pass_projects_onto_them():
    p = pyramid.build(photo_like(seed=2), 3)
    for residual in p.residuals:       # a real residual has no coarse content ...
        assert pyramid.down(residual).abs().max() < 1e-6
        assert torch.allclose(pyramid.band_pass(residual), residual, atol=1e-6)   # ... so it is kept
    anything = torch.randn(4, 1, 14, 14)
    projected = pyramid.band_pass(anything)
    assert pyramid.down(projected).abs().max() < 1e-6
    assert torch.allclose(pyramid.band_pass(projected), projected, atol=1e-6)   # a projection
    assert not torch.allclose(projected, anything)


def test_adding_a_band_pass_keeps_the_coarser_image():
    coarse = torch.rand(2, 1, 7, 7)
    fine = pyramid.up(coarse) + pyramid.band_pass(torch.randn(2, 1, 14, 14))
    np.testing.assert_allclose(pyramid.down(fine).numpy(), coarse.numpy(), atol=1e-6)
