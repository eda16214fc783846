"""The interpolation view's "Export" group: upscale and loop (kept in the settings), the GIF and
filmstrip buttons, choosing the file (and asking before replacing one), and the progress, cancel
button and outcome of the export the panel runs on the worker."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QFormLayout, QGroupBox, QLabel, QMessageBox, QProgressBar,
                               QPushButton, QSpinBox, QWidget)

from explorer.jobs.interpolation import PathSettings
from explorer.views.layout import row
from explorer.worker import JobProgress
from explorer.settings import setting


class PathExportControls(QGroupBox):
    """How a path is exported, and how its export goes."""

    export_requested = Signal(str)      # "gif" or "png"
    cancel_requested = Signal()

    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__("Export", parent)
        self.settings = settings
        self.scale_box = QSpinBox()
        self.scale_box.setRange(1, 16)
        self.scale_box.setValue(4)
        self.scale_box.setSuffix(" ×")
        self.scale_box.setToolTip("Enlarge each frame by this factor (nearest neighbour: crisp pixels)")
        self.loop_check = QCheckBox("Loop forever")
        self.loop_check.setChecked(True)
        self.loop_check.setToolTip("Unticked, the GIF plays once and stops on the last frame")
        self.export_gif_button = QPushButton("Export GIF…")
        self.export_gif_button.setToolTip("Save the path as an animated GIF (Ctrl+E); it uses the preview's "
                                          "speed and ping-pong, and remembers the path: drop it on the "
                                          "window to restore it")
        self.export_png_button = QPushButton("Export filmstrip…")
        self.export_png_button.setToolTip("Save every frame side by side as one PNG (Ctrl+Shift+E)")
        self.export_progress = QProgressBar()
        self.cancel_export_button = QPushButton("Cancel")
        self.cancel_export_button.setToolTip("Stop the export (Esc); nothing is written")
        self.export_row = row(self.export_progress, 1, self.cancel_export_button)
        self.export_row.setVisible(False)
        self.export_note = QLabel()
        self.export_note.setWordWrap(True)
        self.export_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        xf = QFormLayout(self)
        xf.addRow("Upscale", self.scale_box)
        xf.addRow(self.loop_check)
        xf.addRow(row(self.export_gif_button, 1, self.export_png_button, 1))
        xf.addRow(self.export_row)
        xf.addRow(self.export_note)

        self.export_gif_button.clicked.connect(lambda: self.export_requested.emit("gif"))
        self.export_png_button.clicked.connect(lambda: self.export_requested.emit("png"))
        self.cancel_export_button.clicked.connect(lambda: self.cancel_requested.emit())
        self.scale_box.valueChanged.connect(lambda _: self._save_settings())
        self.loop_check.toggled.connect(lambda _: self._save_settings())
        self._load_settings()

    # -- settings -----------------------------------------------------------------------------
    def _load_settings(self) -> None:
        s = self.settings
        with QSignalBlocker(self.scale_box), QSignalBlocker(self.loop_check):
            self.scale_box.setValue(setting(s, "interpolate/scale", 4))
            self.loop_check.setChecked(setting(s, "interpolate/loop", True))

    def _save_settings(self) -> None:
        self.settings.setValue("interpolate/scale", self.scale_box.value())
        self.settings.setValue("interpolate/loop", self.loop_check.isChecked())

    @property
    def scale(self) -> int:
        return self.scale_box.value()

    @property
    def loop(self) -> bool:
        return self.loop_check.isChecked()

    def apply(self, settings: PathSettings) -> None:
        """Takes a stored path's upscale and loop."""
        with QSignalBlocker(self.scale_box), QSignalBlocker(self.loop_check):
            self.scale_box.setValue(settings.scale)
            self.loop_check.setChecked(settings.loop)
        self._save_settings()

    # -- the file -----------------------------------------------------------------------------
    def choose_target(self, kind: str, settings: PathSettings, path: str | None) -> tuple[Path, bool] | None:
        """The file to write `settings`' path to as `kind` ("gif" or "png"), with the suffix added
        and whether it replaces an existing file; asks for the file when `path` is None, and
        before replacing one. None when the user declines."""
        if path is None:
            path = self._ask_path(kind, settings)
            if not path:
                return None
        target = Path(path).expanduser()
        if target.suffix.lower() != f".{kind}":
            target = target.with_name(target.name + f".{kind}")
        overwrite = False
        if target.exists():
            answer = QMessageBox.question(self, "Replace file?", f"{target.name} already exists in "
                                          f"{target.parent}. Replace it?",
                                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                          QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                self.export_note.setText("Export not done: the file exists.")
                return None
            overwrite = True
        self.settings.setValue("interpolate/export_dir", str(target.parent))
        return target, overwrite

    def _ask_path(self, kind: str, settings: PathSettings) -> str:
        folder = setting(self.settings, "interpolate/export_dir", str(Path.home()))
        ends = [k.describe().replace("'", "").replace(" ", "-") for k in (settings.keyframes[0], settings.keyframes[-1])]
        name = f"{settings.model_name}-{ends[0]}-to-{ends[1]}.{kind}"
        title = "Export GIF" if kind == "gif" else "Export filmstrip"
        filt = "GIF animation (*.gif)" if kind == "gif" else "PNG picture (*.png)"
        # The overwrite question is asked by choose_target, for typed names too.
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(folder) / name), filt,
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        return path

    # -- the export under way -----------------------------------------------------------------
    def show_note(self, text: str) -> None:
        self.export_note.setText(text)

    def show_started(self, name: str) -> None:
        self.export_progress.setRange(0, 0)
        self.export_row.setVisible(True)
        self.export_note.setText(f"Writing {name}…")
        self.export_gif_button.setEnabled(False)
        self.export_png_button.setEnabled(False)

    def show_progress(self, progress: JobProgress) -> None:
        self.export_progress.setRange(0, progress.total)
        self.export_progress.setValue(progress.done)
        self.export_progress.setFormat(f"{progress.message or 'Exporting'} %p%")

    def show_done(self, note: str) -> None:
        self.export_row.setVisible(False)
        self.export_gif_button.setEnabled(True)
        self.export_png_button.setEnabled(True)
        self.export_note.setText(note)
