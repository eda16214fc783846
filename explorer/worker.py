"""The inference thread: the one place where models run.

Views submit `Request`s through their channels (explorer/channel.py). A request's job runs here
with a `JobContext` that gives it the models and the worker's caches. A job either returns its
value at once (an interactive job: a frame, a preview) or returns a step iterator (a long job:
a sampling run, directions, a map, an inversion, an export, a measurement; see models/steps.py).

The worker is cooperative: it starts every pending request before it advances a long job by one
step, and it advances the long jobs of different channels in turn. So a slider drag in one view
is served between two steps of a diffusion run in another, and two long jobs share the thread.
Each channel keeps only its newest pending request; a newer request supersedes a long job of the
same channel at its next step, and a cancel stops one at its next step.

Every submitted request ends in exactly one `Result`: done, error, superseded or cancelled. A
failing job is a result, never a dead thread; so is a model whose output is not finite.
"""
from __future__ import annotations

import inspect
import itertools
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Callable, Generator, Hashable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from explorer.job_context import Cancelled, JobContext, file_key

_ids = itertools.count(1)

MODEL_CACHE_SIZE = 6        # opened models kept (a bundled model is a few MB, a user's may be more)
VALUE_CACHE_SIZE = 32       # directions, encoded test sets, datasets, inversions
STOP_WAIT_MS = 1000         # closing the window waits this long for a job between two steps
# While long jobs run, requests started between their steps may take at most this share of the
# thread: a slider dragged at 120 Hz is then served at about screen rate, and a diffusion run
# beside it keeps most of its speed.
INTERACTIVE_SHARE = 0.1


class Status(str, Enum):
    DONE = "done"
    ERROR = "error"
    SUPERSEDED = "superseded"   # a newer request of the same channel took its place
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Request:
    """One unit of work. `job(ctx)` runs on the worker thread and returns plain data (NumPy
    arrays, numbers, dataclasses of them; never tensors on a device), or a step iterator that
    yields `models.steps.Progress` between steps and returns that data."""

    channel: str
    job: Callable[[JobContext], Any]
    label: str = ""
    id: int = field(default_factory=lambda: next(_ids))


@dataclass(frozen=True)
class Result:
    request_id: int
    channel: str
    label: str
    status: Status
    value: Any = None
    error: str | None = None
    elapsed_s: float = 0.0      # time spent in the job itself
    device: str = "cpu"
    note: str = ""              # e.g. "CUDA ran out of memory; switched to the CPU"

    @property
    def ok(self) -> bool:
        return self.status is Status.DONE

    @property
    def cancelled(self) -> bool:
        """Ended without running to its end: cancelled or superseded."""
        return self.status in (Status.CANCELLED, Status.SUPERSEDED)


@dataclass(frozen=True)
class JobProgress:
    request_id: int
    channel: str
    done: int
    total: int
    partial: Any = None         # a streamed intermediate value (e.g. diffusion steps)
    message: str = ""


