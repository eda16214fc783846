"""What every panel shares: the inference worker and the channels to it, settings, bookmarks, the
bundled models and the model that is open.

Opening a model is a job like any other: `open_model` asks the worker to load it (it stays cached
there for later jobs) and to describe it; `model_opened` then carries the `ModelInfo`, or
`model_failed` the message of the CheckpointError. Panels follow `model_opened`. Opening another
model before the first has arrived abandons the first: only the newest open is reported.
"""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal

import resources
from explorer.bookmarks import BookmarkStore
from explorer.channel import Channel
from explorer.jobs.common import load_info_job
from explorer.model_info import ModelInfo
from explorer.settings import add_recent_file, open_qsettings, recent_files, setting
from explorer.worker import InferenceWorker, JobProgress, Result

# The UI thread and the worker hand the GIL to each other at least twice per frame; the default
# 5 ms switch interval would let Python code on one side hold up the other for that long.
GIL_SWITCH_INTERVAL_S = 0.001

LOAD_CHANNEL = "load"
DEVICE_CHANNEL = "device"
EMPTY_HINT = "File > Open a checkpoint, or train one with `latent-explorer train`"


def bundled_infos(bundled: dict[str, Path]) -> tuple[list[ModelInfo], list[str]]:
    """ModelInfo of each bundled checkpoint from its metadata (no weights read), and the problems
    of those that could not be read."""
    from models.checkpoint import CheckpointError, read_metadata

    infos, problems = [], []
    for name, path in bundled.items():
        try:
            infos.append(ModelInfo.from_metadata(name, read_metadata(path)))
        except CheckpointError as e:
            problems.append(str(e))
    return infos, problems


