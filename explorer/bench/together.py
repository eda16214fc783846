"""Bench section of views sharing the worker (see explorer/bench/__init__.py): the latent view's
slider-to-frame latency while a 1000-step DDPM run goes on in the diffusion view, and what the
drag costs the run.

The whole window, offscreen: the latent view shows the bundled vae, the diffusion view samples
all 1000 DDPM steps of the bundled ddpm at batch 1. Three runs: alone, with the scripted drag of
the latent section in its middle, alone again. The slowdown compares the steps made while the
drag lasted with the steps made in the same stretch of the runs alone (the event loop idle).
"""
from __future__ import annotations

import statistics
import time
from typing import Any

from explorer.bench import BenchOptions, figure, model_file, percentile, private_config, qt_app, skipped, wait
from explorer.bench.latent import ScriptedDrag

MAX_OVER_MODEL_MS = 3.0       # median latency <= model time + one UNet step + this
MAX_P99_MS = 50.0
MAX_SLOWDOWN_PERCENT = 15.0


def drag_during_ddpm(options: BenchOptions) -> dict[str, Any]:
    title = "latent drag during a 1000-step DDPM run"
    vae, ddpm = model_file("vae", options), model_file("ddpm", options)
    if vae is None or ddpm is None:
        return skipped(title, "needs the bundled vae and ddpm")
    with private_config():
        return _drag_during_ddpm(title, options, vae.parent)


def _drag_during_ddpm(title: str, options: BenchOptions, folder: Any) -> dict[str, Any]:
    from PySide6.QtCore import QEvent, QEventLoop, QTimer

    from explorer.context import AppContext
    from explorer.jobs.diffusion import DiffusionSettings
    from explorer.views.main_window import MainWindow

    app = qt_app()
    context = AppContext(device=options.device, bundled={p.stem: p for p in sorted(folder.glob("*.safetensors"))})
    window = MainWindow(context)
    window.resize(1280, 800)
    window.show()
    latent, diffusion = window.latent_panel, window.diffusion_panel
    window.show_view("latent")
    try:
        context.open_model("vae")
        if not wait(app, lambda: latent.frames_shown > 0 and diffusion.model is not None, 60):
            return skipped(title, "the models did not open within 60 s")
        diffusion.set_diffusion_settings(DiffusionSettings(sampler="ddpm", batch=1, seed=0))
        finished: list[Any] = []
        diffusion.run_finished.connect(finished.append)

        def run(during) -> tuple[float, int, float]:
            """A whole run: its seconds, and the steps it made while `during()` ran in its middle,
            with how long that took."""
            finished.clear()
            began = time.perf_counter()
            diffusion.run()
            wait(app, lambda: len(diffusion.store) >= 100, 60)
            steps0, t0 = len(diffusion.store), time.perf_counter()
            during()
            window = (len(diffusion.store) - steps0, time.perf_counter() - t0)
            wait(app, lambda: bool(finished), 600)
            return (time.perf_counter() - began, *window)

        def idle() -> None:
            """The event loop left alone for as long as the drag lasts (no polling)."""
            loop = QEventLoop()
            QTimer.singleShot(round(drag_seconds * 1000), loop.quit)
            loop.exec()

        drag = ScriptedDrag(app, latent, options)
        drag.warm_up()
        drag_seconds = options.steps / options.rate_hz
        alone = [run(idle)]
        with_drag_s, drag_steps, drag_s = run(drag.run)
        alone.append(run(idle))
        if not finished or not finished[0].ok:
            return skipped(title, f"the DDPM run failed: {diffusion.status_label.text()}")
        total = finished[0].value.total
        alone_s = statistics.mean(a[0] for a in alone)
        step_ms = alone_s / total * 1000
        rate_alone = statistics.mean(steps / seconds for _, steps, seconds in alone)
        rate_drag = drag_steps / drag_s
        slowdown = (rate_alone / rate_drag - 1) * 100 if rate_drag else float("inf")
        latency_ms, model_ms = drag.latencies_ms()
        median_latency = statistics.median(latency_ms) if latency_ms else float("nan")
        median_model = statistics.median(model_ms) if model_ms else float("nan")
        p99 = percentile(latency_ms, 99)
        target = median_model + step_ms + MAX_OVER_MODEL_MS
        figures = [
            figure("slider-to-frame latency during the run, median", round(median_latency, 2), "ms",
                   f"<= model time + one UNet step + {MAX_OVER_MODEL_MS:g} ms ({target:.1f} ms)",
                   median_latency <= target),
            figure("slider-to-frame latency during the run, p99", round(p99, 2), "ms", f"<= {MAX_P99_MS:g} ms",
                   p99 <= MAX_P99_MS),
            figure("model time per frame, median", round(median_model, 2), "ms"),
            figure("one DDPM step of the run alone", round(step_ms, 2), "ms"),
            figure("the run's slowdown while the drag lasted", round(slowdown, 1), "%",
                   f"<= {MAX_SLOWDOWN_PERCENT:g} %", slowdown <= MAX_SLOWDOWN_PERCENT),
            figure(f"{total}-step run alone (mean of 2) / with the drag", f"{alone_s:.2f} / {with_drag_s:.2f}", "s"),
            figure("frames painted / slider steps", f"{len(latency_ms)}/{options.steps}"),
        ]
        notes = [f"device {context.device}; drag at {options.rate_hz:g} Hz over z0 of vae for "
                 f"{drag_s:.2f} s, {drag_steps} DDPM steps made meanwhile"]
        return {"name": title, "figures": figures, "notes": notes}
    finally:
        window.close()
        context.shutdown()
        window.deleteLater()
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()
