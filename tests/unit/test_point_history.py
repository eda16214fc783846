"""The latent panel's undo history, without Qt: undo and redo walk the points in order, a new
move forgets what was undone, and the oldest steps fall off past the limit."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from explorer.views.point_history import PointHistory, PointState


def state(x: float, label=None, psi: float = 1.0, seed: int = 0) -> PointState:
    return PointState(np.array([x, -x], dtype=np.float32), label, psi, seed)


def xs(states) -> list[float]:
    return [None if s is None else float(s.z[0]) for s in states]


def test_undo_and_redo_walk_back_and_forth_through_the_points():
    history = PointHistory()
    assert not history.can_undo and not history.can_redo
    assert history.undo(state(9)) is None and history.redo(state(9)) is None
    for x in (0, 1, 2):                 # the points left behind, the current one is 3
        history.record(state(x))
    back = [history.undo(state(3))]
    back.append(history.undo(back[-1]))
    assert xs(back) == [2, 1] and history.can_undo and history.can_redo
    forward = [history.redo(back[-1])]
    forward.append(history.redo(forward[-1]))
    assert xs(forward) == [2, 3] and not history.can_redo
    assert history.redo(forward[-1]) is None
    assert xs([history.undo(state(3)), history.undo(state(2)), history.undo(state(1))]) == [2, 1, 0]
    assert not history.can_undo and history.undo(state(0)) is None


def test_the_whole_state_comes_back():
    history = PointHistory()
    left = state(0.5, label=[0.25, 0.75], psi=0.7, seed=42)
    history.record(left)
    back = history.undo(state(1.0, label=3))
    assert back is left
    assert back.label == [0.25, 0.75] and back.psi == 0.7 and back.seed == 42
    assert history.redo(back).label == 3


def test_a_new_move_forgets_the_points_undone():
    history = PointHistory()
    history.record(state(0))
    history.record(state(1))
    history.undo(state(2))
    assert history.can_redo
    history.record(state(1))
    assert not history.can_redo and history.redo(state(5)) is None
    assert xs([history.undo(state(5)), history.undo(state(1))]) == [1, 0]


def test_only_the_newest_steps_up_to_the_limit_are_kept():
    history = PointHistory(limit=3)
    for x in range(10):
        history.record(state(x))
    undone = []
    current = state(10)
    while (current := history.undo(current)) is not None:
        undone.append(current)
    assert xs(undone) == [9, 8, 7]
    history.clear()
    assert not history.can_undo and not history.can_redo


def test_the_history_does_not_import_qt():
    code = ("import sys, explorer.views.point_history; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stdout + result.stderr
