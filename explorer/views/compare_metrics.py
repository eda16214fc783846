"""The compare view's metrics: both models measured on the worker (path lengths, KL, active
units, class coverage, ...) as a table, each figure with a one-line explanation in its tooltip,
and `format_metric`, how each kind of figure is written in a cell."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QProgressBar,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from explorer.context import AppContext
from explorer.jobs.compare import metrics_job
from explorer.model_info import ModelInfo
from explorer.views.compare_link_bar import settings_spin
from explorer.worker import JobProgress, Result

METRICS_CHANNEL = "compare-metrics"
DEFAULT_METRIC_SAMPLES = 500


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


class MetricsBox(QGroupBox):
    """Samples and seed of the measurement, Measure, its progress, the table and a note.

    `infos` gives the models the columns show now (left, right), to write figures such as
    "3 of 16" active units."""

    measure_requested = Signal()
    metrics_shown = Signal(object)           # the report dict

    def __init__(self, context: AppContext, infos: Callable[[], list[ModelInfo | None]],
                 parent: QWidget | None = None):
        super().__init__("Metrics", parent)
        self.context = context
        self._infos = infos
        self.channel = context.channel(METRICS_CHANNEL)
        self.report: dict[str, Any] | None = None

        self.samples_box = settings_spin(context, "compare/metric_samples", DEFAULT_METRIC_SAMPLES, 20, 20000,
                                         "Samples (and random path pairs) per model for the metrics")
        self.seed_box = settings_spin(context, "compare/metric_seed", 0, 0, 2**31 - 1,
                                      "Seed of the measurement: the same seed gives the same figures")
        self.measure_button = QPushButton("Measure")
        self.measure_button.setToolTip("Compute the metrics of both models on the worker (Ctrl+M)")
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.setMinimumWidth(200)
        self.progress.hide()
        self.table = QTableWidget(0, 2)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Hover a row for what it measures")
        self.table.setMinimumHeight(56)      # a header and a row in a small window
        self.table.hide()                    # until there are figures: an empty table takes room
        self.note = QLabel("Press Measure to compare the two latent spaces.")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(mid);")
        head = QHBoxLayout()
        head.addWidget(QLabel("Samples"))
        head.addWidget(self.samples_box)
        head.addWidget(QLabel("Seed"))
        head.addWidget(self.seed_box)
        head.addWidget(self.measure_button)
        head.addWidget(self.progress, 1)
        head.addStretch(0)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)

        self.measure_button.clicked.connect(self.measure_requested)
        self.channel.result_ready.connect(self._on_result)
        self.channel.progress_changed.connect(self._on_progress)

    @property
    def busy(self) -> bool:
        return self.channel.busy

    def table_height(self) -> int:
        """The height the table needs to show every row without scrolling."""
        table = self.table
        rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
        return rows + table.horizontalHeader().height() + 2 * table.frameWidth() + 4

    def cancel(self) -> None:
        self.channel.cancel()

    def models_changed(self, names: list[str]) -> None:
        """The columns now show models `names`: the headers follow, or a table measured on other
        models says it is out of date."""
        if self.report is None:
            self.table.setHorizontalHeaderLabels(names)
        else:
            self.note.setText("The models changed since the table was measured: press Measure again.")

    def measure(self, left: ModelInfo | None, right: ModelInfo | None, classifier: str | None) -> None:
        """Asks the worker to measure both models (with the classifier, which the figures need)."""
        if left is None or right is None:
            self.note.setText("Pick a model in each column first.")
            return
        if not classifier:
            self.note.setText("The metrics are measured with a classifier that reads both models' images, and "
                              "none is installed." if left.image_shape == right.image_shape else
                              f"Not measured: the metrics need one classifier for both, and {_shape(left)} and "
                              f"{_shape(right)} images need different ones.")
            return
        samples, seed = int(self.samples_box.value()), int(self.seed_box.value())
        self.context.settings.setValue("compare/metric_samples", samples)
        self.context.settings.setValue("compare/metric_seed", seed)
        self.note.setText(f"Measuring {left.name} and {right.name} with {samples} samples, seed {seed}…")
        self.progress.setValue(0)
        self.progress.show()
        self.channel.submit(metrics_job(left.source, right.source, classifier, samples, seed), "metrics")

    def _on_progress(self, progress: JobProgress) -> None:
        self.progress.setMaximum(max(1, progress.total))
        self.progress.setValue(min(progress.done, max(1, progress.total)))
        self.progress.setFormat(f"{progress.message or 'measuring'} %p%")
        self.progress.show()

    def _on_result(self, result: Result) -> None:
        self.progress.hide()
        if result.cancelled:
            self.note.setText("Measurement cancelled.")
            return
        if not result.ok:
            self.note.setText(result.error or "the measurement failed")
            return
        self.show_report(result.value, result.elapsed_s)

    def show_report(self, report: dict[str, Any], elapsed_s: float | None = None) -> None:
        """Fills the table from a `models.evaluation.compare` report."""
        self.report = report
        self.table.show()
        rows = list(report.get("rows", []))
        titles = dict(report.get("titles", {}))
        explanations = dict(report.get("explanations", {}))
        infos = self._infos()
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
        self.note.setText(summary + ("" if not notes else ". " + "; ".join(notes)))
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


def _shape(info: ModelInfo) -> str:
    c, h, w = info.image_shape
    return f"{w}x{h}" + ("" if c == 1 else f"x{c}")
