"""The one frame player of the app: a slider over frames, play/pause, and (optionally) step
back/forward and first/last buttons. It only moves a position; whoever owns the frames shows them.

Playback runs at a frame rate, or, with `replay_seconds`, by a stride chosen so all the frames
replay in that long whatever their number (50 DDIM steps one by one, 1000 DDPM steps a handful at
a time). At the end it stops, starts again, or turns back (`ends`: "stop", "loop", "pingpong").
"""
from __future__ import annotations

import math

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

ENDS = ("stop", "loop", "pingpong")


class FramePlayer(QWidget):
    position_chosen = Signal(int)       # the user (or playback) moved to this frame
    playing_changed = Signal(bool)

    def __init__(self, fps: float = 30.0, replay_seconds: float | None = None, ends: str = "stop",
                 buttons: bool = True, what: str = "step", parent: QWidget | None = None):
        super().__init__(parent)
        self._count = 0
        self._fps = float(fps)
        self._replay_seconds = replay_seconds
        self._direction = 1
        self.set_ends(ends)
        style = self.style()

        def button(icon: QStyle.StandardPixmap, tip: str) -> QToolButton:
            b = QToolButton()
            b.setIcon(style.standardIcon(icon))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            return b

        self.first_button = button(QStyle.StandardPixmap.SP_MediaSkipBackward, f"First {what} (Home)")
        self.back_button = button(QStyle.StandardPixmap.SP_MediaSeekBackward,
                                  f"{what.capitalize()} back (←; Shift+← ten {what}s)")
        self.play_button = button(QStyle.StandardPixmap.SP_MediaPlay, "Play / pause (Space)")
        self.forward_button = button(QStyle.StandardPixmap.SP_MediaSeekForward,
                                     f"{what.capitalize()} forward (→; Shift+→ ten {what}s)")
        self.last_button = button(QStyle.StandardPixmap.SP_MediaSkipForward, f"Last {what} (End)")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip(f"Scrub through every {what}")
        self.label = QLabel(f"no {what}s")
        self.label.setMinimumWidth(120)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._empty_text = f"no {what}s"

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for b in (self.first_button, self.back_button, self.play_button, self.forward_button, self.last_button):
            layout.addWidget(b)
            b.setVisible(buttons or b is self.play_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)

        self._timer = QTimer(self)
        self._timer.setInterval(round(1000 / self._fps))
        self._timer.timeout.connect(self._tick)

        self.first_button.clicked.connect(lambda: self._choose(0))
        self.back_button.clicked.connect(lambda: self.step(-1))
        self.forward_button.clicked.connect(lambda: self.step(1))
        self.last_button.clicked.connect(lambda: self._choose(self._count - 1))
        self.play_button.clicked.connect(self.toggle_play)
        self.slider.valueChanged.connect(self._slid)
        self._update_enabled()

    # -- state --------------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return self._count

    def position(self) -> int:
        return self.slider.value()

    def set_count(self, count: int) -> None:
        """How many steps can be shown (0 .. count-1); keeps the position where it is."""
        self._count = max(0, int(count))
        with QSignalBlocker(self.slider):
            self.slider.setRange(0, max(0, self._count - 1))
        if not self._count:
            self.pause()
            self.label.setText(self._empty_text)
        self._update_enabled()

    def set_fps(self, fps: float) -> None:
        self._fps = float(fps)
        self._timer.setInterval(round(1000 / self._fps))

    def set_ends(self, ends: str) -> None:
        """What playback does at the last frame: "stop", "loop" back to the first, or "pingpong"."""
        if ends not in ENDS:
            raise ValueError(f"unknown end {ends!r}: use one of {', '.join(ENDS)}")
        self._ends = ends

    def set_position(self, position: int, text: str = "") -> None:
        """Moves the handle without emitting `position_chosen` (the owner already shows it)."""
        with QSignalBlocker(self.slider):
            self.slider.setValue(int(position))
        if text:
            self.label.setText(text)

    # -- moving -------------------------------------------------------------------------------
    def step(self, delta: int) -> None:
        """Pauses and moves by delta frames: clamped at the ends, or around them when playback loops."""
        self.pause()
        target = self.position() + int(delta)
        if self._ends != "stop" and self._count:
            target %= self._count
        self._choose(target)

    def first(self) -> None:
        self.pause()
        self._choose(0)

    def last(self) -> None:
        self.pause()
        self._choose(self._count - 1)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self._count < 2:
            return
        if self._ends == "stop" and self.position() >= self._count - 1:
            self._choose(0)
        self._direction = 1
        self._timer.start()
        self._set_play_icon(True)
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if not self._timer.isActive():
            return
        self._timer.stop()
        self._set_play_icon(False)
        self.playing_changed.emit(False)

    def stride(self) -> int:
        if self._replay_seconds is None:
            return 1
        return max(1, math.ceil(self._count / (self._fps * self._replay_seconds)))

    def _tick(self) -> None:
        last = self._count - 1
        position = self.position() + self._direction * self.stride()
        if self._ends == "loop":
            self._choose(position % self._count if position > last else position)
        elif self._ends == "pingpong":
            if not 0 <= position <= last:
                self._direction = -self._direction
                position = self.position() + self._direction * self.stride()
            self._choose(max(0, min(position, last)))
        else:
            self._choose(min(position, last))
            if position >= last:
                self.pause()

    def _choose(self, position: int) -> None:
        if not self._count:
            return
        position = max(0, min(int(position), self._count - 1))
        self.set_position(position)
        self.position_chosen.emit(position)

    def _slid(self, value: int) -> None:
        self.pause()
        self.position_chosen.emit(value)

    def _set_play_icon(self, playing: bool) -> None:
        icon = QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        self.play_button.setIcon(self.style().standardIcon(icon))

    def _update_enabled(self) -> None:
        has = self._count > 0
        for w in (self.first_button, self.back_button, self.forward_button, self.last_button, self.slider):
            w.setEnabled(has)
        self.play_button.setEnabled(self._count > 1)
