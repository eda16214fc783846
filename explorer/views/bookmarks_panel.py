"""The bookmarks of the open model: a list to jump back to, and a name box to save the current
point. The panel only shows and edits the store; the latent panel supplies and applies points.
When bookmarks cannot be saved (a read-only folder, a full disk, a file from a newer version) a
line under the list says so until a save succeeds."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton,
                               QVBoxLayout, QWidget)

from explorer.bookmarks import MAX_BOOKMARKS, Bookmark, BookmarkStore
from explorer.views.arithmetic_dialog import ArithmeticDialog
from explorer.views.plain_text import plain_tooltip


class BookmarksPanel(QWidget):
    activated = Signal(object)        # the Bookmark to go to
    save_requested = Signal(str)      # the name typed (never empty)
    arithmetic_requested = Signal(object, object, object)   # bookmarks A, B, C: go to A - B + C

    def __init__(self, store: BookmarkStore, parent: QWidget | None = None):
        super().__init__(parent)
        self.store = store
        self.model_name: str | None = None
        self._showing_save_failure = False

        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Name of this point")
        self.name_edit.setToolTip("Type a name and press Enter (or Save) to bookmark the current point")
        self.name_edit.setClearButtonEnabled(True)
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("Bookmark the current point (Ctrl+D)")
        self.list = QListWidget()
        self.list.setToolTip("Double-click or press Enter to go to a bookmark; Delete removes it")
        self.list.setAlternatingRowColors(True)
        self.list.setMinimumHeight(60)
        self.list.setMaximumHeight(130)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Remove the selected bookmark (Delete)")
        self.go_button = QPushButton("Go to")
        self.go_button.setToolTip("Go to the selected bookmark (Enter)")
        self.arithmetic_button = QPushButton("A − B + C…")
        self.arithmetic_button.setToolTip("Latent arithmetic on three bookmarks: C moved by what leads from B to A")
        self.problem_label = QLabel()
        self.problem_label.setTextFormat(Qt.TextFormat.PlainText)
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #7a4f01;")
        self.problem_label.hide()

        top = QHBoxLayout()
        top.addWidget(self.name_edit, 1)
        top.addWidget(self.save_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.arithmetic_button)
        bottom.addStretch(1)
        bottom.addWidget(self.go_button)
        bottom.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.problem_label)
        layout.addLayout(bottom)

        self.save_button.clicked.connect(self._save)
        self.name_edit.returnPressed.connect(self._save)
        self.list.itemActivated.connect(self._activate)
        self.go_button.clicked.connect(lambda: self._activate(self.list.currentItem()))
        self.delete_button.clicked.connect(self.delete_selected)
        self.arithmetic_button.clicked.connect(self.ask_arithmetic)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        store.changed.connect(self.refresh)
        store.problem.connect(self.show_problem)
        store.saved.connect(self._saved)
        self.show_problem(store.save_problem or (f"Bookmarks are not saved: {store.read_only}."
                                                 if store.read_only else None))
        self.refresh()

    def set_model(self, model_name: str | None) -> None:
        self.model_name = model_name
        self.setEnabled(model_name is not None)
        self.refresh()

    def refresh(self) -> None:
        selected = self.list.currentItem().text() if self.list.currentItem() else None
        self.list.clear()
        if self.model_name is None:
            self._update_buttons()
            return
        for b in sorted(self.store.for_model(self.model_name), key=lambda b: b.created):
            item = QListWidgetItem(b.name)
            item.setData(Qt.ItemDataRole.UserRole, b)
            item.setToolTip(plain_tooltip(_describe(b)))
            self.list.addItem(item)
            if b.name == selected:
                self.list.setCurrentItem(item)
        self.name_edit.setPlaceholderText(self.store.unique_name(self.model_name))
        self._update_buttons()

    def show_problem(self, text: str | None) -> None:
        """A line saying what went wrong with the bookmarks file; a failed save's line goes once a
        save works again."""
        self.problem_label.setText(text or "")
        self.problem_label.setVisible(bool(text))
        self._showing_save_failure = bool(text) and text == self.store.save_problem

    def _saved(self) -> None:
        if self._showing_save_failure:
            self.show_problem(None)

    def names(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def delete_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None and self.model_name is not None:
            self.store.remove(self.model_name, item.text())

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Delete and self.list.hasFocus():
            self.delete_selected()
            return
        super().keyPressEvent(event)

    def _save(self) -> None:
        if self.model_name is None:
            return
        name = self.name_edit.text().strip() or self.store.unique_name(self.model_name)
        if self.store.is_full() and self.store.get(self.model_name, name) is None:
            self.show_problem(f"There are {MAX_BOOKMARKS:,} bookmarks, the most kept: delete some to add more.")
            return
        self.name_edit.clear()
        self.save_requested.emit(name)

    def ask_arithmetic(self) -> None:
        """Asks which three bookmarks to combine, then emits them."""
        bookmarks = self._shown()
        if len(bookmarks) < 2:
            return
        dialog = ArithmeticDialog(bookmarks, self)
        if dialog.exec():
            self.arithmetic_requested.emit(*dialog.chosen())

    def _shown(self) -> list[Bookmark]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _activate(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.activated.emit(item.data(Qt.ItemDataRole.UserRole))

    def _update_buttons(self) -> None:
        has = self.list.currentItem() is not None
        self.delete_button.setEnabled(has)
        self.go_button.setEnabled(has)
        self.arithmetic_button.setEnabled(self.list.count() >= 2)


def _describe(b: Bookmark) -> str:
    head = ", ".join(f"{v:+.2f}" for v in b.latent[:6]) + (", …" if len(b.latent) > 6 else "")
    lines = [b.name, f"latent ({len(b.latent)}): {head}"]
    if isinstance(b.label, int):
        lines.append(f"class {b.label}")
    elif b.label is not None:
        lines.append("class blend")
    if b.psi != 1.0:
        lines.append(f"truncation ψ {b.psi:.2f}")
    lines.append("saved " + time.strftime("%Y-%m-%d %H:%M", time.localtime(b.created)))
    return "\n".join(lines)