class AppContext(QObject):
    model_opened = Signal(object)        # ModelInfo
    model_failed = Signal(str)           # a message written for users
    status = Signal(str)                 # a line for the status bar
    frame_reported = Signal(float, str)  # seconds a frame took on the worker, device it ran on
    device_changed = Signal(str)         # the device the worker uses now
    recent_changed = Signal()
    progress_seen = Signal(object)       # JobProgress of any channel (the window's progress bar)
    progress_ended = Signal(int)         # the id of a request that had reported progress

    def __init__(self, device: str = "auto", bundled: dict[str, Path] | None = None,
                 classifier: str | None = None, parent: QObject | None = None):
        """`bundled` maps names to checkpoint files (default: the bundled checkpoints, opened by
        name); `classifier` is the source of the model that labels images (default: the bundled
        "classifier" when there is one)."""
        super().__init__(parent)
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
        self.settings = open_qsettings()
        if device == "auto":
            device = setting(self.settings, "device", "auto", choices=("auto", "cpu", "cuda", "mps"))
        self.worker = InferenceWorker(device)
        self._channels: dict[str, Channel] = {}
        self._with_progress: set[int] = set()
        # Queued even when a result is made on this thread (a request dropped from the queue):
        # a view always hears back after its call returns, in the order results were made.
        queued = Qt.ConnectionType.QueuedConnection
        self.worker.result_ready.connect(self._route_result, queued)
        self.worker.progress_changed.connect(self._route_progress, queued)
        self.worker.device_changed.connect(self._on_device_fallback)
        self._loads = self.channel(LOAD_CHANNEL)
        self._loads.result_ready.connect(self._on_loaded)
        self.channel(DEVICE_CHANNEL).result_ready.connect(self._on_device_switched)
        self.worker.start()

        if bundled is None:
            files = resources.bundled_checkpoints()
            sources = {name: name for name in files}
        else:
            files = dict(bundled)
            sources = {name: str(Path(p).resolve()) for name, p in files.items()}
        self._bundled_files = files
        infos, self.problems = bundled_infos(files)
        self.models: list[ModelInfo] = [
            dataclasses.replace(info, source=sources[info.source]) for info in infos]
        if classifier is None and "classifier" in sources:
            classifier = sources["classifier"]
        self.classifier_source: str | None = classifier     # the default classifier
        self.classifiers = [info for info in self.models if info.can("classifier")]
        if classifier is not None and not any(info.source == classifier for info in self.classifiers):
            extra, _ = bundled_infos({classifier: Path(classifier)})
            self.classifiers += extra
        self.bookmarks = BookmarkStore()
        self.current: ModelInfo | None = None
        self.stuck = False             # the worker was still in a step when the app closed

    # -- models -------------------------------------------------------------------------------
    @property
    def device(self) -> str:
        return self.worker.device

    def default_model(self) -> str | None:
        """"vae" when bundled, else the first bundled model, else None."""
        for info in self.models:
            if info.name == "vae" or Path(info.source).stem == "vae":
                return info.source
        return self.models[0].source if self.models else None

    def classifier_for(self, info: ModelInfo | None) -> str | None:
        """The source of the classifier that labels `info`'s images (classifier_info), or None."""
        judge = self.classifier_info(info)
        return judge.source if judge is not None else None

    def classifier_info(self, info: ModelInfo | None) -> ModelInfo | None:
        """The classifier that labels `info`'s images: among the classifiers that read
        images of its shape, the one its metrics were measured with, else one trained on the same
        data, else the default classifier, else any; None when none reads its images."""
        if info is None:
            return None
        fits = [c for c in self.classifiers if c.image_shape == info.image_shape]
        if not fits:
            return None
        metrics = info.metadata.get("metrics")
        named = str(metrics.get("classifier", "")) if isinstance(metrics, dict) else ""
        data = info.training_data
        for choice in ([c for c in fits if named and c.name == named], [c for c in fits if c.training_data == data],
                       [c for c in fits if c.source == self.classifier_source], fits):
            if choice:
                return choice[0]
        return None

    def resolve_source(self, source: str | Path) -> str:
        """A bundled model's name as listed, or a file's absolute path."""
        text = str(source)
        for info in self.models:
            if text in (info.source, info.name):
                return info.source
        path = Path(text).expanduser()
        # absolute, links left as they are: a link that loops is the loader's to report
        return os.path.abspath(path) if os.path.lexists(path) or "/" in text or path.suffix else text

    def is_bundled(self, source: str) -> bool:
        return any(info.source == source for info in self.models)

    def open_model(self, source: str | Path) -> int:
        """Loads a model on the worker; `model_opened` or `model_failed` follows. Returns the id."""
        source = self.resolve_source(source)
        self.status.emit(f"Opening {Path(source).name}…")
        return self._loads.submit(load_info_job(source), label=f"open {Path(source).name}")

    # -- channels -------------------------------------------------------------------------------
    def channel(self, name: str, intermediate: bool = False) -> Channel:
        """The channel `name` to the worker (made on first use; one object per name)."""
        if name not in self._channels:
            self._channels[name] = Channel(name, self.worker, intermediate, parent=self)
        return self._channels[name]

    def busy(self) -> bool:
        """True while any view waits for an answer from the worker."""
        return any(channel.busy for channel in self._channels.values())

    def _route_result(self, result: Result) -> None:
        channel = self._channels.get(result.channel)
        if channel is not None:
            channel.receive_result(result)
        if result.request_id in self._with_progress:
            self._with_progress.discard(result.request_id)
            self.progress_ended.emit(result.request_id)

    def _route_progress(self, progress: JobProgress) -> None:
        channel = self._channels.get(progress.channel)
        if channel is not None:
            channel.receive_progress(progress)
        self._with_progress.add(progress.request_id)
        self.progress_seen.emit(progress)

    def recent_files(self) -> list[str]:
        return recent_files()

    # -- device ---------------------------------------------------------------------------------
    def available_devices(self) -> list[str]:
        from models.devices import available_devices

        return available_devices()

    def set_device(self, name: str) -> None:
        self.settings.setValue("device", name)
        self.channel(DEVICE_CHANNEL).submit(self.worker.device_job(name), label=f"switch to {name}")

    # -- frames ---------------------------------------------------------------------------------
    def report_frame(self, seconds: float, device: str) -> None:
        """Panels call this for each frame they show, for the status bar."""
        self.frame_reported.emit(seconds, device)

    def shutdown(self) -> None:
        """Stops the worker thread, waiting about a second for a job in the middle of a step (the
        window calls this when it closes). A step that takes longer (a slow model's forward pass)
        is left to finish on its own: `stuck` says so, and the app then exits without waiting."""
        if self.worker.isRunning() and not self.stuck:
            self.stuck = not self.worker.stop()

    # -- results --------------------------------------------------------------------------------
    def _on_device_switched(self, result: Result) -> None:
        if result.ok:
            self.device_changed.emit(str(result.value))
            self.status.emit(f"Inference runs on {result.value}")

    def _on_loaded(self, result: Result) -> None:
        if result.cancelled:
            return
        if not result.ok:
            self.status.emit("Could not open the model")
            self.model_failed.emit(result.error or "unknown error")
            return
        info: ModelInfo = result.value
        self.current = info
        if not self.is_bundled(info.source):
            try:
                add_recent_file(info.source)
                self.recent_changed.emit()
            except OSError as e:
                self.status.emit(f"Could not update the recent-files list: {e}")
        self.status.emit(f"Opened {info.name} ({info.summary()}) in {result.elapsed_s * 1000:.0f} ms")
        self.model_opened.emit(info)

    def _on_device_fallback(self, device: str, message: str) -> None:
        self.device_changed.emit(device)
        self.status.emit(message)
