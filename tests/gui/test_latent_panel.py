"""The latent panel against tiny random models: sliders drive the image through the worker,
drags are coalesced, errors are shown and survived, and the controls do what they say."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from explorer.context import AppContext
from tests.conftest import CLASS_NAMES
from models.images import to_uint8
from explorer.jobs.latent import Frame, labels_tensor
from models.devices import torch_threads
from explorer.views.latent_dimensions import MAX_SLIDERS
from explorer.views.latent_panel import FRAME_CHANNEL, LatentPanel
from explorer.views.latent_widgets import TICKS
from explorer.worker import Result, Status
from models.checkpoint import load_checkpoint, save_checkpoint
from models.generative import build_model

# The tiny DCGAN's random weights give one flat grey for every latent; the MLP GAN's do not.
BUNDLE = ("vae", "cvae", "gan-mlp", "classifier")


@pytest.fixture
def context(qtbot, tiny_models):
    ctx = AppContext(device="cpu", bundled={n: tiny_models[n] for n in BUNDLE})
    yield ctx
    ctx.shutdown()
    assert ctx.worker.isFinished()


@pytest.fixture
def panel(qtbot, context):
    p = LatentPanel(context)
    qtbot.addWidget(p)
    p.resize(900, 600)
    p.show()
    return p


def open_model(qtbot, context, panel, name: str) -> None:
    with qtbot.waitSignal(context.model_opened, timeout=10000):
        context.open_model(name)
    settle(qtbot, panel)


def settle(qtbot, panel) -> None:
    """Waits until the newest frame request has been answered."""
    qtbot.waitUntil(lambda: panel.shown_id >= panel.last_request_id and panel.last_result is not None,
                    timeout=10000)


def shown(panel) -> np.ndarray:
    image = panel.image_view.image()
    assert image is not None
    return np.array(image)


def direct_decode(path, z, label=None, psi=1.0) -> np.ndarray:
    model = load_checkpoint(path)
    zt = torch.from_numpy(np.asarray(z, dtype=np.float32)).reshape(1, *model.latent_shape)
    labels = labels_tensor(label, 1) if model.conditional is not None else None
    with torch_threads(1):     # as on the worker, so the arithmetic is the same
        images = model.decode(zt, labels, psi=psi)
    return to_uint8(images)[0][:, :, 0]


def close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to one grey level: a batch of 25 and a batch of 1 may round differently."""
    return a.shape == b.shape and int(np.abs(a.astype(int) - b.astype(int)).max()) <= 1


def test_moving_a_slider_changes_the_shown_image(qtbot, context, panel):
    open_model(qtbot, context, panel, "vae")
    before = shown(panel)
    assert len(panel.dim_sliders) == 4
    panel.dim_sliders[0].slider.setValue(-250)
    settle(qtbot, panel)
    assert panel.latent[0] == pytest.approx(-2.5)
    assert not np.array_equal(shown(panel), before)
    qtbot.waitUntil(lambda: panel.image_view.painted_tag == panel.shown_id)


def test_rapid_slider_events_are_coalesced_and_the_last_point_is_shown(qtbot, context, panel, tiny_models):
    open_model(qtbot, context, panel, "vae")
    jobs_before = context.worker.jobs_run
    frames_before = panel.frames_shown
    slider = panel.dim_sliders[1].slider
    slider.setSliderDown(True)        # a mouse drag: one undo step, no neighbour grid meanwhile
    # the worker is kept busy (it cannot take a request while its queue's lock is held) during
    # the first 400 events, so they must collapse into one pending request; the last 100 arrive
    # while it works freely
    with context.worker._lock:
        for i in range(400):
            slider.setValue(-300 + (i * 7) % 600)
            if i % 25 == 0:
                QApplication.processEvents()
    for i in range(400, 500):
        slider.setValue(-300 + (i * 7) % 600)
        if i % 25 == 0:
            QApplication.processEvents()
    slider.setSliderDown(False)
    settle(qtbot, panel)
    renders = context.worker.jobs_run - jobs_before
    assert renders <= 101, f"{renders} renders for 500 slider events"
    assert panel.frames_shown - frames_before <= renders
    final = panel.latent
    assert final[1] == pytest.approx(((-300 + (499 * 7) % 600)) / TICKS)
    assert np.array_equal(shown(panel), direct_decode(tiny_models["vae"], final))


