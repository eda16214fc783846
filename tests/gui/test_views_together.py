"""Views sharing one worker: a long job in one view never freezes another, a cancel always ends in
an answer, and two views asking for the same thing get the same answer."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QApplication

from explorer.context import AppContext
from explorer.jobs.compare import LatentMap
from explorer.jobs.diffusion import DiffusionSettings
from explorer.jobs.latent import labels_tensor
from explorer.views.compare import ComparePanel
from explorer.views.diffusion import DiffusionPanel
from explorer.views.latent_panel import LatentPanel
from models.checkpoint import load_checkpoint
from models.devices import torch_threads
from models.images import to_uint8

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def context(qtbot, tiny_models):
    ctx = AppContext(device="cpu", bundled={n: tiny_models[n] for n in ("vae", "gan-mlp", "ddpm")})
    yield ctx
    ctx.shutdown()


def panels(qtbot, context) -> tuple[LatentPanel, DiffusionPanel]:
    latent, diffusion = LatentPanel(context), DiffusionPanel(context)
    for panel in (latent, diffusion):
        qtbot.addWidget(panel)
        panel.resize(900, 600)
        panel.show()
    qtbot.waitUntil(lambda: diffusion.model is not None, timeout=15000)
    return latent, diffusion


class SlowSteps:
    """Each network call of the DDPM takes at least `delay` s, so its 1000-step run lasts long
    enough to drag a slider through, whatever the machine."""

    def __init__(self, context, source: str, delay: float = 0.01):
        self.calls = 0
        self._lock = threading.Lock()
        self._handle = context.worker.model(source).net.register_forward_hook(self._hook)
        self.delay = delay

    def _hook(self, *_):
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)

    def remove(self) -> None:
        self._handle.remove()


def direct_decode(path, z) -> np.ndarray:
    model = load_checkpoint(path)
    with torch_threads(1):
        images = model.decode(torch.from_numpy(np.asarray(z, np.float32)).reshape(1, -1), labels_tensor(None, 1))
    return to_uint8(images)[0][:, :, 0]


def test_a_slider_drag_is_followed_while_a_1000_step_ddpm_run_goes_on(qtbot, context, tiny_models):
    latent, diffusion = panels(qtbot, context)
    with qtbot.waitSignal(context.model_opened, timeout=10000):
        context.open_model("vae")
    qtbot.waitUntil(lambda: latent.last_result is not None and latent.shown_id >= latent.last_request_id,
                    timeout=10000)
    slow = SlowSteps(context, diffusion.source)
    finished = []
    diffusion.run_finished.connect(finished.append)
    try:
        diffusion.set_diffusion_settings(DiffusionSettings(sampler="ddpm", batch=1, seed=1))
        diffusion.run()
        qtbot.waitUntil(lambda: len(diffusion.store) >= 5, timeout=15000)
        slider = latent.dim_sliders[1].slider
        slider.setSliderDown(True)
        for i in range(500):
            slider.setValue(-300 + (i * 7) % 600)
            if i % 25 == 0:
                QApplication.processEvents()
        slider.setSliderDown(False)
        qtbot.waitUntil(lambda: latent.shown_id >= latent.last_request_id, timeout=10000)
        # the drag's last frame is on screen, and the run it shared the worker with is not over
        assert not finished and diffusion.running
        assert latent.frames_shown > 1
        np.testing.assert_array_equal(np.array(latent.image_view.image()),
                                      direct_decode(tiny_models["vae"], latent.latent))
        steps_during = len(diffusion.store)
        assert 5 <= steps_during < 1000
        with qtbot.waitSignal(diffusion.run_finished, timeout=10000) as blocker:
            diffusion.cancel()
        assert blocker.args[0].cancelled
    finally:
        slow.remove()


def test_a_run_cancelled_while_queued_behind_another_views_job_returns_to_idle(qtbot, context):
    _, diffusion = panels(qtbot, context)
    started, release = threading.Event(), threading.Event()

    def hold(ctx):
        started.set()
        assert release.wait(10)
        return "held"

    other = context.channel("another-view")
    other.submit(hold)
    assert started.wait(5)
    try:
        with qtbot.waitSignal(diffusion.run_finished, timeout=5000) as blocker:
            diffusion.run()
            assert diffusion.running and diffusion.cancel_button.isEnabled()
            diffusion.cancel()
        # answered while the other view's job still holds the worker
        assert blocker.args[0].cancelled and not release.is_set()
        assert not diffusion.running
        assert diffusion.run_button.text() == "Run" and not diffusion.cancel_button.isEnabled()
        assert not diffusion.runs.busy
    finally:
        release.set()
    qtbot.waitUntil(lambda: not other.busy, timeout=5000)


def test_the_latent_and_compare_views_report_the_same_first_principal_direction(qtbot, context):
    latent = LatentPanel(context)
    qtbot.addWidget(latent)
    latent.show()
    with qtbot.waitSignal(context.model_opened, timeout=10000):
        context.open_model("gan-mlp")
    latent.mode_tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: latent.directions is not None, timeout=30000)
    first = latent.directions.directions[0]

    context.settings.setValue("compare/link", "independent")
    context.settings.setValue("compare/left/plane", "pca")
    compare = ComparePanel(context)
    qtbot.addWidget(compare)
    compare.resize(1300, 900)
    maps: list[LatentMap] = []
    compare.map_rendered.connect(lambda side, m: maps.append(m) if side == "left" else None)
    compare.show()
    column = compare.columns["left"]
    index = next(i for i in range(column.model_combo.count())
                 if getattr(column.model_combo.itemData(i), "name", None) == "gan-mlp")
    column.model_combo.setCurrentIndex(index)
    column.model_combo.activated.emit(index)
    qtbot.waitUntil(lambda: bool(maps) and not compare.is_busy(), timeout=30000)
    u = maps[-1].u / np.linalg.norm(maps[-1].u)
    assert float(u @ first) == pytest.approx(1.0, abs=1e-5)      # the same direction, the same sign


def test_bench_sections_of_views_sharing_the_worker_report_finite_figures(qtbot, tiny_models, tmp_path):
    import math
    import shutil

    from explorer.bench import SECTIONS, BenchOptions
    from explorer.bench.directions import ganspace_cgan
    from explorer.bench.together import drag_during_ddpm

    assert {"explorer.bench.together:drag_during_ddpm", "explorer.bench.directions:ganspace_cgan"} <= set(SECTIONS)
    for name in ("vae", "ddpm", "cgan"):
        shutil.copy(tiny_models[name], tmp_path / f"{name}.safetensors")
    options = BenchOptions(device="cpu", models=tmp_path, steps=20, rate_hz=120)
    together = drag_during_ddpm(options)
    for section in (together, ganspace_cgan(options)):
        assert "skipped" not in section, section.get("skipped")
        numbers = [f["value"] for f in section["figures"] if isinstance(f["value"], (int, float))]
        assert numbers and all(math.isfinite(v) for v in numbers), section
    drag = {f["name"]: f for f in together["figures"]}
    assert drag["slider-to-frame latency during the run, median"]["value"] > 0
    assert "the run's slowdown while the drag lasted" in drag
