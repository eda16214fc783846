"""The diffusion view's "Export" group: which kept steps go into the GIF (every k-th), what each
frame shows, the speed, and the button. The panel writes the GIF on the worker when the button
asks for it."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QSignalBlocker, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QFormLayout, QGroupBox, QLabel, QPushButton, QSpinBox, QWidget

from explorer.views.step_store import selection_size
from explorer.settings import setting

SHOW_NAMES = {"x_t": "x_t", "x0": "predicted x0", "eps": "predicted noise", "all": "all three"}


class GifExportControls(QGroupBox):
    """The GIF's choices, kept under "diffusion/" in `settings`."""

    changed = Signal()              # every, show or speed changed (and was saved)
    export_requested = Signal()

    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__("Export", parent)
        self.settings = settings
        self.every_spin = QSpinBox()
        self.every_spin.setRange(1, 1000)
        self.every_spin.setValue(5)
        self.every_spin.setToolTip("Keep every k-th step in the GIF (the last step is always in)")
        self.show_combo = QComboBox()
        for key, name in SHOW_NAMES.items():
            self.show_combo.addItem(name, key)
        self.show_combo.setToolTip("What each GIF frame shows")
        self.fps_spin = QSpinBox()
        self.fps_spin.setRange(1, 50)
        self.fps_spin.setValue(10)
        self.fps_spin.setSuffix(" fps")
        self.export_button = QPushButton("Export GIF…")
        self.export_button.setToolTip("The kept steps as an animated GIF, the step number on each frame (Ctrl+E)")
        self.export_label = QLabel()
        self.export_label.setStyleSheet("color: palette(mid);")
        form = QFormLayout(self)
        form.addRow("Every", self.every_spin)
        form.addRow("Show", self.show_combo)
        form.addRow("Speed", self.fps_spin)
        form.addRow(self.export_label, self.export_button)
        self.every_spin.valueChanged.connect(lambda _: self._choice_changed())
        self.show_combo.currentIndexChanged.connect(lambda _: self._choice_changed())
        self.fps_spin.valueChanged.connect(lambda _: self._choice_changed())
        self.export_button.clicked.connect(lambda: self.export_requested.emit())
        self._restore()

    def _restore(self) -> None:
        s = self.settings
        blockers = [QSignalBlocker(w) for w in (self.every_spin, self.show_combo, self.fps_spin)]
        self.every_spin.setValue(setting(s, "diffusion/every", 5))
        self.show_combo.setCurrentIndex(max(0, self.show_combo.findData(setting(s, "diffusion/show", "x_t"))))
        self.fps_spin.setValue(setting(s, "diffusion/fps", 10))
        del blockers

    def _choice_changed(self) -> None:
        self.settings.setValue("diffusion/every", self.every_spin.value())
        self.settings.setValue("diffusion/show", self.show_combo.currentData())
        self.settings.setValue("diffusion/fps", self.fps_spin.value())
        self.changed.emit()

    @property
    def every(self) -> int:
        return self.every_spin.value()

    @property
    def frame_content(self) -> str:
        """What each frame shows: a key of SHOW_NAMES."""
        return str(self.show_combo.currentData())

    @property
    def fps(self) -> float:
        return float(self.fps_spin.value())

    def set_available(self, kept: int, running: bool) -> None:
        """`kept` steps are in the store: say how many frames the GIF would have; the button
        works once there are steps and no run is going on."""
        self.export_label.setText(f"{selection_size(kept, self.every)} frames" if kept else "")
        self.export_button.setEnabled(kept > 0 and not running)

    def ask_path(self) -> str:
        """The GIF to write, asked with a dialog ("" when the user cancels)."""
        start = setting(self.settings, "diffusion/last_gif_dir", str(Path.home()))
        path, _ = QFileDialog.getSaveFileName(self, "Export the run as a GIF",
                                              str(Path(start) / "denoise.gif"), "GIF images (*.gif)")
        if path and not path.lower().endswith(".gif"):
            path += ".gif"
        return path

    def remember_folder(self, path: str) -> None:
        self.settings.setValue("diffusion/last_gif_dir", str(Path(path).parent))
