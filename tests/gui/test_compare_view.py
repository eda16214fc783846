"""The compare view against tiny random models (and the bundled ones where a test needs trained
weights): maps fill in progressively with a class map, the linked modes tie the columns together,
real images are encoded / inverted with progress and cancel, the scatter decodes clicked points,
the metrics table explains itself, and the view renders under --screenshot."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import resources
from explorer.cli import main
from explorer.context import AppContext
from explorer.jobs.compare import MAP_BATCH, MapRows, PathStrip
from explorer.views.compare import ComparePanel
from explorer.views.latent_map import CLASS_COLOURS, OVERLAY_ALPHA, class_rgb
from explorer.worker import JobProgress
from models.checkpoint import load_checkpoint
from models.data import DATA_ENV_VAR, DataError, load_fashion_mnist
from models.maps import dims_plane, grid_latents

BUNDLE = ("vae", "vae-2d", "dcgan", "gan-mlp", "cgan", "ddpm")


def fashion_mnist_test_installed() -> bool:
    try:
        load_fashion_mnist(split="test")
    except DataError:
        return False
    return True


needs_data = pytest.mark.skipif(not fashion_mnist_test_installed(),
                                reason="needs the Fashion-MNIST test split (apt-get install dataset-fashion-mnist)")


@pytest.fixture
def context(qtbot, tiny_models):
    ctx = AppContext(device="cpu", bundled={n: tiny_models[n] for n in BUNDLE},
                     classifier=str(tiny_models["classifier"]))
    yield ctx
    ctx.shutdown()


def make_panel(qtbot, context, mode: str = "seed") -> ComparePanel:
    context.settings.setValue("compare/link", mode)
    panel = ComparePanel(context)
    qtbot.addWidget(panel)
    panel.resize(1300, 900)
    panel.show()
    settle(qtbot, panel)
    return panel


def settle(qtbot, panel: ComparePanel, timeout: int = 30000) -> None:
    qtbot.waitUntil(lambda: not panel.is_busy(), timeout=timeout)


def pick(qtbot, panel: ComparePanel, side: str, name: str) -> None:
    column = panel.columns[side]
    index = next(i for i in range(column.model_combo.count())
                 if getattr(column.model_combo.itemData(i), "name", None) == name)
    column.model_combo.setCurrentIndex(index)
    column.model_combo.activated.emit(index)
    settle(qtbot, panel)


def test_defaults_are_the_vae_and_the_dcgan_and_both_maps_render(qtbot, context, tiny_models):
    panel = make_panel(qtbot, context)
    left, right = panel.columns["left"], panel.columns["right"]
    assert (left.info.name, right.info.name) == ("vae", "dcgan")
    # only generators the view can map are offered
    offered = {left.model_combo.itemData(i).kind for i in range(left.model_combo.count())
               if left.model_combo.itemData(i) is not None}
    assert offered == {"vae", "gan"}
    for column in (left, right):
        k = column.grid_box.value()
        assert column.tabs.map_view.rows_filled() == k
        assert column.tabs.map_view.mosaic().shape == (k * 28, k * 28, 1)
        assert column.image_view.image() is not None
        assert column.caption.text() != ""         # the classifier's verdict on the image

    # the map is what the model decodes on that plane, cell for cell
    vae = load_checkpoint(tiny_models["vae"])
    k = left.grid_box.value()
    expected = vae.decode(grid_latents(dims_plane(4, 0, 1, extent=3.0), k, (4,)).reshape(-1, 4))
    expected = (expected.clamp(0, 1) * 255).round().to(torch.uint8).reshape(k, k, 28, 28)
    got = torch.from_numpy(left.tabs.map_view.mosaic()[:, :, 0]).reshape(k, 28, k, 28).permute(0, 2, 1, 3)
    assert (got.int() - expected.int()).abs().max() <= 1


def test_class_map_colours_each_cell_by_its_predicted_class(qtbot, context):
    panel = make_panel(qtbot, context)
    view = panel.columns["left"].tabs.map_view
    classes = view.classes()
    assert classes is not None and (classes >= 0).all()
    overlay = view.overlay_image()
    assert overlay.shape == classes.shape + (4,)
    for c in np.unique(classes):
        assert (overlay[classes == c][:, :3] == class_rgb(int(c))).all()
    assert (overlay[..., 3] == OVERLAY_ALPHA).all()
    panel.columns["left"].tabs.class_map.setChecked(False)
    assert not view.class_overlay_shown()
    panel.columns["left"].tabs.class_map.setChecked(True)
    assert view.class_overlay_shown()


def test_hovering_a_cell_previews_its_decoded_image(qtbot, context):
    panel = make_panel(qtbot, context)
    column = panel.columns["right"]
    view = column.tabs.map_view
    with qtbot.waitSignal(view.cell_hovered) as blocker:
        view.hover_cell(2, 3)
    assert blocker.args == [2, 3]
    assert np.array_equal(view.preview.image(), view.cell_image(2, 3)[:, :, 0])
    assert "s = " in view.preview_label.text() and "t = " in view.preview_label.text()
    # plane coordinates map to the cell drawn there (row 0 is the top: the largest t)
    assert view.cell_at(view._lo + 1e-6, view._hi - 1e-6) == (0, 0)
    assert view.cell_at(view._hi - 1e-6, view._lo + 1e-6) == (view.k - 1, view.k - 1)
    view.cell_clicked.emit(2, 3)
    assert np.array_equal(column.image_view.image(), view.cell_image(2, 3)[:, :, 0])


def test_map_fills_in_row_blocks_while_the_window_stays_responsive(qtbot, context):
    panel = make_panel(qtbot, context)
    column = panel.columns["left"]
    seen: list[int] = []

    def spy(progress: JobProgress) -> None:
        if isinstance(progress.partial, MapRows):
            seen.append(column.tabs.map_view.rows_filled())

    column.channels["map"].progress_changed.connect(spy)     # after the column drew the rows
    column.grid_box.setValue(32)
    settle(qtbot, panel)
    rows_per_block = MAP_BATCH // 32
    assert len(seen) == 32 // rows_per_block > 1
    assert seen == list(range(rows_per_block, 33, rows_per_block))
    view = column.tabs.map_view
    assert view.k == 32
    # each streamed block stays on screen where it belongs: together they are the whole map
    blocks = view.drawn_blocks()
    assert len(blocks) == len(seen)
    assert np.array_equal(np.concatenate([b[2] for b in blocks]), view.mosaic()[:, :, 0])
    tops = [b[1] for b in blocks]
    assert tops[0] == pytest.approx(view._hi) and blocks[-1][0] == pytest.approx(view._lo)


def test_planes_through_principal_directions_and_three_points(qtbot, context):
    panel = make_panel(qtbot, context)
    column = panel.columns["right"]
    column.tabs.plane_combo.setCurrentIndex(column.tabs.plane_combo.findData("points"))
    column.tabs.plane_combo.activated.emit(column.tabs.plane_combo.currentIndex())
    settle(qtbot, panel)
    m = column.latent_map
    assert [a[0] for a in m.anchors] == ["A", "B", "C"]
    assert m.axis_names == ("toward B", "toward C")
    # A is the column's seed: the cell at (0, 0) holds exactly that latent
    dcgan_seed = column.seed_box.value()
    gan = load_checkpoint(context.models[[i.name for i in context.models].index("dcgan")].source)
    a = gan.sample_latent(1, dcgan_seed)[0].numpy()
    assert np.allclose(m.origin, a, atol=1e-6)
    column.tabs.plane_combo.setCurrentIndex(column.tabs.plane_combo.findData("pca"))
    column.tabs.plane_combo.activated.emit(column.tabs.plane_combo.currentIndex())
    settle(qtbot, panel)
    assert "GANSpace" in column.latent_map.description
    assert column.tabs.map_view.rows_filled() == column.grid_box.value()


def test_same_seed_links_the_seeds(qtbot, context):
    panel = make_panel(qtbot, context, "seed")
    left, right = panel.columns["left"], panel.columns["right"]
    left.seed_box.setValue(17)
    settle(qtbot, panel)
    assert right.seed_box.value() == 17
    panel.set_link_mode("independent")
    settle(qtbot, panel)
    left.seed_box.setValue(3)
    settle(qtbot, panel)
    assert right.seed_box.value() == 17


def test_same_path_shows_both_paths_frame_by_frame(qtbot, context):
    panel = make_panel(qtbot, context, "path")
    panel.link_bar.frames_box.setValue(6)
    settle(qtbot, panel)
    for column in panel.columns.values():
        strip = column.strip
        assert isinstance(strip, PathStrip) and strip.frames.shape[0] == 6
        assert strip.method == "seed 0 to seed 1"
        assert column.path_view.strip_view.image() is not None
    panel.link_bar.frame_slider.setValue(4)
    for column in panel.columns.values():
        assert np.array_equal(column.image_view.image(), column.strip.frames[4][:, :, 0])
        assert column.caption.text().startswith("frame 5/6")
    # both columns walk between the latents of the same seeds
    left = load_checkpoint(panel.columns["left"].info.source)
    assert np.allclose(panel.columns["left"].strip.latents[0], left.sample_latent(1, 0)[0].numpy())
    assert np.allclose(panel.columns["left"].strip.latents[-1], left.sample_latent(1, 1)[0].numpy())
    panel.next_action.trigger()
    assert panel.link_bar.frame_slider.value() == 5


@needs_data
def test_same_images_encodes_for_the_vae_and_inverts_the_gan(qtbot, context):
    context.settings.setValue("compare/steps", 12)
    panel = make_panel(qtbot, context, "images")
    pick(qtbot, panel, "right", "gan-mlp")
    vae, gan = panel.columns["left"].strip, panel.columns["right"].strip
    assert "encoded" in vae.method and "inverted" in gan.method
    assert len(gan.history) == 12 and gan.final_loss <= gan.initial_loss
    assert gan.targets.shape == (2, 28, 28, 1) and gan.reconstructions.shape == (2, 28, 28, 1)
    test = load_fashion_mnist(split="test")
    assert np.array_equal(gan.targets[0, :, :, 0], test.images[0, 0])
    assert panel.columns["right"].path_view.loss_curve.getData()[0] is not None
    # a conditional GAN sees each image with its own class, and the path blends between them
    pick(qtbot, panel, "right", "cgan")
    labels = test.labels[[0, 1]]
    names = [test.class_names[i] for i in labels]
    assert f"blends from {names[0]} to {names[1]}" in panel.columns["right"].strip.method


@needs_data
def test_a_long_inversion_can_be_cancelled(qtbot, context):
    panel = make_panel(qtbot, context, "independent")
    panel.link_bar.steps_box.setValue(2000)
    column = panel.columns["right"]
    progressed: list[int] = []
    context.worker.progress_changed.connect(
        lambda p: progressed.append(p.done) if p.channel == "compare-right-path" else None)
    panel.set_link_mode("images")
    qtbot.waitUntil(lambda: len(progressed) >= 3, timeout=20000)
    panel.cancel_action.trigger()
    settle(qtbot, panel)
    assert column.strip is None
    assert column.path_view.caption.text() == "Cancelled."
    assert max(progressed) < 2000


@needs_data
def test_vae_scatter_is_the_encoded_test_set_and_a_click_decodes(qtbot, context):
    panel = make_panel(qtbot, context)
    column = panel.columns["left"]
    column.tabs.setCurrentIndex(1)
    settle(qtbot, panel, 60000)
    scatter = column.tabs.scatter_view
    assert scatter.point_count() == 10000
    assert scatter.classes_drawn() == set(range(10))
    before = column.image_view.image().copy()
    scatter.select(123)
    settle(qtbot, panel)
    vae = load_checkpoint(column.info.source)
    expected = (vae.decode(torch.from_numpy(scatter.data().latents[123:124])) * 255).round()
    assert np.abs(column.image_view.image().astype(int) - expected[0, 0].numpy().astype(int)).max() <= 1
    assert not np.array_equal(before, column.image_view.image())


def test_gan_scatter_is_coloured_by_predicted_class(qtbot, context):
    context.settings.setValue("compare/right/scatter_samples", 300)
    panel = make_panel(qtbot, context)
    column = panel.columns["right"]
    column.tabs.setCurrentIndex(1)
    settle(qtbot, panel)
    data = column.tabs.scatter_view.data()
    assert data is not None and column.tabs.scatter_view.point_count() == 300
    assert data.axis_names == ("PC1", "PC2") and "prediction" in data.description


def test_metrics_table_is_filled_with_explained_rows(qtbot, context, idx_data, monkeypatch):
    from models.metrics import EXPLANATIONS

    monkeypatch.setenv(DATA_ENV_VAR, str(idx_data))       # the VAE's KL rows need a test split
    context.settings.setValue("compare/metric_samples", 20)
    panel = make_panel(qtbot, context)
    with qtbot.waitSignal(panel.metrics_shown, timeout=120000):
        panel.measure_action.trigger()
    rows = panel.metrics.metric_rows()
    assert "path length (lerp)" in rows and "active units" in rows and "KL per dimension" in rows
    assert all(len(cells) == 2 for cells in rows.values())
    for r in range(panel.metrics.table.rowCount()):
        tip = panel.metrics.table.verticalHeaderItem(r).toolTip()
        assert tip and tip in EXPLANATIONS.values()
        assert panel.metrics.table.item(r, 0).toolTip().startswith(tip)
    for model in panel.metrics.report["models"]:
        assert np.isfinite(model["ppl_lerp"]) and np.isfinite(model["ppl_slerp"])
    assert rows["active units"][1] == "—"        # a GAN has no encoder to measure


def test_a_model_the_view_cannot_show_is_refused_with_a_message(qtbot, context, tiny_models):
    panel = make_panel(qtbot, context)
    column = panel.columns["left"]
    panel.open_source(column, str(tiny_models["ddpm"]))
    settle(qtbot, panel)
    assert "ddpm" in column.status.text() and column.info.name == "vae"
    panel.open_source(column, str(tiny_models["vae-2d"]))
    settle(qtbot, panel)
    assert column.info.name == "vae-2d" and not column.status.isVisible()


def test_link_mode_and_map_settings_persist(qtbot, context):
    panel = make_panel(qtbot, context, "seed")
    panel.set_link_mode("path")
    panel.columns["left"].grid_box.setValue(8)
    settle(qtbot, panel)
    panel.close()
    again = make_panel(qtbot, context, context.settings.value("compare/link"))
    assert again.link_mode() == "path"
    assert again.columns["left"].grid_box.value() == 8


BUNDLED = resources.bundled_checkpoints()


@pytest.mark.skipif(not {"vae-2d", "classifier"} <= set(BUNDLED),
                    reason="needs the bundled, trained vae-2d and classifier")
def test_class_map_of_the_bundled_2d_vae_shows_all_ten_classes(qtbot):
    context = AppContext(device="cpu")
    try:
        context.settings.setValue("compare/left/grid", 32)
        context.settings.setValue("compare/left/plane", "dims")
        context.settings.setValue("compare/left/extent", 3.0)
        panel = make_panel(qtbot, context)
        pick(qtbot, panel, "left", "vae-2d")
        view = panel.columns["left"].tabs.map_view
        assert view.k == 32
        assert view.classes_shown() == set(range(10))
        colours = {tuple(p) for p in view.overlay_image()[..., :3].reshape(-1, 3)}
        assert colours == {class_rgb(i) for i in range(len(CLASS_COLOURS))}
    finally:
        context.shutdown()


def test_the_view_renders_under_screenshot(qtbot, tmp_path, tiny_models, monkeypatch):
    bundled = {n: Path(tiny_models[n]) for n in ("vae", "dcgan", "classifier")}
    monkeypatch.setattr(resources, "bundled_checkpoints", lambda: dict(bundled))
    out = tmp_path / "compare.png"
    assert main(["--screenshot", str(out), "--view", "compare", "--device", "cpu"]) == 0
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape[0] >= 600 and image.std() > 10
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 50
    # the compare view is what was captured: its class legend's swatches are on screen
    pixels = {tuple(p) for p in np.unique(image.reshape(-1, 3), axis=0)}
    assert all(class_rgb(i) in pixels for i in range(len(CLASS_COLOURS)))


def test_path_strip_puts_each_frame_over_its_class_colour():
    from explorer.views.compare_path import STRIP_BAR, STRIP_GAP, strip_picture

    frames = np.stack([np.full((4, 3, 1), 10 * i, dtype=np.uint8) for i in range(3)])
    picture = strip_picture(frames, np.array([2, 2, 7]))
    assert picture.shape == (4 + STRIP_GAP + STRIP_BAR, 3 * 3 + 2 * STRIP_GAP, 3)
    for i, c in enumerate((2, 2, 7)):
        x = i * (3 + STRIP_GAP)
        assert (picture[:4, x:x + 3] == 10 * i).all()
        assert (picture[-STRIP_BAR:, x:x + 3] == class_rgb(c)).all()


def test_without_a_classifier_maps_render_plain_and_measuring_explains(qtbot, tiny_models):
    context = AppContext(device="cpu", bundled={n: tiny_models[n] for n in ("vae", "dcgan")})
    try:
        assert context.classifier_source is None
        panel = make_panel(qtbot, context)
        view = panel.columns["left"].tabs.map_view
        assert view.rows_filled() == panel.columns["left"].grid_box.value()
        assert view.classes_shown() == set() and not view.class_overlay_shown()
        assert "no classifier" in panel.columns["left"].tabs.map_caption.text()
        panel.measure()
        assert not panel.is_busy() and "classifier" in panel.metrics.note.text()
    finally:
        context.shutdown()


def test_a_file_a_column_showed_comes_back_and_models_opened_elsewhere_are_offered(qtbot, context, tmp_path):
    from tests.conftest import make_tiny_checkpoint

    mine = make_tiny_checkpoint("gan-mlp", tmp_path, seed=5)
    context.settings.setValue("compare/right/model", str(mine))
    panel = make_panel(qtbot, context)
    assert panel.columns["right"].info.source == str(mine)
    other = make_tiny_checkpoint("cvae", tmp_path, seed=6)
    with qtbot.waitSignal(context.model_opened, timeout=10000):
        context.open_model(str(other))
    for column in panel.columns.values():
        assert column.model_combo.index_of(str(other)) >= 0
    assert panel.columns["right"].info.source == str(mine)      # offered, not switched to
