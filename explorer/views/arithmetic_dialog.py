"""Latent arithmetic on three bookmarks: A − B + C, the point C moved by what leads from B to A
("a sneaker's sole, minus a sandal's, plus this sandal"). The dialog only picks the three; the
bookmarks box does the rest."""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from explorer.bookmarks import Bookmark
from explorer.views.plain_text import plain_label


class ArithmeticDialog(QDialog):
    def __init__(self, bookmarks: Sequence[Bookmark], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Latent arithmetic")
        self.bookmarks = list(bookmarks)
        self.combos = []
        form = QFormLayout(self)
        explain = plain_label(QLabel("Go to A − B + C: bookmark C moved by the difference that leads from B "
                                     "to A. C's class and truncation are kept."))
        explain.setWordWrap(True)
        form.addRow(explain)
        for k, letter in enumerate("ABC"):
            combo = QComboBox()
            for b in self.bookmarks:
                combo.addItem(b.name)
            combo.setCurrentIndex(min(k, len(self.bookmarks) - 1))
            form.addRow(letter, combo)
            self.combos.append(combo)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Go to A − B + C")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def chosen(self) -> tuple[Bookmark, Bookmark, Bookmark]:
        a, b, c = (self.bookmarks[combo.currentIndex()] for combo in self.combos)
        return a, b, c
