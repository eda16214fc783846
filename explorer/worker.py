"""The inference thread: the one place where models run.

The UI submits small frozen `Request`s. The worker keeps only the newest pending request per
channel (a slider drag never builds a backlog), runs each job with a `JobContext` that gives it
the models (loaded and cached per source and device) and a way to report progress, stream
partial values and notice cancellation, and sends back a `Result` that carries the request id,
the timing and either a value or an error message. A failing job is a result, never a dead thread.
"""
from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

_ids = itertools.count(1)


class Cancelled(Exception):
    """Raised inside a job by `JobContext.check()` once the job is no longer wanted."""


@dataclass(frozen=True)
class Request:
    """One unit of work. `job(ctx)` runs on the worker thread and returns plain data
    (NumPy arrays, numbers, dicts): never tensors on a device."""

    channel: str
    job: Callable[[JobContext], Any]
    label: str = ""
    id: int = field(default_factory=lambda: next(_ids))


@dataclass(frozen=True)
class Result:
    request_id: int
    channel: str
    label: str
    value: Any = None
    error: str | None = None
    cancelled: bool = False
    elapsed_s: float = 0.0      # time spent in the job itself
    device: str = "cpu"
    note: str = ""              # e.g. "CUDA ran out of memory; switched to the CPU"

    @property
    def ok(self) -> bool:
        return self.error is None and not self.cancelled


@dataclass(frozen=True)
class Progress:
    request_id: int
    channel: str
    done: int
    total: int
    partial: Any = None         # a streamed intermediate value (e.g. one diffusion step)
    message: str = ""


class JobContext:
    """What a job may use: the device, cached models, progress, partial values, cancellation."""

    def __init__(self, worker: InferenceWorker, request: Request):
        self._worker = worker
        self.request = request
        self.device = worker.device

    def model(self, source: str):
        """The model opened from `source` (bundled name or path), on this worker's device."""
        return self._worker.model(source)

    @property
    def cancelled(self) -> bool:
        return self._worker.is_superseded(self.request)

    def check(self) -> None:
        """Call between steps of a long job: stops it if it was cancelled or superseded."""
        if self.cancelled:
            raise Cancelled()

    def progress(self, done: int, total: int, partial: Any = None, message: str = "") -> None:
        self._worker.progress_changed.emit(
            Progress(self.request.id, self.request.channel, done, total, partial, message))


def pick_device_name(preference: str = "auto") -> str:
    """The device the worker runs on: the preferred one, or the CPU when it is missing."""
    from models.devices import pick_device

    return pick_device(preference).type


class InferenceWorker(QThread):
    """Owns the torch device. Submit requests from the UI thread; results arrive as signals."""

    result_ready = Signal(object)       # Result
    progress_changed = Signal(object)   # Progress
    device_changed = Signal(str, str)   # device name, message

    def __init__(self, device: str = "auto", parent: QObject | None = None):
        super().__init__(parent)
        self.device = pick_device_name(device)
        self._lock = threading.Condition()
        self._pending: dict[str, Request] = {}     # newest request per channel, in arrival order
        self._newest: dict[str, int] = {}          # newest id submitted per channel
        self._cancelled_below: dict[str, int] = {} # ids at or below this are cancelled per channel
        self._stopping = False
        self._models: dict[tuple[str, str], Any] = {}
        self.jobs_run = 0

    # -- UI thread side ---------------------------------------------------------------------
    def submit(self, request: Request) -> int:
        with self._lock:
            self._pending.pop(request.channel, None)   # re-insert: arrival order = fairness
            self._pending[request.channel] = request
            self._newest[request.channel] = request.id
            self._lock.notify()
        return request.id

    def cancel(self, channel: str) -> None:
        """Drops the pending request of `channel` and stops its running job at its next check."""
        with self._lock:
            self._pending.pop(channel, None)
            self._cancelled_below[channel] = self._newest.get(channel, 0)

    def set_device(self, name: str) -> None:
        """Switch device; models move lazily the next time a job asks for them."""
        device = pick_device_name(name)

        def job(ctx: JobContext) -> str:
            self.device = device
            return device

        self.submit(Request("device", job, label=f"switch to {device}"))

    def stop(self, timeout_ms: int = 5000) -> None:
        """Stops the thread after the running job (cancelling it) and waits for it."""
        with self._lock:
            self._stopping = True
            self._pending.clear()
            self._lock.notify()
        self.wait(timeout_ms)

    # -- worker thread side -----------------------------------------------------------------
    def is_superseded(self, request: Request) -> bool:
        with self._lock:
            return (self._stopping or self._newest.get(request.channel, 0) > request.id
                    or self._cancelled_below.get(request.channel, 0) >= request.id)

    def model(self, source: str):
        key = (str(source), self.device)
        if key not in self._models:
            from models.checkpoint import open_model

            cached = next((m for (s, _), m in self._models.items() if s == str(source)), None)
            model = cached if cached is not None else open_model(source)
            self._models = {k: m for k, m in self._models.items() if k[0] != str(source)}
            self._models[key] = model.to(self.device)
        return self._models[key]

    def run(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                channel = next(iter(self._pending))
                request = self._pending.pop(channel)
            self.result_ready.emit(self._execute(request))

    def _execute(self, request: Request) -> Result:
        start = time.perf_counter()
        note = ""
        try:
            try:
                value = request.job(JobContext(self, request))
            except Exception as e:  # noqa: BLE001 - any CUDA OOM, whatever its class
                if self.device != "cuda" or "out of memory" not in str(e).lower():
                    raise
                self._release_cuda()
                self.device = "cpu"
                note = "CUDA ran out of memory; switched to the CPU"
                self.device_changed.emit(self.device, note)
                value = request.job(JobContext(self, request))
        except Cancelled:
            return self._result(request, start, cancelled=True)
        except Exception as e:  # noqa: BLE001 - a model error is a result, never a dead thread
            message = f"{type(e).__name__}: {e}" if not _is_user_error(e) else str(e)
            return self._result(request, start, error=message, note=traceback.format_exc(limit=3))
        finally:
            self.jobs_run += 1
        return self._result(request, start, value=value, note=note)

    def _result(self, request: Request, start: float, **kw: Any) -> Result:
        return Result(request.id, request.channel, request.label, elapsed_s=time.perf_counter() - start,
                      device=self.device, **kw)

    def _release_cuda(self) -> None:
        import torch

        self._models = {k: m.to("cpu") for k, m in self._models.items()}
        torch.cuda.empty_cache()


def _is_user_error(e: Exception) -> bool:
    """Errors whose message is written for users (no need to prefix the exception class)."""
    from models.checkpoint import CheckpointError
    from models.data import DataError

    return isinstance(e, (CheckpointError, DataError))
