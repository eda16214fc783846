"""Kernel distance (KID): the unbiased MMD² under the cubic kernel, against a hand computation."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from models.metrics import kernel_distance, unbiased_mmd2


def _by_hand(a: np.ndarray, b: np.ndarray) -> float:
    d = a.shape[1]

    def k(x, y):
        return (sum(xi * yi for xi, yi in zip(x, y)) / d + 1) ** 3

    m, n = len(a), len(b)
    aa = sum(k(a[i], a[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    bb = sum(k(b[i], b[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    ab = sum(k(x, y) for x in a for y in b) / (m * n)
    return aa + bb - 2 * ab


def test_the_unbiased_mmd_equals_a_hand_computation_on_tiny_sets():
    a = np.array([[0.0, 1.0], [1.0, 0.5], [-1.0, 2.0]])
    b = np.array([[0.5, 0.5], [2.0, -1.0], [0.0, 0.0], [1.0, 1.0]])
    assert unbiased_mmd2(a, b) == pytest.approx(_by_hand(a, b), rel=1e-12)
    # subsets are as large as the smaller set: with sets of three rows, one subset is every row
    mean, std = kernel_distance(a, b[:3], subsets=1, subset_size=10)
    assert mean == pytest.approx(_by_hand(a, b[:3]), rel=1e-12) and std == 0


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    real, same = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    shifted = rng.normal(size=(400, 8)) + 0.5
    near, spread = kernel_distance(real, same, subsets=20, subset_size=200)
    far, _ = kernel_distance(real, shifted, subsets=20, subset_size=200)
    assert abs(near) < 3 * spread + 1e-3
    assert far > 10 * max(abs(near), spread)


def test_kid_refuses_a_set_of_one_row():
    with pytest.raises(ValueError, match="at least 2 rows"):
        kernel_distance(np.zeros((1, 3)), np.zeros((5, 3)))
