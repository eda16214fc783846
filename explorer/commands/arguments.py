"""Argument types every command shares: whole numbers and real numbers that must be finite and in
range, seeds, class choices.

A value that cannot be right (`--seed -1`, `--eta nan`, `--guidance inf`, a 31-digit seed) is
refused by argparse before anything is loaded, as `argument --eta: ...` with exit code 2, instead
of surfacing later as black images or an "Overflow when unpacking long long" from torch.
"""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

from explorer.commands import CommandError

# The window's seed boxes hold 0 to 2**31 - 1; a seed the command line takes opens in the window too.
MAX_SEED = 2**31 - 1
MAX_STEPS = 100_000       # sampler steps: the most timesteps a DDPM file may declare
MAX_GUIDANCE = 100.0      # far past any useful guidance scale (1 to 10)
MAX_BATCH_SIZE = 65_536   # images per network pass
# int() of a string with more digits than this is slow and no count of ours gets near it.
_MAX_DIGITS = 30


def whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            return check_whole(text, low, high)
        except CommandError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = "whole number"
    return parse


def real(low: float, high: float, *, above: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number from `low` (excluded with `above`) to `high`."""

    def parse(text: str) -> float:
        try:
            return check_real(text, low, high, above=above)
        except CommandError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = "number"
    return parse


def check_whole(text: str, low: int, high: int) -> int:
    """`text` as a whole number from `low` to `high`; CommandError saying what is wrong otherwise."""
    stripped = text.strip()
    wanted = f"a whole number from {low} to {high}"
    digits = stripped.lstrip("+-")
    if not digits.isdigit() or not digits.isascii():
        raise CommandError(f"must be {wanted}, not {_quote(text)}")
    if len(digits) > _MAX_DIGITS or not low <= int(stripped) <= high:
        raise CommandError(f"must be {wanted}, not {_quote(text)}")
    return int(stripped)


def check_real(text: str, low: float, high: float, *, above: bool = False) -> float:
    """`text` as a finite number in range; CommandError saying what is wrong otherwise."""
    wanted = f"a number above {low:g}, up to {high:g}" if above else f"a number from {low:g} to {high:g}"
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"must be {wanted}, not {_quote(text)}") from None
    if not math.isfinite(value):
        raise CommandError(f"must be a finite number ({wanted}), not {_quote(text)}")
    if value < low or value > high or (above and value == low):
        raise CommandError(f"must be {wanted}, not {_quote(text)}")
    return value


seed = whole(0, MAX_SEED)


def seed_or_name(text: str) -> int | str:
    """An argparse type: a seed when the text is a (signed) whole number, else the text itself (a
    name, such as a bookmark's)."""
    return seed(text) if _is_whole(text) else text


def _is_whole(text: str) -> bool:
    return text.strip().lstrip("+-").isdigit()


def class_index(text: str | None, conditioning: Any, option: str = "--class") -> int | None:
    """--class as an index or a class name (case-insensitive) of a model whose `conditional`
    capability is `conditioning` (None for an unconditional model); None when not given."""
    if text is None:
        return None
    if conditioning is None:
        raise CommandError(f"{option} needs a conditional model; this one is unconditional (it has no classes)")
    count = conditioning.num_classes
    names = list(conditioning.class_names)
    if _is_whole(text):
        try:
            return check_whole(text, 0, count - 1)
        except CommandError:
            raise CommandError(f"{option} {_quote(text)}: class {text.strip()} does not exist; the model has "
                               f"classes 0 to {count - 1} ({', '.join(names)})") from None
    lowered = [n.lower() for n in names]
    if text.strip().lower() in lowered:
        return lowered.index(text.strip().lower())
    raise CommandError(f"unknown class {text!r} for {option}; use 0 to {count - 1} or one of: {', '.join(names)}")


def _quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
