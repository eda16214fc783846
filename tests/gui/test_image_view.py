"""The image view paints what it is given: upright, nearest-neighbour, fitted with its aspect."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from explorer.views.image_view import ImageView


def painted(view: ImageView) -> np.ndarray:
    image = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[:, :w * 3].reshape(h, w, 3)


def test_pixels_are_painted_upright_and_crisp(qtbot):
    view = ImageView(report_paints=True)
    qtbot.addWidget(view)
    view.resize(200, 200)
    view.show()
    grey = np.array([[0, 80], [160, 240]], dtype=np.uint8)        # row 0 on top, column 0 on the left
    with qtbot.waitSignal(view.frame_painted, timeout=5000):
        view.set_image(grey, tag=7)
    assert view.painted_tag == 7
    shot = painted(view)
    h, w, _ = shot.shape
    for (y, x), value in zip(((h // 4, w // 4), (h // 4, 3 * w // 4), (3 * h // 4, w // 4), (3 * h // 4, 3 * w // 4)),
                             grey.reshape(-1)):
        assert tuple(shot[y, x]) == (value,) * 3

    colour = np.zeros((1, 2, 3), dtype=np.uint8)                  # wide: letterboxed top and bottom
    colour[0, 0] = (255, 0, 0)
    colour[0, 1] = (0, 0, 255)
    view.set_image(colour)
    qtbot.waitUntil(lambda: tuple(painted(view)[h // 2, w // 4]) == (255, 0, 0), timeout=5000)
    shot = painted(view)
    assert tuple(shot[h // 2, 3 * w // 4]) == (0, 0, 255)
    assert tuple(shot[5, w // 2]) != (255, 0, 0) and tuple(shot[5, w // 2]) != (0, 0, 255)   # background


def test_clear_forgets_the_image(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    view.set_image(np.full((4, 4, 1), 9, dtype=np.uint8))
    assert view.image().shape == (4, 4)
    view.clear()
    assert view.image() is None and view.painted_tag is None
