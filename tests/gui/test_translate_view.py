"""The translate view against a tiny translator on a real worker: x, G(x), F(G(x)) and the heat
map with the cycle error, both directions, the probes, a batch of 16, a sketch drawn with the mouse
(the canvas turns strokes into the expected pixels), another view's image, and the view under
--screenshot."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from explorer.cli import main
from explorer.context import AppContext
from explorer.views.main_window import MainWindow
from explorer.views.sketch_canvas import SketchCanvas, stamp_line
from explorer.views.translate import TranslatePanel
from explorer.views.translate_actions import SOURCES, send_to_translate
from models.checkpoint import load_checkpoint, save_checkpoint
from models.generative import build_model
from models.images import to_uint8
from models.metadata import CheckpointMetadata, DatasetInfo, TrainingInfo

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CONFIG = {"image_shape": [1, 28, 28], "base_channels": 4, "res_blocks": 1, "d_channels": 4}
DOMAINS = {"a": {"spec": "Sneaker", "name": "Sneaker", "classes": [7]},
           "b": {"spec": "Ankle boot", "name": "Ankle boot", "classes": [9]}}


@pytest.fixture
def translator_path(tmp_path, idx_data, monkeypatch):
    """A tiny untrained translator between two classes of the tiny IDX data (3 test items each)."""
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(idx_data))
    torch.manual_seed(0)
    model = build_model("cyclegan", CONFIG, {})
    path = tmp_path / "shoes.safetensors"
    save_checkpoint(path, model.net, CheckpointMetadata(
        name="shoes", kind="cyclegan", architecture="cyclegan", config=CONFIG, image_shape=(1, 28, 28),
        latent_shape=(1, 28, 28), dataset=DatasetInfo(name="fashion-mnist"),
        training=TrainingInfo(recipe={"kind": "cyclegan"}, seed=0, epochs=0), extras={"domains": DOMAINS}))
    return path


@pytest.fixture
def context(qtbot, translator_path, tiny_models):
    ctx = AppContext(device="cpu", bundled={"shoes": translator_path, "classifier": tiny_models["classifier"],
                                            "vae": tiny_models["vae"]})
    yield ctx
    ctx.shutdown()


def wait_frame(qtbot, panel: TranslatePanel, check=lambda f: True):
    qtbot.waitUntil(lambda: panel.frame is not None and not panel.channel.busy and check(panel.frame), timeout=15000)
    return panel.frame


def unit(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255


def test_the_view_shows_the_round_trip_its_error_and_both_directions(qtbot, context, idx_data, translator_path):
    from models.data import load_dataset

    panel = TranslatePanel(context)
    qtbot.addWidget(panel)
    panel.resize(1100, 640)
    panel.show()
    frame = wait_frame(qtbot, panel)
    test = load_dataset(str(idx_data), split="test")
    sneakers = np.flatnonzero(test.labels == 7)
    assert frame.description == "Sneaker, test item 0" and frame.true_class == "Sneaker"
    assert np.array_equal(frame.images["input"][:, :, 0], test.images[sneakers[0], 0])
    # F(G(x)) is the reconstruction of x, and the cycle error is their mean distance
    error = (unit(frame.images["reconstructed"]) - unit(frame.images["input"])).abs().mean().item()
    assert frame.cycle_error == pytest.approx(error, abs=0.003)
    assert panel.notes["heat"].text() == f"cycle error {frame.cycle_error:.4f}"
    assert frame.images["heat"].shape == (28, 28, 3) and "truth" not in frame.images
    assert not panel.views["truth"].isVisibleTo(panel)
    assert panel.notes["translated"].text().endswith("%")      # the classifier's class and confidence
    assert panel.titles["translated"].text() == "G(x) (Ankle boot)"
    # the probes: noise before F and amplified detail
    assert frame.probes.noisy_reconstruction is not None and frame.probes.noisy_error is not None
    assert not np.array_equal(frame.probes.noisy, frame.images["translated"])

    tr = load_checkpoint(translator_path).translator
    assert np.array_equal(frame.images["translated"], to_uint8(tr.a_to_b(unit(frame.images["input"])))[0])

    panel.set_reverse(True)
    frame = wait_frame(qtbot, panel, lambda f: f.reverse)
    boots = np.flatnonzero(test.labels == 9)
    assert frame.source_domain == "Ankle boot" and frame.true_class == "Ankle boot"
    assert np.array_equal(frame.images["input"][:, :, 0], test.images[boots[0], 0])
    assert np.array_equal(frame.images["translated"], to_uint8(tr.b_to_a(unit(frame.images["input"])))[0])
    assert panel.titles["input"].text() == "x (Ankle boot)"

    panel.sigma_slider.setValue(0)
    panel.gain_slider.setValue(0)
    frame = wait_frame(qtbot, panel, lambda f: f.probes.sigma == 0 and f.probes.gain == 0)
    assert frame.probes.noisy is None and frame.probes.amplified is None
    assert panel.notes["amplified"].text() == "off"

    panel.index_box.setValue(5)                       # the tiny test set has 3 ankle boots
    qtbot.waitUntil(lambda: "choose an index from 0 to 2" in panel.caption.text(), timeout=15000)


def test_batch_mode_translates_16_test_items_at_once(qtbot, context):
    panel = TranslatePanel(context)
    qtbot.addWidget(panel)
    panel.show()
    wait_frame(qtbot, panel)
    panel.set_mode("batch")
    qtbot.waitUntil(lambda: panel.batch is not None, timeout=15000)
    batch = panel.batch
    assert batch.inputs.shape == (16, 28, 28, 1) and batch.outputs.shape == (16, 28, 28, 1)
    assert batch.indices == tuple(i % 3 for i in range(16))   # three sneakers, round and round
    assert len(batch.predictions) == 16 and all(x in (True, False) for x in batch.in_target)
    assert panel.batch_inputs.image().shape[:2] == (4 * 28 + 3, 4 * 28 + 3)   # a 4 x 4 grid
    assert "Sneaker → Ankle boot" in panel.batch_caption.text()


def test_the_canvas_turns_mouse_strokes_into_the_expected_image(qtbot):
    canvas = SketchCanvas((28, 28))
    qtbot.addWidget(canvas)
    canvas.resize(280, 280)                  # 10 screen pixels per image pixel
    canvas.show()
    qtbot.waitExposed(canvas)
    seen = []
    canvas.sketch_changed.connect(seen.append)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(55, 55))
    qtbot.mouseMove(canvas, QPoint(205, 55))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(205, 55))
    expected = np.zeros((28, 28), dtype=np.uint8)
    stamp_line(expected, (5.5, 5.5), (20.5, 5.5), canvas.pen_radius, 255)
    assert np.array_equal(canvas.pixels(), expected)
    assert canvas.pixels()[5, 5:21].min() == 255 and canvas.pixels()[10:].max() == 0   # a line on row 5
    assert len(seen) >= 2 and np.array_equal(seen[-1], expected)     # every step is sent on
    qtbot.mouseMove(canvas, QPoint(55, 205))                         # no button held: no stroke
    assert np.array_equal(canvas.pixels(), expected)

    canvas.set_tool("eraser")
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(125, 55))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(125, 55))
    stamp_line(expected, (12.5, 5.5), (12.5, 5.5), canvas.eraser_radius, 0)
    assert np.array_equal(canvas.pixels(), expected) and canvas.pixels()[5, 12] == 0
    canvas.clear()
    assert canvas.pixels().max() == 0 and seen[-1].max() == 0


def test_a_sketch_is_translated_as_it_is_drawn(qtbot, context):
    panel = TranslatePanel(context)
    qtbot.addWidget(panel)
    panel.resize(1100, 640)
    panel.show()
    wait_frame(qtbot, panel)
    panel.set_mode("sketch")
    assert panel.canvas_box.isVisibleTo(panel)
    stroke = np.zeros((28, 28), dtype=np.uint8)
    stamp_line(stroke, (4, 14), (24, 14), 1.0, 255)
    panel.canvas.set_pixels(stroke)
    frame = wait_frame(qtbot, panel, lambda f: f.description == "the sketch drawn on the canvas"
                       and f.images["input"].max() > 0)
    assert np.array_equal(frame.images["input"][:, :, 0], stroke)


def test_the_translate_menu_sends_the_latent_views_image_and_opening_a_translator_shows_the_view(qtbot, context):
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    assert not send_to_translate(window, SOURCES[0][2])          # no image yet
    context.open_model("vae")
    qtbot.waitUntil(lambda: window.latent_panel.last_frame is not None, timeout=15000)
    assert send_to_translate(window, SOURCES[0][2])
    assert window.current_view() == "translate"
    panel = window.translate_panel
    frame = wait_frame(qtbot, panel, lambda f: f.description.startswith("the latent view's image of vae"))
    assert np.array_equal(frame.images["input"], window.latent_panel.last_frame.image)
    window.show_view("latent")
    context.open_model("shoes")
    qtbot.waitUntil(lambda: window.current_view() == "translate", timeout=15000)
    window.close()


def test_the_view_renders_under_screenshot(qtbot, isolated_config, translator_path, tmp_path):
    out = tmp_path / "shot.png"
    assert main(["--screenshot", str(out), "--device", "cpu", "--model", str(translator_path),
                 "--view", "translate"]) == 0
    pixels = np.asarray(Image.open(out).convert("L"))
    assert pixels.shape[0] > 300 and pixels.std() > 10
