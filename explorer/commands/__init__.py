"""One module per `latent-explorer` subcommand. Each has `register(subparsers)`, which adds its
parser and sets `func` to a function taking the parsed arguments and returning the exit code.
`measuring` is no command: it holds what `evaluate` and `compare` share."""
from __future__ import annotations

import json
import sys

EXIT_USAGE = 2


class CommandError(Exception):
    """A user-facing problem with a command's arguments or inputs: printed on stderr, exit code 2."""


def fail(message: str) -> int:
    """Print a user-facing error and return the usage exit code (no traceback)."""
    print(f"latent-explorer: {message}", file=sys.stderr)
    return EXIT_USAGE


def print_json(obj: object) -> None:
    print(json.dumps(obj, indent=2, default=str))
