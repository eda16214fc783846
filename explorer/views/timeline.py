"""A timeline scrubber over the kept steps of a run: a slider, play/pause, step back/forward,
first/last. It only moves a position; whoever owns the steps shows them.

Playback advances by a stride chosen so a whole run replays in a few seconds whatever its length
(50 DDIM steps one by one, 1000 DDPM steps a handful at a time).
"""
from __future__ import annotations

import math

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

PLAY_FPS = 30
PLAY_SECONDS = 4.0      # a full replay takes about this long


class Timeline(QWidget):
    position_chosen = Signal(int)       # the user (or playback) moved to this step
    playing_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._count = 0
        style = self.style()

        def button(icon: QStyle.StandardPixmap, tip: str) -> QToolButton:
            b = QToolButton()
            b.setIcon(style.standardIcon(icon))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            return b

        self.first_button = button(QStyle.StandardPixmap.SP_MediaSkipBackward, "First step (Home)")
        self.back_button = button(QStyle.StandardPixmap.SP_MediaSeekBackward, "Step back (←; Shift+← ten steps)")
        self.play_button = button(QStyle.StandardPixmap.SP_MediaPlay, "Play / pause the kept steps (Space)")
        self.forward_button = button(QStyle.StandardPixmap.SP_MediaSeekForward,
                                     "Step forward (→; Shift+→ ten steps)")
        self.last_button = button(QStyle.StandardPixmap.SP_MediaSkipForward,
                                  "Last step (End); during a run, follow it live")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Scrub through every kept step — during the run or after it")
        self.label = QLabel("no steps")
        self.label.setMinimumWidth(150)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        for b in (self.first_button, self.back_button, self.play_button, self.forward_button, self.last_button):
            layout.addWidget(b)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)

        self._timer = QTimer(self)
        self._timer.setInterval(round(1000 / PLAY_FPS))
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
            self.label.setText("no steps")
        self._update_enabled()

    def set_position(self, position: int, text: str = "") -> None:
        """Moves the handle without emitting `position_chosen` (the owner already shows it)."""
        with QSignalBlocker(self.slider):
            self.slider.setValue(int(position))
        if text:
            self.label.setText(text)

    # -- moving -------------------------------------------------------------------------------
    def step(self, delta: int) -> None:
        self.pause()
        self._choose(self.position() + int(delta))

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
        if self.position() >= self._count - 1:
            self._choose(0)
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
        return max(1, math.ceil(self._count / (PLAY_FPS * PLAY_SECONDS)))

    def _tick(self) -> None:
        last = self._count - 1
        position = min(self.position() + self.stride(), last)
        self._choose(position)
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