def test_a_result_older_than_the_shown_one_is_dropped(qtbot, context, panel):
    open_model(qtbot, context, panel, "vae")
    current = shown(panel)
    dropped = panel.frames.dropped
    stale = Result(panel.shown_id - 1, FRAME_CHANNEL, "frame", Status.DONE,
                   value=Frame(np.full((28, 28, 1), 255, np.uint8), None, panel.latent))
    panel.frames.receive_result(stale)
    assert panel.frames.dropped == dropped + 1
    assert np.array_equal(shown(panel), current)


def test_a_model_that_raises_shows_its_error_and_the_next_request_works(qtbot, context, panel, monkeypatch):
    open_model(qtbot, context, panel, "vae")
    from models.generative import VAEModel

    real_decode = VAEModel.decode
    broken = {"on": True}

    def decode(self, z, labels=None, *, psi=1.0):
        if broken["on"]:
            raise RuntimeError("decoder exploded on purpose")
        return real_decode(self, z, labels, psi=psi)

    monkeypatch.setattr(VAEModel, "decode", decode)
    with qtbot.waitSignal(panel.error_shown, timeout=10000) as blocker:
        panel.dim_sliders[0].slider.setValue(120)
    assert "decoder exploded on purpose" in blocker.args[0]
    assert "decoder exploded on purpose" in panel.image_view.message()
    broken["on"] = False
    panel.dim_sliders[0].slider.setValue(-120)
    settle(qtbot, panel)
    assert panel.last_result.ok
    assert panel.image_view.message() == ""
    assert context.worker.isRunning()


def test_conditional_models_get_a_class_selector_and_blending(qtbot, context, panel, tiny_models):
    open_model(qtbot, context, panel, "cvae")
    assert not panel.class_controls.isHidden() and panel.class_controls.combo.count() == 10
    panel.class_controls.combo.setCurrentIndex(3)
    settle(qtbot, panel)
    assert panel.label == 3
    assert np.array_equal(shown(panel), direct_decode(tiny_models["cvae"], panel.latent, 3))
    panel.class_controls.blend_check.setChecked(True)
    panel.class_controls.blend_sliders[7].slider.setValue(100)    # Dress and Sneaker, equally
    settle(qtbot, panel)
    weights = panel.label
    assert isinstance(weights, list) and weights[3] == pytest.approx(0.5) and weights[7] == pytest.approx(0.5)
    assert np.array_equal(shown(panel), direct_decode(tiny_models["cvae"], panel.latent, weights))


def test_gan_truncation_at_zero_ignores_the_latent(qtbot, context, panel):
    open_model(qtbot, context, panel, "gan-mlp")
    assert not panel.psi_group.isHidden()
    panel.psi_slider.slider.setValue(0)
    settle(qtbot, panel)
    at_mean = shown(panel)
    panel.seed_box.setValue(1234)
    settle(qtbot, panel)
    assert panel.psi == 0.0
    assert np.array_equal(shown(panel), at_mean)
    panel.psi_slider.slider.setValue(TICKS)
    settle(qtbot, panel)
    assert not np.array_equal(shown(panel), at_mean)


def test_unconditional_vae_hides_class_and_truncation(qtbot, context, panel):
    open_model(qtbot, context, panel, "vae")
    assert panel.class_controls.isHidden() and panel.psi_group.isHidden()


