"""JSON from a stranger's file, parsed with bounds.

The standard parser accepts what a hostile file can use against its reader: nesting 100,000
levels deep (RecursionError in the parser or in whatever walks the result), integers of 5,000
digits (ValueError from Python's integer-conversion limit, or numbers no code expects), and NaN
or Infinity, which are not JSON at all. Here every number is checked as it is parsed and the
depth of the result is measured before anyone walks it, so each of these is one CheckpointError.
"""
from __future__ import annotations

import json
import math
from typing import Any

from models.errors import CheckpointError
from models.limits import MAX_INT_DIGITS, MAX_JSON_DEPTH


class _Refused(ValueError):
    """Raised inside the parser's hooks; becomes a CheckpointError."""


def loads(text: str | bytes, where: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value of text; CheckpointError naming `where` when it is not UTF-8 JSON, nests
    deeper than max_depth, or holds an integer of more than MAX_INT_DIGITS digits, NaN or Infinity."""
    try:
        decoded = text if isinstance(text, str) else bytes(text).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{where} is not UTF-8 text (byte {exc.start}); it is damaged") from None
    try:
        value = json.loads(decoded, parse_int=_bounded_int, parse_float=_finite_float,
                           parse_constant=_no_constant)
    except _Refused as exc:
        raise CheckpointError(f"{where} holds {exc}; it is damaged or hostile") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{where} is not valid JSON ({exc})") from None
    except RecursionError:
        # the parser's C code stops at the interpreter's recursion limit, far beyond max_depth
        raise CheckpointError(_too_deep(where, max_depth)) from None
    except ValueError as exc:  # any other limit of the parser
        raise CheckpointError(f"{where} cannot be parsed ({exc})") from None
    if deeper_than(value, max_depth):
        raise CheckpointError(_too_deep(where, max_depth))
    return value


def deeper_than(value: Any, max_depth: int) -> bool:
    """Whether lists and dicts nest more than max_depth levels in value (a scalar is level 0).
    Walked with a stack of its own, so any depth is measured without recursion."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, tuple, dict)):
            if depth >= max_depth:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _too_deep(where: str, max_depth: int) -> str:
    return (f"{where} nests lists or objects more than {max_depth} levels deep; it is damaged or "
            f"hostile, not something this app writes")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_INT_DIGITS} are read)")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:40]}, too large to be represented")
    return value


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name}, which is not a JSON number")
