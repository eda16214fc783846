"""The compare view: two models side by side, so a VAE's structured latent space and a GAN's
can be seen and measured against each other.

Each column has its own model, seed, class, latent map (a plane of the latent space decoded as a
K x K grid, with the classifier's class map on top) and scatter (a VAE's encoded test set, a
GAN's prior samples). The link bar ties the columns together: the same seed; the same path
(both interpolate between corresponding endpoints, frame by frame on one slider); the same images
(endpoints are real test images that the VAE encodes and the GAN inverts, with progress and
cancel). Below, the metrics table measures both models on the worker, each figure with a one-line
explanation in its tooltip.

All model work is a job from explorer/jobs/compare.py on the worker; the views only build
pictures from the arrays that come back. Each column has its own channels; the metrics have one
of theirs. The columns are `ModelColumn`s (explorer/views/compare_column.py).
"""
from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFileDialog, QFrame, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QSpinBox,
                               QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from explorer.context import AppContext
from explorer.model_info import ModelInfo
from explorer.jobs.common import load_info_job
from explorer.jobs.compare import EndpointSpec, metrics_job
from explorer.views.actions import panel_action
from explorer.views.compare_column import ModelColumn
from explorer.views.frame_player import FramePlayer
from explorer.views.latent_map import ClassLegend
from explorer.views.layout import row
from explorer.worker import JobProgress, Result

METRICS_CHANNEL = "compare-metrics"
SIDES = ("left", "right")
LINK_MODES: tuple[tuple[str, str, str], ...] = (
    ("independent", "Independent", "Each model has its own seed"),
    ("seed", "Same seed", "Both models decode the prior sample of the same seed"),
    ("path", "Same path", "Both models interpolate between the latents of the same two seeds, frame by frame"),
    ("images", "Same images", "Both models go between the same two real test images: the VAE encodes them, "
                               "the GAN is inverted onto them by optimising its latent"),
)
# (preferred name, a capability of the fallback): a model with an encoder beside one without
DEFAULT_MODELS = {"left": ("vae", True), "right": ("dcgan", False)}
DEFAULT_FRAMES = 12
DEFAULT_METRIC_SAMPLES = 500
PLAY_FPS = 8


def shown_here(info: ModelInfo) -> bool:
    """The compare view shows models that decode in one pass and have a prior to sample."""
    return info.can("prior") and not info.can("sampler")


def format_metric(key: str, value: Any, info: ModelInfo | None) -> tuple[str, str]:
    """(cell text, extra tooltip line) of one figure of the metrics table."""
    if value is None:
        why = "measured for VAEs only" if key in ("kl_total", "active_units", "kl_per_dim") else "not measured"
        return "—", why
    if key == "kl_per_dim":
        values = sorted((float(v) for v in value), reverse=True)
        shown = ", ".join(f"{v:.2f}" for v in values[:5]) + (", …" if len(values) > 5 else "")
        full = "per dimension: " + ", ".join(f"z{i} {float(v):.3f}" for i, v in enumerate(value))
        return shown, full
    if key == "active_units":
        total = info.latent_dim if info is not None else None
        return (f"{int(value)} of {total}" if total else f"{int(value)}"), ""
    if key in ("confident_share", "coverage_min_share"):
        return f"{float(value):.1%}", ""
    if key == "coverage_entropy":
        return f"{float(value):.2f} bits", ""
    if key == "kl_total":
        return f"{float(value):.2f} nats", ""
    v = float(value)
    if not math.isfinite(v):
        return str(v), "not a finite number"
    return f"{v:.4g}", ""


