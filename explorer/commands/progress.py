"""Progress of a long command on stderr, through tqdm: one bar redrawn in place on a terminal,
and plain lines, one every LINE_INTERVAL_S seconds plus the first and the last, when stderr is a
file or a pipe (a log keeps whole lines, not carriage returns).

    with progress("evaluating ddpm", unit="images") as show:
        evaluate(..., progress=show)          # show(done, total)

`show(done, total=None, what=None, **figures)` moves the count to `done` (a count that only
rises), changes the total or the description when given, and shows `figures` (losses, say)
after the count. Leaving the block prints the last figures, at the total when the block ended
without an error.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from tqdm import tqdm

LINE_INTERVAL_S = 10.0     # between two lines in a log
TERMINAL_INTERVAL_S = 0.1  # between two redraws on a terminal
LINE_FORMAT = "{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
COUNT_FORMAT = "{desc}: {n_fmt} {unit} [{elapsed}, {rate_fmt}{postfix}]"     # the total not known yet


class _TerminalBar(tqdm):
    monitor_interval = 0      # no monitor thread: every update checks the time itself


class _LineBar(tqdm):
    """A bar for logs: each display is a line of its own."""

    monitor_interval = 0

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        if msg == "":          # tqdm clearing its line: a log has nothing to clear
            return False
        self.fp.write((self.__str__() if msg is None else msg) + "\n")
        self.fp.flush()
        return True

    def close(self) -> None:
        if not self.disable and self.n != self.last_print_n:
            self.display()     # the last count, however soon after the previous line
        super().close()


class ProgressLine:
    """The `show(done, total=None, what=None, **figures)` callable of `progress`."""

    def __init__(self, bar: tqdm):
        self.bar = bar

    def __call__(self, done: int, total: int | None = None, what: str | None = None, **figures: Any) -> None:
        bar = self.bar
        if total is not None and total != bar.total:
            bar.total = total
            if isinstance(bar, _LineBar):
                bar.bar_format = LINE_FORMAT
        if what is not None and what != bar.desc:
            bar.set_description_str(what, refresh=False)
        if figures:
            bar.set_postfix(figures, refresh=False)
        bar.update(done - bar.n)


@contextmanager
def progress(what: str, total: int | None = None, unit: str = "it", *, disable: bool = False,
             file: TextIO | None = None) -> Iterator[ProgressLine]:
    """A progress display on `file` (default: stderr as it is now) for the block; see the module."""
    out = sys.stderr if file is None else file
    terminal = bool(getattr(out, "isatty", lambda: False)())
    if terminal:
        bar: tqdm = _TerminalBar(total=total, desc=what, unit=unit, file=out, disable=disable,
                                 mininterval=TERMINAL_INTERVAL_S, dynamic_ncols=True)
    else:
        bar = _LineBar(total=total, desc=what, unit=unit, file=out, disable=disable, leave=False,
                       mininterval=LINE_INTERVAL_S, miniters=1,
                       bar_format=COUNT_FORMAT if total is None else LINE_FORMAT)
    try:
        yield ProgressLine(bar)
        if bar.total is not None and bar.n < bar.total:
            bar.update(bar.total - bar.n)     # the block finished its work: the last line says so
    finally:
        bar.close()


def duration(seconds: float) -> str:
    """A duration as tqdm shows it: 0:42, 12:05, 1:02:03."""
    return tqdm.format_interval(seconds)
