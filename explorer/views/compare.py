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
of theirs. The parts: `ModelColumn` (compare_column.py), `LinkBar` (compare_link_bar.py),
`MetricsBox` (compare_metrics.py); this panel lays them out, opens checkpoints for the columns
and passes the link bar's changes on to them.
"""
from __future__ import annotations

import functools
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QFrame, QSplitter, QVBoxLayout, QWidget

from explorer.context import AppContext, bundled_infos
from explorer.jobs.common import load_info_job
from explorer.model_info import ModelInfo
from explorer.views.actions import panel_action
from explorer.views.compare_column import ModelColumn
from explorer.views.compare_link_bar import LinkBar
from explorer.views.compare_metrics import MetricsBox
from explorer.views.latent_map import ClassLegend
from explorer.worker import Result
from explorer.settings import setting

SIDES = ("left", "right")
# (preferred name, a capability of the fallback): a model with an encoder beside one without
DEFAULT_MODELS = {"left": ("vae", True), "right": ("dcgan", False)}


def shown_here(info: ModelInfo) -> bool:
    """The compare view shows models that decode in one pass and have a prior to sample."""
    return info.decodes_latents and info.can("prior") and not info.can("sampler")


class ComparePanel(QWidget):
    """Two models side by side with linked modes, latent maps and a metrics table."""

    map_rendered = Signal(str, object)       # side, LatentMap
    metrics_shown = Signal(object)           # the report dict

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.active = False        # becomes True the first time the view is shown
        self._build()
        self._build_actions()
        for column in self.columns.values():
            column.channels["load"].result_ready.connect(lambda result, c=column: self._loaded(c, result))
        context.model_opened.connect(self._offer)
        self._populate()

    # -- construction -------------------------------------------------------------------------------
    def _build(self) -> None:
        s = self.context.settings
        self.link_bar = LinkBar(self.context)
        self.legend = ClassLegend()
        self.columns = {side: ModelColumn(self.context, side, self.link_bar, self.legend, parent=self)
                        for side in SIDES}
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
        self.metrics = MetricsBox(self.context, lambda: [self.columns[side].info for side in SIDES])

        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.legend)
        lower_layout.addWidget(self.metrics, 1)
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(columns)
        main.addWidget(lower)
        main.setStretchFactor(0, 4)
        main.setStretchFactor(1, 1)
        main.setSizes([10_000, 1])        # the lower pane at its smallest until there are figures
        main.setChildrenCollapsible(False)
        self.main_splitter = main
        for splitter, key in ((main, "compare/main_splitter"), (columns, "compare/column_splitter")):
            state = setting(s, key, QByteArray(), QByteArray)
            if not state.isEmpty():
                splitter.restoreState(state)
            splitter.splitterMoved.connect(lambda *_a, sp=splitter, k=key: s.setValue(k, sp.saveState()))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.link_bar)
        layout.addWidget(main, 1)

        self.link_bar.mode_changed.connect(self._link_changed)
        self.link_bar.path_changed.connect(self._path_edited)
        self.link_bar.frame_chosen.connect(self._frame_moved)
        self.link_bar.cancel_requested.connect(self.cancel)
        self.metrics.measure_requested.connect(self.measure)
        self.metrics.metrics_shown.connect(self.metrics_shown)
        self.metrics.metrics_shown.connect(lambda _report: self._make_room_for_the_table())
        for side, column in self.columns.items():
            column.seed_changed.connect(lambda seed, c=column: self._column_seed_changed(c, seed))
            column.model_changed.connect(self._models_changed)
            column.open_requested.connect(lambda c=column: self.open_checkpoint(c))
            column.map_rendered.connect(lambda latent_map, sd=side: self.map_rendered.emit(sd, latent_map))

    def _build_actions(self) -> None:
        action = functools.partial(panel_action, self)
        player = self.link_bar.player
        self.measure_action = action("Measure metrics", "Ctrl+M", self.measure,
                                     "Compute the metrics table of both models")
        self.cancel_action = action("Cancel", "Esc", self.cancel, "Stop the running compare jobs")
        # Keys that no spin box or list in the panel reads, so typing in them never steps the path.
        self.play_action = action("Play / pause", "Ctrl+Space", player.toggle_play, "Play both paths")
        self.next_action = action("Next frame", ".", lambda: self.link_bar.step_frame(1), "Next frame of both paths")
        self.previous_action = action("Previous frame", ",", lambda: self.link_bar.step_frame(-1),
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
        for side in SIDES:       # a file a column showed last time comes back with it
            saved = str(setting(self.context.settings, f"compare/{side}/model", ""))
            if saved and Path(saved).is_file() and all(i.source != saved for i in infos):
                infos += [info for info in bundled_infos({saved: Path(saved)})[0] if shown_here(info)]
        for side in SIDES:
            saved = setting(self.context.settings, f"compare/{side}/model", "")
            preferred = str(saved) if saved and any(i.source == str(saved) for i in infos) else None
            if preferred is None:
                name, encodes = DEFAULT_MODELS[side]
                match = next((i for i in infos if i.name == name or Path(i.source).stem == name), None)
                match = match or next((i for i in infos if i.can("encoder") == encodes), None)
                preferred = match.source if match is not None else None
            self.columns[side].populate(infos, preferred)

    def _offer(self, info: ModelInfo) -> None:
        """A model opened elsewhere in the app is offered in both choosers."""
        if shown_here(info):
            for column in self.columns.values():
                column.model_combo.offer(info)

    # -- state -----------------------------------------------------------------------------------------
    def link_mode(self) -> str:
        return self.link_bar.link_mode()

    def set_link_mode(self, mode: str) -> None:
        self.link_bar.set_link_mode(mode)

    def classifier(self) -> str | None:
        """The classifier that reads both columns' images (the metrics need one), or None."""
        left, right = (self.context.classifier_for(self.columns[side].info) for side in ("left", "right"))
        return left if left == right else None

    def is_busy(self) -> bool:
        """True while any request of this panel waits for its result."""
        return self.metrics.busy or any(column.busy() for column in self.columns.values())

    def cancel(self) -> None:
        """Stops every running compare job (inversion, maps, scatters, measurement); each one's
        "cancelled" result puts its part of the view back to idle."""
        self.metrics.cancel()
        for column in self.columns.values():
            column.cancel()
        self.link_bar.player.pause()
        self.context.status.emit("Compare: cancelled")

    # -- opening checkpoints ----------------------------------------------------------------------------
    def open_checkpoint(self, column: ModelColumn) -> None:
        start = setting(self.context.settings, "compare/open_dir", str(Path.home()))
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
            if other is not column:
                other.model_combo.offer(info)
        column.add_model(info)

    def swap(self) -> None:
        left, right = self.columns["left"], self.columns["right"]
        a, b = left.info, right.info
        if a is None or b is None:
            return
        left.add_model(b)
        right.add_model(a)

    # -- linking -----------------------------------------------------------------------------------------
    def _link_changed(self, mode: str) -> None:
        if mode == "seed":
            self.columns["right"].set_seed(self.columns["left"].seed_box.value())
        self.refresh()

    def _column_seed_changed(self, column: ModelColumn, seed: int) -> None:
        if self.link_mode() != "seed":
            return
        for other in self.columns.values():
            if other is not column:
                other.set_seed(seed)
                other.refresh()

    def _path_edited(self) -> None:
        for column in self.columns.values():
            if self.link_mode() in ("path", "images"):
                column.request_path()
            if column.tabs.plane_kind() == "points":
                column.tabs.request_map()

    def _frame_moved(self, index: int) -> None:
        for column in self.columns.values():
            column.show_frame(index)

    def refresh(self) -> None:
        for column in self.columns.values():
            column.refresh()

    def _models_changed(self, _info: object) -> None:
        self.metrics.models_changed([c.info.name if c.info else side for side, c in self.columns.items()])

    # -- metrics ----------------------------------------------------------------------------------------
    def measure(self) -> None:
        """Measures both columns' models (the metrics table)."""
        self.metrics.measure(self.columns["left"].info, self.columns["right"].info, self.classifier())

    def _make_room_for_the_table(self) -> None:
        """A measured table gets the height its rows need (up to two thirds of the view): the maps
        above give up what they must."""
        sizes = self.main_splitter.sizes()
        total = sum(sizes)
        wanted = self.metrics.sizeHint().height() - self.metrics.table.sizeHint().height() + self.metrics.table_height()
        lower = min(max(sizes[1], wanted), total * 2 // 3)
        if lower != sizes[1]:
            self.main_splitter.setSizes([total - lower, lower])

    # -- lifecycle ----------------------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self.active:
            self.active = True
            for column in self.columns.values():
                column.active = True
            self.refresh()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.link_bar.player.pause()
        super().hideEvent(event)


__all__ = ["ComparePanel"]