class ComparePanel(QWidget):
    """Two models side by side with linked modes, latent maps and a metrics table."""

    map_rendered = Signal(str, object)       # side, LatentMap
    metrics_shown = Signal(object)           # the report dict

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.metrics_channel = context.channel(METRICS_CHANNEL)
        self.report: dict[str, Any] | None = None
        self.active = False        # becomes True the first time the view is shown
        self.stale = False         # something changed while the view was hidden
        self._build()
        self._build_actions()
        self.metrics_channel.result_ready.connect(self._show_metrics)
        self.metrics_channel.progress_changed.connect(self._on_metrics_progress)
        for column in self.columns.values():
            column.channels["load"].result_ready.connect(lambda result, c=column: self._loaded(c, result))
        self._populate()

    # -- construction -------------------------------------------------------------------------------
    def _build(self) -> None:
        s = self.context.settings

        self.link_combo = QComboBox()
        for value, text, tip in LINK_MODES:
            self.link_combo.addItem(text, value)
            self.link_combo.setItemData(self.link_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.link_combo.setCurrentIndex(max(0, self.link_combo.findData(str(s.value("compare/link", "seed")))))
        self.link_combo.setToolTip("How the two columns are linked")

        def spin(key: str, default: int, lo: int, hi: int, tip: str) -> QSpinBox:
            box = QSpinBox()
            box.setRange(lo, hi)
            box.setValue(int(s.value(key, default)))
            box.setKeyboardTracking(False)
            box.setToolTip(tip)
            return box

        self.seed_a = spin("compare/seed_a", 0, 0, 2**31 - 1, "Seed of endpoint A of both paths")
        self.seed_b = spin("compare/seed_b", 1, 0, 2**31 - 1, "Seed of endpoint B of both paths")
        self.image_a = spin("compare/image_a", 0, 0, 9999, "Fashion-MNIST test image used as endpoint A")
        self.image_b = spin("compare/image_b", 1, 0, 9999, "Fashion-MNIST test image used as endpoint B")
        self.steps_box = spin("compare/steps", 150, 10, 2000,
                              "Adam steps of the GAN inversion (pixel MSE + classifier-feature loss)")
        self.frames_box = spin("compare/frames", DEFAULT_FRAMES, 2, 64, "Frames along each path")
        self.slerp_check = QCheckBox("slerp")
        self.slerp_check.setChecked(s.value("compare/slerp", True, type=bool))
        self.slerp_check.setToolTip("Spherical interpolation (stays on the prior's shell); off: straight lines")
        self.player = FramePlayer(fps=PLAY_FPS, ends="loop", buttons=False, what="frame")
        self.player.set_count(self.frames_box.value())
        self.player.slider.setToolTip("The frame both columns show (, and . step through the frames)")
        self.player.play_button.setToolTip("Play both paths frame by frame (Ctrl+Space)")
        self.player.label.hide()
        self.frame_slider = self.player.slider
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running inversion, maps and measurements (Esc)")

        self.seed_controls = row(QLabel("A seed"), self.seed_a, QLabel("B seed"), self.seed_b)
        self.image_controls = row(QLabel("A test image"), self.image_a, QLabel("B"), self.image_b,
                                  QLabel("Inversion steps"), self.steps_box)
        self.path_controls = row(self.seed_controls, self.image_controls, QLabel("Frames"), self.frames_box,
                                 self.slerp_check, self.player, 1)

        link_row = QHBoxLayout()
        link_row.addWidget(QLabel("Link"))
        link_row.addWidget(self.link_combo)
        link_row.addWidget(self.path_controls, 1)
        link_row.addStretch(0)
        link_row.addWidget(self.cancel_button)

        self.columns = {side: ModelColumn(self, side) for side in SIDES}
        columns = QSplitter(Qt.Orientation.Horizontal)
        for side in SIDES:
            frame = QFrame()
            frame.setFrameShape(QFrame.Shape.StyledPanel)
            inner = QVBoxLayout(frame)
            inner.setContentsMargins(0, 0, 0, 0)
            inner.addWidget(self.columns[side])
            columns.addWidget(frame)
        columns.setChildrenCollapsible(False)
        self.column_splitter = columns

        self.legend = ClassLegend()

        # Metrics
        self.metric_samples = spin("compare/metric_samples", DEFAULT_METRIC_SAMPLES, 20, 20000,
                                   "Samples (and random path pairs) per model for the metrics")
        self.metric_seed = spin("compare/metric_seed", 0, 0, 2**31 - 1,
                                "Seed of the measurement: the same seed gives the same figures")
        self.measure_button = QPushButton("Measure")
        self.measure_button.setToolTip("Compute the metrics of both models on the worker (Ctrl+M)")
        self.metrics_progress = QProgressBar()
        self.metrics_progress.setMaximumHeight(14)
        self.metrics_progress.setMinimumWidth(200)
        self.metrics_progress.hide()
        self.table = QTableWidget(0, 2)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Hover a row for what it measures")
        self.table.setMinimumHeight(90)
        self.metrics_note = QLabel("Press Measure to compare the two latent spaces.")
        self.metrics_note.setWordWrap(True)
        self.metrics_note.setStyleSheet("color: palette(mid);")
        metrics_head = QHBoxLayout()
        metrics_head.addWidget(QLabel("Samples"))
        metrics_head.addWidget(self.metric_samples)
        metrics_head.addWidget(QLabel("Seed"))
        metrics_head.addWidget(self.metric_seed)
        metrics_head.addWidget(self.measure_button)
        metrics_head.addWidget(self.metrics_progress, 1)
        metrics_head.addStretch(0)
        metrics_box = QGroupBox("Metrics")
        metrics_layout = QVBoxLayout(metrics_box)
        metrics_layout.addLayout(metrics_head)
        metrics_layout.addWidget(self.table, 1)
        metrics_layout.addWidget(self.metrics_note)

        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.legend)
        lower_layout.addWidget(metrics_box, 1)
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(columns)
        main.addWidget(lower)
        main.setStretchFactor(0, 4)
        main.setStretchFactor(1, 1)
        main.setSizes([640, 200])
        main.setChildrenCollapsible(False)
        self.main_splitter = main
        for splitter, key in ((main, "compare/main_splitter"), (columns, "compare/column_splitter")):
            state = s.value(key)
            if state is not None:
                splitter.restoreState(state)
            splitter.splitterMoved.connect(lambda *_a, sp=splitter, k=key: s.setValue(k, sp.saveState()))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(link_row)
        layout.addWidget(main, 1)

        self.link_combo.currentIndexChanged.connect(self._link_changed)
        for box, key in ((self.seed_a, "seed_a"), (self.seed_b, "seed_b"), (self.image_a, "image_a"),
                         (self.image_b, "image_b"), (self.steps_box, "steps")):
            box.valueChanged.connect(lambda v, k=key: self._path_edited(k, v))
        self.frames_box.valueChanged.connect(self._frames_edited)
        self.slerp_check.toggled.connect(lambda on: self._path_edited("slerp", on))
        self.player.position_chosen.connect(self._frame_moved)
        self.cancel_button.clicked.connect(self.cancel)
        self.measure_button.clicked.connect(self.measure)
        for column in self.columns.values():
            column.seed_changed.connect(lambda seed, c=column: self._column_seed_changed(c, seed))
            column.model_changed.connect(self._models_changed)
        self._update_link_controls()

    def _build_actions(self) -> None:
        action = functools.partial(panel_action, self)
        self.measure_action = action("Measure metrics", "Ctrl+M", self.measure,
                                     "Compute the metrics table of both models")
        self.cancel_action = action("Cancel", "Esc", self.cancel, "Stop the running compare jobs")
        # Keys that no spin box or list in the panel reads, so typing in them never steps the path.
        self.play_action = action("Play / pause", "Ctrl+Space", self.player.toggle_play, "Play both paths")
        self.next_action = action("Next frame", ".", lambda: self._step_frame(1), "Next frame of both paths")
        self.previous_action = action("Previous frame", ",", lambda: self._step_frame(-1),
                                      "Previous frame of both paths")
        self.swap_action = action("Swap models", "Ctrl+Shift+X", self.swap, "Swap the left and right models")

    def view_actions(self) -> list[QAction | None]:
        """Actions for the window's menus, None for a separator (their shortcuts work while this
        panel has focus)."""
        return [self.measure_action, self.cancel_action, None, self.play_action, self.previous_action,
                self.next_action, None, self.swap_action]

    def _populate(self) -> None:
        infos = [info for info in self.context.models if shown_here(info)]
        current = self.context.current
        if current is not None and shown_here(current) and all(i.source != current.source for i in infos):
            infos.append(current)
        for side in SIDES:
            saved = self.context.settings.value(f"compare/{side}/model")
            preferred = str(saved) if saved and any(i.source == str(saved) for i in infos) else None
            if preferred is None:
                name, encodes = DEFAULT_MODELS[side]
                match = next((i for i in infos if i.name == name or Path(i.source).stem == name), None)
                match = match or next((i for i in infos if i.can("encoder") == encodes), None)
                preferred = match.source if match is not None else None
            self.columns[side].populate(infos, preferred)

    # -- state the columns read ----------------------------------------------------------------------
    def link_mode(self) -> str:
        return str(self.link_combo.currentData())

    def classifier(self) -> str | None:
        return self.context.classifier_source

    def frames(self) -> int:
        return int(self.frames_box.value())

    def spherical(self) -> bool:
        return self.slerp_check.isChecked()

    def inversion_steps(self) -> int:
        return int(self.steps_box.value())

    def frame_index(self) -> int:
        return int(self.frame_slider.value())

    def endpoints(self) -> tuple[EndpointSpec, EndpointSpec]:
        if self.link_mode() == "images":
            return (EndpointSpec("test", index=int(self.image_a.value())),
                    EndpointSpec("test", index=int(self.image_b.value())))
        return EndpointSpec("seed", int(self.seed_a.value())), EndpointSpec("seed", int(self.seed_b.value()))

    def endpoint_points(self, column: ModelColumn) -> tuple[Any, Any]:
        """A and B of the plane through three points: the path's endpoints (as latents once a
        path of real images has been resolved), else the column's seed and the next one."""
        mode = self.link_mode()
        if mode == "images":
            if column.strip is None:
                return None, None
            return (tuple(float(x) for x in column.strip.latents[0]),
                    tuple(float(x) for x in column.strip.latents[-1]))
        if mode == "path":
            return int(self.seed_a.value()), int(self.seed_b.value())
        seed = int(column.seed_box.value())
        return seed, seed + 1

    # -- worker traffic ------------------------------------------------------------------------------
    def is_busy(self) -> bool:
        """True while any request of this panel waits for its result."""
        return self.metrics_channel.busy or any(column.busy() for column in self.columns.values())

    def _on_metrics_progress(self, progress: JobProgress) -> None:
        self.metrics_progress.setMaximum(max(1, progress.total))
        self.metrics_progress.setValue(min(progress.done, max(1, progress.total)))
        self.metrics_progress.setFormat(f"{progress.message or 'measuring'} %p%")
        self.metrics_progress.show()

    def cancel(self) -> None:
        """Stops every running compare job (inversion, maps, scatters, measurement); each one's
        "cancelled" result puts its part of the view back to idle."""
        self.metrics_channel.cancel()
        for column in self.columns.values():
            column.cancel()
        self.player.pause()
        self.context.status.emit("Compare: cancelled")

    # -- opening checkpoints ----------------------------------------------------------------------------
    def open_checkpoint(self, column: ModelColumn) -> None:
        start = str(self.context.settings.value("compare/open_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open a VAE or GAN checkpoint", start,
                                              "Models (*.safetensors *.pt *.pth *.pt2);;All files (*)")
        if path:
            self.open_source(column, path)

    def open_source(self, column: ModelColumn, source: str) -> int:
        """Loads a checkpoint on the worker for `column` (it is added to the chooser when loaded)."""
        self.context.settings.setValue("compare/open_dir", str(Path(source).parent))
        column.show_error("")
        return column.channels["load"].submit(load_info_job(self.context.resolve_source(source)),
                                              f"open {Path(source).name}")

    def _loaded(self, column: ModelColumn, result: Result) -> None:
        if result.cancelled:
            return
        if not result.ok:
            column.show_error(result.error or "could not open the checkpoint")
            return
        info: ModelInfo = result.value
        if not shown_here(info):
            column.show_error(f"{info.name} is a {info.kind_title}: the compare view shows models that decode "
                              f"a sample of their prior in one pass (VAEs and GANs)")
            return
        for other in self.columns.values():
            if other._index_of(info.source) < 0 and other is not column:
                other.model_combo.insertItem(max(0, other.model_combo.count() - 2),
                                             f"{info.name}  ({info.kind_title})", info)
        column.add_model(info)

    def swap(self) -> None:
        left, right = self.columns["left"], self.columns["right"]
        a, b = left.info, right.info
        if a is None or b is None:
            return
        left.add_model(b)
        right.add_model(a)

    # -- linking -----------------------------------------------------------------------------------------
    def _update_link_controls(self) -> None:
        mode = self.link_mode()
        self.path_controls.setVisible(mode in ("path", "images"))
        self.seed_controls.setVisible(mode == "path")
        self.image_controls.setVisible(mode == "images")
        if mode not in ("path", "images"):
            self.player.pause()

    def _link_changed(self, _index: int) -> None:
        self.context.settings.setValue("compare/link", self.link_mode())
        self._update_link_controls()
        if self.link_mode() == "seed":
            self.columns["right"].set_seed(self.columns["left"].seed_box.value())
        self.refresh()

    def set_link_mode(self, mode: str) -> None:
        index = self.link_combo.findData(mode)
        if index < 0:
            raise ValueError(f"unknown link mode {mode!r}: use one of {', '.join(m for m, _, _ in LINK_MODES)}")
        self.link_combo.setCurrentIndex(index)

    def _column_seed_changed(self, column: ModelColumn, seed: int) -> None:
        if self.link_mode() != "seed":
            return
        for other in self.columns.values():
            if other is not column:
                other.set_seed(seed)
                other.refresh()

    def _path_edited(self, key: str, value: Any) -> None:
        self.context.settings.setValue(f"compare/{key}", value)
        for column in self.columns.values():
            if self.link_mode() in ("path", "images"):
                column.request_path()
            if column.plane_combo.currentData() == "points":
                column.request_map()

    def _frames_edited(self, frames: int) -> None:
        self.player.set_count(frames)
        self._path_edited("frames", frames)

    def _frame_moved(self, index: int) -> None:
        for column in self.columns.values():
            column.show_frame(index)

    def _step_frame(self, step: int) -> None:
        if self.link_mode() in ("path", "images"):
            self.player.step(step)

    def refresh(self) -> None:
        for column in self.columns.values():
            column.refresh()

    def _models_changed(self, _info: object) -> None:
        if self.report is None:
            self.table.setHorizontalHeaderLabels([c.info.name if c.info else side
                                                  for side, c in self.columns.items()])
        else:
            self.metrics_note.setText("The models changed since the table was measured: press Measure again.")

    # -- metrics ----------------------------------------------------------------------------------------
    def measure(self) -> None:
        left, right = self.columns["left"].info, self.columns["right"].info
        if left is None or right is None:
            self.metrics_note.setText("Pick a model in each column first.")
            return
        classifier = self.classifier()
        if not classifier:
            self.metrics_note.setText("The metrics are measured with the classifier, and none is installed.")
            return
        samples, seed = int(self.metric_samples.value()), int(self.metric_seed.value())
        self.context.settings.setValue("compare/metric_samples", samples)
        self.context.settings.setValue("compare/metric_seed", seed)
        self.metrics_note.setText(f"Measuring {left.name} and {right.name} with {samples} samples, seed {seed}…")
        self.metrics_progress.setValue(0)
        self.metrics_progress.show()
        self.metrics_channel.submit(metrics_job(left.source, right.source, classifier, samples, seed), "metrics")

    def _show_metrics(self, result: Result) -> None:
        self.metrics_progress.hide()
        if result.cancelled:
            self.metrics_note.setText("Measurement cancelled.")
            return
        if not result.ok:
            self.metrics_note.setText(result.error or "the measurement failed")
            return
        self.show_report(result.value, result.elapsed_s)

    def show_report(self, report: dict[str, Any], elapsed_s: float | None = None) -> None:
        """Fills the table from a `models.evaluation.compare` report."""
        self.report = report
        rows = list(report.get("rows", []))
        titles = dict(report.get("titles", {}))
        explanations = dict(report.get("explanations", {}))
        infos = [self.columns[side].info for side in SIDES]
        self.table.clear()
        self.table.setRowCount(len(rows))
        self.table.setColumnCount(len(report["models"]))
        self.table.setHorizontalHeaderLabels([m["model"]["name"] for m in report["models"]])
        for r, key in enumerate(rows):
            header = QTableWidgetItem(titles.get(key, key))
            header.setToolTip(explanations.get(key, ""))
            self.table.setVerticalHeaderItem(r, header)
            for c, model in enumerate(report["models"]):
                info = infos[c] if c < len(infos) and infos[c] is not None \
                    and infos[c].name == model["model"]["name"] else None
                text, extra = format_metric(key, model.get(key), info)
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                tip = explanations.get(key, "")
                item.setToolTip(tip + (f"\n{extra}" if extra else ""))
                self.table.setItem(r, c, item)
        notes = [f"{m['model']['name']}: {n}" for m in report["models"] for n in m.get("notes", [])]
        notes += list(report.get("notes", []))
        summary = (f"{report.get('samples')} samples, seed {report.get('seed')}, measured with "
                   f"{report.get('classifier')}")
        if elapsed_s is not None:
            summary += f" in {elapsed_s:.1f} s"
        self.metrics_note.setText(summary + ("" if not notes else ". " + "; ".join(notes)))
        self.metrics_shown.emit(report)

    def metric_rows(self) -> dict[str, tuple[str, ...]]:
        """{row title: cell texts}: what the table shows."""
        out = {}
        for r in range(self.table.rowCount()):
            header = self.table.verticalHeaderItem(r)
            out[header.text() if header else str(r)] = tuple(
                self.table.item(r, c).text() if self.table.item(r, c) else ""
                for c in range(self.table.columnCount()))
        return out

    # -- lifecycle ----------------------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self.active:
            self.active = True
            self.stale = True
        if self.stale:
            self.stale = False
            self.refresh()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.player.pause()
        super().hideEvent(event)


__all__ = ["ComparePanel", "ModelColumn", "format_metric", "LINK_MODES"]
