"""The main window: the library, opening models every way there is, errors in the window,
the recent menu, devices, closing, and the offscreen screenshot option."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from explorer.cli import main
from explorer.context import EMPTY_HINT, AppContext
from explorer.views.main_window import MainWindow


@pytest.fixture
def window(qtbot, tiny_models):
    context = AppContext(device="cpu", bundled={n: tiny_models[n] for n in ("cvae", "gan-mlp", "vae")})
    source = context.default_model()
    context.open_model(source)
    w = MainWindow(context)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.latent_panel.frames_shown > 0, timeout=10000)
    yield w
    w.close()


def test_opens_with_the_bundled_models_listed_and_vae_loaded(qtbot, window):
    assert window.library.sources()[:3] == [info.source for info in window.context.models]
    assert window.context.current.name == "vae"
    assert "vae" in window.windowTitle() and window.model_label.text() == "vae"
    qtbot.waitUntil(lambda: window.render_label.text().endswith(" ms"))
    assert window.device_label.text() == "CPU"
    item = window.library.tree.topLevelItem(0).child(0)
    assert "latent 4" in item.toolTip(0) and "conv-vae" in item.toolTip(0)
    assert window.view_names()[0] == "latent"


def test_a_corrupt_file_shows_its_message_and_the_app_goes_on(qtbot, window, tmp_path, tiny_models):
    bad = tmp_path / "truncated.safetensors"
    bad.write_bytes(tiny_models["vae"].read_bytes()[:100])
    with qtbot.waitSignal(window.context.model_failed, timeout=10000) as blocker:
        window.open_model(bad)
    assert "truncated.safetensors" in blocker.args[0]
    assert window.banner.text() == blocker.args[0]
    assert "Traceback" not in window.banner.text()
    assert window.context.current.name == "vae"          # the open model stays
    with qtbot.waitSignal(window.context.model_opened, timeout=10000):
        window.open_model(tiny_models["gan-mlp"])
    assert window.banner.text() == ""
    assert window.latent_panel.psi_group.isVisibleTo(window)


def test_dropping_a_file_opens_it_and_it_joins_the_recent_menu(qtbot, window, tiny_models):
    path = tiny_models["cgan"]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.context.model_opened, timeout=10000) as blocker:
        window.dropEvent(event)
    assert blocker.args[0].source == str(path.resolve())
    assert window.recent_menu_paths() == [str(path.resolve())]
    assert str(path.resolve()) in window.library.sources()
    # bundled models are not "recent files"
    with qtbot.waitSignal(window.context.model_opened, timeout=10000):
        window.open_model("cvae")
    assert window.recent_menu_paths() == [str(path.resolve())]


def test_device_menu_lists_the_devices_and_switches(qtbot, window):
    names = [a.data() for a in window.device_group.actions()]
    assert "cpu" in names
    cpu = next(a for a in window.device_group.actions() if a.data() == "cpu")
    assert cpu.isChecked()
    with qtbot.waitSignal(window.context.device_changed, timeout=10000) as blocker:
        cpu.trigger()
    assert blocker.args == ["cpu"]
    assert window.context.settings.value("device") == "cpu"


def test_closing_the_window_stops_the_worker(qtbot, window):
    worker = window.context.worker
    assert worker.isRunning()
    window.close()
    assert worker.isFinished()


def test_without_models_the_window_says_how_to_get_one(qtbot):
    context = AppContext(device="cpu", bundled={})
    w = MainWindow(context)
    qtbot.addWidget(w)
    assert context.default_model() is None
    assert w.latent_panel.image_view.message() == EMPTY_HINT
    assert not w.latent_panel.controls.isEnabled()
    w.close()


def test_a_corrupt_bookmarks_file_is_reported_not_fatal(qtbot, isolated_config, tiny_models):
    (isolated_config / "bookmarks.json").write_text("[[[", encoding="utf-8")
    context = AppContext(device="cpu", bundled={"vae": tiny_models["vae"]})
    w = MainWindow(context)
    qtbot.addWidget(w)
    assert "could not be read" in w.banner.text()
    w.close()


def test_every_view_is_a_tab_and_a_dropped_gif_restores_its_interpolation(qtbot, tiny_models, tmp_path):
    from explorer.jobs.interpolation import export_path
    from models.checkpoint import load_checkpoint

    context = AppContext(device="cpu", bundled={"vae": tiny_models["vae"], "cvae": tiny_models["cvae"]})
    w = MainWindow(context)
    qtbot.addWidget(w)
    assert w.view_names()[:5] == ["latent", "interpolate", "compare", "diffusion", "upscale"]
    panel = w.interpolation_panel
    w.show()
    w.show_view("interpolate")        # the path is decoded while its tab is visible
    with qtbot.waitSignal(panel.path_shown, timeout=20000):
        w.open_model(str(tiny_models["cvae"]))
    exported = panel.export_settings()
    gif = tmp_path / "path.gif"
    export_path(exported, gif, model_fn=lambda: load_checkpoint(tiny_models["cvae"]))
    with qtbot.waitSignal(panel.path_shown, timeout=20000):
        w.open_model(str(tiny_models["vae"]))

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(gif))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(panel.path_shown, timeout=20000) as restored:
        w.dropEvent(drop)
    assert w.current_view() == "interpolate"
    assert restored.args[0].settings == exported
    assert w.banner.isHidden()          # a GIF is not mistaken for a model file
    w.close()


def test_screenshot_option_writes_a_png_that_is_not_blank(qtbot, tmp_path, tiny_models, capsys):
    out = tmp_path / "shots" / "latent.png"
    code = main(["--screenshot", str(out), "--model", str(tiny_models["vae"]), "--device", "cpu"])
    assert code == 0 and out.is_file()
    image = np.asarray(Image.open(out).convert("RGB"))
    assert image.shape[0] >= 600 and image.shape[1] >= 1000
    assert image.std() > 10                     # widgets, text and the decoded image, not one colour
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 50
    assert [p.name for p in out.parent.iterdir()] == ["latent.png"]


def test_screenshot_of_a_bad_model_shows_the_error_and_still_saves(qtbot, tmp_path):
    bad = tmp_path / "nonsense.safetensors"
    bad.write_text("nonsense")
    out = tmp_path / "error.png"
    assert main(["--screenshot", str(out), "--model", str(bad)]) == 1     # the model failed to open
    assert out.is_file() and np.asarray(Image.open(out)).std() > 10


def test_unknown_view_is_a_usage_error(qtbot, tmp_path, tiny_models, capsys):
    code = main(["--screenshot", str(tmp_path / "x.png"), "--view", "nowhere",
                 "--model", str(tiny_models["vae"])])
    assert code == 2
    assert "no view named 'nowhere'" in capsys.readouterr().err


def test_point_shortcuts_work_inside_the_window(qtbot, window):
    from PySide6.QtCore import Qt

    panel = window.latent_panel
    window.activateWindow()
    slider = panel.dim_sliders[0].slider
    slider.setFocus()
    qtbot.waitUntil(slider.hasFocus)
    before = panel.latent
    qtbot.keyClick(slider, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: not np.allclose(panel.latent, before), timeout=10000)
    qtbot.keyClick(slider, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: np.allclose(panel.latent, before), timeout=10000)
    texts = [a.text() for a in window.point_menu.actions()]
    assert "Undo move" in texts and "Randomize" in texts and "Copy point" in texts


def test_a_device_fallback_is_announced_in_the_status_bar(qtbot, window):
    window.context.worker.device_changed.emit("cpu", "CUDA ran out of memory; switched to the CPU")
    qtbot.waitUntil(lambda: "switched to the CPU" in window.statusBar().currentMessage())
    assert window.device_label.text() == "CPU"


def test_a_model_name_that_looks_like_markup_is_shown_as_plain_text(qtbot, tmp_path, tiny_models):
    from PySide6.QtCore import Qt

    from models.checkpoint import load_checkpoint, save_checkpoint

    model = load_checkpoint(tiny_models["vae"])
    name = "<b>bold</b><img src='x.png'>"
    path = tmp_path / "marked.safetensors"
    save_checkpoint(path, model.net, {**model.metadata, "name": name})
    context = AppContext(device="cpu", bundled={"marked": path})
    w = MainWindow(context)
    qtbot.addWidget(w)
    with qtbot.waitSignal(context.model_opened, timeout=10000):
        context.open_model(str(path))
    assert w.model_label.textFormat() == Qt.TextFormat.PlainText and w.model_label.text() == name
    assert "&lt;b&gt;bold&lt;/b&gt;" in w.model_label.toolTip() and "<b>" not in w.model_label.toolTip()
    item = w.library.tree.topLevelItem(0).child(0)
    assert "&lt;img" in item.toolTip(0) and "<img" not in item.toolTip(0)
    w.close()


def test_opening_a_symlink_loop_from_the_window_is_a_message(qtbot, window, tmp_path):
    loop = tmp_path / "loop.safetensors"
    loop.symlink_to(loop)
    with qtbot.waitSignal(window.context.model_failed, timeout=10000) as blocker:
        window.open_model(str(loop))
    assert "symbolic link that loops" in blocker.args[0]
    assert window.context.current.name == "vae"


def test_an_abandoned_open_is_never_reported(qtbot, window, tiny_models, monkeypatch):
    import time

    from explorer.model_info import ModelInfo

    slow_source = str(tiny_models["gan-mlp"])
    real = ModelInfo.from_model.__func__

    def slow(cls, source, model):
        if source == slow_source:
            time.sleep(0.5)          # a model that takes long to open
        return real(cls, source, model)

    monkeypatch.setattr(ModelInfo, "from_model", classmethod(slow))
    opened = []
    window.context.model_opened.connect(lambda info: opened.append(info.name))
    window.open_model(slow_source)
    qtbot.wait(100)                  # its job is running now
    with qtbot.waitSignal(window.context.model_opened, timeout=10000):
        window.open_model(tiny_models["cvae"])
    qtbot.wait(700)                  # the slow open has finished meanwhile
    assert opened == ["cvae"] and window.context.current.name == "cvae"
    assert slow_source not in window.context.recent_files()


def test_a_text_file_named_pt_gets_one_true_message_in_the_window_and_the_command_line(qtbot, window, tmp_path,
                                                                                       capsys):
    text = tmp_path / "x.pt"
    text.write_text("hello, I am not a model\n")
    with qtbot.waitSignal(window.context.model_failed, timeout=10000) as blocker:
        window.open_model(str(text))
    message = blocker.args[0]
    assert "text file" in message and "--architecture" not in message and "bare weights" not in message
    assert main(["inspect", str(text)]) == 2
    assert message in capsys.readouterr().err


def test_an_opened_model_goes_to_a_view_that_shows_it(qtbot, window):
    from dataclasses import replace

    vae = window.context.current
    window.show_view("diffusion")
    window.context.model_opened.emit(vae)         # the diffusion view does not show a VAE
    assert window.current_view() == "latent"
    # an image-to-image model is not a decoder of latents: the latent views keep their model
    upscaler = replace(vae, source="/x/sr.safetensors", name="sr", capabilities=frozenset({"upscaler"}))
    assert not upscaler.decodes_latents and vae.decodes_latents
    window.context.model_opened.emit(upscaler)
    assert window.latent_panel.info is vae and window.interpolation_panel.info is vae
    assert window.current_view() == "upscale"     # the latent view does not show it: the upscale view does
