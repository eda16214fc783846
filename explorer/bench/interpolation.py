"""Bench section of the interpolation view (see explorer/bench/__init__.py): how long the
headless GIF export of a path takes, decoding and writing apart."""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from explorer.bench import BenchOptions, figure, model_file

MAX_EXPORT_S = 1.0     # issue "Interpolation": a 64-frame 28x28 path at scale 8 in under 1 s on 2 CPU cores


def bench_gif_export(frames: int = 64, scale: int = 8, model_path: Path | None = None, device: str = "cpu",
                     repeats: int = 3) -> dict[str, Any]:
    """Seconds to export a `frames`-frame interpolation at `scale` as a GIF, endpoints resolved,
    frames decoded and written (median of `repeats` after a warm-up), with the model at
    `model_path`, else an untrained VAE of the bundled architecture (same speed)."""
    from explorer.jobs.interpolation import Endpoint, PathSettings, export_path
    from models.checkpoint import open_model
    from models.generative import build_model

    if model_path is not None:
        model, source = open_model(model_path, device), model_path.stem
    else:
        model = build_model("conv-vae", {"image_shape": [1, 28, 28]}, {"name": "vae (untrained)"}).to(device)
        source = "conv-vae, untrained (no bundled vae)"
    settings = PathSettings(model=source, model_name=model.name, latent_shape=tuple(model.latent_shape),
                            keyframes=(Endpoint("seed", seed=0), Endpoint("seed", seed=1)),
                            frames=frames, slerp=True, fps=16, scale=scale)
    totals, decodes = [], []
    with tempfile.TemporaryDirectory() as folder:
        for run_index in range(repeats + 1):
            marks: dict[str, float] = {}

            def report(progress: Any) -> None:
                if progress.message == "writing" and "decoded" not in marks:
                    marks["decoded"] = time.perf_counter()

            t0 = time.perf_counter()
            export_path(settings, Path(folder) / f"run-{run_index}.gif", model_fn=lambda: model, on_progress=report)
            t1 = time.perf_counter()
            if run_index:           # the first run pays first-call costs
                totals.append(t1 - t0)
                decodes.append(marks.get("decoded", t0) - t0)
    total, decode = statistics.median(totals), statistics.median(decodes)
    return {"frames": frames, "scale": scale, "seconds": round(total, 4), "decode_seconds": round(decode, 4),
            "write_seconds": round(total - decode, 4), "model": source}


def gif_export(options: BenchOptions) -> dict[str, Any]:
    """The headless GIF export of an interpolation."""
    from explorer.worker import pick_device_name

    device = pick_device_name(options.device)
    r = bench_gif_export(model_path=model_file("vae", options), device=device)
    size = 28 * r["scale"]
    return {"name": "GIF export", "figures": [
        figure(f"{r['frames']}-frame 28x28 path at scale {r['scale']}, median of 3", r["seconds"], "s",
               f"< {MAX_EXPORT_S:g} s", r["seconds"] < MAX_EXPORT_S),
        figure("of which decoding the frames", r["decode_seconds"], "s"),
        figure(f"of which writing the GIF ({size}x{size})", r["write_seconds"], "s"),
    ], "notes": [f"model {r['model']} on {device}; slerp between seeds 0 and 1, settings JSON in the comment"]}
