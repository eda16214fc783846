"""The window as a person resizes it: images keep filling their views, every view is usable from
1024 x 640 up, and full screen is one key away."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QRectF

from explorer.context import AppContext
from explorer.views.main_window import MainWindow


@pytest.fixture
def window(qtbot, tiny_models):
    context = AppContext(device="cpu", bundled={n: tiny_models[n] for n in ("vae", "gan-mlp", "ddpm")})
    context.open_model(context.default_model())
    w = MainWindow(context)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitUntil(lambda: w.latent_panel.frames_shown > 0, timeout=10000)
    yield w
    w.close()


def fill(view) -> float:
    """How much of its view the image fills along its tighter side (1.0: edge to edge)."""
    inner = view._view
    shown: QRectF = inner.mapFromScene(inner.sceneRect()).boundingRect()
    port = inner.viewport().rect()
    return max(shown.width() / port.width(), shown.height() / port.height())


@pytest.mark.parametrize("size", [(1024, 640), (1800, 1100)])
def test_the_latent_image_fills_its_view_after_a_resize_on_another_tab(qtbot, window, size):
    view = window.latent_panel.image_view
    assert fill(view) == pytest.approx(1.0, abs=0.02)
    window.show_view("compare")
    window.resize(*size)
    qtbot.wait(50)
    window.show_view("latent")
    qtbot.waitUntil(lambda: view.isVisible(), timeout=2000)
    qtbot.wait(50)
    assert fill(view) == pytest.approx(1.0, abs=0.02)


def test_the_shortcuts_dialog_lists_every_menu_shortcut(window):
    rows = window.shortcut_rows()
    listed = {(menu, keys) for menu, keys, _ in rows}
    assert ("Diffusion", "Ctrl+E") in listed and ("Diffusion", "Ctrl+Return") in listed
    assert ("Interpolate", "Ctrl+E") in listed and ("View", "F11") in listed
    assert ("Point", "Ctrl+Shift+V") in listed
    for top in window.menuBar().actions():
        for action in top.menu().actions():
            if not action.shortcut().isEmpty():
                assert any(what == action.text().replace("&", "").rstrip("…") for _, _, what in rows)


def test_f11_toggles_full_screen(qtbot, window):
    window.full_screen_action.trigger()
    qtbot.waitUntil(window.isFullScreen, timeout=2000)
    window.full_screen_action.trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=2000)


def test_one_click_in_the_model_library_opens_the_model(qtbot, window):
    from PySide6.QtCore import Qt

    tree = window.library.tree
    item = next(tree.topLevelItem(0).child(i) for i in range(tree.topLevelItem(0).childCount())
                if tree.topLevelItem(0).child(i).text(0) == "gan-mlp")
    with qtbot.waitSignal(window.context.model_opened, timeout=10000) as blocker:
        qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(item).center())
    assert blocker.args[0].name == "gan-mlp"


def test_every_view_fits_a_1024_by_640_window(qtbot, window):
    from PySide6.QtWidgets import QSlider, QWidget

    window.resize(1024, 640)
    for name in window.view_names():
        window.show_view(name)
        qtbot.wait(100)
        page = window._pages[name]
        assert not page.horizontalScrollBar().isVisible(), f"{name} scrolls sideways"
        assert not page.verticalScrollBar().isVisible(), f"{name} scrolls up and down"
        for widget in window.view(name).findChildren(QWidget):
            if widget.isVisible():
                assert widget.width() >= widget.minimumWidth() and widget.height() >= widget.minimumHeight(), \
                    f"{name}: {type(widget).__name__} is squeezed below its minimum size"
        for slider in window.view(name).findChildren(QSlider):
            if slider.isVisible() and slider.orientation().name == "Horizontal":
                assert slider.width() >= 150, f"{name}: a slider is a stub ({slider.width()} px)"
