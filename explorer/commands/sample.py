"""`latent-explorer sample MODEL OUT.png`: a grid of samples from the prior, headless.

Conditional models get one row per class unless --class picks one; a DDPM is sampled with
deterministic DDIM.
"""
from __future__ import annotations

import argparse

from explorer.commands import fail


def sample_grid(model, count: int, seed: int, class_index: int | None, columns: int, ddim_steps: int,
                guidance: float | None):
    """(n, H, W, C) uint8 samples; conditional models cycle through the classes row by row."""
    import torch

    from explorer.jobs.common import to_uint8
    from models.generative import to_unit

    z = model.sample_latent(count, seed)
    labels = None
    if model.is_conditional:
        if class_index is None:   # row r shows class r
            labels = (torch.arange(count) // columns) % model.num_classes
        else:
            labels = torch.full((count,), class_index, dtype=torch.long)
    if model.kind == "ddpm":
        last = None
        for last in model.steps(z, labels, guidance, sampler="ddim", num_steps=ddim_steps, seed=seed):
            pass
        return to_uint8(to_unit(last.x_t))
    return to_uint8(model.decode(z, labels))


def run(args: argparse.Namespace) -> int:
    from explorer.export import ExportError, write_filmstrip
    from models.checkpoint import CheckpointError, open_model

    try:
        model = open_model(args.model)
    except CheckpointError as e:
        return fail(str(e))
    if model.kind == "classifier":
        return fail(f"{args.model} is a classifier; it draws no samples")
    class_index = None
    if args.class_ is not None:
        if not model.is_conditional:
            return fail(f"{model.name} is unconditional: it takes no --class")
        names = [n.lower() for n in model.class_names]
        if args.class_.isdigit() and int(args.class_) < model.num_classes:
            class_index = int(args.class_)
        elif args.class_.lower() in names:
            class_index = names.index(args.class_.lower())
        else:
            return fail(f"unknown class {args.class_!r}; use 0-{model.num_classes - 1} or one of: "
                        + ", ".join(model.class_names))
    count = args.count or (model.num_classes * args.columns if model.is_conditional and class_index is None
                           else args.columns * args.columns)
    if count < 1 or args.columns < 1:
        return fail("--count and --columns must be at least 1")
    images = sample_grid(model, count, args.seed, class_index, args.columns, args.ddim_steps, args.guidance)
    try:
        path = write_filmstrip(args.out, images, scale=args.scale, columns=args.columns, overwrite=args.force)
    except ExportError as e:
        return fail(str(e))
    print(f"wrote {path} ({count} samples of {model.name}, seed {args.seed})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample", help="a PNG grid of samples from a model's prior")
    p.add_argument("model", help="bundled model name or checkpoint file")
    p.add_argument("out", metavar="OUT.png")
    p.add_argument("--count", type=int, help="number of samples (default: a full grid; one row per class "
                                             "for conditional models)")
    p.add_argument("--columns", type=int, default=8, help="samples per row (default: 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--class", dest="class_", metavar="C", help="class index or name (conditional models)")
    p.add_argument("--scale", type=int, default=2, help="nearest-neighbour upscale factor (default: 2)")
    p.add_argument("--ddim-steps", type=int, default=50, help="DDIM steps for a DDPM (default: 50)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale for a conditional DDPM "
                                                  "(default: the model's own)")
    p.add_argument("--force", action="store_true", help="overwrite OUT.png if it exists")
    p.set_defaults(func=run)
