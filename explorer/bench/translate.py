"""Bench section of the translators (see explorer/bench/__init__.py): one translation of the
bundled cyclegan-footwear at batch 1 (28x28 -> 28x28, G alone), on 2 threads and on 1, and the
translate view's whole job for one image (G, F, the probes, the heat maps, the classifier on
four images)."""
from __future__ import annotations

from typing import Any

from explorer.bench import BenchOptions, figure, median_p95_ms, model_file, skipped

RUNS = 300
TARGET_MS = 5.0       # one translation at batch 1 on 2 CPU cores


def translate_forward(options: BenchOptions, runs: int = RUNS) -> dict[str, Any]:
    import numpy as np
    import torch

    from explorer.jobs.translate import ImageInput, translate_job
    from models.checkpoint import open_model
    from models.devices import torch_threads

    name = "translate: one translation of cyclegan-footwear at batch 1"
    path = model_file("cyclegan-footwear", options)
    if path is None:
        return skipped(name, "no cyclegan-footwear checkpoint (train it: latent-explorer train-bundled --only "
                             "cyclegan-footwear)")
    model = open_model(path, options.device)
    tr = model.translator
    x = torch.rand(1, *model.image_shape, device=options.device)
    figures = []
    for threads in (2, 1):
        with torch_threads(threads):
            median, p95 = median_p95_ms(lambda: tr.a_to_b(x), runs)
        target = f"< {TARGET_MS:g} ms" if threads == 2 else None
        figures.append(figure(f"G(x), {threads} thread(s): median", round(median, 3), "ms", target,
                              median < TARGET_MS if threads == 2 else None))
        figures.append(figure(f"G(x), {threads} thread(s): p95", round(p95, 3), "ms"))

    judge_path = model_file("classifier", options)
    judge = open_model(judge_path, options.device) if judge_path is not None else None

    class Context:                  # what the job asks of the worker for pixels it is given
        device = options.device

        def model(self, source: str) -> Any:
            return model if source == "cyclegan-footwear" else judge

    pixels = np.random.default_rng(0).integers(0, 256, tuple(model.image_shape[1:]), dtype=np.uint8)
    job = translate_job("cyclegan-footwear", ImageInput(pixels=pixels), gain=4, sigma=0.05,
                        classifier="classifier" if judge is not None else None)
    median, p95 = median_p95_ms(lambda: job(Context()), runs // 3)
    figures += [figure("the translate view's job for one image: median", round(median, 2), "ms"),
                figure("the translate view's job for one image: p95", round(p95, 2), "ms")]
    return {"name": name, "figures": figures,
            "notes": [f"{runs} timed runs after 10 of warm-up",
                      ("the view's job: G(x), F(G(x)), amplified detail, F(G(x) + noise), two heat maps and the "
                      "classifier on four images, for one image (what a pen stroke on the sketch canvas asks)")]}
