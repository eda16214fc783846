"""The interpolation view's preview: the path's frames, one at a time and large, and the bar under
them (play/pause, the frame slider with the frame's number and the classifier's verdict, the speed
and ping-pong, both kept in the settings). Frames arrive in chunks while the path decodes; the
preview shows each one as soon as it is there."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSettings, QSignalBlocker, Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QLabel, QVBoxLayout, QWidget

from explorer.jobs.interpolation import PathAnalysis, PathSettings
from explorer.views.frame_player import FramePlayer
from explorer.views.image_view import ImageView
from explorer.views.layout import row
from explorer.settings import setting


class PathPreview(QWidget):
    """Shows and plays the frames of one path; `frame_shown` says which one is on screen."""

    frame_shown = Signal(int)

    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self._frames: list[np.ndarray | None] = []
        self._current = 0
        self._analysis: PathAnalysis | None = None
        self.view = ImageView(minimum=160)
        self.player = FramePlayer(fps=12.0, ends="loop", buttons=False, what="frame")
        self.player.play_button.setToolTip("Play or pause the preview (Space)")
        self.player.slider.setToolTip("Frame shown (Left / Right step, Home / End jump to the ends, Space plays)")
        self.fps_box = QDoubleSpinBox()
        self.fps_box.setRange(1.0, 50.0)
        self.fps_box.setDecimals(1)
        self.fps_box.setValue(12.0)
        self.fps_box.setSuffix(" fps")
        self.fps_box.setToolTip("Preview and GIF speed in frames per second (a GIF stores whole hundredths "
                                "of a second per frame)")
        self.pingpong_check = QCheckBox("Ping-pong")
        self.pingpong_check.setToolTip("Play forward then backward (preview and GIF)")
        # the player on a row of its own: its slider keeps its length in a small window
        speed = row(QLabel("Speed"), self.fps_box, self.pingpong_check)
        speed.layout().addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.player)
        layout.addWidget(speed)

        self.player.position_chosen.connect(self.show_frame)
        self.fps_box.valueChanged.connect(self.player.set_fps)
        self.pingpong_check.toggled.connect(lambda on: self.player.set_ends("pingpong" if on else "loop"))
        self.fps_box.valueChanged.connect(lambda _: self._save_settings())
        self.pingpong_check.toggled.connect(lambda _: self._save_settings())
        self._load_settings()

    # -- settings -----------------------------------------------------------------------------
    def _load_settings(self) -> None:
        s = self.settings
        with QSignalBlocker(self.fps_box), QSignalBlocker(self.pingpong_check):
            self.fps_box.setValue(setting(s, "interpolate/fps", 12.0))
            self.pingpong_check.setChecked(setting(s, "interpolate/pingpong", False))
        self._sync_player()

    def _sync_player(self) -> None:
        """The player plays at the chosen speed and ends (set while signals were blocked)."""
        self.player.set_fps(self.fps_box.value())
        self.player.set_ends("pingpong" if self.pingpong_check.isChecked() else "loop")

    def _save_settings(self) -> None:
        self.settings.setValue("interpolate/fps", self.fps_box.value())
        self.settings.setValue("interpolate/pingpong", self.pingpong_check.isChecked())

    @property
    def fps(self) -> float:
        return self.fps_box.value()

    @property
    def pingpong(self) -> bool:
        return self.pingpong_check.isChecked()

    def apply(self, settings: PathSettings) -> None:
        """Takes a stored path's speed and ping-pong."""
        with QSignalBlocker(self.fps_box), QSignalBlocker(self.pingpong_check):
            self.fps_box.setValue(settings.fps)
            self.pingpong_check.setChecked(settings.pingpong)
        self._sync_player()
        self._save_settings()

    # -- frames -------------------------------------------------------------------------------
    def clear(self, frames: int) -> None:
        """A new path of `frames` frames is on its way: none decoded yet."""
        self._frames = [None] * frames
        self.player.set_count(frames)
        self._current = min(self._current, max(frames - 1, 0))
        self._update_label()

    def put_frames(self, start: int, images: np.ndarray) -> None:
        """Decoded frames `start`, `start + 1`, ...: the one on screen is shown as it comes (or
        the first that came, while nothing is on screen)."""
        end = start + len(images)
        if end > len(self._frames):
            self._frames += [None] * (end - len(self._frames))
        for i, image in enumerate(images, start):
            self._frames[i] = image
        if start <= self._current < end or self.view.image() is None:
            self.show_frame(self._current if start <= self._current < end else start)

    def set_analysis(self, analysis: PathAnalysis | None) -> None:
        """The classifier's verdict on each frame, shown with the frame's number."""
        self._analysis = analysis

    @property
    def count(self) -> int:
        return len(self._frames)

    @property
    def current_frame(self) -> int:
        return self._current

    def rewind(self) -> None:
        """The next path shows its first frame first."""
        self._current = 0

    def frames(self) -> np.ndarray | None:
        """The decoded frames, uint8 (n, H, W, C), once the whole path has arrived."""
        if not self._frames or any(f is None for f in self._frames):
            return None
        return np.stack(self._frames)

    def show_frame(self, index: int) -> None:
        if not self._frames:
            return
        index = int(min(max(index, 0), len(self._frames) - 1))
        self._current = index
        self.player.set_position(index)
        frame = self._frames[index]
        if frame is not None:
            self.view.set_image(frame)
        self._update_label()
        self.frame_shown.emit(index)

    def _update_label(self) -> None:
        n = len(self._frames)
        text = f"Frame {self._current + 1} / {n}" if n else "No frames"
        a = self._analysis
        if a is not None and a.classes is not None and self._current < len(a.classes):
            c = int(a.classes[self._current])
            name = a.class_names[c] if c < len(a.class_names) else str(c)
            text += f" · {name} {a.confidence[self._current]:.0%}"
        self.player.label.setText(text)

    # -- playback -----------------------------------------------------------------------------
    def step(self, delta: int) -> None:
        if self._frames:
            self.player.step(delta)

    def play(self) -> None:
        self.player.play()

    def pause(self) -> None:
        self.player.pause()

    def toggle_play(self) -> None:
        self.player.toggle_play()

    @property
    def playing(self) -> bool:
        return self.player.playing
