"""Points in and out of the latent panel: the Bookmarks box (save the current point by name, go
back to one), and a point copied to the clipboard as text or pasted from it.

The box is given plain callables: the open model's name, the current point, and `go_to`, which
moves the panel to a point and raises ValueError when the point does not fit the model.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QGroupBox, QVBoxLayout, QWidget

from explorer.bookmarks import Bookmark, BookmarksFull, point_from_text, point_to_text
from explorer.context import AppContext
from explorer.views.bookmarks_panel import BookmarksPanel
from explorer.views.point_history import PointState
from models.class_directions import latent_arithmetic

GoTo = Callable[[np.ndarray, int | list[float] | None, float | None], None]


class PointTransfer(QGroupBox):
    def __init__(self, context: AppContext, model_name: Callable[[], str | None],
                 point: Callable[[], PointState], go_to: GoTo, parent: QWidget | None = None):
        super().__init__("Bookmarks", parent)
        self.context = context
        self._model_name = model_name
        self._point = point
        self._go_to = go_to
        self.bookmarks = BookmarksPanel(context.bookmarks)
        layout = QVBoxLayout(self)
        layout.addWidget(self.bookmarks)
        self.bookmarks.activated.connect(self.go_to_bookmark)
        self.bookmarks.save_requested.connect(self.save_bookmark)
        self.bookmarks.arithmetic_requested.connect(self.go_to_arithmetic)

    def set_model(self, model_name: str | None) -> None:
        self.bookmarks.set_model(model_name)

    # -- bookmarks --------------------------------------------------------------------------------
    def bookmark_current(self) -> None:
        """Saves the current point under the name typed, or a fresh one (the Ctrl+D action)."""
        name = self.bookmarks.name_edit.text().strip() or self.context.bookmarks.unique_name(
            self._model_name() or "")
        self.bookmarks.save_requested.emit(name)

    def save_bookmark(self, name: str) -> Bookmark | None:
        model_name = self._model_name()
        if model_name is None:
            return None
        state = self._point()
        bookmark = Bookmark(name=name, model_name=model_name, latent=[float(v) for v in state.z],
                            label=state.label, psi=state.psi)
        try:
            self.context.bookmarks.add(bookmark)
        except (OSError, BookmarksFull) as e:
            self.context.status.emit(f"Could not save the bookmark: {e}")
            return None
        self.context.status.emit(f"Bookmarked “{name}”")
        return bookmark

    def go_to_bookmark(self, bookmark: Bookmark) -> None:
        try:
            self._go_to(np.asarray(bookmark.latent), bookmark.label, bookmark.psi)
        except ValueError as e:
            self.context.status.emit(f"Cannot go to “{bookmark.name}”: {e}")
            return
        self.context.status.emit(f"At bookmark “{bookmark.name}”")

    def go_to_arithmetic(self, a: Bookmark, b: Bookmark, c: Bookmark) -> None:
        """Goes to A - B + C, with C's class and truncation."""
        try:
            z = latent_arithmetic(np.asarray(a.latent), np.asarray(b.latent), np.asarray(c.latent))
            self._go_to(z, c.label, c.psi)
        except ValueError as e:
            self.context.status.emit(f"Cannot go to “{a.name}” − “{b.name}” + “{c.name}”: {e}")
            return
        self.context.status.emit(f"At “{a.name}” − “{b.name}” + “{c.name}”")

    # -- copy and paste ---------------------------------------------------------------------------
    def point_text(self) -> str:
        state = self._point()
        return point_to_text(self._model_name() or "", [float(v) for v in state.z], state.label, state.psi)

    def copy_point(self) -> None:
        if self._model_name() is None:
            return
        QGuiApplication.clipboard().setText(self.point_text())
        self.context.status.emit("Point copied as text")

    def paste_point(self, text: str | None = None) -> bool:
        """Goes to a point from text (the clipboard by default); False with a message if it is not one."""
        model_name = self._model_name()
        if model_name is None:
            return False
        text = QGuiApplication.clipboard().text() if text is None else text
        try:
            point = point_from_text(text)
            self._go_to(np.asarray(point["latent"]), point["label"], point["psi"])
        except ValueError as e:
            self.context.status.emit(f"Cannot paste: {e}")
            return False
        other = point.get("model")
        note = f" (copied from {other})" if other and other != model_name else ""
        self.context.status.emit(f"Pasted point{note}")
        return True
