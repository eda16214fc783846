"""The latent panel's class controls for conditional models: the class to generate, or a blend
of classes with one weight slider each (the weights are normalised to sum to 1).

The box only shows and reads the controls: it says which label the user chose (`label_chosen`
for a class or the blend switch, `blend_moved` for a weight), and `apply_label` shows a label
the panel moved to (undo, a bookmark, a pasted point) without echoing it back.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGroupBox, QHBoxLayout, QVBoxLayout, QWidget

from explorer.model_info import ModelInfo
from explorer.views.latent_widgets import SliderList, ValueSlider

Label = int | list[float]


class ClassControls(QGroupBox):
    label_chosen = Signal(object)     # the new label: a class was picked, or blending turned on or off
    blend_moved = Signal(object)      # the new label: a blend weight slider moved
    slider_pressed = Signal()
    slider_released = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Class", parent)
        self.num_classes = 0
        self.combo = QComboBox()
        self.combo.setToolTip("The class the conditional model generates")
        self.blend_check = QCheckBox("Blend")
        self.blend_check.setToolTip("Mix the class embeddings with weights (they are normalised to sum to 1)")
        self.blend_box = SliderList(margins=(0, 0, 0, 0), spacing=2, stretch=False)
        self.blend_box.setVisible(False)
        layout = QVBoxLayout(self)
        class_row = QHBoxLayout()
        class_row.addWidget(self.combo, 1)
        class_row.addWidget(self.blend_check)
        layout.addLayout(class_row)
        layout.addWidget(self.blend_box)

        self.combo.currentIndexChanged.connect(self._class_chosen)
        self.blend_check.toggled.connect(self._blend_toggled)

    @property
    def blend_sliders(self) -> list[ValueSlider]:
        return self.blend_box.rows

    def set_model(self, info: ModelInfo) -> Label | None:
        """Rebuilds the controls for `info` (shown only when it is conditional); returns its
        starting label: class 0, or None for an unconditional model."""
        self.num_classes = info.num_classes
        self.setVisible(info.can("conditional"))
        with QSignalBlocker(self.combo):
            self.combo.clear()
            self.combo.addItems(list(info.class_names[:info.num_classes]))
            self.combo.setCurrentIndex(0)
        rows = []
        for k in range(info.num_classes):
            row = ValueSlider(k, info.class_names[k], 0.0, 1.0)
            row.name_label.setMinimumWidth(80)
            row.moved.connect(self._blend_moved)
            row.slider.sliderPressed.connect(self.slider_pressed)
            row.slider.sliderReleased.connect(self.slider_released)
            rows.append(row)
        self.blend_box.set_rows(rows)
        with QSignalBlocker(self.blend_check):
            self.blend_check.setChecked(False)
        self.blend_box.setVisible(False)
        return 0 if info.can("conditional") else None

    def apply_label(self, label: Label) -> Label:
        """Shows `label` (a class, or one weight per class) without signalling; returns it as
        the panel keeps it. Raises ValueError when the weights do not match the classes."""
        if isinstance(label, int):
            with QSignalBlocker(self.combo), QSignalBlocker(self.blend_check):
                self.combo.setCurrentIndex(label)
                self.blend_check.setChecked(False)
            self.blend_box.setVisible(False)
            return label
        weights = np.asarray(label, dtype=np.float32)
        if weights.size != self.num_classes:
            raise ValueError(f"{weights.size} class weights for {self.num_classes} classes")
        with QSignalBlocker(self.combo), QSignalBlocker(self.blend_check):
            self.combo.setCurrentIndex(int(weights.argmax()))
            self.blend_check.setChecked(True)
        self.blend_box.setVisible(True)
        self._set_weights(weights)
        return [float(w) for w in weights]

    def _class_chosen(self, index: int) -> None:
        if not self.num_classes or index < 0:
            return
        if self.blend_check.isChecked():
            self._set_weights(np.eye(self.num_classes, dtype=np.float32)[index])
        self.label_chosen.emit(index if not self.blend_check.isChecked() else self._blend_label())

    def _blend_toggled(self, on: bool) -> None:
        if not self.num_classes:
            return
        self.blend_box.setVisible(on)
        if on:
            self._set_weights(np.eye(self.num_classes, dtype=np.float32)[self.combo.currentIndex()])
            self.label_chosen.emit(self._blend_label())
        else:
            self.label_chosen.emit(self.combo.currentIndex())

    def _blend_moved(self, _index: int, _value: float) -> None:
        label = self._blend_label()
        with QSignalBlocker(self.combo):        # the class named is the one with the most weight
            self.combo.setCurrentIndex(int(np.argmax(label)))
        self.blend_moved.emit(label)

    def _blend_label(self) -> list[float]:
        weights = np.array([row.value() for row in self.blend_sliders], dtype=np.float64)
        if weights.sum() <= 0:
            # All weights at zero: fall back to the class chosen above rather than to nothing.
            weights = np.eye(len(weights))[max(0, self.combo.currentIndex())]
        return [float(w) for w in weights / weights.sum()]

    def _set_weights(self, weights: np.ndarray) -> None:
        for row, w in zip(self.blend_sliders, weights):
            row.set_value(float(w))
