"""The interpolation view's path controls: the "Endpoints" group (A, the keyframes between, B; add,
remove, swap) and the "Path" group (how many frames, slerp or lerp, whether to classify the
frames, Update path, and the decoding progress). The frames, slerp and classify choices are kept in
the settings; the panel turns the controls into a `PathSettings` and decodes it on the worker."""
from __future__ import annotations

import random

from PySide6.QtCore import QSettings, QSignalBlocker, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from explorer.bookmarks import Bookmark, BookmarkStore
from explorer.jobs.interpolation import MAX_FRAMES, MIN_FRAMES, Endpoint, PathSettings
from explorer.model_info import ModelInfo
from explorer.views.endpoint_editor import EndpointEditor, PointSource
from explorer.views.layout import row
from explorer.worker import JobProgress
from explorer.settings import setting


class PathControls(QWidget):
    """The path's keyframes and shape. Keyframe editors list the model's bookmarks from `bookmarks`."""

    changed = Signal()              # a keyframe, the frame count, the interpolation or classifying changed
    build_requested = Signal()      # Update path was pressed

    def __init__(self, settings: QSettings, bookmarks: BookmarkStore, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.bookmarks = bookmarks
        self.info: ModelInfo | None = None
        self._point_source: PointSource | None = None
        self.extras: list[EndpointEditor] = []
        point = lambda: self._point_source  # noqa: E731 - the editors ask late: it may be set after them
        self.editor_a = EndpointEditor("A", point)
        self.editor_b = EndpointEditor("B", point)
        self.extras_box = QWidget()
        self.extras_layout = QVBoxLayout(self.extras_box)
        self.extras_layout.setContentsMargins(0, 0, 0, 0)
        self.extras_layout.setSpacing(4)
        self.add_key_button = QPushButton("Add keyframe")
        self.add_key_button.setToolTip("A keyframe between the last one and B: the path goes through it")
        self.swap_button = QPushButton("Swap A ↔ B")
        self.swap_button.setToolTip("Reverse the path")
        ends = QGroupBox("Endpoints")
        el = QVBoxLayout(ends)
        el.setSpacing(4)
        self.ends_layout = el
        el.addWidget(self.editor_a)
        el.addWidget(self.extras_box)
        el.addWidget(self.editor_b)
        el.addWidget(row(self.add_key_button, 1, self.swap_button, 1))

        self.frames_box = QSpinBox()
        self.frames_box.setRange(MIN_FRAMES, MAX_FRAMES)
        self.frames_box.setValue(32)
        self.frames_box.setKeyboardTracking(False)
        self.frames_box.setToolTip("Frames in the path, both ends included")
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Spherical (slerp)", True)
        self.mode_combo.addItem("Linear (lerp)", False)
        self.mode_combo.setToolTip("Slerp follows the sphere where Gaussian latents live (falling back to a "
                                   "straight line when the points are nearly parallel); lerp's middle "
                                   "frames have shorter latents than any sample, so they look washed out")
        self.analyse_check = QCheckBox("Classify frames and measure distance to the data")
        self.analyse_check.setChecked(True)
        self.analyse_check.setToolTip("Run the classifier on every frame and find each frame's nearest "
                                      "training image (plots under the filmstrip)")
        self.build_button = QPushButton("Update path")
        self.build_button.setToolTip("Decode the path now (Ctrl+Return); it also updates by itself after each change")
        self.path_progress = QProgressBar()
        self.path_progress.setVisible(False)
        path_group = QGroupBox("Path")
        pf = QFormLayout(path_group)
        pf.addRow("Frames", self.frames_box)
        pf.addRow("Interpolation", self.mode_combo)
        pf.addRow(self.analyse_check)
        pf.addRow(self.build_button)
        pf.addRow(self.path_progress)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(ends)
        layout.addWidget(path_group)

        for editor in (self.editor_a, self.editor_b):
            editor.changed.connect(self.changed)
        self.add_key_button.clicked.connect(lambda: self.add_keyframe())
        self.swap_button.clicked.connect(self.swap_endpoints)
        self.build_button.clicked.connect(lambda: self.build_requested.emit())
        self.frames_box.valueChanged.connect(lambda _: self._shape_changed())
        self.mode_combo.currentIndexChanged.connect(lambda _: self._shape_changed())
        self.analyse_check.toggled.connect(lambda _: self._shape_changed())
        bookmarks.changed.connect(self._bookmarks_changed)
        self._load_settings()

    # -- settings -----------------------------------------------------------------------------
    def _load_settings(self) -> None:
        s = self.settings
        blockers = [QSignalBlocker(w) for w in (self.frames_box, self.mode_combo, self.analyse_check)]
        self.frames_box.setValue(setting(s, "interpolate/frames", 32))
        self.mode_combo.setCurrentIndex(0 if setting(s, "interpolate/slerp", True) else 1)
        self.analyse_check.setChecked(setting(s, "interpolate/analyse", True))
        del blockers

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("interpolate/frames", self.frames_box.value())
        s.setValue("interpolate/slerp", bool(self.mode_combo.currentData()))
        s.setValue("interpolate/analyse", self.analyse_check.isChecked())

    def _shape_changed(self) -> None:
        self.changed.emit()
        self._save_settings()

    # -- the path as chosen -------------------------------------------------------------------
    @property
    def frames(self) -> int:
        return self.frames_box.value()

    @property
    def slerp(self) -> bool:
        return bool(self.mode_combo.currentData())

    @property
    def analyse(self) -> bool:
        """Whether the frames are classified and measured against the data."""
        return self.analyse_check.isChecked()

    def keyframes(self) -> tuple[Endpoint, ...] | str:
        """The keyframes from A to B (not yet resolved to latents), or what is missing."""
        keyframes = []
        for name, editor in zip(["A", *(str(i) for i in range(1, len(self.extras) + 1)), "B"], self.editors()):
            endpoint = editor.endpoint()
            if endpoint is None:
                return f"Keyframe {name}: {editor.problem()}"
            keyframes.append(endpoint)
        return tuple(keyframes)

    def apply(self, settings: PathSettings) -> None:
        """Puts a stored path's keyframes, frame count and interpolation into the controls without
        asking for a new path (the panel decodes it once everything is in place)."""
        for editor in list(self.extras):
            self.remove_keyframe(editor, rebuild=False)
        keys = settings.keyframes
        with QSignalBlocker(self.editor_a), QSignalBlocker(self.editor_b):
            self.editor_a.set_stored(keys[0])
            self.editor_b.set_stored(keys[-1])
        for endpoint in keys[1:-1]:
            self.add_keyframe(endpoint, rebuild=False)
        with QSignalBlocker(self.frames_box), QSignalBlocker(self.mode_combo):
            self.frames_box.setValue(settings.frames)
            self.mode_combo.setCurrentIndex(0 if settings.slerp else 1)
        self._save_settings()

    # -- the model ----------------------------------------------------------------------------
    def editors(self) -> list[EndpointEditor]:
        return [self.editor_a, *self.extras, self.editor_b]

    def _model_bookmarks(self) -> list[Bookmark]:
        return self.bookmarks.for_model(self.info.name) if self.info is not None else []

    def set_model(self, info: ModelInfo) -> None:
        """Follows the opened model: the keyframes between A and B go, A and B keep their sources."""
        self.info = info
        for editor in list(self.extras):
            self.remove_keyframe(editor, rebuild=False)
        bookmarks = self._model_bookmarks()
        for editor in self.editors():
            with QSignalBlocker(editor):
                editor.set_model(info, bookmarks)

    def start_from_seeds(self) -> None:
        """A and B become the seeds 0 and 1 (without asking for a new path)."""
        with QSignalBlocker(self.editor_a), QSignalBlocker(self.editor_b):
            self.editor_a.set_seed(0)
            self.editor_b.set_seed(1)

    def set_point_source(self, source: PointSource | None) -> None:
        """Where "Current point" comes from: a callable returning an object with `z` (flat latent),
        `label` and `psi` (e.g. LatentPanel.point), or None when there is no point."""
        self._point_source = source
        for editor in self.editors():
            editor._enable_source("current", source is not None,
                                  "" if source is not None else "No Latent tab to take a point from")

    def _bookmarks_changed(self) -> None:
        if self.info is None:
            return
        bookmarks = self._model_bookmarks()
        for editor in self.editors():
            editor.set_bookmarks(bookmarks)

    # -- keyframes ----------------------------------------------------------------------------
    def add_keyframe(self, endpoint: Endpoint | None = None, rebuild: bool = True) -> EndpointEditor:
        """Adds a keyframe before B (a seed unless `endpoint`, a stored latent, is given)."""
        editor = EndpointEditor(str(len(self.extras) + 1), lambda: self._point_source, removable=True)
        editor.set_model(self.info, self._model_bookmarks())
        if endpoint is not None:
            editor.set_stored(endpoint)
        else:
            editor.set_seed(random.randrange(0, 100_000))
        editor.changed.connect(self.changed)
        editor.remove_requested.connect(lambda: self.remove_keyframe(editor))
        self.extras.append(editor)
        self.extras_layout.addWidget(editor)
        if rebuild:
            self.changed.emit()
        return editor

    def remove_keyframe(self, editor: EndpointEditor, rebuild: bool = True) -> None:
        self.extras.remove(editor)
        editor.setParent(None)
        editor.deleteLater()
        for i, e in enumerate(self.extras, 1):
            e.title.setText(f"<b>{i}</b>")
        if rebuild:
            self.changed.emit()

    def swap_endpoints(self) -> None:
        """Reverses the path: A and B trade places (with their sources and classes), and the
        keyframes between them run the other way."""
        layout = self.ends_layout
        for w in (self.editor_a, self.extras_box, self.editor_b):
            layout.removeWidget(w)
        self.editor_a, self.editor_b = self.editor_b, self.editor_a
        for i, w in enumerate((self.editor_a, self.extras_box, self.editor_b)):
            layout.insertWidget(i, w)
        self.editor_a.title.setText("<b>A</b>")
        self.editor_b.title.setText("<b>B</b>")
        self.extras.reverse()
        for i, editor in enumerate(self.extras, 1):
            self.extras_layout.removeWidget(editor)
            self.extras_layout.addWidget(editor)
            editor.title.setText(f"<b>{i}</b>")
        self.changed.emit()

    # -- decoding progress --------------------------------------------------------------------
    def show_decoding(self, frames: int) -> None:
        self.path_progress.setRange(0, frames)
        self.path_progress.setValue(0)
        self.path_progress.setFormat("Decoding %v / %m")
        self.path_progress.setVisible(True)

    def show_progress(self, progress: JobProgress) -> None:
        self.path_progress.setRange(0, progress.total)
        self.path_progress.setValue(progress.done)
        if progress.message:
            self.path_progress.setFormat(f"{progress.message[:1].upper()}{progress.message[1:]} %v / %m")

    def hide_progress(self) -> None:
        self.path_progress.setVisible(False)
