"""Bench sections of the latent panel, measured in the real window, offscreen: slider-to-frame
latency over a scripted drag, the longest stall of the event loop, frames shown out of order,
memory growth over many slider events, and the cold start of the app.
"""
from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from explorer.bench import (BenchOptions, Heartbeat, figure, model_file, percentile, private_config, qt_app, rss_mb,
                            skipped, wait)

# Targets of the latent panel (issue "Explorer window").
MAX_OVER_MODEL_MS = 3.0       # median latency <= median model time + this
MAX_P99_MS = 16.0
MAX_STALL_MS = 16.0
MAX_COLD_START_S = 3.0
MAX_RSS_GROWTH_MB = 50.0


# -- the latent drag ------------------------------------------------------------------------------

class ScriptedDrag:
    """A mouse drag over the latent panel's first slider, one move per timer tick at
    options.rate_hz, recording when each frame was asked for, painted, and its model time."""

    def __init__(self, app: Any, panel: Any, options: BenchOptions):
        self.app, self.panel, self.options = app, panel, options
        self.submitted: dict[int, float] = {}
        self.painted: dict[int, float] = {}
        self.model_s: dict[int, float] = {}
        self.order: list[int] = []
        self.slider = panel.dim_sliders[0].slider
        panel.image_view.frame_painted.connect(self._painted)
        panel.frame_shown.connect(lambda result: self.model_s.__setitem__(result.request_id, result.elapsed_s))

    def _painted(self, tag: int) -> None:
        self.painted[tag] = time.perf_counter()
        self.order.append(tag)

    def value(self, i: int) -> int:
        # Back and forth across the whole range, about two sweeps for 300 steps.
        lo, hi = self.slider.minimum(), self.slider.maximum()
        span = hi - lo
        phase = (i * 4 * span // max(self.options.steps, 1)) % (2 * span)
        return lo + (phase if phase <= span else 2 * span - phase)

    def warm_up(self) -> None:
        """A few moves, not measured: first calls allocate."""
        from PySide6.QtCore import QEvent

        for i in range(20):
            self.slider.setValue(self.value(i))
            wait(self.app, lambda: self.panel.shown_id >= self.panel.last_request_id, 10)
        gc.collect()
        self.app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        wait(self.app, lambda: False, 0.3)     # let deferred work (status bar refresh...) happen first

    def run(self) -> None:
        """The drag, until its last frame is painted."""
        from PySide6.QtCore import QEventLoop, Qt, QTimer

        step = [0]
        loop = QEventLoop()

        def move() -> None:
            if step[0] >= self.options.steps:
                driver.stop()
                loop.quit()
                return
            t0 = time.perf_counter()
            self.slider.setValue(self.value(step[0] + 1000))
            self.submitted[self.panel.last_request_id] = t0
            step[0] += 1

        driver = QTimer()
        driver.setTimerType(Qt.TimerType.PreciseTimer)
        driver.timeout.connect(move)
        self.slider.setSliderDown(True)
        driver.start(max(1, round(1000 / self.options.rate_hz)))
        loop.exec()
        last_id = self.panel.last_request_id
        view = self.panel.image_view
        wait(self.app, lambda: view.painted_tag is not None and view.painted_tag >= last_id, 10)
        self.slider.setSliderDown(False)

    def latencies_ms(self) -> tuple[list[float], list[float]]:
        """(slider-to-painted latency, model time) of each painted frame, in ms."""
        shown = [i for i in self.submitted if i in self.painted]
        return ([(self.painted[i] - self.submitted[i]) * 1000 for i in shown],
                [self.model_s[i] * 1000 for i in shown if i in self.model_s])


def latent_drag_vae(options: BenchOptions) -> dict[str, Any]:
    return latent_drag("vae", options)


def latent_drag_dcgan(options: BenchOptions) -> dict[str, Any]:
    return latent_drag("dcgan", options)


def latent_drag(name: str, options: BenchOptions) -> dict[str, Any]:
    title = f"latent drag: {name}"
    path = model_file(name, options)
    if path is None:
        where = options.models or "resources/checkpoints"
        return skipped(title, f"the bundled model {name!r} is missing ({where}/{name}.safetensors); "
                              f"train it with `latent-explorer train` first")
    with private_config():
        return _latent_drag(title, name, path, options)


def _latent_drag(title: str, name: str, path: Path, options: BenchOptions) -> dict[str, Any]:
    from PySide6.QtCore import QEvent

    from explorer.context import AppContext
    from explorer.views.main_window import MainWindow

    app = qt_app()
    bundled = {p.stem: p for p in sorted(path.parent.glob("*.safetensors"))}
    context = AppContext(device=options.device, bundled=bundled)
    window = MainWindow(context)
    window.resize(1280, 800)
    window.show()
    panel = window.latent_panel
    window.show_view("latent")
    try:
        context.open_model(name)
        if not wait(app, lambda: panel.frames_shown > 0 and panel.image_view.painted_tag is not None, 60):
            return skipped(title, f"no frame was shown within 60 s (status: {window.statusBar().currentMessage()})")
        if panel.last_result is not None and not panel.last_result.ok:
            return skipped(title, f"the model failed: {panel.last_result.error}")

        drag = ScriptedDrag(app, panel, options)
        drag.warm_up()
        ui_cpu, process_cpu, wall = time.thread_time(), time.process_time(), time.perf_counter()
        heartbeat = Heartbeat()
        heartbeat.start()
        drag.run()
        heartbeat.stop()
        ui_cpu = time.thread_time() - ui_cpu
        process_cpu = time.process_time() - process_cpu
        wall = time.perf_counter() - wall
        submitted, painted, order = drag.submitted, drag.painted, drag.order
        slider, value = drag.slider, drag.value

        shown = [i for i in submitted if i in painted]
        latency_ms, model_ms = drag.latencies_ms()
        median_latency = statistics.median(latency_ms) if latency_ms else float("nan")
        median_model = statistics.median(model_ms) if model_ms else float("nan")
        p99 = percentile(latency_ms, 99)
        stall_ms = heartbeat.longest_ms()

        # Memory over many slider events (processed as a fast drag would be).
        gc.collect()
        wait(app, lambda: False, 0.2)
        before = rss_mb()
        for i in range(options.events):
            slider.setValue(value(i))
            if i % 8 == 0:
                app.processEvents()
        last_id = panel.last_request_id
        wait(app, lambda: panel.shown_id >= last_id, 20)
        gc.collect()
        wait(app, lambda: False, 0.2)
        growth = rss_mb() - before
        # Over the drag and the memory run: a painted frame older than the one before it.
        out_of_order = sum(1 for a, b in zip(order, order[1:]) if b < a)
        renders = len(order)

        figures = [
            figure("slider-to-frame latency, median", round(median_latency, 2), "ms",
                   f"<= model time + {MAX_OVER_MODEL_MS:g} ms",
                   median_latency <= median_model + MAX_OVER_MODEL_MS),
            figure("slider-to-frame latency, p99", round(p99, 2), "ms", f"<= {MAX_P99_MS:g} ms", p99 <= MAX_P99_MS),
            figure("model time on the worker, median", round(median_model, 2), "ms"),
            figure("model time on the worker, p99", round(percentile(model_ms, 99), 2), "ms"),
            figure("longest event-loop stall during the drag", round(stall_ms, 2), "ms",
                   f"<= {MAX_STALL_MS:g} ms", stall_ms <= MAX_STALL_MS),
            figure("frames painted / slider steps", f"{len(shown)}/{options.steps}"),
            # Where the time goes when the cores are shared: the UI thread's own CPU per step
            # (handling the event, the request, the frame and the paint; the heartbeat timer
            # adds a little), and the whole process's CPU use against the wall clock.
            figure("UI-thread CPU per slider step", round(ui_cpu / max(options.steps, 1) * 1000, 2), "ms"),
            figure("process CPU use during the drag", round(process_cpu / wall * 100), "% of one core"),
            figure("out-of-order frames shown (drag and memory run)", out_of_order, "", "0", out_of_order == 0),
            figure(f"resident memory growth over {options.events} slider events", round(growth, 1), "MB",
                   f"< {MAX_RSS_GROWTH_MB:g} MB", growth < MAX_RSS_GROWTH_MB),
        ]
        info = context.current
        notes = [f"model {info.name if info else name}: {info.summary() if info else ''}; "
                 f"device {context.device}; drag at {options.rate_hz:g} Hz over z0; "
                 f"classifier {'on' if panel._classifier() else 'off'}; {renders} frames painted in all"]
        return {"name": title, "figures": figures, "notes": notes}
    finally:
        window.close()
        context.shutdown()
        window.deleteLater()
        # Delete it now: left for the next event loop, tearing the window down would show up as
        # a stall in the next section's measurement.
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()


# -- cold start -----------------------------------------------------------------------------------

def cold_start(options: BenchOptions) -> dict[str, Any]:
    """From launching `latent-explorer` to its first image painted, in a fresh process."""
    title = "cold start"
    path = model_file("vae", options)
    if path is None:
        return skipped(title, "the bundled model 'vae' is missing; train it with `latent-explorer train` first")
    from explorer.app import FIRST_FRAME_ENV

    with tempfile.TemporaryDirectory(prefix="latent-explorer-bench-") as folder:
        stamp = Path(folder) / "first-frame"
        env = {**os.environ, FIRST_FRAME_ENV: str(stamp), "LATENT_EXPLORER_CONFIG": folder,
               "QT_QPA_PLATFORM": "offscreen"}
        root = Path(__file__).resolve().parents[2]
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "explorer", "--screenshot", str(Path(folder) / "shot.png"),
                   "--model", str(path), "--device", options.device]
        times, totals = [], []
        for _ in range(3):
            stamp.unlink(missing_ok=True)
            started = time.time()
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
            totals.append(time.time() - started)
            if done.returncode != 0 or not stamp.exists():
                return skipped(title, f"the app did not paint a frame (exit {done.returncode}): "
                                      f"{done.stderr.strip()[-300:]}")
            times.append(float(stamp.read_text()) - started)
    best, median = min(times), statistics.median(times)
    return {"name": title, "figures": [
        figure("launch to first image painted, median of 3", round(median, 2), "s",
               f"<= {MAX_COLD_START_S:g} s", median <= MAX_COLD_START_S),
        figure("launch to first image painted, best of 3", round(best, 2), "s"),
        figure("whole screenshot run (start, paint, save, exit), median", round(statistics.median(totals), 2), "s"),
    ], "notes": [f"python -m explorer --screenshot --model {path.name}; the interpreter, torch and Qt "
                 f"start from scratch each time (files may be in the OS cache)"]}
