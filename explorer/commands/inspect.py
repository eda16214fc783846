"""`latent-explorer inspect FILE [--json]`: what a model file is, or why it cannot be read.

A native checkpoint is described from its header alone; any other model file (a state dict, a
TorchScript or torch.export generator) is imported the way the app opens it, so what is printed
is what the app would see. Text from the file is printed as plain text (control characters and
escape sequences shown escaped, never sent to the terminal)."""
from __future__ import annotations

import argparse

from explorer.commands import fail, print_json


def run(args: argparse.Namespace) -> int:
    from models.checkpoint import CheckpointError, inspect_model_file
    from models.describe import describe, plain_text

    try:
        meta = inspect_model_file(args.file)
    except CheckpointError as e:
        return fail(plain_text(e))
    if args.json:
        print_json(meta.to_json())     # JSON escapes every control character itself
    else:
        print(describe(meta))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="print what a model file is, or why it cannot be read (exit 2)")
    p.add_argument("file", help="a checkpoint, state dict or exported generator, or the name of a bundled model")
    p.add_argument("--json", action="store_true", help="print the metadata as JSON")
    p.set_defaults(func=run)
