"""`latent-explorer sample MODEL OUT.png`: a grid of samples from the prior, headless.

Conditional models get one row per class unless --class picks one; a DDPM is sampled with
deterministic DDIM, its steps shown on stderr, in bfloat16 where models/precision.py says so (a
decoder's one pass takes milliseconds: it stays float32, so the grid shows exactly the images
the window draws).
"""
from __future__ import annotations

import argparse

from explorer.commands import CommandError, fail
from explorer.commands.arguments import MAX_GUIDANCE, MAX_STEPS, class_index, real, seed, whole
from explorer.commands.progress import ProgressLine, progress

MAX_COUNT = 4096      # samples in one grid
MAX_COLUMNS = 64


def sample_grid(model, count: int, seed: int, class_index: int | None, columns: int, ddim_steps: int,
                guidance: float | None, show: ProgressLine | None = None):
    """(n, H, W, C) uint8 samples; conditional models cycle through the classes row by row.
    `show(done, total)` follows an iterative model's steps."""
    import torch

    from models.capabilities import to_unit
    from models.images import to_uint8
    from models.precision import batch_precision

    z = model.sample_latent(count, seed)
    labels = None
    if model.conditional is not None:
        if class_index is None:   # row r shows class r
            labels = (torch.arange(count) // columns) % model.conditional.num_classes
        else:
            labels = torch.full((count,), class_index, dtype=torch.long)
    if model.sampler is None:
        return to_uint8(model.decode(z, labels))
    total = len(model.sampler.make("ddim", ddim_steps).timesteps)
    last = None
    with batch_precision(model.device, count):
        for done, last in enumerate(model.sampler.steps(z, labels, guidance, "ddim", ddim_steps, 0.0, seed), 1):
            if show is not None:
                show(done, total)
    return to_uint8(to_unit(last.x_t.float()))


def run(args: argparse.Namespace) -> int:
    from explorer.export import ExportError, ExportExistsError, write_filmstrip
    from models.checkpoint import CheckpointError, open_model

    try:
        model = open_model(args.model)
    except CheckpointError as e:
        return fail(str(e))
    if model.upscaler is not None:
        return fail(f"{args.model} is an upscaler: it makes no samples of its own, it enlarges images. "
                    f"`latent-explorer evaluate {args.model}` measures it on the test set, and the app's "
                    f"Upscale view shows it on any image")
    if model.translator is not None:
        return fail(f"{args.model} is a translator: it makes no samples of its own, it turns images of one domain "
                    f"into the other. `latent-explorer evaluate {args.model}` measures it on the test set, and the "
                    f"app's Translate view shows it on any image or sketch")
    if model.prior is None:
        return fail(f"{args.model} is a {model.kind.title} without a prior; it draws no samples")
    try:
        index = class_index(args.class_, model.conditional)
    except CommandError as e:
        return fail(str(e))
    count = args.count or (model.conditional.num_classes * args.columns if model.conditional and index is None
                           else args.columns * args.columns)
    if count > MAX_COUNT:
        return fail(f"a grid of {count} samples is more than the {MAX_COUNT} one picture holds; "
                    f"pass --count or fewer --columns")
    with progress(f"sampling {model.name}", unit="steps", disable=model.sampler is None) as show:
        images = sample_grid(model, count, args.seed, index, args.columns, args.ddim_steps, args.guidance, show)
    try:
        rows = None
        if model.conditional is not None and index is None:       # row r shows class r
            names = model.conditional.class_names
            rows = [names[r % len(names)] for r in range(-(-count // args.columns))]
        path = write_filmstrip(args.out, images, scale=args.scale, columns=args.columns, overwrite=args.force,
                               row_labels=rows)
    except ExportExistsError:
        return fail(f"{args.out} already exists; pass --force to replace it")
    except ExportError as e:
        return fail(str(e))
    print(f"wrote {path} ({count} samples of {model.name}, seed {args.seed})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="a PNG grid of samples from a model's prior")
    p.add_argument("model", help="bundled model name or checkpoint file")
    p.add_argument("out", metavar="OUT.png")
    p.add_argument("--count", type=whole(1, MAX_COUNT), help=f"number of samples, 1 to {MAX_COUNT} (default: a full "
                                                             f"grid; one row per class for conditional models)")
    p.add_argument("--columns", type=whole(1, MAX_COLUMNS), default=8, help="samples per row (default: 8)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--class", dest="class_", metavar="C", help="class index or name (conditional models)")
    p.add_argument("--scale", type=whole(1, 32), default=2, help="nearest-neighbour upscale factor, 1 to 32 (default: 2)")
    p.add_argument("--ddim-steps", type=whole(1, MAX_STEPS), default=50, help="DDIM steps for a DDPM (default: 50)")
    p.add_argument("--guidance", type=real(0, MAX_GUIDANCE), help="classifier-free guidance scale for a conditional "
                                                                   "DDPM (default: the model's own)")
    p.add_argument("--force", action="store_true", help="overwrite OUT.png if it exists")
    p.set_defaults(func=run)
