"""Bench section of the decode budgets (see explorer/bench/__init__.py): one image of every
bundled one-pass generator (the VAEs and GANs: what a slider asks) and one step of every bundled
DDPM's UNet (noise prediction with its default guidance), each at batch 1 on 2 threads."""
from __future__ import annotations

from typing import Any

import torch

from explorer.bench import BenchOptions, figure, median_p95_ms, model_file, skipped

RUNS = 100
DECODE_TARGET_MS = 5.0      # a VAE or GAN image
STEP_TARGET_MS = 15.0       # one UNet step
BUNDLED_GENERATORS = ("vae-2d", "vae", "cvae", "gan-mlp", "dcgan", "cgan", "lapgan", "emoji-dcgan", "ddpm")


def decode_budgets(options: BenchOptions, runs: int = RUNS) -> dict[str, Any]:
    from models.checkpoint import open_model
    from models.devices import torch_threads

    name = "decode budgets: one image or one UNet step at batch 1, 2 threads"
    figures, missing = [], []
    for model_name in BUNDLED_GENERATORS:
        path = model_file(model_name, options)
        if path is None:
            missing.append(model_name)
            continue
        model = open_model(path, options.device)
        labels = torch.zeros(1, dtype=torch.long) if model.conditional is not None else None
        z = model.sample_latent(1, seed=0)
        with torch_threads(2):
            if model.sampler is None:
                median, _ = median_p95_ms(lambda: model.decode(z, labels), runs)
                what, target = "decode", DECODE_TARGET_MS
            else:
                t = torch.full((1,), 500, dtype=torch.long)
                guidance = model.sampler.default_guidance

                x = z.to(model.device)
                median, _ = median_p95_ms(lambda: model.sampler.eps(x, t.to(model.device), labels, guidance), runs)
                what, target = f"UNet step (guidance {guidance:g})", STEP_TARGET_MS
        figures.append(figure(f"{model_name}: {what}, median", round(median, 3), "ms", f"< {target:g} ms",
                              median < target))
    if not figures:
        return skipped(name, "no bundled generators (train them: latent-explorer train-bundled)")
    notes = [f"{runs} timed runs after 10 of warm-up; a guided UNet step predicts the noise with and "
             f"without the class, in one batch of two"]
    if missing:
        notes.append(f"not found: {', '.join(missing)}")
    return {"name": name, "figures": figures, "notes": notes}
