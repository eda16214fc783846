"""The diffusion view against a tiny random DDPM on a real worker: every step streamed and kept,
the scrubber replaying kept steps (during and after a run), cancel, the forward process, the GIF
export, settings that persist, and errors shown rather than raised."""
from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from explorer.context import AppContext
from explorer.jobs.diffusion import DiffusionSettings
from explorer.views.diffusion import DiffusionPanel
from explorer.views.step_store import selection_size

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def context(qtbot, tiny_models):
    ctx = AppContext(device="cpu", bundled={"ddpm": tiny_models["ddpm"], "vae": tiny_models["vae"]})
    # the forward process starts from the current sample: no dataset needed
    ctx.settings.setValue("diffusion/forward_source", "array")
    yield ctx
    ctx.shutdown()
    assert ctx.worker.isFinished()


def make_panel(qtbot, context) -> DiffusionPanel:
    panel = DiffusionPanel(context)
    qtbot.addWidget(panel)
    panel.resize(1200, 800)
    panel.show()
    qtbot.waitUntil(lambda: panel.model is not None, timeout=15000)
    return panel


@pytest.fixture
def panel(qtbot, context) -> DiffusionPanel:
    return make_panel(qtbot, context)


class SlowNet:
    """Counts the network's calls on the worker and makes each one take at least `delay` s, so a
    test can act in the middle of a run whatever the machine's speed."""

    def __init__(self, context, panel, delay: float = 0.02):
        self.calls = 0
        self._lock = threading.Lock()
        self.delay = delay
        model = context.worker.model(panel.source)      # already loaded and cached by the view
        self._handle = model.net.register_forward_hook(self._hook)

    def _hook(self, *_):
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)

    def count(self) -> int:
        with self._lock:
            return self.calls

    def remove(self) -> None:
        self._handle.remove()


def shown(view) -> np.ndarray:
    image = view.image()
    assert image is not None
    return np.array(image)


def grid2d(grid: np.ndarray) -> np.ndarray:
    return grid[..., 0] if grid.shape[-1] == 1 else grid


def run(qtbot, panel, settings: DiffusionSettings, timeout: int = 30000):
    panel.set_diffusion_settings(settings)
    with qtbot.waitSignal(panel.run_finished, timeout=timeout) as blocker:
        panel.run()
    return blocker.args[0]


def test_a_run_keeps_every_step_and_the_scrubber_shows_them(qtbot, panel):
    result = run(qtbot, panel, DiffusionSettings(sampler="ddim", num_steps=8, batch=3, seed=2, class_index=4))
    assert result.ok
    store = panel.store
    assert len(store) == 8 and store.complete and panel.steps_received == 8
    # the display followed the run to its last step, and the last x0 is the final sample
    assert panel.shown_position == 7
    np.testing.assert_array_equal(store.image(7, "x0"), store.image(7, "x_t"))
    for i in range(3):
        np.testing.assert_array_equal(result.value.final[i], store.sample(7, i, "x_t"))
    assert panel.stats_plot.shown_points() == 8
    assert "step 8/8" in panel.timeline.label.text()

    panel.timeline.slider.setValue(2)                  # as a user drags the handle
    assert panel.shown_position == 2
    for kind, view in panel.views.items():
        np.testing.assert_array_equal(shown(view), grid2d(store.image(2, kind)))
    assert panel.schedule_plot.marked_t() == store.t(2)
    assert not np.array_equal(store.image(2, "x_t"), store.image(7, "x_t"))

    panel.timeline.first_button.click()
    assert panel.shown_position == 0
    panel.timeline.forward_button.click()
    assert panel.shown_position == 1
    panel.timeline.last_button.click()
    assert panel.shown_position == 7
    np.testing.assert_array_equal(shown(panel.views["eps"]), grid2d(store.image(7, "eps")))

    panel.setFocus()
    QTest.keyClick(panel, Qt.Key.Key_Left)
    assert panel.shown_position == 6
    QTest.keyClick(panel, Qt.Key.Key_Home)
    assert panel.shown_position == 0
    QTest.keyClick(panel, Qt.Key.Key_Space)            # play to the end, then stop
    assert panel.timeline.playing
    qtbot.waitUntil(lambda: panel.shown_position == 7 and not panel.timeline.playing, timeout=5000)


