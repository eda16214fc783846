"""Images as the app shows them: uint8 pixels and batches tiled into one picture."""
from __future__ import annotations

import numpy as np

from models.images import GUTTER, grid_shape, tile


def test_tile_places_images_row_major_with_gaps_and_a_background_for_empty_cells():
    images = np.stack([np.full((2, 3, 1), 10 * (i + 1), np.uint8) for i in range(5)])
    picture = tile(images, columns=3, gap=1)
    assert picture.shape == (2 * 2 + 1, 3 * 3 + 2, 1)
    assert picture[0, 0, 0] == 10 and picture[0, 4, 0] == 20 and picture[0, 8, 0] == 30
    assert picture[3, 0, 0] == 40 and picture[3, 4, 0] == 50
    assert picture[3, 8, 0] == GUTTER                  # the sixth cell is empty
    assert picture[2, 0, 0] == GUTTER and picture[0, 3, 0] == GUTTER   # the gaps


def test_a_grid_is_as_square_as_it_gets():
    assert grid_shape(1) == (1, 1) and grid_shape(4) == (2, 2) and grid_shape(5) == (2, 3)
    assert grid_shape(16) == (4, 4) and grid_shape(10, columns=10) == (1, 10)
