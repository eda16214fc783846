"""Bench section of the diffusion view (see explorer/bench/__init__.py).

The same DDIM run (batch 1, from noise) is timed two ways, interleaved, medians of a few runs:
through the whole viewer — a DiffusionPanel offscreen on its own worker, every step streamed,
kept and followed live on screen, timed from Run to the run's result — and as a bare loop over
the model's sampler steps with the worker's thread count and, on CUDA, the same graph-replayed network. A heartbeat timer on the UI thread records the
longest stall of the event loop during a viewer run. On CUDA a 1000-step DDPM run is timed too.

The model is the bundled DDPM, else an untrained one of the default architecture: speed depends
on the architecture, not on the weights.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from explorer.bench import BenchOptions, figure, model_file, private_config, qt_app

STEPS = 50
REPEATS = 5
MAX_DDIM_S = 1.0           # issue "DDPM denoising viewer": DDIM 50 at batch 1 on 2 CPU cores
MAX_OVERHEAD_PERCENT = 10.0
MAX_STALL_MS = 16.0
MAX_DDPM_S = 1.5           # 1000 DDPM steps at batch 1 on a CUDA device, every step kept


def diffusion_run(options: BenchOptions, steps: int = STEPS, repeats: int = REPEATS) -> dict[str, Any]:
    with private_config() as folder:
        return _diffusion_run(options, folder, steps, repeats)


def _diffusion_run(options: BenchOptions, folder: Path, steps: int, repeats: int) -> dict[str, Any]:
    from explorer.worker import pick_device_name
    from models.checkpoint import open_model
    from models.cuda_graph import cuda_graphed
    from models.devices import threads_beside_a_ui, torch_threads, usable_cores

    title = f"diffusion view: DDIM {steps} steps at batch 1"
    device = pick_device_name(options.device)
    source, description = _model(options, folder)
    model = open_model(source, device)

    def bare(num_steps: int, beside_ui: bool = True, sampler: str = "ddim") -> float:
        # the network as the viewer runs it (a CUDA graph on CUDA): the overhead is the viewer's own
        threads = torch_threads(threads_beside_a_ui()) if beside_ui and device == "cpu" else nullcontext()
        with threads, cuda_graphed(model):
            began = time.perf_counter()
            x = model.sample_latent(1, 0)
            last = None
            for last in model.sampler.steps(x, None, 0.0, sampler, num_steps, 0.0, 1):
                pass
            last.x_t.cpu()            # the result on the host, as the viewer has it
            return time.perf_counter() - began

    bare(5)                           # first-call costs (allocator, kernels) out of the figures
    viewer = _Viewer(source, device)
    try:
        viewer.run("ddim", 5)
        bare_times, viewer_times, all_core_times = [], [], []
        for _ in range(repeats):
            # the same thread count for both: the overhead is the viewer's own work; the
            # all-core loop shows what leaving the UI a core costs
            bare_times.append(bare(steps))
            viewer_times.append(viewer.run("ddim", steps))
            all_core_times.append(bare(steps, beside_ui=False))
        stall_ms = viewer.longest_stall_ms("ddim", steps)
        kept = viewer.kept
        T = model.sampler.schedule.num_timesteps
        ddpm_s = ddpm_bare_s = None
        if device == "cuda":
            viewer.run("ddpm", T)
            ddpm_s = statistics.median(viewer.run("ddpm", T) for _ in range(3))
            ddpm_bare_s = statistics.median(bare(T, sampler="ddpm") for _ in range(3))
        graphs = viewer.cuda_graphs
    finally:
        viewer.close()

    bare_s, viewer_s = statistics.median(bare_times), statistics.median(viewer_times)
    overhead = (viewer_s / bare_s - 1.0) * 100.0
    threads, cores = threads_beside_a_ui(), usable_cores()
    figures = [
        figure(f"DDIM {steps} steps in the viewer (every step kept, shown live), median", round(viewer_s, 3), "s",
               f"<= {MAX_DDIM_S:g} s", viewer_s <= MAX_DDIM_S),
        figure("the same run as a bare loop, median", round(bare_s, 3), "s"),
        figure("viewer overhead over the bare loop", round(overhead, 1), "%", f"<= {MAX_OVERHEAD_PERCENT:g} %",
               overhead <= MAX_OVERHEAD_PERCENT),
        figure("longest event-loop stall during a run", round(stall_ms, 2), "ms", f"<= {MAX_STALL_MS:g} ms",
               stall_ms <= MAX_STALL_MS),
        figure("steps kept by the viewer", kept, "", str(steps), kept == steps),
    ]
    if ddpm_s is not None and ddpm_bare_s is not None:
        ddpm_overhead = (ddpm_s / ddpm_bare_s - 1.0) * 100.0
        figures += [
            figure(f"DDPM {T} steps in the viewer (every step kept, shown live), median", round(ddpm_s, 3), "s",
                   f"<= {MAX_DDPM_S:g} s", ddpm_s <= MAX_DDPM_S),
            figure(f"the same {T} steps as a bare loop, median", round(ddpm_bare_s, 3), "s"),
            figure(f"viewer overhead over the bare loop at {T} steps", round(ddpm_overhead, 1), "%",
                   f"<= {MAX_OVERHEAD_PERCENT:g} %", ddpm_overhead <= MAX_OVERHEAD_PERCENT),
        ]
    else:
        figures.append(figure(f"DDPM {T} steps in the viewer", f"not measured on {device}", "",
                              f"<= {MAX_DDPM_S:g} s on CUDA"))
    notes = [f"model: {description}; device {device}"
             + (f", {threads} of {cores} cores for inference (one left to the UI thread)" if device == "cpu" else "")
             + (", UNet replayed as a CUDA graph" if graphs else ""),
             f"bare loop on all cores: {statistics.median(all_core_times):.3f} s (median)",
             "viewer: the diffusion panel offscreen on its own worker, timed from Run to the run's result"]
    if ddpm_s is None:
        notes.append("the 1000-step DDPM target is for CUDA devices (CUDA graph capture of the UNet); "
                     "run `latent-explorer bench --device cuda` on one")
    return {"name": title, "figures": figures, "notes": notes}


def _model(options: BenchOptions, folder: Path) -> tuple[str, str]:
    """(source, description): the bundled DDPM, else an untrained one of the default architecture."""
    path = model_file("ddpm", options)
    if path is not None:
        return str(path), f"{path.stem} ({path.name})"
    from models.checkpoint import save_checkpoint
    from models.generative import build_model

    meta: dict[str, Any] = {"name": "ddpm (untrained)", "class_names": [f"class {k}" for k in range(10)]}
    config = {"num_classes": 10}
    model = build_model("unet-ddpm", config, meta)
    meta.update(kind="ddpm", architecture="unet-ddpm", config=config, image_shape=list(model.image_shape),
                latent_shape=list(model.latent_shape), dataset={"name": "none"},
                training={"recipe": {"kind": "untrained"}, "seed": 0, "epochs": 0}, metrics={})
    path = folder / "bench-ddpm.safetensors"
    save_checkpoint(path, model.net, meta)
    return str(path), "no bundled ddpm: an untrained one of the default architecture"


class _Viewer:
    """A DiffusionPanel on its own worker, run from code and timed from Run to the result."""

    def __init__(self, source: str, device: str):
        from explorer.context import AppContext
        from explorer.views.diffusion import DiffusionPanel

        self.app = qt_app()
        self.context = AppContext(device=device, bundled={})
        self.panel = DiffusionPanel(self.context)
        self.panel.resize(1280, 800)
        self.panel.show()
        self.panel.set_source(source)
        self._wait(self.panel.model_changed, lambda: self.panel.model is not None, 120)
        if self.panel.model is None:
            raise RuntimeError(f"the bench model did not open: {self.panel.status_label.text()}")
        self.kept = 0
        self.cuda_graphs = False

    @staticmethod
    def _wait(signal: Any, done: Callable[[], bool], timeout_s: float) -> None:
        """Runs the event loop until `signal` fires with `done()` true. No polling: a busy UI
        thread would slow the worker it measures."""
        from PySide6.QtCore import QEventLoop, QTimer

        if done():
            return
        loop = QEventLoop()

        def check(*_: Any) -> None:
            if done():
                loop.quit()

        signal.connect(check)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        loop.exec()
        signal.disconnect(check)

    def run(self, sampler: str, steps: int) -> float:
        from explorer.jobs.diffusion import DiffusionSettings

        panel = self.panel
        panel.set_diffusion_settings(DiffusionSettings(sampler=sampler, num_steps=min(steps, 1000), batch=1, seed=0))
        finished: list[Any] = []
        panel.run_finished.connect(finished.append)
        began = time.perf_counter()
        panel.run()
        self._wait(panel.run_finished, lambda: bool(finished), 600)
        elapsed = time.perf_counter() - began
        panel.run_finished.disconnect(finished.append)
        if not finished or not finished[0].ok:
            raise RuntimeError(f"the bench run failed: {panel.status_label.text()}")
        self.kept = len(panel.store)
        self.cuda_graphs = bool(finished[0].value.cuda_graphs)
        return elapsed

    def longest_stall_ms(self, sampler: str, steps: int) -> float:
        """The longest gap between beats of a 1 ms heartbeat on the UI thread during one run."""
        from PySide6.QtCore import Qt, QTimer

        beats: list[float] = []
        heartbeat = QTimer()
        heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
        heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
        heartbeat.start(1)
        self.run(sampler, steps)
        heartbeat.stop()
        return max((b - a for a, b in zip(beats, beats[1:])), default=0.0) * 1000.0

    def close(self) -> None:
        self.panel.close()
        self.context.shutdown()
        self.panel.deleteLater()
        self.app.processEvents()