def test_scrubbing_during_a_run_stops_following_and_end_resumes(qtbot, context, panel):
    slow = SlowNet(context, panel)
    try:
        panel.set_diffusion_settings(DiffusionSettings(sampler="ddim", num_steps=40, batch=1, seed=1))
        with qtbot.waitSignal(panel.run_finished, timeout=30000):
            panel.run()
            qtbot.waitUntil(lambda: panel.timeline.count >= 4, timeout=15000)   # as the user sees it
            panel.timeline.slider.setValue(1)
            assert panel.shown_position == 1
            np.testing.assert_array_equal(shown(panel.views["x_t"]), grid2d(panel.store.image(1, "x_t")))
            seen = len(panel.store)
            qtbot.waitUntil(lambda: len(panel.store) >= seen + 3, timeout=15000)
            qtbot.wait(3 * 16)
            assert panel.shown_position == 1           # kept steps arrive, the view stays put
            assert panel.timeline.count >= seen + 3
            panel.timeline.last_button.click()          # back to following the run
            qtbot.waitUntil(lambda: panel.shown_position > seen + 3, timeout=15000)
            # one step number on screen: the timeline's; the progress bar shows how far the run is
            qtbot.wait(300)
            assert f"step {panel.shown_position + 1}/40" in panel.timeline.label.text()
            assert re.fullmatch(r"\d+% of the steps made", panel.progress.text())
        assert panel.shown_position == 39
    finally:
        slow.remove()


def test_cancel_stops_within_one_step_and_keeps_the_steps_made(qtbot, context, panel):
    slow = SlowNet(context, panel)
    try:
        panel.set_diffusion_settings(DiffusionSettings(sampler="ddim", num_steps=40, batch=2, seed=5))
        with qtbot.waitSignal(panel.run_finished, timeout=30000) as blocker:
            panel.run()
            qtbot.waitUntil(lambda: len(panel.store) >= 3, timeout=15000)
            calls_at_cancel = slow.count()
            panel.cancel()
        result = blocker.args[0]
    finally:
        slow.remove()
    assert result.cancelled
    assert slow.count() - calls_at_cancel <= 1        # at most the step in flight was finished
    kept = len(panel.store)
    assert 3 <= kept < 40 and kept == slow.count()     # every step computed was kept
    assert "Cancelled after" in panel.status_label.text()
    panel.timeline.first_button.click()
    np.testing.assert_array_equal(shown(panel.views["x0"]), grid2d(panel.store.image(0, "x0")))
    assert panel.export.export_button.isEnabled()


def test_forward_process_from_the_current_sample(qtbot, panel):
    run(qtbot, panel, DiffusionSettings(sampler="ddim", num_steps=10, batch=2, seed=3))
    panel.forward.sample_spin.setValue(2)
    with qtbot.waitSignal(panel.preview_shown, timeout=10000,
                          check_params_cb=lambda p: p.t == 333) as blocker:
        panel.forward.t_slider.setValue(340)
    preview = blocker.args[0]
    timesteps = [999, 888, 777, 666, 555, 444, 333, 222, 111, 0]
    assert preview.start_index == timesteps.index(preview.t)
    np.testing.assert_array_equal(preview.original, panel.store.sample(9, 1, "x_t"))
    np.testing.assert_array_equal(shown(panel.forward.clean_view), grid2d(preview.original))
    np.testing.assert_array_equal(shown(panel.forward.noised_view), grid2d(preview.noised))
    assert "t = 333" in panel.forward.t_label.text()

    with qtbot.waitSignal(panel.run_finished, timeout=30000) as blocker:
        panel.denoise_from_t()
    assert blocker.args[0].ok
    assert panel.store.total == len(panel.store) == 10 - preview.start_index
    assert panel.store.t(0) == 333 and blocker.args[0].value.start_t == 333


