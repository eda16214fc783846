"""A view's line to the inference worker.

A view gets its channels from the context (`context.channel("latent")`), submits jobs through
them and hears back only about its own requests: `result_ready` for each answer it should act
on, `progress_changed` for the newest request's progress; `busy` says whether it waits for an
answer. The bookkeeping every view would otherwise repeat lives here: the newest id, results
that arrive late, and what a reset leaves behind.

Which results reach the view:
- the newest request's result, whatever it is: done, error, cancelled or superseded (so a view
  always learns that what it waits for has ended);
- with `intermediate=True`, also the result of an older request when it is newer than the last
  one shown (a slider drag shows every frame the worker had time for, never an older one);
- nothing submitted before the last `reset()`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from explorer.worker import JobContext, JobProgress, Request, Result, Status

if TYPE_CHECKING:
    from explorer.worker import InferenceWorker


class Channel(QObject):
    result_ready = Signal(object)       # Result
    progress_changed = Signal(object)   # JobProgress of the newest request

    def __init__(self, name: str, worker: InferenceWorker, intermediate: bool = False,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self.intermediate = intermediate
        self._worker = worker
        self._newest = 0        # the newest id submitted
        self._floor = 0         # ids below this were submitted before the last reset
        self._shown = 0         # the newest id whose value was delivered
        self._open = False      # the newest request has not ended yet
        self.delivered = 0      # results handed to the view
        self.dropped = 0        # results that came too late to show

    @property
    def busy(self) -> bool:
        """True while the newest request has not ended."""
        return self._open

    @property
    def newest_id(self) -> int:
        return self._newest

    def submit(self, job: Callable[[JobContext], Any], label: str = "") -> int:
        """Queues `job` (replacing this channel's pending request, if any); returns its id."""
        request = Request(self.name, job, label)
        self._newest = request.id
        self._open = True
        return self._worker.submit(request)

    def cancel(self) -> None:
        """Stops the channel's requests; the newest one's end (usually "cancelled") still comes."""
        if self._open:
            self._worker.cancel(self.name, upto=self._newest)

    def reset(self) -> None:
        """Forgets everything submitted so far (e.g. the model changed): cancels it and drops
        whatever it still sends."""
        if self._open:
            self._worker.cancel(self.name, upto=self._newest)
        self._floor = self._newest + 1
        self._open = False

    # -- from the context -----------------------------------------------------------------------
    def receive_result(self, result: Result) -> None:
        if result.request_id < self._floor:
            self.dropped += 1
            return
        newest = result.request_id == self._newest
        has_value = result.status in (Status.DONE, Status.ERROR)
        if newest:
            self._open = False
        if newest or (self.intermediate and has_value and result.request_id > self._shown):
            if has_value:
                self._shown = result.request_id
            self.delivered += 1
            self.result_ready.emit(result)
        elif has_value:
            self.dropped += 1

    def receive_progress(self, progress: JobProgress) -> None:
        if progress.request_id == self._newest and progress.request_id >= self._floor and self._open:
            self.progress_changed.emit(progress)
