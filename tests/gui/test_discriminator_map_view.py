"""The compare view's latent map coloured by the GAN's own discriminator: the choice is offered
only for a model whose file kept one, it tints each cell by the realness the job returned, a
colour bar and the hovered cell's text say what the colours mean, the choice persists, and the
view still fits the window from 1024 x 640 up."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.context import AppContext
from explorer.views.latent_map import OVERLAY_ALPHA, class_rgb, realness_rgb
from tests.gui.test_compare_view import make_panel, settle
from tests.unit.test_discriminator import gan_file


@pytest.fixture
def kept(tmp_path):
    return str(gan_file(tmp_path, "cgan")[0])       # a conditional GAN that kept its discriminator


@pytest.fixture
def context(qtbot, tiny_models, kept):
    ctx = AppContext(device="cpu", bundled={n: tiny_models[n] for n in ("vae", "dcgan", "classifier")},
                     classifier=str(tiny_models["classifier"]))
    ctx.settings.setValue("compare/right/model", kept)
    ctx.settings.setValue("compare/right/grid", 8)
    ctx.settings.setValue("compare/left/grid", 8)
    yield ctx
    ctx.shutdown()


def colour_by(qtbot, panel, side: str, what: str) -> None:
    combo = panel.columns[side].tabs.colour_combo
    index = combo.findData(what)
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
    settle(qtbot, panel)


def test_the_colour_choice_is_offered_only_for_a_model_with_a_discriminator(qtbot, context, kept):
    panel = make_panel(qtbot, context)
    left, right = panel.columns["left"].tabs, panel.columns["right"].tabs
    assert right.info.source == kept and left.info.name == "vae"
    assert right.colour_combo.isVisible() and right.class_map.text() == "Colour"
    assert not left.colour_combo.isVisible() and left.class_map.text() == "Classes"
    assert left.latent_map.realness is None and right.latent_map.realness is not None
    # the map's model changes to a GAN whose file kept no discriminator: the choice goes
    panel.open_source(panel.columns["right"], str(context.models[[i.name for i in context.models].index("dcgan")]
                                                   .source))
    settle(qtbot, panel)
    assert right.info.name == "dcgan" and right.latent_map.realness is None
    assert not right.colour_combo.isVisible() and right.map_view.colour_by() == "class"


def test_colouring_by_the_discriminator_tints_each_cell_by_its_realness(qtbot, context):
    panel = make_panel(qtbot, context)
    tabs = panel.columns["right"].tabs
    view = tabs.map_view
    realness = tabs.latent_map.realness
    assert np.array_equal(view.realness(), realness)
    classes = view.classes()
    class_overlay = view.overlay_image()
    assert all((class_overlay[classes == c][:, :3] == class_rgb(int(c))).all() for c in np.unique(classes))
    assert not view.realness_bar.isVisible()

    colour_by(qtbot, panel, "right", "discriminator")
    overlay = view.overlay_image()
    assert view.realness_overlay_shown() and view.realness_bar.isVisible()
    assert np.array_equal(overlay[..., :3], realness_rgb(realness))
    assert (overlay[..., 3] == OVERLAY_ALPHA).all()
    assert not np.array_equal(overlay[..., :3], class_overlay[..., :3])
    view.hover_cell(2, 5)
    assert f"D: {float(realness[2, 5]):.0%} real" in view.preview_label.text()

    tabs.class_map.setChecked(False)        # the one switch hides either colouring
    assert not view.class_overlay_shown() and not view.realness_bar.isVisible()
    tabs.class_map.setChecked(True)
    colour_by(qtbot, panel, "right", "class")
    assert np.array_equal(view.overlay_image(), class_overlay) and not view.realness_bar.isVisible()


def test_the_colour_choice_persists(qtbot, context):
    panel = make_panel(qtbot, context)
    colour_by(qtbot, panel, "right", "discriminator")
    panel.close()
    again = make_panel(qtbot, context)
    tabs = again.columns["right"].tabs
    assert tabs.colour_combo.currentData() == "discriminator"
    assert tabs.map_view.realness_overlay_shown()
    assert again.columns["left"].tabs.map_view.colour_by() == "class"     # the VAE has nothing else


def test_realness_runs_from_dark_to_light_and_cells_not_yet_judged_stay_clear(qtbot):
    from explorer.jobs.compare import MapRows
    from explorer.views.latent_map import REALNESS_COLOURS, LatentMapView

    view = LatentMapView()
    qtbot.addWidget(view)
    view.set_colour_by("discriminator")
    view.begin(4, (2, 2, 1), -1.0, 1.0, ("z0", "z1"))
    assert not view.class_overlay_shown()           # nothing judged yet: nothing tinted
    ramp = np.linspace(0, 1, 8, dtype=np.float32).reshape(2, 4)
    view.add_rows(MapRows(0, np.zeros((2, 4, 2, 2, 1), np.uint8), None, None, ramp))
    overlay = view.overlay_image()
    assert (overlay[:2, :, 3] == OVERLAY_ALPHA).all() and (overlay[2:, :, 3] == 0).all()
    ends = np.asarray(REALNESS_COLOURS.map([0.0, 1.0], mode="byte"))[:, :3]
    assert (overlay[0, 0, :3] == ends[0]).all() and (overlay[1, 3, :3] == ends[1]).all()
    brightness = overlay[:2, :, :3].astype(int).sum(axis=2).reshape(-1)
    assert (np.diff(brightness) > 0).all()          # more real, lighter
    assert "D: 0% real" in view.describe_cell(0, 0) and "D: 100% real" in view.describe_cell(1, 3)
    assert "D:" not in view.describe_cell(3, 0)
    with pytest.raises(ValueError):
        view.set_colour_by("realness")


@pytest.mark.parametrize("size", [(1024, 640), (1800, 1100)])
def test_the_discriminator_map_fits_the_window(qtbot, tmp_path, tiny_models, kept, size):
    """Both columns GANs with a discriminator (the bundled GANs will keep theirs), each showing
    the colour choice, the one on the right its colour bar."""
    from PySide6.QtWidgets import QWidget

    from explorer.views.main_window import MainWindow

    context = AppContext(device="cpu", bundled={n: tiny_models[n] for n in ("vae", "dcgan", "classifier")},
                         classifier=str(tiny_models["classifier"]))
    context.settings.setValue("compare/left/model", str(gan_file(tmp_path, "dcgan")[0]))
    context.settings.setValue("compare/right/model", kept)
    context.settings.setValue("compare/right/colour_by", "discriminator")
    window = MainWindow(context)
    try:
        qtbot.addWidget(window)
        window.resize(*size)
        window.show()
        window.show_view("compare")
        panel = window.view("compare")
        qtbot.waitUntil(lambda: panel.columns["right"].latent_map is not None and not panel.is_busy(), timeout=30000)
        qtbot.wait(100)
        page = window._pages["compare"]
        assert not page.horizontalScrollBar().isVisible() and not page.verticalScrollBar().isVisible()
        left, right = panel.columns["left"].tabs, panel.columns["right"].tabs
        assert left.colour_combo.isVisible() and not left.map_view.realness_bar.isVisible()
        assert right.colour_combo.isVisible() and right.map_view.realness_bar.isVisible()
        for tabs in (left, right):
            for widget in [tabs.colour_combo, tabs.class_map, tabs.plane_combo, tabs.map_view.plot,
                           *tabs.map_view.realness_bar.findChildren(QWidget)]:
                assert widget.width() >= max(widget.minimumWidth(), widget.minimumSizeHint().width()), widget
                assert widget.height() >= widget.minimumHeight(), widget
        # the colour bar stands beside the map: the map is as tall as the other column's
        assert right.map_view.plot.height() == left.map_view.plot.height()
        assert right.map_view.realness_bar.gradient.height() >= 30
    finally:
        window.close()
        context.shutdown()
