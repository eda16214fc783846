"""`latent-explorer denoise --model NAME|PATH [options] OUT.gif`: a DDPM run as an animated GIF.

The same run as the diffusion view (the same `run_frames`, the same frame composition): every
k-th step and the last, the step number and timestep drawn on each frame. Progress goes to
stderr; the GIF is written under a temporary name and renamed when complete.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from explorer.commands import CommandError, fail
from explorer.commands.arguments import MAX_GUIDANCE, MAX_STEPS, class_index, real, seed, whole
from explorer.commands.progress import progress

DEFAULT_MAX_FRAMES = 50


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from explorer.export import ExportError, write_gif
    from explorer.jobs.diffusion import (SHOW_CHOICES, DiffusionError, DiffusionSettings, as_ddpm,
                                         compose_gif_frame, frame_positions, gif_scale, run_frames, step_caption)
    from explorer.worker import pick_device_name
    from models.checkpoint import CheckpointError, open_model
    from models.data import DataError

    source = getattr(args, "denoise_model", None) or getattr(args, "model", None)
    if not source:
        return fail("give the DDPM to run: --model NAME|PATH (see `latent-explorer models`)")
    if args.sampler == "ddpm" and (args.steps is not None or args.eta is not None):
        return fail("--steps and --eta apply to the DDIM sampler only (DDPM runs every timestep); "
                    "add --sampler ddim or drop them")
    if args.show not in SHOW_CHOICES:
        return fail(f"--show must be one of {', '.join(SHOW_CHOICES)}")
    out = Path(args.out).expanduser()
    if out.suffix.lower() != ".gif":
        return fail(f"{out} must end in .gif")
    if not out.parent.is_dir():
        return fail(f"the folder {out.parent} does not exist")

    try:
        model = as_ddpm(open_model(source, pick_device_name(args.device)), source)
        settings = DiffusionSettings(sampler=args.sampler, num_steps=args.steps if args.steps is not None else
                                     min(50, model.sampler.schedule.num_timesteps),
                                     eta=args.eta if args.eta is not None else 0.0, seed=args.seed,
                                     batch=args.batch,
                                     class_index=class_index(args.class_, model.conditional),
                                     guidance=args.guidance if args.guidance is not None else model.sampler.default_guidance)
        began = time.perf_counter()
        frames, positions, total = [], [], 0
        wanted: set[int] = set()
        scale = None
        with progress(f"denoising with {model.name}", unit="steps", disable=args.quiet) as show:
            for frame in run_frames(model, settings):
                if not total:
                    total = frame.total
                    every = args.every or max(1, -(-total // DEFAULT_MAX_FRAMES))
                    wanted = set(frame_positions(total, every))
                    scale = gif_scale(frame.images, args.show)
                if frame.position in wanted:
                    caption = step_caption(frame.position, frame.total, frame.t)
                    frames.append(compose_gif_frame(frame.images, args.show, caption, scale))
                    positions.append(frame.position)
                show(frame.position + 1, frame.total)
        elapsed = time.perf_counter() - began
        write_gif(out, np.stack(frames), fps=args.fps, overwrite=True)
    except (CheckpointError, CommandError, DataError, DiffusionError, ExportError) as e:
        return fail(str(e))
    print(f"wrote {out}: {len(frames)} frames (steps {', '.join(str(p + 1) for p in positions[:4])}"
          f"{', …' if len(positions) > 4 else ''} of {total}); {settings.describe()}; sampling took "
          f"{elapsed:.2f} s on {model.device}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("denoise", help="run a DDPM and save its steps as an animated GIF",
                       description="Run a DDPM sampler and write every k-th step (and the last) as an "
                                   "animated GIF, the step number and timestep drawn on each frame.")
    # SUPPRESS keeps this subcommand's --model from clobbering the top-level --model default.
    p.add_argument("--model", dest="denoise_model", metavar="NAME|PATH", default=argparse.SUPPRESS,
                   help="the DDPM: a bundled name or a checkpoint file")
    p.add_argument("--sampler", choices=["ddpm", "ddim"], default="ddim",
                   help="ddpm: every timestep; ddim: --steps of them (default: ddim)")
    p.add_argument("--steps", type=whole(1, MAX_STEPS), metavar="N", help="DDIM steps (default: 50, or T if fewer)")
    p.add_argument("--eta", type=real(0, 1), metavar="E",
                   help="DDIM eta, 0 to 1: 0 deterministic, 1 DDPM-like noise (default: 0)")
    p.add_argument("--seed", type=seed, default=0, metavar="S", help="seed of the noise (default: 0)")
    p.add_argument("--class", dest="class_", metavar="C",
                   help="class index or name, for a conditional model (default: unconditional)")
    p.add_argument("--guidance", type=real(0, MAX_GUIDANCE), metavar="W",
                   help=f"classifier-free guidance scale with --class, 0 to {MAX_GUIDANCE} (default: the model's)")
    p.add_argument("--batch", type=whole(1, 16), default=1, metavar="B", help="samples side by side, 1 to 16 (default: 1)")
    p.add_argument("--every", type=whole(1, MAX_STEPS), metavar="K",
                   help=f"keep every K-th step, and the last (default: at most {DEFAULT_MAX_FRAMES} frames)")
    p.add_argument("--show", default="x_t", choices=["x_t", "x0", "eps", "all"],
                   help="what each frame shows: the sample, the predicted x0, the predicted noise, or all three")
    p.add_argument("--fps", type=real(1, 50), default=10.0, help="frames per second, 1 to 50 (default: 10)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where the network runs (default: cuda, then mps, then cpu)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("out", metavar="OUT.gif", help="the GIF to write (overwritten if it exists)")
    p.set_defaults(func=run, batch_work=False)   # batches of 1 to 16: one thread is fastest

