"""Bench section of the compare view (see explorer/bench/__init__.py): how long a 32 x 32
latent map of a bundled model takes, class map included, and whether the window keeps
responding while the map fills in.

Two measurements per model: the map job alone on the inference worker's thread (median of a few
runs after a warm-up), and the map rendered in the real compare view offscreen,
timed from the request to the finished map on screen, with a heartbeat timer recording the
longest stall of the event loop meanwhile.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from explorer.bench import BenchOptions, Heartbeat, figure, model_file, private_config, qt_app, skipped, wait

MAP_K = 32
REPEATS = 3
MAX_MAP_S = 1.0            # issue "VAE versus GAN": a 32 x 32 map in under 1 s on 2 CPU cores
MAX_STALL_MS = 50.0        # the window never blocks while a map renders


def compare_map(options: BenchOptions) -> dict[str, Any]:
    """The bundled VAE's and DCGAN's maps: the two models the compare view opens with."""
    title = f"compare view: {MAP_K}x{MAP_K} latent maps"
    classifier = model_file("classifier", options)
    figures: list[dict[str, Any]] = []
    notes: list[str] = []
    for name in ("vae", "dcgan"):
        path = model_file(name, options)
        if path is None:
            where = options.models or "resources/checkpoints"
            notes.append(f"{name}: skipped, the bundled model is missing ({where}/{name}.safetensors)")
            continue
        job_s, job_note = _time_job(path, classifier, options)
        figures.append(figure(f"{name}: map job (decode + class map), median", round(job_s, 3), "s",
                              f"< {MAX_MAP_S:g} s", job_s < MAX_MAP_S))
        notes.append(job_note)
        with private_config():
            window = _time_in_window(path, options)
        if "skipped" in window:
            notes.append(f"{name}: window figures skipped: {window['skipped']}")
            continue
        figures += [
            figure(f"{name}: request to finished map on screen", round(window["shown_s"], 3), "s"),
            figure(f"{name}: longest event-loop stall while it renders", round(window["stall_ms"], 1), "ms",
                   f"<= {MAX_STALL_MS:g} ms", window["stall_ms"] <= MAX_STALL_MS),
            figure(f"{name}: longest stall with nothing rendering (the machine's own)",
                   round(window["idle_stall_ms"], 1), "ms"),
            figure(f"{name}: progressive updates before the map was complete", window["updates"]),
        ]
    if not figures:
        return skipped(title, "neither the bundled vae nor dcgan is there; train them with "
                              "`latent-explorer train` first")
    return {"name": title, "figures": figures, "notes": notes}


def _time_job(path: Path, classifier: Path | None, options: BenchOptions) -> tuple[float, str]:
    """Median time of the map job on the inference worker's thread, as the view runs it (torch
    runs differently on the main thread, so timing the job there would not say how the app does)."""
    import torch

    from explorer.jobs.compare import PlaneSpec, map_job
    from explorer.worker import InferenceWorker, Request

    app = qt_app()
    worker = InferenceWorker(options.device)
    results: list[Any] = []
    worker.result_ready.connect(results.append)
    worker.start()
    plane = PlaneSpec("dims", (0, 1), 3.0)
    judge = str(classifier) if classifier is not None else None
    times: list[float] = []
    try:
        for run in range(REPEATS + 1):      # the first run loads the models and allocates: not counted
            worker.submit(Request("bench-map", map_job(str(path), plane, MAP_K, classifier=judge)))
            if not wait(app, lambda n=run + 1: len(results) >= n, 120):
                raise RuntimeError("the map job did not finish within 120 s")
            if not results[-1].ok:
                raise RuntimeError(results[-1].error)
            if run:
                times.append(results[-1].elapsed_s)
        model = worker.model(str(path))
    finally:
        worker.stop()
    note = (f"{model.name}: {model.kind}, latent {model.latent_dim}; {MAP_K * MAP_K} decodes"
            + (" + classifications" if judge else " (no classifier bundled: no class map)")
            + f" on the worker ({worker.device}, {torch.get_num_threads()} torch threads); best of {REPEATS} "
              f"{min(times):.3f} s")
    return statistics.median(times), note


def _time_in_window(path: Path, options: BenchOptions) -> dict[str, Any]:
    from explorer.context import AppContext
    from explorer.jobs.compare import MapRows
    from explorer.views.compare import ComparePanel

    app = qt_app()
    bundled = {p.stem: p for p in sorted(path.parent.glob("*.safetensors"))}
    context = AppContext(device=options.device, bundled=bundled)
    source = str(path.resolve())
    context.settings.setValue("compare/left/model", source)
    context.settings.setValue("compare/left/grid", 16)
    context.settings.setValue("compare/left/tab", 0)
    context.settings.setValue("compare/link", "independent")
    panel = ComparePanel(context)
    panel.resize(1280, 800)
    panel.show()
    try:
        if not wait(app, lambda: not panel.is_busy(), 60):
            return {"skipped": "the compare view did not settle within 60 s"}
        column = panel.columns["left"]
        if column.info is None or column.info.source != source:
            return {"skipped": f"the compare view did not open {path.name}"}
        updates = [0]

        def on_progress(progress) -> None:
            if isinstance(progress.partial, MapRows) and progress.channel == "compare-left-map":
                updates[0] += 1

        done: dict[str, float] = {}

        def on_rendered(side: str, _map) -> None:
            if side == "left":
                done["at"] = time.perf_counter()

        context.worker.progress_changed.connect(on_progress)
        panel.map_rendered.connect(on_rendered)
        heartbeat = Heartbeat()
        # The same heartbeat with nothing rendering: what the machine itself costs the event loop.
        heartbeat.start()
        wait(app, lambda: False, 0.5)
        idle_ms = heartbeat.longest_ms()
        heartbeat.restart()
        start = time.perf_counter()
        column.grid_box.setValue(MAP_K)
        finished = wait(app, lambda: "at" in done, 60)
        heartbeat.stop()
        if not finished:
            return {"skipped": "the 32 x 32 map did not arrive within 60 s"}
        return {"shown_s": done["at"] - start, "stall_ms": heartbeat.longest_ms(),
                "idle_stall_ms": idle_ms, "updates": max(0, updates[0] - 1)}
    finally:
        panel.close()
        context.shutdown()
        panel.deleteLater()
        app.processEvents()
