"""Keyboard actions owned by one panel of the window."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

Shortcut = str | QKeySequence.StandardKey | None


def panel_action(panel: QWidget, text: str, shortcut: Shortcut, slot: Callable[[], object], tip: str) -> QAction:
    """An action added to `panel`, its shortcut live only while the panel or one of its children
    has focus: several panels use the same keys, and the window's menus list the same action."""
    action = QAction(text, panel)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    # `triggered` carries the checked flag; the slot is called with nothing (a slot with an optional
    # argument would otherwise receive False in its place)
    action.triggered.connect(lambda _checked=False: slot())
    panel.addAction(action)
    return action
