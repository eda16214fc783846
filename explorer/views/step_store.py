"""Every step of a diffusion run, kept as uint8 grids on the CPU, for the timeline scrubber.

Frames arrive from the worker one per step. The store allocates one array for the whole run when
the first frame tells it the grid's shape (pages are committed only as steps fill them), so
keeping a step is one copy and showing any kept step is an index: scrubbing never asks the
worker for anything. A cancelled run keeps the steps it had made.

Plain NumPy, no Qt: the view owns one and the tests read it directly.
"""
from __future__ import annotations

import math
import numpy as np

from explorer.jobs.diffusion import KINDS, GridLayout, StepFrame, frame_positions


class StepStore:
    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._images: np.ndarray | None = None         # (total, 3, H, W, C) uint8
        self._t = np.zeros(0, dtype=np.int64)
        self._index = np.zeros(0, dtype=np.int64)
        self._x_std = np.zeros(0, dtype=np.float64)
        self._x0_change = np.zeros(0, dtype=np.float64)
        self._filled = np.zeros(0, dtype=bool)
        self._count = 0
        self.total = 0
        self.layout: GridLayout | None = None
        self.description = ""
        self.finished = False      # the run ended (completed, cancelled or failed)

    def start(self, total: int, description: str = "") -> None:
        """Forget the previous run; the next `total` frames belong to a new one."""
        self.clear()
        self.total = int(total)
        self.description = description

    # -- filling ------------------------------------------------------------------------------
    def add(self, frame: StepFrame) -> int:
        """Keep one step; returns its position. Frames may come in any order."""
        if self._images is None or frame.total != self.total:
            self._allocate(frame)
        elif frame.images.shape != self._images.shape[1:]:
            raise ValueError(f"a step of shape {frame.images.shape} does not fit this run's "
                             f"{self._images.shape[1:]}: start() a new run first")
        p = frame.position
        if not 0 <= p < self.total:
            raise IndexError(f"step {p} outside this run of {self.total}")
        self._images[p] = frame.images
        self._t[p] = frame.t
        self._index[p] = frame.index
        self._x_std[p] = frame.x_std
        self._x0_change[p] = frame.x0_change
        if not self._filled[p]:
            self._filled[p] = True
            while self._count < self.total and self._filled[self._count]:
                self._count += 1
        return p

    def _allocate(self, frame: StepFrame) -> None:
        description = self.description
        self.clear()
        self.description = description
        self.total = int(frame.total)
        self.layout = frame.layout
        self._images = np.zeros((self.total, *frame.images.shape), dtype=np.uint8)
        self._t = np.full(self.total, -1, dtype=np.int64)
        self._index = np.full(self.total, -1, dtype=np.int64)
        self._x_std = np.full(self.total, math.nan)
        self._x0_change = np.full(self.total, math.nan)
        self._filled = np.zeros(self.total, dtype=bool)

    def finish(self) -> None:
        self.finished = True

    # -- reading ------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Steps kept without a gap from the first: positions 0 .. len-1 can be shown."""
        return self._count

    @property
    def complete(self) -> bool:
        return self.total > 0 and self._count == self.total

    def image(self, position: int, kind: str = "x_t") -> np.ndarray:
        """A kept step's grid (H, W, C) of x_t, x0 or eps."""
        self._check(position)
        return self._images[position, KINDS.index(kind)]

    def grids(self, position: int) -> np.ndarray:
        """All three grids of a kept step, (3, H, W, C)."""
        self._check(position)
        return self._images[position]

    def sample(self, position: int, i: int, kind: str = "x_t") -> np.ndarray:
        """Sample i of the batch at a kept step, (h, w, C)."""
        assert self.layout is not None
        return self.layout.tile(self.image(position, kind), i)

    def t(self, position: int) -> int:
        self._check(position)
        return int(self._t[position])

    def step_index(self, position: int) -> int:
        self._check(position)
        return int(self._index[position])

    @property
    def timesteps(self) -> np.ndarray:
        return self._t[:self._count]

    @property
    def x_std(self) -> np.ndarray:
        return self._x_std[:self._count]

    @property
    def x0_change(self) -> np.ndarray:
        return self._x0_change[:self._count]

    def position_of_t(self, t: int) -> int:
        """The kept step evaluated at the timestep nearest to t."""
        if not self._count:
            raise IndexError("no steps kept")
        return int(np.argmin(np.abs(self.timesteps - int(t))))

    def export_selection(self, every: int) -> tuple[np.ndarray, list[int], list[int]]:
        """(grids (F, 3, H, W, C), positions, timesteps) of every k-th kept step and the last:
        copies, so a GIF can be written on the worker while the store takes a new run."""
        positions = frame_positions(self._count, every)
        if not positions:
            return np.zeros((0, 3, 1, 1, 1), np.uint8), [], []
        return self._images[positions].copy(), positions, [int(self._t[p]) for p in positions]

    def _check(self, position: int) -> None:
        if not 0 <= position < self._count:
            raise IndexError(f"step {position} is not kept (kept: 0 to {self._count - 1})")


def selection_size(total: int, every: int) -> int:
    """How many frames a GIF of every k-th step (and the last) of `total` steps has."""
    return len(frame_positions(total, every))
