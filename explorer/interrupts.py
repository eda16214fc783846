"""Ctrl+C and SIGTERM end a command at once and leave no half-written file behind.

By default SIGTERM ends the process on the spot: no `finally` runs, so a file being exported stays
on disk under its hidden temporary name. `sigterm_raises` turns SIGTERM into `Terminated`, raised
in the main thread the way Ctrl+C raises KeyboardInterrupt, so the same cleanup runs for both.
Qt-free: the command line and the app both use it.
"""
from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from models.atomic import abandon_writes

EXIT_INTERRUPTED = 128 + signal.SIGINT     # 130, as a shell reports Ctrl+C
EXIT_TERMINATED = 128 + signal.SIGTERM     # 143


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived. A KeyboardInterrupt, so whatever cleans up after Ctrl+C cleans up after it."""


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """While the block runs (in the main thread), SIGTERM raises Terminated."""

    def raise_terminated(_signum: int, _frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def exit_code(interrupt: KeyboardInterrupt) -> int:
    return EXIT_TERMINATED if isinstance(interrupt, Terminated) else EXIT_INTERRUPTED


def report_interrupt(interrupt: KeyboardInterrupt) -> int:
    """Abandons the writes still in progress, says so on stderr and returns the exit code."""
    unwritten = abandon_writes()
    what = "terminated" if isinstance(interrupt, Terminated) else "interrupted"
    if unwritten:
        detail = f"{', '.join(str(p) for p in unwritten)} {'was' if len(unwritten) == 1 else 'were'} not written"
    else:
        detail = "no file was left half-written"
    print(f"\nlatent-explorer: {what}; {detail}", file=sys.stderr, flush=True)
    return exit_code(interrupt)
