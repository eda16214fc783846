"""What a job on the inference worker may use: its `JobContext`, and the `Cancelled` exception a
cancelled long job is told about. Qt-free, so explorer/jobs and the command line use it without
a window."""
from __future__ import annotations

import os
from collections.abc import Callable, Generator, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from explorer.worker import InferenceWorker, Request

T = TypeVar("T")


class Cancelled(Exception):
    """Thrown into a long job at the step where it is cancelled. A job that streams partial
    results may catch it to yield what it has already made, and must then end (re-raise or
    return)."""


_MISSING = object()


class JobContext:
    """What a job may use: the device, cached models and values, and whether it is still wanted."""

    def __init__(self, worker: InferenceWorker, request: Request):
        self._worker = worker
        self.request = request

    @property
    def device(self) -> str:
        return self._worker.device

    def model(self, source: str) -> Any:
        """The model opened from `source` (bundled name or path), on this worker's device. A file
        changed on disk since it was opened is opened again."""
        return self._worker.model(source)

    def model_key(self, source: str) -> tuple[Any, ...]:
        """Names the version of the model file `source`: (path, size, mtime). Cache keys of values
        computed from a model start with it, so an overwritten file does not bring old values back."""
        return file_key(source)

    def cached(self, key: Hashable, compute: Callable[[], Generator[Any, None, T]]) -> Generator[Any, None, T]:
        """`yield from ctx.cached(key, compute)`: the value stored under key, else the result of
        the step iterator `compute()` (its steps pass through), stored for next time."""
        value = self._worker.values.get(key, _MISSING)
        if value is _MISSING:
            value = yield from compute()
            self._worker.values.put(key, value)
        return value

    def cached_value(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value stored under key, else `compute()`, stored for next time."""
        value = self._worker.values.get(key, _MISSING)
        if value is _MISSING:
            value = compute()
            self._worker.values.put(key, value)
        return value

    def dataset(self, model: Any, split: str = "test", data: str | None = None) -> Any:
        """A split of the data `model` was trained on (or of `data` when given: models.data.load_dataset),
        fitted to its image shape, cached. DataError when it is not here or not known."""
        from models.data import load_dataset, resolve_data_dir
        from models.training_data import data_for

        data = data_for(model, data)
        shape = tuple(int(s) for s in model.image_shape)
        return self.cached_value(("dataset", str(resolve_data_dir(data)), split, shape),
                                 lambda: load_dataset(data, split=split, image_shape=shape))

    @property
    def cancelled(self) -> bool:
        """True once the job is no longer wanted (cancelled or superseded): it stops at its next step."""
        return self._worker.is_unwanted(self.request)

    @property
    def others_waiting(self) -> bool:
        """True while another request waits for the thread: a long job ends its step soon."""
        return self._worker.has_pending()


def file_key(source: str) -> tuple[Any, ...]:
    """(resolved path, size, mtime in ns) of the file a model source names, and of its JSON
    sidecar when there is one; the bare source when it names no file (the loader then says why)."""
    import resources

    path = Path(source).expanduser()
    if not path.exists() and source in resources.bundled_checkpoints():
        path = resources.checkpoint_path(source)
    key: list[Any] = [str(source)]
    for candidate in (path, path.with_name(path.name + ".json"), path.with_suffix(".json")):
        try:
            stat = os.stat(candidate)
        except (OSError, ValueError):
            continue
        key += [str(candidate.resolve()), stat.st_size, stat.st_mtime_ns]
    return tuple(key)
