"""`latent-explorer train-bundled`: retrain the bundled models with the recipes in
models/recipes.py, from Fashion-MNIST or the dataset a recipe names (the colour emoji font), into a
new folder (replacing the shipped checkpoints takes `--replace-bundled`)."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from explorer.commands import fail
from explorer.commands.arguments import whole
from explorer.commands.progress import duration, progress
from explorer.commands.train import MAX_EPOCHS, training_progress
from resources import CHECKPOINTS


def run(args: argparse.Namespace) -> int:
    import torch

    from models.data import DataError, load_dataset
    from models.recipes import BUNDLED
    from models.train import train

    names = args.only or list(BUNDLED)
    unknown = [n for n in names if n not in BUNDLED]
    if unknown:
        return fail(f"no recipe named {', '.join(unknown)} (recipes: {', '.join(BUNDLED)})")
    if args.replace_bundled and args.out is not None:
        return fail("pass --out DIR or --replace-bundled, not both")
    out_dir = CHECKPOINTS if args.replace_bundled else Path(args.out or DEFAULT_OUT)
    if not args.replace_bundled and out_dir.resolve() == CHECKPOINTS.resolve():
        return fail(f"{out_dir} holds the shipped checkpoints; pass --replace-bundled to retrain them in place")
    clash = [n for n in names if (out_dir / f"{n}.safetensors").exists()]
    if clash and not (args.force or args.replace_bundled):
        return fail(f"{out_dir} already holds {', '.join(n + '.safetensors' for n in clash)}; pass --force to "
                    f"replace them, or --out another folder")
    if args.threads:
        torch.set_num_threads(args.threads)
    datasets = {}
    for source in dict.fromkeys(BUNDLED[n].data for n in names):   # each dataset read once
        try:
            # --data stands for Fashion-MNIST; a recipe that names its own data reads that
            datasets[source] = load_dataset(args.data if source is None else source, split="train")
        except DataError as e:
            return fail(str(e))
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        data = datasets[BUNDLED[name].data]
        options = dataclasses.replace(BUNDLED[name], device=args.device)
        if args.epochs:
            options.epochs = args.epochs
        print(f"== {name}: {options.kind}, {options.epochs} epochs on {len(data)} images of "
              f"{'x'.join(map(str, data.image_shape))}", file=sys.stderr, flush=True)
        with progress(name, unit="steps") as show:
            meta = train(options, data, out_dir / f"{name}.safetensors", progress=training_progress(show))
        print(f"wrote {out_dir / (name + '.safetensors')} in {duration(meta['training']['time_s'])}", flush=True)
    return 0


DEFAULT_OUT = "bundled-models"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-bundled", help="retrain the bundled models with their recorded recipes")
    p.add_argument("--data", help="Fashion-MNIST directory (default: /usr/share/datasets/fashion-mnist); "
                                  "the emoji recipes read Debian's colour emoji font")
    p.add_argument("--out", help=f"output folder (default: ./{DEFAULT_OUT}); the shipped checkpoints stay as they are")
    p.add_argument("--replace-bundled", action="store_true",
                   help="write into the app's own checkpoint folder, replacing the shipped models")
    p.add_argument("--force", action="store_true", help="replace checkpoints of the same name in --out")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--only", nargs="+", metavar="NAME", help="train only these recipes")
    p.add_argument("--epochs", type=whole(1, MAX_EPOCHS), help="override every recipe's epoch count (for a quick trial)")
    p.add_argument("--threads", type=whole(1, 1024), help="CPU threads for PyTorch (default: all cores)")
    p.set_defaults(func=run)
