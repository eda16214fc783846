"""`latent-explorer inspect FILE [--json]`: a checkpoint's metadata, or why it cannot be read."""
from __future__ import annotations

import argparse

from explorer.commands import fail, print_json


def run(args: argparse.Namespace) -> int:
    from models.checkpoint import CheckpointError, describe, read_metadata

    try:
        meta = read_metadata(args.file)
    except CheckpointError as e:
        return fail(str(e))
    if args.json:
        print_json(meta)
    else:
        print(describe(meta))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="print a checkpoint's metadata, or why it cannot be read (exit 2)")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the metadata as JSON")
    p.set_defaults(func=run)
