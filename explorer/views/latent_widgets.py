"""The latent panel's building blocks: a labelled value slider (one per latent dimension,
principal direction, class weight or truncation), the lists of them, the scroll area the lists
sit in, and the classifier's prediction bars."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QSlider, QVBoxLayout, QWidget

SIGMAS = 3.0            # sliders span +-3 standard deviations of the N(0, I) prior
TICKS = 100             # slider steps per unit: 0.01 resolution


class ValueSlider(QWidget):
    """A labelled horizontal slider over [-span, span] (or [lo, hi]) with its value shown."""

    moved = Signal(int, float)        # index, new value (only for user changes)

    def __init__(self, index: int, name: str, lo: float = -SIGMAS, hi: float = SIGMAS,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.index = index
        self.name_label = QLabel(name)
        self.name_label.setMinimumWidth(34)
        self.slider = _Slider(Qt.Orientation.Horizontal)
        self.slider.setRange(round(lo * TICKS), round(hi * TICKS))
        self.slider.setSingleStep(TICKS // 10)
        self.slider.setPageStep(TICKS // 2)
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.value_label = QLabel()
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.value_label.setMinimumWidth(44)
        font = self.value_label.font()
        font.setFamily("monospace")
        font.setStyleHint(font.StyleHint.Monospace)
        self.value_label.setFont(font)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.name_label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.value_label)
        self._value = 0.0
        self.set_value(0.0)
        self.slider.valueChanged.connect(self._changed)

    def value(self) -> float:
        return self._value

    def set_value(self, value: float) -> None:
        """Shows `value` without emitting `moved` (values beyond the range pin the handle)."""
        self._value = float(value)
        with QSignalBlocker(self.slider):
            self.slider.setValue(round(value * TICKS))
        self.value_label.setText(f"{value:+.2f}")

    def _changed(self, raw: int) -> None:
        self._value = raw / TICKS
        self.value_label.setText(f"{self._value:+.2f}")
        self.moved.emit(self.index, self._value)


class _Slider(QSlider):
    """Ignores the mouse wheel unless focused, so scrolling the list never moves a slider."""

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class SliderList(QWidget):
    """A column of ValueSliders, replaced as a whole when the model or the directions change."""

    def __init__(self, margins: tuple[int, int, int, int] = (4, 4, 8, 4), spacing: int = 1,
                 stretch: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.rows: list[ValueSlider] = []
        self._stretch = stretch
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(*margins)
        self._layout.setSpacing(spacing)

    def set_rows(self, rows: list[ValueSlider]) -> None:
        for row in self.rows:
            row.deleteLater()
        while self._layout.count():
            self._layout.takeAt(0)
        self.rows = list(rows)
        for row in self.rows:
            self._layout.addWidget(row)
        if self._stretch:
            self._layout.addStretch(1)


class PredictionBars(QWidget):
    """The classifier's verdict: the most likely class in large type, the top three as bars.

    Painted by hand in one paint event: it changes with every frame of a drag, and a stack of
    labels and progress bars would cost several times as much to repaint."""

    ROWS = 3

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._title = ""
        self._note = ""
        self._rows: list[tuple[str, float]] = []
        self.setToolTip("What the bundled classifier sees in the image")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        line = self.fontMetrics().height()
        self.setFixedHeight(int(line * 1.5) + self.ROWS * (line + 3) + 4)

    def clear(self, text: str) -> None:
        self._title, self._note, self._rows = "", text, []
        self.update()

    def set_probs(self, probs: np.ndarray, class_names: list[str]) -> None:
        order = np.argsort(probs)[::-1][:self.ROWS]
        best = int(order[0])
        self._title = f"{_name(class_names, best)} — {probs[best] * 100:.0f}%"
        self._note = ""
        self._rows = [(_name(class_names, int(k)), float(probs[k])) for k in order]
        self.update()

    def prediction(self) -> str:
        return self._title or self._note

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        palette = self.palette()
        metrics = self.fontMetrics()
        line = metrics.height()
        if not self._title:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(QRectF(0, 0, self.width(), line * 1.5), Qt.AlignmentFlag.AlignVCenter, self._note)
            return
        big = QFont(self.font())
        big.setPointSizeF(self.font().pointSizeF() * 1.25)
        big.setBold(True)
        painter.setFont(big)
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        painter.drawText(QRectF(0, 0, self.width(), line * 1.5), Qt.AlignmentFlag.AlignVCenter, self._title)
        painter.setFont(self.font())
        name_width = max(metrics.horizontalAdvance(name) for name, _ in self._rows) + 10
        bar_width = max(40, self.width() - name_width - 56)
        y = line * 1.5 + 2
        accent = palette.color(QPalette.ColorRole.Highlight)
        track = palette.color(QPalette.ColorRole.Midlight)
        for name, p in self._rows:
            painter.setPen(palette.color(QPalette.ColorRole.WindowText))
            painter.drawText(QRectF(0, y, name_width, line), Qt.AlignmentFlag.AlignVCenter, name)
            bar = QRectF(name_width, y + 3, bar_width, line - 6)
            painter.fillRect(bar, track)
            painter.fillRect(QRectF(bar.x(), bar.y(), bar.width() * p, bar.height()), accent)
            painter.drawText(QRectF(bar.right() + 6, y, 50, line), Qt.AlignmentFlag.AlignVCenter,
                             f"{p * 100:.1f}%")
            y += line + 3


def _name(class_names: list[str], k: int) -> str:
    return class_names[k] if k < len(class_names) else f"class {k}"


def scrolled(widget: QWidget) -> QScrollArea:
    """`widget` in a frameless area that scrolls vertically, its width following the area's."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
    return area
