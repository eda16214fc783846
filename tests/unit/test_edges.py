"""Edge maps (scikit-image's Canny): deterministic, binary, on the outline of what they trace."""
from __future__ import annotations

import numpy as np
import pytest

from models.edges import edge_map, edge_maps


def square(side: int = 28) -> np.ndarray:
    image = np.zeros((side, side), dtype=np.uint8)
    image[8:20, 8:20] = 200
    return image


def test_an_edge_map_is_deterministic_and_binary():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 1, 28, 28), dtype=np.uint8)
    first, again = edge_maps(images), edge_maps(images.copy())
    assert first.shape == (5, 1, 28, 28) and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert set(np.unique(first)) <= {0, 255}


def test_edges_trace_the_outline_and_nothing_else():
    edges = edge_map(square()) > 0
    inside, outside = edges[11:17, 11:17], np.concatenate([edges[:5].ravel(), edges[23:].ravel()])
    assert not inside.any() and not outside.any()          # flat regions have no edges
    ring = np.zeros_like(edges)
    ring[6:22, 6:22] = True
    ring[10:18, 10:18] = False
    assert edges.sum() >= 40 and edges[ring].sum() == edges.sum()   # every edge lies near the border
    # the same picture as floats in [0, 1] and as colour gives the same map
    assert np.array_equal(edge_map(square() / 255.0), edge_map(square()))
    assert np.array_equal(edge_map(np.stack([square()] * 3)), edge_map(square()))


def test_an_edge_map_refuses_what_is_not_an_image():
    with pytest.raises(ValueError, match="needs an image"):
        edge_map(np.zeros(5))
    with pytest.raises(ValueError, match="needs images"):
        edge_maps(np.zeros((2, 28, 28), dtype=np.uint8))