class LRUCache:
    """A bounded mapping that forgets the least recently used entry first."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, default: Any = None) -> Any:
        if key not in self._items:
            return default
        self._items.move_to_end(key)
        return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def values(self) -> list[Any]:
        return list(self._items.values())

    def clear(self) -> None:
        self._items.clear()


def pick_device_name(preference: str = "auto") -> str:
    """The device the worker runs on: the preferred one, or the CPU when it is missing."""
    from models.devices import pick_device

    return pick_device(preference).type


@dataclass
class _LongJob:
    request: Request
    steps: Generator[Any, None, Any]
    started: float
    note: str = ""


class InferenceWorker(QThread):
    """Owns the torch device. Submit requests from the UI thread; results arrive as signals."""

    result_ready = Signal(object)       # Result
    progress_changed = Signal(object)   # JobProgress
    device_changed = Signal(str, str)   # device name, message

    def __init__(self, device: str = "auto", parent: QObject | None = None):
        super().__init__(parent)
        self.device = pick_device_name(device)
        self._lock = threading.Condition()
        self._pending: dict[str, Request] = {}     # newest request per channel, in arrival order
        self._cancel_upto: dict[str, int] = {}     # per channel: ids up to this are cancelled
        self._newest: dict[str, int] = {}          # per channel: the newest id submitted
        self._long: deque[_LongJob] = deque()      # long jobs between two steps, in turn
        self._stopping = False
        self.models = LRUCache(MODEL_CACHE_SIZE)   # file key -> model (on self.device)
        self.values = LRUCache(VALUE_CACHE_SIZE)
        self._fallback_note = ""                   # set when CUDA ran out of memory in a job
        self._next_start = 0.0                     # while long jobs run, no request starts before this
        self.jobs_run = 0

    # -- any thread ---------------------------------------------------------------------------
    def submit(self, request: Request) -> int:
        with self._lock:
            if self._stopping:
                dropped = request
            else:
                dropped = self._pending.pop(request.channel, None)   # re-insert: arrival order
                self._pending[request.channel] = request
                self._newest[request.channel] = request.id
                self._lock.notify()
        if dropped is request:
            self._emit_unrun(request, Status.CANCELLED)
        elif dropped is not None:
            self._emit_unrun(dropped, Status.SUPERSEDED)
        return request.id

    def cancel(self, channel: str, upto: int | None = None) -> None:
        """Cancels the requests of `channel` up to id `upto` (default: all so far): a pending one
        is dropped at once, a running long job stops at its next step."""
        with self._lock:
            limit = self._newest.get(channel, 0) if upto is None else upto
            self._cancel_upto[channel] = max(limit, self._cancel_upto.get(channel, 0))
            pending = self._pending.get(channel)
            dropped = self._pending.pop(channel) if pending is not None and pending.id <= limit else None
            self._lock.notify()
        if dropped is not None:
            self._emit_unrun(dropped, Status.CANCELLED)

    def has_pending(self) -> bool:
        with self._lock:
            return bool(self._pending)

    def is_unwanted(self, request: Request) -> bool:
        with self._lock:
            return (self._stopping or self._newest.get(request.channel, 0) > request.id
                    or self._cancel_upto.get(request.channel, 0) >= request.id)

    def device_job(self, name: str) -> Callable[[JobContext], str]:
        """A job that switches the worker to device `name` (the CPU when it is missing); models
        move lazily the next time a job asks for them."""
        device = pick_device_name(name)

        def job(ctx: JobContext) -> str:
            self.device = device
            return device

        return job

    def stop(self, timeout_ms: int = STOP_WAIT_MS) -> bool:
        """Cancels everything and stops the thread; waits up to timeout_ms for a job that is in the
        middle of a step. True when the thread has ended."""
        with self._lock:
            self._stopping = True
            dropped = list(self._pending.values())
            self._pending.clear()
            self._lock.notify()
        for request in dropped:
            self._emit_unrun(request, Status.CANCELLED)
        return self.wait(timeout_ms)

    # -- the worker thread --------------------------------------------------------------------
    def model(self, source: str) -> Any:
        key = file_key(source)
        model = self.models.get(key)
        if model is None:
            from models.checkpoint import open_model

            model = open_model(source)
        if str(model.device.type) != self.device:
            model = model.to(self.device)
        self.models.put(key, model)
        return model

    def run(self) -> None:
        from models.devices import threads_beside_a_ui

        import torch

        # The UI thread needs a core of its own to stay smooth; the setting is this thread's own.
        torch.set_num_threads(threads_beside_a_ui())
        while True:
            with self._lock:
                while not self._pending and not self._long and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    break
                start_one = self._pending and (not self._long or time.perf_counter() >= self._next_start)
                request = self._pending.pop(next(iter(self._pending))) if start_one else None
            if request is not None:
                began = time.perf_counter()
                self._start(request)
                if self._long:
                    took = time.perf_counter() - began
                    self._next_start = time.perf_counter() + took * (1 / INTERACTIVE_SHARE - 1)
            else:
                self._advance()
        while self._long:
            self._close(self._long.popleft(), Status.CANCELLED)

    def _start(self, request: Request) -> None:
        for job in [j for j in self._long if j.request.channel == request.channel]:
            self._long.remove(job)
            self._close(job, Status.SUPERSEDED)
        if self.is_unwanted(request):
            self._emit_unrun(request, Status.CANCELLED)
            return
        started = time.perf_counter()
        try:
            value = self._call(request)
        except Exception as e:  # noqa: BLE001 - a model error is a result, never a dead thread
            self._emit_error(request, started, e)
            return
        if inspect.isgenerator(value):
            self._long.append(_LongJob(request, value, started, note=self._fallback_note))
        else:
            self._emit(request, started, Status.DONE, value=value, note=self._fallback_note)

    def _advance(self) -> None:
        """One step of the long job whose turn it is."""
        job = self._long.popleft()
        if self.is_unwanted(job.request):
            newer = self._newest.get(job.request.channel, 0) > job.request.id
            self._close(job, Status.SUPERSEDED if newer else Status.CANCELLED)
            return
        try:
            report = next(job.steps)
        except StopIteration as finished:
            self._emit(job.request, job.started, Status.DONE, value=finished.value, note=job.note)
            return
        except Exception as e:  # noqa: BLE001
            if _is_cuda_oom(e, self.device):
                self._fall_back_to_cpu()
                self._start(job.request)       # the whole job again, on the CPU
            else:
                self._emit_error(job.request, job.started, e)
            return
        self._long.append(job)
        self._emit_progress(job.request, report)

    def _call(self, request: Request) -> Any:
        """job(ctx), once more on the CPU if CUDA runs out of memory (with a note saying so)."""
        self._fallback_note = ""
        try:
            return request.job(JobContext(self, request))
        except Exception as e:  # noqa: BLE001 - any CUDA OOM, whatever its class
            if not _is_cuda_oom(e, self.device):
                raise
            self._fall_back_to_cpu()
            return request.job(JobContext(self, request))

    def _fall_back_to_cpu(self) -> None:
        import torch

        for model in self.models.values():
            model.to("cpu")
        torch.cuda.empty_cache()
        self.device = "cpu"
        self._fallback_note = "CUDA ran out of memory; switched to the CPU"
        self.device_changed.emit(self.device, self._fallback_note)

    def _close(self, job: _LongJob, status: Status) -> None:
        """Stops a long job between two steps. A cancelled job is told so (Cancelled is thrown at
        its step) and may still yield what it has made; a superseded one is simply closed."""
        try:
            if status is Status.CANCELLED and not self._stopping:
                report = job.steps.throw(Cancelled())
                while True:
                    self._emit_progress(job.request, report)
                    report = next(job.steps)
        except (Cancelled, StopIteration):
            pass
        except Exception as e:  # noqa: BLE001
            self._emit_error(job.request, job.started, e)
            return
        finally:
            job.steps.close()
        self._emit(job.request, job.started, status)

    # -- results ------------------------------------------------------------------------------
    def _emit(self, request: Request, started: float, status: Status, **kw: Any) -> None:
        self.jobs_run += 1
        self.result_ready.emit(Result(request.id, request.channel, request.label, status,
                                      elapsed_s=time.perf_counter() - started, device=self.device, **kw))

    def _emit_error(self, request: Request, started: float, e: Exception) -> None:
        message = str(e) if _is_user_error(e) else f"{type(e).__name__}: {e}"
        self._emit(request, started, Status.ERROR, error=message, note=traceback.format_exc(limit=3))

    def _emit_progress(self, request: Request, report: Any) -> None:
        if report is not None:
            self.progress_changed.emit(JobProgress(request.id, request.channel, int(report.done),
                                                   int(report.total), report.partial, report.message))

    def _emit_unrun(self, request: Request, status: Status) -> None:
        self.result_ready.emit(Result(request.id, request.channel, request.label, status, device=self.device))


def _is_cuda_oom(e: Exception, device: str) -> bool:
    return device == "cuda" and "out of memory" in str(e).lower()


def _is_user_error(e: Exception) -> bool:
    """Errors whose message is written for users (no need to prefix the exception class). Our code
    raises ValueError "saying why" when a choice does not apply (a method, a class, a file)."""
    from models.checkpoint import CheckpointError
    from models.data import DataError
    from models.capabilities import ModelOutputError

    return isinstance(e, (CheckpointError, DataError, ModelOutputError, ValueError))
