"""Ctrl+C and SIGTERM end a command at once and leave no half-written file behind.

By default SIGTERM ends the process on the spot: no `finally` runs, so a file being exported stays
on disk under its hidden temporary name. `sigterm_raises` turns SIGTERM into `Terminated`, raised
in the main thread the way Ctrl+C raises KeyboardInterrupt, so the same cleanup runs for both.

Python handles a signal in the main thread only, between two bytecodes: while that thread is in
one long torch call (a 30-second forward pass) Ctrl+C waits for the call to return.
`run_interruptibly` therefore runs a command's work on another thread and only waits in the main
thread, where the signal is handled at once.

Qt-free: the command line and the app both use it.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

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


_notes: list[Callable[[], str | None]] = []


@contextmanager
def interrupt_note(note: Callable[[], str | None]) -> Iterator[None]:
    """While the block runs, an interruption also prints what `note()` says (when not None):
    what the user can do about the work that stopped."""
    _notes.append(note)
    try:
        yield
    finally:
        _notes.remove(note)


def report_interrupt(interrupt: KeyboardInterrupt) -> int:
    """Abandons the writes still in progress, says so on stderr (with the notes of the blocks
    under `interrupt_note`) and returns the exit code."""
    unwritten = abandon_writes()
    what = "terminated" if isinstance(interrupt, Terminated) else "interrupted"
    if unwritten:
        detail = f"{', '.join(str(p) for p in unwritten)} {'was' if len(unwritten) == 1 else 'were'} not written"
    else:
        detail = "no file was left half-written"
    print(f"\nlatent-explorer: {what}; {detail}", file=sys.stderr, flush=True)
    for note in list(_notes):
        text = note()
        if text:
            print(f"latent-explorer: {text}", file=sys.stderr, flush=True)
    return exit_code(interrupt)


def run_interruptibly(work: Callable[[], int]) -> int:
    """The exit code of `work()`, run on a daemon thread while the calling (main) thread waits.

    Ctrl+C or SIGTERM (in `sigterm_raises`) stops the wait at once: the writes in progress are
    abandoned, the interruption is reported, and the process ends with 130 or 143 right here,
    since a thread inside a torch call cannot be stopped and an interpreter shutting down around
    one may abort. An exception of the work is raised here, as if it had run in this thread."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            outcome["code"] = work()
        except BaseException as e:   # handed to the main thread, which raises it
            outcome["error"] = e
        finally:
            done.set()

    thread = threading.Thread(target=target, name="command", daemon=True)
    thread.start()
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt as interrupt:
        code = report_interrupt(interrupt)
        sys.stdout.flush()
        os._exit(code)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["code"]
