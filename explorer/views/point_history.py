"""The latent panel's undo and redo of moves of the point: two bounded stacks of `PointState`s.

Qt-free on purpose, so the rules (a new move forgets what was undone, the oldest steps fall off
past the limit) are tested without a window.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNDO_LIMIT = 200


@dataclass(frozen=True)
class PointState:
    """One point of a model's latent space as the latent panel shows it."""
    z: np.ndarray
    label: int | list[float] | None
    psi: float
    seed: int = 0


class PointHistory:
    """The points before (undo) and after (redo) the current one, newest last."""

    def __init__(self, limit: int = UNDO_LIMIT):
        self.limit = limit
        self._undo: list[PointState] = []
        self._redo: list[PointState] = []

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def record(self, state: PointState) -> None:
        """Remembers `state`, the point about to be left: a new move, so the redo steps go."""
        self._undo.append(state)
        del self._undo[:-self.limit]
        self._redo.clear()

    def undo(self, current: PointState) -> PointState | None:
        """The point to go back to (`current` becomes a redo step), or None when there is none."""
        if not self._undo:
            return None
        self._redo.append(current)
        return self._undo.pop()

    def redo(self, current: PointState) -> PointState | None:
        """The point undone last (`current` becomes an undo step), or None when there is none."""
        if not self._redo:
            return None
        self._undo.append(current)
        return self._redo.pop()

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
