"""Bench section of the upscaler (see explorer/bench/__init__.py): one forward pass of the bundled
srgan at batch 1 (7x7 -> 28x28), with the SRGAN weights and with a blend of the two weight sets
(the blend slider's path: the interpolated weights are made once per blend value, then cached),
on 2 threads and on 1; and the upscale view's whole job for one image (downscale, bicubic, the
three networks, PSNR, SSIM, the classifier)."""
from __future__ import annotations

from typing import Any

from explorer.bench import BenchOptions, figure, median_p95_ms, model_file, skipped

RUNS = 300
TARGET_MS = 5.0       # one forward at batch 1 on 2 CPU cores


def upscale_forward(options: BenchOptions, runs: int = RUNS) -> dict[str, Any]:
    import torch

    from models.checkpoint import open_model
    from models.devices import torch_threads

    name = "upscale: one forward of srgan at batch 1"
    path = model_file("srgan", options)
    if path is None:
        return skipped(name, "no srgan checkpoint (train it: latent-explorer train-bundled --only srgan)")
    model = open_model(path, options.device)
    up = model.upscaler
    low = torch.rand(1, *up.low_shape, device=options.device)
    figures = []
    for threads in (2, 1):
        with torch_threads(threads):
            for blend, what in ((1.0, "SRGAN weights"), (0.5, "blend 0.5")):
                median, p95 = median_p95_ms(lambda b=blend: up.upscale(low, b), runs)
                target = f"< {TARGET_MS:g} ms" if threads == 2 else None
                figures.append(figure(f"{what}, {threads} thread(s): median", round(median, 3), "ms", target,
                                      median < TARGET_MS if threads == 2 else None))
                figures.append(figure(f"{what}, {threads} thread(s): p95", round(p95, 3), "ms"))
    figures += _view_job(model, options, runs // 3)
    side = "x".join(map(str, up.low_shape[1:]))
    return {"name": name, "figures": figures,
            "notes": [f"{side} -> {'x'.join(map(str, model.image_shape[1:]))}, {runs} timed runs after 10 of warm-up",
                      ("the view's job: downscale, bicubic, SRResNet, the blend, SRGAN, PSNR and SSIM of four "
                       "outputs (scikit-image) and the classifier on five, for one test-sized image")]}


def _view_job(model: Any, options: BenchOptions, runs: int) -> list[dict[str, Any]]:
    import numpy as np

    from explorer.jobs.upscale import ImageInput, upscale_job

    class Context:                  # the two things the job asks of the worker
        device = options.device

        def model(self, source: str) -> Any:
            return model if source == "srgan" else judge

    judge = None
    path = model_file("classifier", options)
    if path is not None:
        from models.checkpoint import open_model

        judge = open_model(path, options.device)
    pixels = np.random.default_rng(0).integers(0, 256, tuple(model.image_shape[1:]), dtype=np.uint8)
    job = upscale_job("srgan", ImageInput(pixels=pixels), 0.5, "classifier" if judge is not None else None)
    context = Context()
    median, p95 = median_p95_ms(lambda: job(context), runs)
    return [figure("the upscale view's job for one image: median", round(median, 2), "ms"),
            figure("the upscale view's job for one image: p95", round(p95, 2), "ms")]
