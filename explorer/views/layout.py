"""Layout shorthands shared by the views."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QWidget


def row(*items: Any) -> QWidget:
    """A widget holding a horizontal row: widgets, each optionally followed by its stretch factor."""
    w = QWidget()
    layout = QHBoxLayout(w)
    layout.setContentsMargins(0, 0, 0, 0)
    i = 0
    while i < len(items):
        widget = items[i]
        stretch = items[i + 1] if i + 1 < len(items) and isinstance(items[i + 1], int) else 0
        layout.addWidget(widget, stretch)
        i += 2 if i + 1 < len(items) and isinstance(items[i + 1], int) else 1
    return w