def test_seed_randomize_reset_and_undo(qtbot, context, panel):
    open_model(qtbot, context, panel, "gan-mlp")
    seed0_point = panel.latent
    panel.dim_sliders[2].slider.setValue(300)
    settle(qtbot, panel)
    panel.randomize()
    settle(qtbot, panel)
    assert panel.seed_box.value() != 0
    random_point = panel.latent
    assert not np.allclose(random_point, seed0_point)
    # each row shows the point's value; a value beyond ±3σ pins the handle at the end
    assert [r.value() for r in panel.dim_sliders] == pytest.approx(list(random_point), abs=1e-6)
    assert [r.slider.value() / TICKS for r in panel.dim_sliders] == pytest.approx(
        list(np.clip(random_point, -3, 3)), abs=0.006)
    panel.undo()
    settle(qtbot, panel)
    assert panel.latent[2] == pytest.approx(3.0)
    panel.undo()
    settle(qtbot, panel)
    assert np.allclose(panel.latent, seed0_point)
    panel.redo()
    settle(qtbot, panel)
    assert panel.latent[2] == pytest.approx(3.0)
    panel.reset()
    settle(qtbot, panel)
    assert np.allclose(panel.latent, seed0_point)


def test_keyboard_nudges_randomizes_and_undoes(qtbot, context, panel):
    open_model(qtbot, context, panel, "vae")
    panel.activateWindow()
    slider = panel.dim_sliders[1].slider
    slider.setFocus()
    qtbot.waitUntil(slider.hasFocus)
    start = panel.latent
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    settle(qtbot, panel)
    assert panel.latent[1] == pytest.approx(round(start[1] * TICKS) / TICKS + 0.1, abs=1e-5)
    nudged = panel.latent
    qtbot.keyClick(slider, Qt.Key.Key_R)
    settle(qtbot, panel)
    assert not np.allclose(panel.latent, nudged)
    qtbot.keyClick(slider, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, panel)
    assert np.allclose(panel.latent, nudged)


def test_gan_directions_move_the_point_along_a_ganspace_direction(qtbot, context, panel):
    open_model(qtbot, context, panel, "gan-mlp")
    panel.mode_tabs.setCurrentIndex(1)     # opening the tab computes them
    qtbot.waitUntil(lambda: len(panel.dir_sliders) > 0, timeout=20000)
    directions = panel.directions
    assert directions.method == "GANSpace"
    assert len(panel.dir_sliders) == 8      # min(12, latent size)
    start = panel.latent
    panel.dir_sliders[0].slider.setValue(150)
    settle(qtbot, panel)
    expected = start + 1.5 * directions.std[0] * directions.directions[0]
    assert np.allclose(panel.latent, expected, atol=1e-5)
    panel.mode_tabs.setCurrentIndex(0)
    assert [r.value() for r in panel.dim_sliders] == pytest.approx(list(np.clip(expected, -3, 3)), abs=1e-5)


def test_vae_directions_fall_back_to_prior_samples_without_the_dataset(qtbot, context, panel, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path / "no-data-here"))
    open_model(qtbot, context, panel, "vae")
    panel.mode_tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: len(panel.dir_sliders) > 0, timeout=20000)
    assert panel.directions.method == "PCA of encoded prior samples"
    assert "prior" in panel.directions_tab.note.text() and "no-data-here" in panel.directions_tab.note.text()


def test_neighbour_grid_centre_is_the_current_point(qtbot, context, panel):
    open_model(qtbot, context, panel, "vae")
    panel.grid.action.setChecked(True)
    qtbot.waitUntil(lambda: panel.grid.shown_id and panel.grid.shown_id == panel.grid.channel.newest_id,
                    timeout=10000)
    mosaic = np.array(panel.grid.view.image())
    assert mosaic.shape == (5 * 28 + 4, 5 * 28 + 4)
    centre = mosaic[2 * 29: 2 * 29 + 28, 2 * 29: 2 * 29 + 28]
    assert close(centre, shown(panel))
    assert not np.array_equal(mosaic[:28, :28], centre)


def test_the_classifier_labels_each_frame(qtbot, context, panel):
    open_model(qtbot, context, panel, "vae")
    probs = panel.last_frame.probs
    assert probs is not None and probs.shape == (10,)
    assert probs.sum() == pytest.approx(1.0, abs=1e-4)
    best = context.models[0].class_names[int(probs.argmax())]
    assert panel.prediction.prediction().startswith(best)


