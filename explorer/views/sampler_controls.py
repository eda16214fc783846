"""The diffusion view's "Sampler" group: DDPM or DDIM, steps, eta, seed, batch, class and
guidance. It saves each choice as it is made, restores them at start, and gives and takes them as
one `DiffusionSettings`."""
from __future__ import annotations

import random

from PySide6.QtCore import QSettings, QSignalBlocker, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QPushButton, QSpinBox,
                               QWidget)

from explorer.jobs.diffusion import MAX_BATCH, DiffusionModel, DiffusionSettings
from explorer.model_info import ModelInfo
from explorer.settings import setting


class SamplerControls(QGroupBox):
    """The sampler's settings for the next run, kept under "diffusion/" in `settings`."""

    changed = Signal()      # sampler, steps, eta, seed, batch or guidance changed (and was saved)

    def __init__(self, settings: QSettings, parent: QWidget | None = None):
        super().__init__("Sampler", parent)
        self.settings = settings
        self._conditional = False
        self.sampler_combo = QComboBox()
        self.sampler_combo.addItem("DDPM — every timestep", "ddpm")
        self.sampler_combo.addItem("DDIM — fewer steps", "ddim")
        self.sampler_combo.setToolTip("DDPM: ancestral sampling through all T timesteps (Ho et al. 2020).\n"
                                      "DDIM: N evenly spaced timesteps; eta 0 is deterministic (Song et al. 2021)")
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 1000)
        self.steps_spin.setValue(50)
        self.steps_spin.setToolTip("DDIM steps: timesteps evenly spaced from T−1 down to 0")
        self.eta_spin = QDoubleSpinBox()
        self.eta_spin.setRange(0.0, 1.0)
        self.eta_spin.setSingleStep(0.1)
        self.eta_spin.setDecimals(2)
        self.eta_spin.setToolTip("DDIM eta: 0 is deterministic (the same seed gives the same image), "
                                 "1 adds as much fresh noise per step as DDPM")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("Seed of the starting noise x_T (and of the per-step noise)")
        self.seed_button = QPushButton("Random")
        self.seed_button.setToolTip("A new random seed (Ctrl+R)")
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.seed_button)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, MAX_BATCH)
        self.batch_spin.setToolTip(f"Samples run side by side, shown as a grid (up to {MAX_BATCH})")
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("The class a conditional model generates; 'unconditional' uses its null class")
        self.guidance_spin = QDoubleSpinBox()
        self.guidance_spin.setRange(0.0, 20.0)
        self.guidance_spin.setSingleStep(0.5)
        self.guidance_spin.setValue(1.0)
        self.guidance_spin.setToolTip("Classifier-free guidance w: ε = ε_uncond + (1 + w)(ε_cond − ε_uncond); "
                                      "0 is plain conditional sampling")
        form = QFormLayout(self)
        form.addRow("Sampler", self.sampler_combo)
        form.addRow("Steps", self.steps_spin)
        form.addRow("eta", self.eta_spin)
        form.addRow("Seed", seed_row)
        form.addRow("Batch", self.batch_spin)
        form.addRow("Class", self.class_combo)
        form.addRow("Guidance", self.guidance_spin)
        self.sampler_combo.currentIndexChanged.connect(lambda _: self._sampler_changed())
        self.class_combo.currentIndexChanged.connect(lambda _: self._class_changed())
        self.seed_button.clicked.connect(self.randomize_seed)
        for spin in self._spins():
            spin.valueChanged.connect(lambda _: self._values_changed())
        self._restore()

    def _spins(self) -> tuple[QSpinBox | QDoubleSpinBox, ...]:
        return self.steps_spin, self.eta_spin, self.seed_spin, self.batch_spin, self.guidance_spin

    # -- settings -----------------------------------------------------------------------------
    def _restore(self) -> None:
        s = self.settings
        blockers = [QSignalBlocker(w) for w in (self.sampler_combo, *self._spins())]
        self.sampler_combo.setCurrentIndex(
            max(0, self.sampler_combo.findData(setting(s, "diffusion/sampler", "ddim"))))
        self.steps_spin.setValue(setting(s, "diffusion/steps", 50))
        self.eta_spin.setValue(setting(s, "diffusion/eta", 0.0))
        self.seed_spin.setValue(setting(s, "diffusion/seed", 0))
        self.batch_spin.setValue(setting(s, "diffusion/batch", 4))
        self.guidance_spin.setValue(setting(s, "diffusion/guidance", 1.0))
        del blockers
        self._sampler_changed(save=False)

    def _save(self) -> None:
        s = self.settings
        s.setValue("diffusion/sampler", self.sampler_combo.currentData())
        s.setValue("diffusion/steps", self.steps_spin.value())
        s.setValue("diffusion/eta", self.eta_spin.value())
        s.setValue("diffusion/seed", self.seed_spin.value())
        s.setValue("diffusion/batch", self.batch_spin.value())
        s.setValue("diffusion/guidance", self.guidance_spin.value())

    # -- the model ----------------------------------------------------------------------------
    def set_model(self, model: DiffusionModel) -> None:
        """Fit the controls to a newly opened model: its T and its classes."""
        T = model.schedule.num_timesteps
        self.sampler_combo.setItemText(0, f"DDPM — all {T} timesteps")
        self.steps_spin.setMaximum(T)
        self._build_class_combo(model.info)

    def _build_class_combo(self, info: ModelInfo) -> None:
        saved = setting(self.settings, "diffusion/class", -1)
        with QSignalBlocker(self.class_combo):
            self.class_combo.clear()
            self.class_combo.addItem("unconditional", None)
            for k, name in enumerate(info.class_names[:info.num_classes]):
                self.class_combo.addItem(f"{k}: {name}", k)
            index = self.class_combo.findData(saved) if saved >= 0 else 0
            self.class_combo.setCurrentIndex(max(0, index))
        conditional = info.can("conditional")
        self.class_combo.setEnabled(conditional)
        self.class_combo.setToolTip("The class a conditional model generates" if conditional
                                    else "This model is unconditional")
        self._class_changed(save=False)

    def set_ready(self, ready: bool, conditional: bool) -> None:
        """Controls on while a model is open; the class (and its guidance) only for a conditional one."""
        self._conditional = ready and conditional
        for w in (self.sampler_combo, *self._spins(), self.seed_button):
            w.setEnabled(ready)
        self.class_combo.setEnabled(self._conditional)
        if ready:
            self._sampler_changed(save=False)
            self._class_changed(save=False)

    # -- the settings as one value --------------------------------------------------------------
    def diffusion_settings(self) -> DiffusionSettings:
        class_index = self.class_combo.currentData() if self._conditional else None
        return DiffusionSettings(sampler=str(self.sampler_combo.currentData()), num_steps=self.steps_spin.value(),
                                 eta=self.eta_spin.value(), seed=self.seed_spin.value(),
                                 batch=self.batch_spin.value(),
                                 class_index=None if class_index is None else int(class_index),
                                 guidance=self.guidance_spin.value())

    def set_diffusion_settings(self, settings: DiffusionSettings) -> None:
        """Puts `settings` into the controls (for scripts, tests and restoring a run)."""
        self.sampler_combo.setCurrentIndex(max(0, self.sampler_combo.findData(settings.sampler)))
        self.steps_spin.setValue(settings.num_steps)
        self.eta_spin.setValue(settings.eta)
        self.seed_spin.setValue(settings.seed)
        self.batch_spin.setValue(settings.batch)
        self.guidance_spin.setValue(settings.guidance)
        index = 0 if settings.class_index is None else self.class_combo.findData(settings.class_index)
        self.class_combo.setCurrentIndex(max(0, index))

    def randomize_seed(self) -> None:
        self.seed_spin.setValue(random.randrange(0, 2**31 - 1))

    # -- reacting to the controls ---------------------------------------------------------------
    def _sampler_changed(self, save: bool = True) -> None:
        ddim = self.sampler_combo.currentData() == "ddim"
        self.steps_spin.setEnabled(ddim)
        self.eta_spin.setEnabled(ddim)
        if save:
            self._values_changed()

    def _class_changed(self, save: bool = True) -> None:
        self.guidance_spin.setEnabled(self.class_combo.isEnabled() and self.class_combo.currentData() is not None)
        if save:
            data = self.class_combo.currentData()
            self.settings.setValue("diffusion/class", -1 if data is None else int(data))

    def _values_changed(self) -> None:
        self._save()
        self.changed.emit()
