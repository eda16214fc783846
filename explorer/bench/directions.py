"""Bench section of principal directions (see explorer/bench/__init__.py): how long the one
function every view uses (models/directions.py) takes on the bundled conditional GAN, on the
worker's thread count."""
from __future__ import annotations

import statistics
import time
from typing import Any

from explorer.bench import BenchOptions, figure, model_file, skipped

MAX_GANSPACE_S = 2.0


def ganspace_cgan(options: BenchOptions) -> dict[str, Any]:
    title = "principal directions: GANSpace of cgan"
    path = model_file("cgan", options)
    if path is None:
        return skipped(title, "needs the bundled cgan")
    from explorer.worker import pick_device_name
    from models.checkpoint import open_model
    from models.devices import threads_beside_a_ui, torch_threads
    from models.directions import GANSPACE_SAMPLES, principal_directions_of
    from models.steps import run_to_end

    model = open_model(path, pick_device_name(options.device))
    times = []
    with torch_threads(threads_beside_a_ui()):
        for _ in range(3):
            began = time.perf_counter()
            found = run_to_end(principal_directions_of(model, labels=3, seed=0))
            times.append(time.perf_counter() - began)
    seconds = statistics.median(times)
    return {"name": title, "figures": [
        figure(f"{len(found.std)} directions from {GANSPACE_SAMPLES} samples, median of 3", round(seconds, 2), "s",
               f"<= {MAX_GANSPACE_S:g} s", seconds <= MAX_GANSPACE_S),
    ], "notes": [f"{threads_beside_a_ui()} torch thread(s), as on the app's worker; class 3; randomized SVD of the "
                 f"{GANSPACE_SAMPLES} x {model.early_layer.features(model.sample_latent(1, 0), None).shape[1]} "
                 f"activations"]}
