"""Bench sections of directions (see explorer/bench/__init__.py), on the bundled conditional GAN and
the worker's thread count: principal directions (GANSpace, the one function every view uses), and
the other methods with the report that measures them (SeFa, a class boundary, the report of ten
directions)."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
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


MAX_SEFA_S = 0.5
MAX_BOUNDARY_S = 3.0
MAX_REPORT_S = 10.0
REPORTED = 10


def direction_methods(options: BenchOptions) -> dict[str, Any]:
    """SeFa, one class boundary and the report of ten directions on the bundled cgan, drawn as
    Sandal, on the worker's thread count."""
    title = "directions: SeFa, a class boundary and the report of cgan"
    path, judge_path = model_file("cgan", options), model_file("classifier", options)
    if path is None or judge_path is None:
        return skipped(title, "needs the bundled cgan and classifier")
    from explorer.worker import pick_device_name
    from models.checkpoint import open_model
    from models.class_directions import labelled_samples
    from models.data import DataError
    from models.devices import threads_beside_a_ui, torch_threads
    from models.direction_report import STARTS, report_directions
    from models.directions import BOUNDARY_KEY, LABELLED_SAMPLES, DirectionSpec, directions_of, principal_directions_of
    from models.references import reference_set
    from models.sefa import sefa_of
    from models.steps import run_to_end

    device = pick_device_name(options.device)
    model, judge = open_model(path, device), open_model(judge_path, device)
    sandal, sneaker = 5, 7
    spec = DirectionSpec(BOUNDARY_KEY, towards=sneaker, samples=LABELLED_SAMPLES)
    notes = [f"{threads_beside_a_ui()} torch thread(s), as on the app's worker; drawn as Sandal"]
    try:
        references = reference_set(tuple(model.image_shape))
    except DataError as e:
        references = None
        notes.append(f"the report measures no distances to the training data: {e}")
    with torch_threads(threads_beside_a_ui()):
        sefa = _median(lambda: sefa_of(model, 12), 5)
        labelling = _median(lambda: run_to_end(labelled_samples(model, judge, LABELLED_SAMPLES, 0, sandal)), 3)
        boundary = _median(lambda: run_to_end(directions_of(model, spec, judge=judge, labels=sandal)), 3)
        found = run_to_end(principal_directions_of(model, labels=sandal))
        report = _median(lambda: run_to_end(report_directions(model, judge, found, references, labels=sandal,
                                                              indices=list(range(REPORTED)))), 3)
    notes.append(f"the boundary's time includes drawing and labelling its samples ({labelling:.2f} s of it); "
                 f"the report's excludes reading the {'' if references else 'missing '}training images, which the "
                 f"worker caches")
    return {"name": title, "figures": [
        figure("SeFa, 12 directions, median of 5", round(sefa, 4), "s", f"<= {MAX_SEFA_S:g} s", sefa <= MAX_SEFA_S),
        figure(f"class boundary towards Sneaker from {LABELLED_SAMPLES} labelled samples, median of 3",
               round(boundary, 2), "s", f"<= {MAX_BOUNDARY_S:g} s", boundary <= MAX_BOUNDARY_S),
        figure(f"report of {REPORTED} GANSpace directions, {STARTS} starts, median of 3", round(report, 2), "s",
               f"<= {MAX_REPORT_S:g} s", report <= MAX_REPORT_S),
    ], "notes": notes}


def _median(run: Callable[[], object], times: int) -> float:
    seconds = []
    for _ in range(times):
        began = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds)