def test_forward_process_from_an_image_file(qtbot, panel, tmp_path):
    path = tmp_path / "grey.png"
    Image.new("L", (40, 40), 128).save(path)
    with qtbot.waitSignal(panel.preview_shown, timeout=10000) as blocker:
        panel.forward.set_image_file(str(path))
    assert (blocker.args[0].original == 128).all()
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"nope")
    panel.forward.set_image_file(str(broken))
    qtbot.waitUntil(lambda: "cannot read the image" in panel.forward.t_label.text(), timeout=10000)
    assert panel.forward.noised_view.message() == "no image"


def test_export_gif_of_the_kept_steps(qtbot, panel, tmp_path):
    run(qtbot, panel, DiffusionSettings(sampler="ddim", num_steps=7, batch=1, seed=4))
    panel.export.every_spin.setValue(3)
    assert panel.export.export_label.text() == "3 frames"
    target = tmp_path / "gifs" / "run.gif"
    target.parent.mkdir()
    with qtbot.waitSignal(panel.export_finished, timeout=15000) as blocker:
        panel.export_gif(str(target))
    assert blocker.args[0] == str(target)
    with Image.open(target) as im:
        assert im.n_frames == selection_size(7, 3) == 3
    assert [p.name for p in target.parent.iterdir()] == ["run.gif"]
    assert "Wrote" in panel.status_label.text()


def test_settings_persist(qtbot, context, panel):
    panel.set_diffusion_settings(DiffusionSettings(sampler="ddpm", num_steps=25, eta=0.5, seed=1234, batch=6,
                                                   class_index=3, guidance=4.5))
    panel.export.every_spin.setValue(9)
    panel.forward.t_slider.setValue(123)
    again = make_panel(qtbot, context)
    s = again.diffusion_settings()
    assert (s.sampler, s.num_steps, s.eta, s.seed, s.batch, s.class_index, s.guidance) == \
           ("ddpm", 25, 0.5, 1234, 6, 3, 4.5)
    assert again.export.every_spin.value() == 9 and again.forward.t_slider.value() == 123
    assert not again.sampler.steps_spin.isEnabled()            # DDPM runs every timestep


def test_a_model_that_is_not_a_ddpm_is_reported(qtbot, context, panel):
    vae = next(info.source for info in context.models if info.kind == "vae")
    with qtbot.waitSignal(panel.error_shown, timeout=10000) as blocker:
        panel.set_source(vae)
    assert "not step by step" in blocker.args[0]
    assert "not step by step" in panel.views["x_t"].message()
    assert not panel.run_button.isEnabled()
    assert panel.run() == 0
    ddpm = next(info.source for info in context.models if info.kind == "ddpm")
    panel.set_source(ddpm)
    qtbot.waitUntil(lambda: panel.model is not None, timeout=10000)
    assert panel.run_button.isEnabled() and "not a DDPM" not in panel.views["x_t"].message()


def test_bench_section_reports_its_figures(qtbot, isolated_config):
    from explorer.bench import SECTIONS, BenchOptions
    from explorer.bench.diffusion import diffusion_run

    assert "explorer.bench.diffusion:diffusion_run" in SECTIONS
    section = diffusion_run(BenchOptions(device="cpu", models=isolated_config), steps=3, repeats=1)
    figures = {f["name"].split(" (")[0].split(",")[0]: f for f in section["figures"]}
    viewer = figures["DDIM 3 steps in the viewer"]
    bare = figures["the same run as a bare loop"]
    assert viewer["value"] > 0 and bare["value"] > 0 and viewer["ok"] == (viewer["value"] <= 1.0)
    overhead = figures["viewer overhead over the bare loop"]["value"]
    # from the unrounded medians: equal to the rounded figures up to their rounding
    assert overhead == pytest.approx((viewer["value"] / bare["value"] - 1) * 100, rel=0.1, abs=5.0)
    assert figures["longest event-loop stall during a run"]["value"] > 0
    assert figures["steps kept by the viewer"]["value"] == 3
    assert figures["DDPM 1000 steps in the viewer"]["value"] == "not measured on cpu"
    assert any("untrained" in note for note in section["notes"])
    # the bench kept its panel's settings out of the user's
    assert not list(isolated_config.glob("**/*.ini"))
