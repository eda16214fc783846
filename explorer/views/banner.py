"""The banner above the views: messages with their own ✕ (errors in red, warnings in amber)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget


class Banner(QFrame):
    """Messages above the views, each with its own ✕: an error in red, warnings in amber.

    Warnings (a bookmarks file set aside, bundled models that could not be read) stay until the
    user dismisses them. The error (the last model that failed to open, a screenshot that could
    not be saved) goes when the next model opens: the window hides the banner then, and hiding it
    clears the error only. Text is shown as plain text: it may come from a file."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        self._rows: list[_BannerRow] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self.setVisible(False)

    def show_text(self, text: str, error: bool = True) -> None:
        """Shows an error (replacing the one shown) or adds a warning (once)."""
        if error:
            self.clear_error()
        elif any(row.text == text for row in self._rows):
            return
        row = _BannerRow(text, error)
        row.close_button.clicked.connect(lambda: self._remove(row))
        index = 0 if error else len(self._rows)   # the error first: it is about what was just done
        self._rows.insert(index, row)
        self._layout.insertWidget(index, row)
        self.setVisible(True)

    def clear_error(self) -> None:
        for row in [r for r in self._rows if r.error]:
            self._remove(row)

    def hide(self) -> None:   # the window calls this when a model opens
        """Clears the error; warnings stay until the user dismisses them."""
        self.clear_error()

    def text(self) -> str:
        """The messages shown, one per line ("" when none)."""
        return "\n".join(row.text for row in self._rows)

    def messages(self) -> list[tuple[str, bool]]:
        """(text, is_error) of each message shown, top first."""
        return [(row.text, row.error) for row in self._rows]

    def _remove(self, row: _BannerRow) -> None:
        if row in self._rows:
            self._rows.remove(row)
            self._layout.removeWidget(row)
            row.deleteLater()
        self.setVisible(bool(self._rows))


class _BannerRow(QFrame):
    """One message of the banner."""

    def __init__(self, text: str, error: bool):
        super().__init__()
        self.text, self.error = text, error
        self.setObjectName("banner-error" if error else "banner-warning")
        bg, fg, edge = ("#fce8e6", "#8c1d18", "#f4b4ae") if error else ("#fef7e0", "#7a4f01", "#f5d78e")
        self.setStyleSheet(f"QFrame#{self.objectName()} {{ background: {bg}; border-bottom: 1px solid {edge}; }}"
                           f" QLabel {{ color: {fg}; }} QToolButton {{ color: {fg}; }}")
        self.label = QLabel(text)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 6, 8)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
