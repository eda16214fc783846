"""Colour models and other image sizes through every view: randomly initialised 3x64x64 DCGAN and
VAE, a 3x32x32 DDPM, a user's own 64x64 colour state dict and TorchScript generator. Each is
decoded at its own shape and colours wherever it shows up, labelled by the classifier that reads
its images (or not at all when none does), and exported as a colour GIF."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from explorer.cli import main
from explorer.context import AppContext
from explorer.jobs.diffusion import DiffusionSettings
from explorer.views.main_window import MainWindow
from models.checkpoint import open_model, save_checkpoint
from models.generative import build_model
from models.images import to_uint8
from models.metadata import CheckpointMetadata, DatasetInfo, TrainingInfo

pytestmark = pytest.mark.usefixtures("one_torch_thread")
COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "grey"]
SHAPES = {
    "rgb-dcgan": ("dcgan", {"image_shape": [3, 64, 64], "latent_dim": 16, "g_channels": 8, "d_channels": 8}),
    "rgb-vae": ("conv-vae", {"image_shape": [3, 64, 64], "latent_dim": 8, "base_channels": 8}),
    "rgb-ddpm": ("unet-ddpm", {"image_shape": [3, 32, 32], "base_channels": 8, "channel_mults": [1, 2],
                               "time_embed_dim": 16}),
    "rgb-judge": ("ae-classifier", {"image_shape": [3, 64, 64], "code_dim": 8, "base_channels": 8,
                                    "head_hidden": 16, "num_classes": 7}),
}
TIMEOUT = 30000


def checkpoint(folder, name: str, seed: int = 0):
    architecture, config = SHAPES[name]
    torch.manual_seed(seed)
    classes = COLOURS if name == "rgb-judge" else []
    model = build_model(architecture, config, {"name": name, "class_names": classes})
    recipe = {"kind": "untrained", "data": "emoji"} if name == "rgb-judge" else {"kind": "untrained"}
    meta = CheckpointMetadata(
        name=name, kind=str(model.kind), architecture=architecture, config=config,
        image_shape=tuple(model.image_shape), latent_shape=tuple(model.latent_shape), class_names=tuple(classes),
        dataset=DatasetInfo(name="none (random weights for tests)"),
        training=TrainingInfo(recipe=recipe, seed=seed, epochs=0))
    path = folder / f"{name}.safetensors"
    save_checkpoint(path, model.net, meta)
    return path


@pytest.fixture(scope="module")
def colour_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("colour-models")
    return {name: checkpoint(folder, name) for name in SHAPES}


def make_window(qtbot, tiny_models, colour_models, names, grey=("vae", "classifier")):
    bundled = {**{n: colour_models[n] for n in names}, **{n: tiny_models[n] for n in grey}}
    context = AppContext(device="cpu", bundled=bundled)
    context.settings.setValue("diffusion/forward_source", "array")   # no dataset in CI
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    return context, window


def open_in(qtbot, context, source) -> None:
    with qtbot.waitSignal(context.model_opened, timeout=TIMEOUT):
        context.open_model(source)


def settle(qtbot, context) -> None:
    qtbot.waitUntil(lambda: not context.busy(), timeout=TIMEOUT)


def direct(path, z: np.ndarray) -> np.ndarray:
    model = open_model(path)
    with torch.no_grad():
        return to_uint8(model.decode(torch.from_numpy(np.asarray(z, dtype=np.float32)).reshape(1, -1)))[0]


@pytest.mark.parametrize("name", ["rgb-dcgan", "rgb-vae"])
def test_a_colour_64_pixel_model_goes_through_the_latent_view_and_interpolation(qtbot, tiny_models,
                                                                                colour_models, name, tmp_path):
    context, window = make_window(qtbot, tiny_models, colour_models, [name, "rgb-judge"])
    try:
        panel = window.latent_panel
        open_in(qtbot, context, name)
        qtbot.waitUntil(lambda: panel.last_frame is not None and panel.shown_id >= panel.last_request_id,
                        timeout=TIMEOUT)
        image = np.array(panel.image_view.image())
        assert image.shape == (64, 64, 3)
        assert np.array_equal(image, direct(colour_models[name], panel.latent))
        # the colour classifier labels it, never the Fashion-MNIST one
        assert panel.last_frame.probs is not None and panel.last_frame.probs.shape == (7,)
        assert panel.prediction.prediction().split(" — ")[0] in COLOURS

        panel.mode_tabs.setCurrentWidget(panel.directions_tab)
        qtbot.waitUntil(lambda: len(panel.dir_sliders) > 0, timeout=TIMEOUT)
        assert panel.directions.directions.shape[1] == open_model(colour_models[name]).latent_dim
        panel.grid.action.setChecked(True)
        qtbot.waitUntil(lambda: panel.grid.shown_id and panel.grid.shown_id == panel.grid.channel.newest_id,
                        timeout=TIMEOUT)
        assert np.array(panel.grid.view.image()).shape == (5 * 64 + 4, 5 * 64 + 4, 3)

        window.show_view("interpolate")
        interpolation = window.interpolation_panel
        qtbot.waitUntil(lambda: interpolation.result is not None and not context.busy(), timeout=TIMEOUT)
        frames = interpolation.result.frames
        assert frames.shape[1:] == (64, 64, 3)
        assert interpolation.result.analysis.class_names == tuple(COLOURS)
        out = tmp_path / "path.gif"
        with qtbot.waitSignal(interpolation.export_finished, timeout=TIMEOUT) as blocker:
            assert interpolation.export_gif(str(out))
        assert blocker.args[0].ok
        with Image.open(out) as gif:
            assert gif.size == (64 * interpolation.export.scale_box.value(),) * 2
            first = np.asarray(gif.convert("RGB"))
        scale = interpolation.export.scale_box.value()
        assert np.abs(first[::scale, ::scale].astype(int) - frames[0].astype(int)).max() <= 8  # GIF palette
    finally:
        window.close()
        context.shutdown()


def test_two_models_of_different_shapes_side_by_side_each_with_its_own_classes(qtbot, tiny_models,
                                                                               colour_models):
    context, window = make_window(qtbot, tiny_models, colour_models, ["rgb-dcgan", "rgb-judge"])
    try:
        open_in(qtbot, context, "vae")
        window.show_view("compare")
        panel = window.compare_panel
        settle(qtbot, panel.context)
        right = panel.columns["right"]
        index = next(i for i in range(right.model_combo.count())
                     if getattr(right.model_combo.itemData(i), "name", None) == "rgb-dcgan")
        right.model_combo.setCurrentIndex(index)
        right.model_combo.activated.emit(index)
        qtbot.waitUntil(lambda: right.info is not None and right.info.name == "rgb-dcgan", timeout=TIMEOUT)
        settle(qtbot, context)
        left = panel.columns["left"]
        k_left, k_right = left.grid_box.value(), right.grid_box.value()
        assert left.tabs.map_view.mosaic().shape == (k_left * 28, k_left * 28, 1)
        assert right.tabs.map_view.mosaic().shape == (k_right * 64, k_right * 64, 3)
        assert np.array(right.image_view.image()).shape == (64, 64, 3)
        # each column's classes are its own classifier's, both named in the legend
        assert panel.legend.names("right") == tuple(COLOURS)
        assert panel.legend.names("left")[0] == "T-shirt/top"
        assert right.caption.text().split("</span> ")[1].split()[0] in COLOURS
        panel.measure()
        assert "need different ones" in panel.metrics.note.text()
    finally:
        window.close()
        context.shutdown()


def test_without_a_classifier_for_its_images_a_colour_model_shows_no_classes(qtbot, tiny_models, colour_models):
    context, window = make_window(qtbot, tiny_models, colour_models, ["rgb-dcgan"])
    try:
        panel = window.latent_panel
        open_in(qtbot, context, "rgb-dcgan")
        qtbot.waitUntil(lambda: panel.last_frame is not None and panel.shown_id >= panel.last_request_id,
                        timeout=TIMEOUT)
        assert context.classifier_for(context.current) is None
        assert panel.last_frame.probs is None
        states = {panel.directions_tab.method_combo.itemData(i):
                  panel.directions_tab.method_combo.model().item(i).isEnabled()
                  for i in range(panel.directions_tab.method_combo.count())}
        assert not states["boundaries"] and states["principal"]
    finally:
        window.close()
        context.shutdown()


def test_a_32_pixel_colour_ddpm_runs_in_the_diffusion_view(qtbot, tiny_models, colour_models, tmp_path):
    context, window = make_window(qtbot, tiny_models, colour_models, ["rgb-ddpm"], grey=("vae",))
    try:
        window.show_view("diffusion")
        panel = window.diffusion_panel
        qtbot.waitUntil(lambda: panel.model is not None, timeout=TIMEOUT)
        panel.set_diffusion_settings(DiffusionSettings(sampler="ddim", num_steps=4, batch=2, seed=1))
        with qtbot.waitSignal(panel.run_finished, timeout=TIMEOUT) as blocker:
            panel.run()
        assert blocker.args[0].ok
        assert panel.store.sample(3, 0, "x_t").shape == (32, 32, 3)
        assert np.array(panel.views["x_t"].image()).shape[2] == 3
        out = tmp_path / "run.gif"
        with qtbot.waitSignal(panel.export_finished, timeout=TIMEOUT):
            panel.export_gif(str(out))
        with Image.open(out) as gif:
            assert gif.n_frames >= 1 and gif.convert("RGB").size[0] >= 32
    finally:
        window.close()
        context.shutdown()


def test_sample_export_gif_and_denoise_write_colour_images(colour_models, tmp_path, capsys):
    grid = tmp_path / "grid.png"
    assert main(["sample", str(colour_models["rgb-dcgan"]), str(grid), "--count", "4"]) == 0
    with Image.open(grid) as im:
        assert im.mode == "RGB" and im.width >= 2 * 64
    gif = tmp_path / "walk.gif"
    assert main(["export-gif", "--model", str(colour_models["rgb-vae"]), "--from", "1", "--to", "2",
                 "--frames", "6", "--scale", "2", str(gif)]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == 6 and im.size == (128, 128) and im.convert("RGB").getpixel((5, 5)) is not None
    run = tmp_path / "run.gif"
    assert main(["denoise", "--model", str(colour_models["rgb-ddpm"]), "--steps", "3", "--every", "1",
                 "--device", "cpu", "--quiet", str(run)]) == 0
    with Image.open(run) as im:
        assert im.n_frames == 3 and im.width == 32 * 8


class _ColourGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 3 * 64 * 64)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z)).view(-1, 3, 64, 64)


def test_a_users_own_colour_state_dict_and_torchscript_generator_open_and_decode(qtbot, tiny_models,
                                                                                  colour_models, tmp_path):
    architecture, config = SHAPES["rgb-dcgan"]
    torch.manual_seed(3)
    theirs = build_model(architecture, config, {"name": "theirs"})
    torch.save(theirs.net.state_dict(), tmp_path / "dcgan64.pth")
    (tmp_path / "dcgan64.pth.json").write_text(json.dumps({"architecture": architecture, "config": config,
                                                           "class_names": [], "name": "their-dcgan"}))
    torch.manual_seed(4)
    torch.jit.script(_ColourGenerator().eval()).save(str(tmp_path / "scripted.pt"))
    (tmp_path / "scripted.pt.json").write_text(json.dumps({"latent_shape": [6], "image_shape": [3, 64, 64],
                                                           "output_range": "tanh", "scripted": True}))
    context, window = make_window(qtbot, tiny_models, colour_models, ["rgb-judge"])
    try:
        panel = window.latent_panel
        for path in (tmp_path / "dcgan64.pth", tmp_path / "scripted.pt"):
            open_in(qtbot, context, path)
            qtbot.waitUntil(lambda: panel.last_frame is not None and panel.shown_id >= panel.last_request_id,
                            timeout=TIMEOUT)
            image = np.array(panel.image_view.image())
            assert image.shape == (64, 64, 3)
            assert np.array_equal(image, direct(path, panel.latent))
            assert panel.last_frame.probs is not None and panel.last_frame.probs.shape == (7,)
        assert {str(tmp_path / "dcgan64.pth"), str(tmp_path / "scripted.pt")} <= set(window.library.sources())
    finally:
        window.close()
        context.shutdown()


def test_the_classifier_a_model_was_measured_with_labels_it(qtbot, colour_models, tmp_path):
    import shutil

    from models.checkpoint import read_metadata

    other = tmp_path / "judge-b.safetensors"
    architecture, config = SHAPES["rgb-judge"]
    model = build_model(architecture, config, {"name": "judge-b", "class_names": COLOURS})
    save_checkpoint(other, model.net, {**read_metadata(colour_models["rgb-judge"]), "name": "judge-b"})
    measured = tmp_path / "measured.safetensors"
    shutil.copy(colour_models["rgb-dcgan"], measured)
    gan = open_model(measured)
    save_checkpoint(measured, gan.net, {**gan.metadata, "name": "measured", "metrics": {"classifier": "judge-b"}})
    context = AppContext(device="cpu", bundled={"rgb-judge": colour_models["rgb-judge"], "judge-b": other,
                                                "measured": measured, "rgb-dcgan": colour_models["rgb-dcgan"]})
    try:
        by_name = {info.name: info for info in context.models}
        assert context.classifier_for(by_name["measured"]) == str(other.resolve())
        assert context.classifier_for(by_name["rgb-dcgan"]) == str(colour_models["rgb-judge"].resolve())
    finally:
        context.shutdown()
