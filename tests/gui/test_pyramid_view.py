"""The latent panel with a pyramid model (a tiny random LAPGAN): the Levels tab groups the
sliders by level, resampling a level or every finer level moves the point (and undoes), holding
the coarse level keeps its image in the pyramid display, and the view renders under
--screenshot."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.cli import main
from explorer.context import AppContext
from explorer.views.latent_panel import LEVELS_TAB, LatentPanel
from models.checkpoint import save_checkpoint
from models.generative import build_model
from models.metadata import CheckpointMetadata
from tests.conftest import CLASS_NAMES

CONFIG = {"image_shape": [1, 28, 28], "noise_dims": [5, 3, 2], "base_hidden": 16, "channels": [8, 8],
          "d_channels": 8}


@pytest.fixture(scope="module")
def lapgan_path(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model("lapgan", CONFIG, {"name": "tiny-lapgan"})
    meta = CheckpointMetadata(name="tiny-lapgan", kind="gan", architecture="lapgan", config=CONFIG,
                              image_shape=(1, 28, 28), latent_shape=(10,), class_names=tuple(CLASS_NAMES))
    path = tmp_path_factory.mktemp("lapgan") / "tiny-lapgan.safetensors"
    save_checkpoint(path, model.net, meta)
    return path


@pytest.fixture
def context(qtbot, tiny_models, lapgan_path):
    ctx = AppContext(device="cpu", bundled={"vae": tiny_models["vae"], "classifier": tiny_models["classifier"]})
    yield ctx
    ctx.shutdown()


@pytest.fixture
def panel(qtbot, context):
    p = LatentPanel(context)
    qtbot.addWidget(p)
    p.resize(1000, 700)
    p.show()
    return p


def settled(qtbot, panel) -> None:
    """Waits until the newest frame and the newest pyramid have been answered and shown."""
    qtbot.waitUntil(lambda: panel.shown_id >= panel.last_request_id and panel.last_result is not None
                    and panel.pyramids.newest_id > 0 and not panel.pyramids.busy
                    and panel.pyramid_display.frame is not None
                    and np.array_equal(panel.pyramid_display.frame.latent, panel.latent), timeout=10000)


def open_lapgan(qtbot, context, panel, path) -> None:
    with qtbot.waitSignal(context.model_opened, timeout=10000):
        context.open_model(str(path))
    settled(qtbot, panel)


def test_a_pyramid_model_gets_the_levels_tab_and_the_pyramid_display(qtbot, context, panel, lapgan_path):
    open_lapgan(qtbot, context, panel, lapgan_path)
    assert panel.mode_tabs.isTabVisible(LEVELS_TAB) and panel.mode_tabs.currentIndex() == LEVELS_TAB
    tab = panel.levels_tab
    assert [(lv.side, lv.size) for lv in tab.levels] == [(7, 5), (14, 3), (28, 2)]
    assert [row.index for row in tab.sliders] == list(range(10))
    assert len(tab.resample_buttons) == 3 and len(tab.finer_buttons) == 2
    assert panel.pyramid_display.isVisible()
    frame = panel.pyramid_display.frame
    assert [lv.image.shape[:2] for lv in frame.levels] == [(7, 7), (14, 14), (28, 28)]
    assert frame.levels[0].low_pass is None and frame.levels[1].band_pass.shape == (14, 14, 1)
    np.testing.assert_array_equal(frame.levels[-1].image[:, :, 0], np.array(panel.image_view.image()))
    assert panel.pyramid_display.caption(0).endswith("base")
    assert panel.pyramid_display.caption(2).startswith("28×28\n±")

    # a slider of the Levels tab moves its dimension, and the other tab follows
    tab.sliders[6].slider.setValue(-200)
    settled(qtbot, panel)
    assert panel.latent[6] == pytest.approx(-2.0)
    panel.mode_tabs.setCurrentIndex(0)
    assert panel.dim_sliders[6].value() == pytest.approx(-2.0)

    # a model without levels hides them again
    with qtbot.waitSignal(context.model_opened, timeout=10000):
        context.open_model("vae")
    panel.mode_tabs.setCurrentIndex(LEVELS_TAB)
    assert not panel.mode_tabs.isTabVisible(LEVELS_TAB) and not panel.pyramid_display.isVisible()


def test_holding_the_coarse_level_keeps_its_image_while_the_detail_changes(qtbot, context, panel, lapgan_path):
    open_lapgan(qtbot, context, panel, lapgan_path)
    before_z = panel.latent
    before = panel.pyramid_display.frame
    before_image = np.array(panel.image_view.image())
    panel.levels_tab.finer_buttons[0].click()          # hold 7x7, resample 14x14 and 28x28
    qtbot.waitUntil(lambda: not np.array_equal(panel.latent, before_z), timeout=10000)
    settled(qtbot, panel)
    after_z, after = panel.latent, panel.pyramid_display.frame
    np.testing.assert_array_equal(after_z[:5], before_z[:5])
    assert not np.array_equal(after_z[5:], before_z[5:])
    np.testing.assert_array_equal(after.levels[0].image, before.levels[0].image)
    assert not np.array_equal(np.array(panel.image_view.image()), before_image)
    # the finest image's 4 x 4 block means are still the 7 x 7 image (up to 8-bit rounding)
    finest = after.levels[-1].image[:, :, 0].astype(float)
    blocks = finest.reshape(7, 4, 7, 4).mean(axis=(1, 3))
    assert np.abs(blocks - after.levels[0].image[:, :, 0]).max() <= 1.0

    panel.undo()
    settled(qtbot, panel)
    np.testing.assert_array_equal(panel.latent, before_z)


def test_resampling_one_level_redraws_only_its_noise(qtbot, context, panel, lapgan_path):
    open_lapgan(qtbot, context, panel, lapgan_path)
    before_z = panel.latent
    panel.levels_tab.resample_buttons[1].click()       # the 14 x 14 level only
    qtbot.waitUntil(lambda: not np.array_equal(panel.latent, before_z), timeout=10000)
    settled(qtbot, panel)
    z = panel.latent
    np.testing.assert_array_equal(z[:5], before_z[:5])
    np.testing.assert_array_equal(z[8:], before_z[8:])
    assert not np.array_equal(z[5:8], before_z[5:8])
    assert [row.value() for row in panel.levels_tab.sliders[5:8]] == pytest.approx(list(z[5:8]), abs=0.01)


def test_the_pyramid_view_renders_under_screenshot(qtbot, isolated_config, lapgan_path, tmp_path):
    out = tmp_path / "pyramid.png"
    assert main(["--screenshot", str(out), "--device", "cpu", "--model", str(lapgan_path), "--view", "latent"]) == 0
    with Image.open(out) as image:
        pixels = np.asarray(image.convert("L"))
    assert pixels.shape[0] > 300 and pixels.std() > 10
