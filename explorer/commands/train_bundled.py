"""`latent-explorer train-bundled`: retrain the bundled models from Fashion-MNIST with the
recipes in models/recipes.py."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from explorer.commands import fail
from explorer.commands.arguments import whole
from explorer.commands.train import MAX_EPOCHS, duration, progress_printer


def run(args: argparse.Namespace) -> int:
    import torch

    from models.data import DataError, load_dataset
    from models.recipes import BUNDLED
    from models.train import train

    names = args.only or list(BUNDLED)
    unknown = [n for n in names if n not in BUNDLED]
    if unknown:
        return fail(f"no recipe named {', '.join(unknown)} (recipes: {', '.join(BUNDLED)})")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        data = load_dataset(args.data, split="train")
    except DataError as e:
        return fail(str(e))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        options = dataclasses.replace(BUNDLED[name], device=args.device)
        if args.epochs:
            options.epochs = args.epochs
        print(f"== {name}: {options.kind}, {options.epochs} epochs", file=sys.stderr, flush=True)
        meta = train(options, data, out_dir / f"{name}.safetensors", progress=progress_printer(f"{name}  "))
        print(f"wrote {out_dir / (name + '.safetensors')} in {duration(meta['training']['time_s'])}", flush=True)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from resources import CHECKPOINTS

    p = sub.add_parser("train-bundled", help="retrain the bundled models with their recorded recipes")
    p.add_argument("--data", help="Fashion-MNIST directory (default: /usr/share/datasets/fashion-mnist)")
    p.add_argument("--out", default=str(CHECKPOINTS), help=f"output folder (default: {CHECKPOINTS})")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--only", nargs="+", metavar="NAME", help="train only these recipes")
    p.add_argument("--epochs", type=whole(1, MAX_EPOCHS), help="override every recipe's epoch count (for a quick trial)")
    p.add_argument("--threads", type=whole(1, 1024), help="CPU threads for PyTorch (default: all cores)")
    p.set_defaults(func=run)
