"""The `latent-explorer` command: the GUI by default, and headless subcommands.

Subcommands live in explorer/commands/, one module each, imported here by name. Each imports
what it needs only when it runs, so `latent-explorer inspect` never starts Qt.

Before anything else the process keeps the memory it frees (models/memory.py) and lets idle
OpenMP threads sleep (models/devices.py); a subcommand's work runs on the threads
`models.devices.threads_for_commands` chooses: all cores for batch work, one for a command
that sets `batch_work=False` (its parser's default).
"""
from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

# Order is the order of `latent-explorer --help`.
COMMANDS = ("models", "inspect", "train", "train_bundled", "evaluate", "sample", "export_gif", "denoise", "compare",
            "directions", "bench")


def run_gui(args: argparse.Namespace) -> int:
    from explorer.app import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="latent-explorer",
        description="Explore the latent spaces of image generators: VAEs, GANs and DDPMs.")
    parser.add_argument("--model", help="bundled model name or checkpoint file to open")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                        help="where inference runs (default: cuda, then mps, then cpu)")
    parser.add_argument("--screenshot", metavar="OUT.png", help="render the window offscreen, save a PNG and exit")
    parser.add_argument("--view", default="latent",
                        help="view to show: latent, interpolate, compare or diffusion (default: latent)")
    parser.add_argument("--keep-settings", action="store_true",
                        help="with --screenshot: use the saved settings (default: a fresh start)")
    parser.set_defaults(func=run_gui)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"explorer.commands.{name}").register(sub)
    return parser


def run_command(args: argparse.Namespace) -> int:
    """A subcommand's work, on the torch threads chosen for it (the setting is per thread: this
    runs on the thread that does the work)."""
    from models.devices import use_command_threads

    use_command_threads(getattr(args, "batch_work", True))
    return int(args.func(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line `argv` (default: sys.argv) and returns its exit code.

    Ctrl+C and SIGTERM stop a subcommand at once with exit code 130 or 143, its unfinished files
    removed; the GUI handles both itself (it closes its window as File > Quit does)."""
    from models.devices import wait_quietly
    from models.memory import keep_freed_memory

    keep_freed_memory()     # before a second thread allocates
    wait_quietly()          # before torch is imported (the commands' parsers import it)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:   # a refused argument (2) or --help (0): argparse has printed why
        return e.code if isinstance(e.code, int) else 2
    if args.func is run_gui or getattr(args, "main_thread", False):   # Qt must run in the main thread
        return int(args.func(args) or 0)
    from explorer.interrupts import report_interrupt, run_interruptibly, sigterm_raises

    with sigterm_raises():
        try:
            return run_interruptibly(lambda: run_command(args))
        except KeyboardInterrupt as interrupt:   # raised by the command itself
            return report_interrupt(interrupt)


if __name__ == "__main__":
    raise SystemExit(main())
