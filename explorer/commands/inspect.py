"""`latent-explorer inspect FILE [--json]`: a checkpoint's metadata, or why it cannot be read."""
from __future__ import annotations

import argparse
from pathlib import Path

from explorer.commands import fail, print_json


def run(args: argparse.Namespace) -> int:
    from models.checkpoint import CheckpointError, describe, read_metadata

    import resources

    path = Path(args.file)
    if not path.exists() and args.file in resources.bundled_checkpoints():
        path = resources.checkpoint_path(args.file)
    try:
        meta = read_metadata(path)
    except CheckpointError as e:
        return fail(str(e))
    if args.json:
        print_json(meta)
    else:
        print(describe(meta))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="print a checkpoint's metadata, or why it cannot be read (exit 2)")
    p.add_argument("file", help="a checkpoint file, or the name of a bundled model")
    p.add_argument("--json", action="store_true", help="print the metadata as JSON")
    p.set_defaults(func=run)
