"""The interpolation panel: path, filmstrip, plots, playback, GIF export, cancel and restore."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from explorer.context import AppContext
from explorer.jobs.interpolation import PathSettings
from explorer.views.interpolation import EXPORT_CHANNEL, InterpolationPanel

TIMEOUT = 30_000


@pytest.fixture
def no_data(monkeypatch, tmp_path):
    """No Fashion-MNIST: the distance plot is skipped with a message (and tests stay fast)."""
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path / "no-data"))


@pytest.fixture
def context(tiny_models, no_data):
    ctx = AppContext(device="cpu", bundled={n: tiny_models[n] for n in ("cvae", "vae", "dcgan", "classifier")})
    yield ctx
    ctx.shutdown()


def source(ctx: AppContext, name: str) -> str:
    return next(m.source for m in ctx.models if m.name == name)


@pytest.fixture
def panel(qtbot, context):
    context.settings.setValue("interpolate/frames", 6)
    p = InterpolationPanel(context)
    qtbot.addWidget(p)
    p.resize(1100, 760)
    p.show()
    return p


def open_and_wait(qtbot, panel: InterpolationPanel, name: str):
    with qtbot.waitSignal(panel.path_shown, timeout=TIMEOUT) as blocker:
        panel.context.open_model(source(panel.context, name))
    return blocker.args[0]


def rebuild(qtbot, panel: InterpolationPanel):
    with qtbot.waitSignal(panel.path_shown, timeout=TIMEOUT) as blocker:
        panel.build_path()
    return blocker.args[0]


def decode_seed(path, seed: int, label=None) -> np.ndarray:
    import torch

    from models.images import to_uint8
    from models.checkpoint import open_model

    model = open_model(path)
    labels = None if label is None else torch.tensor([label])
    return to_uint8(model.decode(model.sample_latent(1, seed), labels))[0]


def test_path_fills_preview_filmstrip_and_plots(qtbot, panel, tiny_models):
    result = open_and_wait(qtbot, panel, "cvae")
    assert result.frames.shape == (6, 28, 28, 1)
    assert panel.filmstrip.count == 6
    assert all(panel.filmstrip.frame(i) is not None for i in range(6))
    # seeds 0 and 1, class 0: the ends are the direct decodes
    assert np.abs(result.frames[0].astype(int) - decode_seed(tiny_models["cvae"], 0, 0)).max() <= 1
    assert np.abs(result.frames[-1].astype(int) - decode_seed(tiny_models["cvae"], 1, 0)).max() <= 1
    assert panel.filmstrip.tags == {0: "A", 5: "B"}
    # the tiny classifier labels every frame; the missing data set is reported, not an error
    x, y = panel.plot.conf_points.getData()
    assert len(x) == 6 and np.all((y > 0) & (y <= 1))
    assert "skipped" in panel.notes.text()
    assert panel.preview.view.image() is not None and panel.preview.view.message() == ""


def test_keyframes_classes_and_swap(qtbot, panel):
    open_and_wait(qtbot, panel, "cvae")
    panel.path.frames_box.setValue(9)
    panel.path.editor_b.class_combo.setCurrentIndex(1 + 7)     # "Sneaker"
    middle = panel.path.add_keyframe(rebuild=False)
    middle.set_seed(42)
    result = rebuild(qtbot, panel)
    keys = result.settings.keyframes
    assert len(keys) == 3 and keys[1].note == "seed 42"
    assert [k.label for k in keys] == [0, 0, 7]
    assert panel.filmstrip.tags == {0: "A", 4: "1", 8: "B"}
    first_a = keys[0].latent

    panel.path.swap_endpoints()
    swapped = rebuild(qtbot, panel).settings.keyframes
    assert swapped[0].label == 7 and swapped[-1].latent == first_a
    panel.path.remove_keyframe(panel.path.extras[0], rebuild=False)
    assert len(rebuild(qtbot, panel).settings.keyframes) == 2


def test_gan_cannot_encode_and_current_point_is_exact(qtbot, panel):
    open_and_wait(qtbot, panel, "dcgan")
    editor = panel.path.editor_a
    assert not editor._source_enabled("image") and not editor._source_enabled("dataset")
    assert not editor._source_enabled("current")      # nothing to take a point from yet

    @dataclass
    class Point:
        z: np.ndarray
        label: object
        psi: float

    z = np.linspace(-1, 1, 8).astype(np.float32) / 3
    panel.set_point_source(lambda: Point(z, None, 1.0))
    assert editor._source_enabled("current")
    editor.set_source("current")
    result = rebuild(qtbot, panel)
    assert np.array_equal(np.asarray(result.settings.keyframes[0].latent, np.float32), z)
    assert result.settings.keyframes[0].note == "current point"


def test_playback_and_ping_pong(qtbot, panel):
    open_and_wait(qtbot, panel, "vae")
    assert panel.preview.playing      # the first path starts playing
    start = panel.preview.current_frame
    qtbot.waitUntil(lambda: panel.preview.current_frame != start, timeout=5000)
    panel.preview.pause()
    assert not panel.preview.playing
    panel.preview.pingpong_check.setChecked(True)
    panel.preview.show_frame(5)
    panel.preview.play()
    qtbot.waitUntil(lambda: panel.preview.current_frame == 4, timeout=3000)    # bounced back at the end
    panel.preview.pause()
    panel.preview.pingpong_check.setChecked(False)
    panel.preview.show_frame(5)
    panel.preview.play()
    qtbot.waitUntil(lambda: panel.preview.current_frame == 0, timeout=3000)    # wrapped around
    panel.preview.pause()
    qtbot.keyClick(panel.preview.player.slider, Qt.Key.Key_Right)
    assert panel.preview.current_frame == 1
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_End)
    assert panel.preview.current_frame == 5
    qtbot.keyClick(panel, Qt.Key.Key_Space)
    assert panel.preview.playing
    qtbot.keyClick(panel, Qt.Key.Key_Space)
    assert not panel.preview.playing
    panel.preview.pingpong_check.setFocus()
    qtbot.keyClick(panel.preview.pingpong_check, Qt.Key.Key_Space)     # the check box keeps its Space
    assert panel.preview.pingpong_check.isChecked() and not panel.preview.playing


def test_export_gif_then_restore_reproduces_the_path(qtbot, panel, tmp_path):
    original = open_and_wait(qtbot, panel, "cvae")
    panel.path.editor_a.class_combo.setCurrentIndex(1 + 3)
    original = rebuild(qtbot, panel)
    panel.preview.fps_box.setValue(20)
    panel.export.scale_box.setValue(2)
    panel.preview.pingpong_check.setChecked(True)
    out = tmp_path / "path.gif"
    exported = panel.export_settings()
    assert exported.fps == 20 and exported.pingpong and exported.keyframes == original.settings.keyframes
    with qtbot.waitSignal(panel.export_finished, timeout=TIMEOUT) as blocker:
        assert panel.export_gif(str(out))
    assert blocker.args[0].ok
    with Image.open(out) as im:
        assert im.n_frames == 6 + 4 and im.info["duration"] == 50 and im.info["loop"] == 0
        assert im.size == (56, 56)
    assert "Wrote" in panel.export.export_note.text()

    # wander off: another model, other settings
    open_and_wait(qtbot, panel, "vae")
    panel.preview.fps_box.setValue(5)
    panel.preview.pingpong_check.setChecked(False)
    with qtbot.waitSignal(panel.path_shown, timeout=TIMEOUT) as blocker:
        assert panel.restore_from_gif(out)
    restored = blocker.args[0]
    assert panel.info.source == original.settings.model       # the GIF's model was reopened
    assert restored.settings == exported
    assert np.array_equal(restored.frames, original.frames)
    assert (panel.preview.fps_box.value() == 20 and panel.preview.pingpong_check.isChecked()
            and panel.export.scale_box.value() == 2)
    assert panel.path.editor_a.source() == "stored"


def test_restore_rejects_foreign_and_damaged_files(panel, qtbot, tmp_path):
    open_and_wait(qtbot, panel, "vae")
    plain = tmp_path / "plain.gif"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(plain)
    assert panel.restore_from_gif(plain) is False
    assert "no interpolation settings" in panel.preview.view.message()
    junk = tmp_path / "junk.gif"
    junk.write_bytes(b"GIF89a...")
    assert panel.restore_from_gif(junk) is False
    assert "cannot read" in panel.preview.view.message()


def test_cancelled_export_leaves_no_file(qtbot, panel, context, tmp_path):
    open_and_wait(qtbot, panel, "vae")
    panel.preview.pingpong_check.setChecked(True)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "cancelled.gif"

    def cancel_mid_way(progress) -> None:
        # runs on the worker thread, inside the export's progress report: the next frame stops it
        if progress.channel == EXPORT_CHANNEL and progress.done >= 2:
            context.worker.cancel(EXPORT_CHANNEL)

    context.worker.progress_changed.connect(cancel_mid_way, Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(panel.export_finished, timeout=TIMEOUT) as blocker:
        panel.export_gif(str(target))
    assert blocker.args[0].cancelled
    assert list(out.iterdir()) == []
    assert "cancelled" in panel.export.export_note.text()
    assert not panel.exporting and panel.export.export_gif_button.isEnabled()


def test_existing_file_needs_confirmation(qtbot, panel, tmp_path, monkeypatch):
    open_and_wait(qtbot, panel, "vae")
    target = tmp_path / "exists.gif"
    target.write_bytes(b"keep me")
    answers = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answers.pop(0))
    answers.append(QMessageBox.StandardButton.No)
    assert panel.export_gif(str(target)) == 0
    assert target.read_bytes() == b"keep me"
    answers.append(QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(panel.export_finished, timeout=TIMEOUT) as blocker:
        assert panel.export_gif(str(target))
    assert blocker.args[0].ok
    with Image.open(target) as im:
        assert im.n_frames == 6


def test_filmstrip_export_and_settings_persist(qtbot, context, panel, tmp_path):
    open_and_wait(qtbot, panel, "vae")
    panel.export.scale_box.setValue(3)
    panel.path.mode_combo.setCurrentIndex(1)
    rebuild(qtbot, panel)
    with qtbot.waitSignal(panel.export_finished, timeout=TIMEOUT):
        panel.export_filmstrip(str(tmp_path / "strip"))         # the suffix is added
    with Image.open(tmp_path / "strip.png") as im:
        assert im.size == (6 * 84 + 5 * 2, 84)
    settings = PathSettings.from_dict(__import__("explorer.export", fromlist=["x"]).read_gif_settings(
        tmp_path / "strip.png"))
    assert settings.slerp is False and settings.scale == 3
    again = InterpolationPanel(context)
    qtbot.addWidget(again)
    assert (again.export.scale_box.value() == 3 and again.path.mode_combo.currentIndex() == 1
            and again.path.frames_box.value() == 6)
