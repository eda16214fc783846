"""Bench section of the LAPGAN (see explorer/bench/__init__.py): one decode of the bundled lapgan at
batch 1 (all three levels, 7 -> 14 -> 28) on 2 threads and on 1, and the pyramid display's job for
one point (every level's low-pass, band-pass and composed image as pixels)."""
from __future__ import annotations

from typing import Any

from explorer.bench import BenchOptions, figure, median_p95_ms, model_file, skipped

RUNS = 300
TARGET_MS = 5.0       # one forward at batch 1 on a 2-core CPU


def lapgan_forward(options: BenchOptions, runs: int = RUNS) -> dict[str, Any]:
    from explorer.jobs.pyramid import pyramid_job
    from models.checkpoint import open_model
    from models.devices import torch_threads

    name = "pyramid: one decode of lapgan at batch 1"
    path = model_file("lapgan", options)
    if path is None:
        return skipped(name, "no lapgan checkpoint (train it: latent-explorer train-bundled --only lapgan)")
    model = open_model(path, options.device)
    z = model.sample_latent(1, seed=0)
    figures = []
    for threads in (2, 1):
        with torch_threads(threads):
            median, p95 = median_p95_ms(lambda: model.decode(z), runs)
        # the latent view decodes on one thread (explorer/jobs/latent.py): the target is its figure
        target = f"< {TARGET_MS:g} ms" if threads == 1 else None
        figures.append(figure(f"decode, {threads} thread(s): median", round(median, 3), "ms", target,
                              median < TARGET_MS if threads == 1 else None))
        figures.append(figure(f"decode, {threads} thread(s): p95", round(p95, 3), "ms"))

    class Context:                  # the one thing the job asks of the worker
        device = options.device

        def model(self, source: str) -> Any:
            return model

    job = pyramid_job("lapgan", z.reshape(-1).numpy())
    median, p95 = median_p95_ms(lambda: job(Context()), runs // 3)
    figures += [figure("the pyramid display's job for one point: median", round(median, 3), "ms"),
                figure("the pyramid display's job for one point: p95", round(p95, 3), "ms")]
    sides = " -> ".join(str(level.side) for level in model.pyramid.levels)
    return {"name": name, "figures": figures,
            "notes": [f"levels {sides}, latent {model.latent_dim}; {runs} timed runs after 10 of warm-up"]}
