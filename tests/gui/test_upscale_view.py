"""The upscale view against a tiny SR model on a real worker: the six columns with their figures,
the blend slider re-running the network at the blend, images sent from another view (labelled
as generated), errors shown rather than raised, and the view under --screenshot."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.cli import main
from explorer.context import AppContext
from explorer.jobs.upscale import COLUMNS, MEASURED, fit_pixels
from explorer.views.main_window import MainWindow
from explorer.views.upscale import GENERATED_NOTE, UpscalePanel
from explorer.views.upscale_actions import SOURCES, send_to_upscale
from models.checkpoint import load_checkpoint, save_checkpoint
from models.generative import build_model
from models.metadata import CheckpointMetadata, DatasetInfo, TrainingInfo
from models.upscale import psnr

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CONFIG = {"image_shape": [1, 28, 28], "scale": 4, "channels": 8, "blocks": 1, "d_channels": 8}


@pytest.fixture
def sr_path(tmp_path, idx_data, monkeypatch):
    """A tiny SR model whose two weight sets differ; its test set is the tiny IDX data."""
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(idx_data))
    torch.manual_seed(0)
    model = build_model("srgan", CONFIG, {})
    with torch.no_grad():
        model.net.srgan.tail.weight.normal_(0, 0.05)
    path = tmp_path / "sr.safetensors"
    save_checkpoint(path, model.net, CheckpointMetadata(
        name="sr", kind="srgan", architecture="srgan", config=CONFIG, image_shape=(1, 28, 28),
        latent_shape=(1, 7, 7), dataset=DatasetInfo(name="fashion-mnist"),
        training=TrainingInfo(recipe={"kind": "srgan"}, seed=0, epochs=0)))
    return path


@pytest.fixture
def context(qtbot, sr_path, tiny_models):
    ctx = AppContext(device="cpu", bundled={"sr": sr_path, "classifier": tiny_models["classifier"],
                                            "vae": tiny_models["vae"]})
    yield ctx
    ctx.shutdown()


def wait_frame(qtbot, panel: UpscalePanel, blend: float | None = None):
    qtbot.waitUntil(lambda: panel.frame is not None and not panel.channel.busy
                    and (blend is None or panel.frame.blend == blend), timeout=15000)
    return panel.frame


def test_the_view_shows_every_column_with_its_figures_and_follows_the_blend(qtbot, context, sr_path):
    panel = UpscalePanel(context)
    qtbot.addWidget(panel)
    panel.resize(1100, 600)
    panel.show()
    frame = wait_frame(qtbot, panel)
    assert frame.images["low"].shape == (7, 7, 1) and frame.images["truth"].shape == (28, 28, 1)
    assert frame.description == "test image 0" and frame.true_class == "T-shirt/top"
    for name in COLUMNS:
        assert panel.views[name].image() is not None
    for name in MEASURED:
        assert panel.measures[name].text().startswith("PSNR ") and "SSIM" in panel.measures[name].text()
    assert panel.predictions["truth"].text().endswith(("✓", "✗"))   # the classifier's verdict
    # the PSNR shown is the truth against the column, as the job computed it
    truth = torch.from_numpy(frame.images["truth"]).permute(2, 0, 1)[None].float() / 255
    srgan = torch.from_numpy(frame.images["srgan"]).permute(2, 0, 1)[None].float() / 255
    assert psnr(truth, srgan)[0] == pytest.approx(frame.psnr["srgan"], abs=0.05)

    # the trade-off over the blend, measured once for this input: its ends are the two weight sets
    curve = panel.plots.curve
    assert curve is not None and len(curve.blends) == 11
    assert curve.psnr[0] == pytest.approx(frame.psnr["srresnet"]) and curve.psnr[-1] == pytest.approx(frame.psnr["srgan"])
    assert curve.bicubic_psnr == pytest.approx(frame.psnr["bicubic"])
    assert 0 < curve.bicubic_sharpness < 1           # a bicubic upscale is blurrier than its truth

    panel.set_blend(0.0)
    frame = wait_frame(qtbot, panel, 0.0)
    assert frame.curve is None                       # not measured again for a new blend
    assert np.array_equal(frame.images["blend"], frame.images["srresnet"])
    panel.set_blend(1.0)
    frame = wait_frame(qtbot, panel, 1.0)
    assert np.array_equal(frame.images["blend"], frame.images["srgan"])
    assert not np.array_equal(frame.images["srgan"], frame.images["srresnet"])
    assert panel.titles["blend"].text() == "Blend 1.00"

    panel.index_box.setValue(3)
    qtbot.waitUntil(lambda: panel.frame.description == "test image 3", timeout=15000)


def test_a_generated_image_is_labelled_and_a_bad_input_is_a_message(qtbot, context, tmp_path):
    panel = UpscalePanel(context)
    qtbot.addWidget(panel)
    panel.show()
    wait_frame(qtbot, panel)
    pixels = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    panel.upscale_pixels(pixels, "the latent view's image of vae")
    qtbot.waitUntil(lambda: panel.frame.description.startswith("the latent view"), timeout=15000)
    assert panel.note.isVisibleTo(panel) and panel.note.text() == GENERATED_NOTE
    # a colour 64x64 image becomes the grey 28x28 truth the upscaler works at
    assert np.array_equal(panel.frame.images["truth"][:, :, 0], fit_pixels(pixels, (1, 28, 28))[0])

    panel.index_box.setValue(500)          # the tiny test set has 30 images
    qtbot.waitUntil(lambda: "choose an index from 0 to 29" in panel.caption.text(), timeout=15000)
    assert not panel.note.isVisibleTo(panel)
    not_a_picture = tmp_path / "x.png"
    not_a_picture.write_text("not a picture")
    from explorer.jobs.upscale import ImageInput

    panel.set_input(ImageInput(path=str(not_a_picture)))
    qtbot.waitUntil(lambda: "cannot read the image" in panel.caption.text(), timeout=15000)


def test_the_upscale_menu_sends_the_latent_views_image(qtbot, context):
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    assert [v for v, _, _ in SOURCES] == ["latent", "interpolate", "diffusion"]
    # nothing to send before the latent view has an image
    assert not send_to_upscale(window, "diffusion", SOURCES[2][2])
    context.open_model("vae")
    qtbot.waitUntil(lambda: window.latent_panel.last_frame is not None, timeout=15000)
    wait_frame(qtbot, window.upscale_panel)
    assert send_to_upscale(window, "latent", SOURCES[0][2])
    assert window.current_view() == "upscale"
    qtbot.waitUntil(lambda: window.upscale_panel.frame.description.startswith("the latent view's image of vae"),
                    timeout=15000)
    assert np.array_equal(window.upscale_panel.frame.images["truth"], window.latent_panel.last_frame.image)
    # opening the upscaler switches to its view from one that does not show it
    window.show_view("latent")
    context.open_model("sr")
    qtbot.waitUntil(lambda: window.current_view() == "upscale", timeout=15000)
    window.close()


def test_the_view_renders_under_screenshot(qtbot, isolated_config, sr_path, tmp_path):
    out = tmp_path / "shot.png"
    assert main(["--screenshot", str(out), "--device", "cpu", "--model", str(sr_path), "--view", "upscale"]) == 0
    pixels = np.asarray(Image.open(out).convert("L"))
    assert pixels.shape[0] > 300 and pixels.std() > 10
    assert load_checkpoint(sr_path).upscaler is not None