def test_large_latents_show_32_sliders_and_offer_directions(qtbot, tmp_path, panel, context):
    config = {"image_shape": [1, 28, 28], "latent_dim": 40, "base_channels": 8}
    model = build_model("conv-vae", config, {"name": "wide-vae"})
    path = tmp_path / "wide-vae.safetensors"
    save_checkpoint(path, model.net, {"name": "wide-vae", "kind": "vae", "architecture": "conv-vae",
                                      "config": config, "image_shape": [1, 28, 28], "latent_shape": [40],
                                      "class_names": []})
    open_model(qtbot, context, panel, str(path))
    assert len(panel.dim_sliders) == MAX_SLIDERS and panel.latent.shape == (40,)
    assert "32 of 40" in panel.dimensions_tab.note.text()
    assert panel.mode_tabs.isTabEnabled(1)


def test_in_directions_mode_the_grid_follows_the_last_two_directions_moved(qtbot, context, panel,
                                                                            tiny_models):
    open_model(qtbot, context, panel, "gan-mlp")
    panel.mode_tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: len(panel.dir_sliders) > 0, timeout=20000)
    panel.grid.action.setChecked(True)
    panel.dir_sliders[0].slider.setValue(50)
    panel.dir_sliders[1].slider.setValue(-50)
    settle(qtbot, panel)
    qtbot.waitUntil(lambda: panel.grid.caption.text().startswith("→ PC2   ↑ PC1"), timeout=10000)
    qtbot.waitUntil(lambda: panel.grid.shown_id == panel.grid.channel.newest_id, timeout=10000)
    mosaic = np.array(panel.grid.view.image())
    d = panel.directions
    right = panel.latent + 1.0 * d.std[1] * d.directions[1]     # column 4: s = +extent along PC2
    top = panel.latent + 1.0 * d.std[0] * d.directions[0]       # row 0: t = +extent along PC1
    assert close(mosaic[2 * 29: 2 * 29 + 28, 4 * 29: 4 * 29 + 28], direct_decode(tiny_models["gan-mlp"], right))
    assert close(mosaic[0:28, 2 * 29: 2 * 29 + 28], direct_decode(tiny_models["gan-mlp"], top))


def test_notes_say_what_the_image_of_a_model_is_and_never_point_to_a_disabled_tab(qtbot, tiny_models):
    ctx = AppContext(device="cpu", bundled={n: tiny_models[n] for n in ("vae", "classifier", "ddpm")})
    p = LatentPanel(ctx)
    qtbot.addWidget(p)
    p.show()
    try:
        open_model(qtbot, ctx, p, "vae")
        assert p.model_note.isHidden()
        open_model(qtbot, ctx, p, "classifier")
        assert not p.model_note.isHidden() and "not a generator" in p.model_note.text()
        open_model(qtbot, ctx, p, "ddpm")
        assert not p.mode_tabs.isTabEnabled(1)
        assert "Directions tab" not in p.dimensions_tab.note.text()
        assert "Diffusion view" in p.dimensions_tab.note.text() and "step by step" in p.model_note.text()
    finally:
        ctx.shutdown()


def test_with_blending_the_class_named_is_the_one_with_the_most_weight(qtbot, context, panel):
    open_model(qtbot, context, panel, "cvae")
    controls = panel.class_controls
    controls.combo.setCurrentIndex(8)
    controls.blend_check.setChecked(True)
    controls.blend_sliders[8].slider.setValue(10)       # weight 0.1 left on class 8 ...
    controls.blend_sliders[9].slider.setValue(100)      # ... and all of it on class 9
    assert controls.combo.currentIndex() == 9 and controls.combo.currentText() == CLASS_NAMES[9]


def test_a_point_from_a_bookmark_has_no_seed_and_reset_says_so(qtbot, context, panel):
    open_model(qtbot, context, panel, "vae")
    panel.seed_box.setValue(7)
    settle(qtbot, panel)
    messages = []
    context.status.connect(messages.append)
    panel.set_point(np.full(4, 0.5, np.float32))
    settle(qtbot, panel)
    assert panel.seed_box.text() == "—"
    panel.reset()
    assert np.allclose(panel.latent, 0.5) and "did not come from a seed" in messages[-1]
    panel.undo()
    settle(qtbot, panel)
    assert panel.seed_box.value() == 7
