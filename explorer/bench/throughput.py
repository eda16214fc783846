"""Bench section of batch work (see explorer/bench/__init__.py): how fast the commands run.

- `sample` at batch 250, as the command makes its grid (`explorer.commands.sample.sample_grid`),
  for one model of each bundled family: the VAE, the DCGAN and the DDPM (DDIM with the model's
  guidance; DDIM_STEPS of them are timed, and images per second are given for the command's 50);
- the DDPM's sampler steps per second at that batch (one image advanced by one step counts one);
- training images per second of the DDPM and the DCGAN with their own architecture on random
  images, in float32 (the default) and with `train --bfloat16`, one epoch timed after one of
  warm-up.

Each runs on the threads the commands use (`models.devices.threads_for_commands`), and each
gives the process's kernel-time share over its run, sys / (user + sys): time the kernel spent
for this process (page faults, mostly) against the time it computed.
"""
from __future__ import annotations

import math
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from explorer.bench import BenchOptions, figure, model_file, skipped

BATCH = 250
DDIM_STEPS = 10              # timed; the command's default is 50
COMMAND_DDIM_STEPS = 50
TRAIN_BATCH = 128            # the recipes' batch size
TRAIN_STEPS = {"ddpm": 3, "dcgan": 12}     # steps of one timed epoch (and of the warm-up epoch)
MAX_KERNEL_SHARE = 0.05      # issue "Batch work at the speed of the machine", 2 CPU cores
FAMILIES = ("vae", "dcgan", "ddpm")
MIN_TIMED_S = 1.0            # a decoder's batch takes milliseconds: repeated for at least this long


def _timed(work: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, kernel-time share) of work()."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.perf_counter()
    work()
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return wall, (system / (user + system) if user + system > 0 else 0.0)


def _share_figure(what: str, share: float) -> dict[str, Any]:
    return figure(f"{what}: kernel-time share", round(100 * share, 1), "%", f"<= {100 * MAX_KERNEL_SHARE:g} %",
                  share <= MAX_KERNEL_SHARE)


def throughput(options: BenchOptions, batch: int = BATCH, ddim_steps: int = DDIM_STEPS,
               train_steps: dict[str, int] | None = None, train_batch: int = TRAIN_BATCH) -> dict[str, Any]:
    from models.devices import threads_for_commands, torch_threads

    threads = threads_for_commands(batch_work=True)
    figures: list[dict[str, Any]] = []
    notes = [f"{threads} torch thread(s), as the commands use; kernel-time share is sys / (user + sys) of "
             f"this process during each run"]
    if options.device != "cpu":
        return skipped("batch throughput", "measured on the CPU only (--device cpu)")
    with torch_threads(threads):
        for name in FAMILIES:
            path = model_file(name, options)
            if path is None:
                notes.append(f"no {name} model: its sample figures are not measured")
                continue
            figures += _sample_figures(name, path, batch, ddim_steps)
        for kind in ("ddpm", "dcgan"):
            path = model_file(kind, options)
            if path is None:
                notes.append(f"no {kind} model: its training figures are not measured")
                continue
            for bfloat16 in (False, True):
                figures += _train_figures(kind, path, (train_steps or TRAIN_STEPS)[kind], train_batch, bfloat16)
    return {"name": f"batch throughput (sample at batch {batch}, training at batch {train_batch})",
            "figures": figures, "notes": notes}


def _sample_figures(name: str, path: Path, batch: int, ddim_steps: int) -> list[dict[str, Any]]:
    from explorer.commands.sample import sample_grid
    from models.checkpoint import open_model

    model = open_model(str(path), "cpu")
    steps = ddim_steps if model.sampler is not None else 1
    runs = 0

    def make() -> None:
        nonlocal runs
        began = time.perf_counter()
        while not runs or (model.sampler is None and time.perf_counter() - began < MIN_TIMED_S):
            sample_grid(model, batch, runs, None, 10, steps, None)
            runs += 1

    sample_grid(model, min(batch, 16), 0, None, 10, 1, None)      # first-call costs out of the figure
    wall, share = _timed(make)
    what = f"sample {name}"
    if model.sampler is None:
        return [figure(f"{what} at batch {batch}", round(runs * batch / wall, 1), "images/s"),
                _share_figure(what, share)]
    per_step = batch * steps / wall
    return [figure(f"{what} at batch {batch}, DDIM {COMMAND_DDIM_STEPS}", round(per_step / COMMAND_DDIM_STEPS, 2),
                   "images/s"),
            figure(f"{what}: sampler steps", round(per_step, 1), "image-steps/s"),
            _share_figure(what, share)]


def _train_figures(kind: str, path: Path, steps: int, batch: int, bfloat16: bool) -> list[dict[str, Any]]:
    import numpy as np

    from models.checkpoint import read_metadata
    from models.data import ImageDataset
    from models.train import TrainOptions, train

    meta = read_metadata(path)
    config = dict(meta.get("config") or {})
    classes = int(config.pop("num_classes", 0) or 0)
    shape = tuple(config.pop("image_shape", meta.get("image_shape")))
    latent = config.pop("latent_dim", None)
    rng = np.random.default_rng(0)
    n = batch * steps
    data = ImageDataset(rng.integers(0, 256, (n, *shape), dtype=np.uint8),
                        (np.arange(n) % max(classes, 1)).astype(np.int64) if classes else np.full(n, -1, np.int64),
                        [f"class {i}" for i in range(classes)])
    options = TrainOptions(kind="cgan" if kind == "dcgan" and classes else kind, epochs=2, batch_size=batch,
                           latent_dim=latent, device="cpu", arch=config, bfloat16=bfloat16)
    ends: list[float] = []
    usage: list[resource.struct_rusage] = []

    def at_epoch_end(p) -> None:
        if p.step == p.steps:
            ends.append(time.perf_counter())
            usage.append(resource.getrusage(resource.RUSAGE_SELF))

    with tempfile.TemporaryDirectory(prefix="latent-explorer-bench-") as folder:
        train(options, data, Path(folder) / "trained.safetensors", progress=at_epoch_end)
    user = usage[1].ru_utime - usage[0].ru_utime
    system = usage[1].ru_stime - usage[0].ru_stime
    what = f"train {kind}" + (" --bfloat16" if bfloat16 else "")
    share = system / (user + system) if user + system > 0 else 0.0
    rate = n / (ends[1] - ends[0]) if ends[1] > ends[0] else math.inf
    return [figure(what, round(rate, 1), "images/s"), _share_figure(what, share)]
