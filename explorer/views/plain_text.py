"""Text from files is shown as it is, never as markup: a model's name, architecture or class names
come from a checkpoint that may be a stranger's. Qt renders a tooltip, and a label left on its
default text format, as rich text whenever the text looks like HTML."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel


def plain_tooltip(text: str) -> str:
    """`text` for setToolTip, shown as it is (line breaks kept)."""
    return f"<p style='white-space:pre'>{html.escape(text)}</p>"


def plain_label(label: QLabel) -> QLabel:
    """`label`, set to show its text as plain text."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label
