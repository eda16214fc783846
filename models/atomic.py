"""Files written under a temporary name and renamed over their destination once complete.

A reader (or a crash, or a cancelled export) never sees half a file: the data goes to a hidden
file in the same folder, so the final rename is atomic, and that file is removed if anything goes
wrong. Files come out world-readable (0o644) whatever the writer created them with: models,
exports and settings are meant to be shared.

Removing the temporary file never raises: on a read-only or vanished folder that removal fails
too, and its error must not hide the one that says what went wrong.

A process that must end while another of its threads is still writing (Ctrl+C or SIGTERM during a
long command) calls `abandon_writes`: the temporary files go at once and no rename follows. What a
killed process could not remove (SIGKILL, a power cut) is swept from a folder the next time this
module writes there, once it is old enough that no live writer can own it.
"""
from __future__ import annotations

import os
import re
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o644
# A temporary file untouched this long belongs to a writer that died: live writers touch theirs
# at every write and rename it within moments of the last one.
STALE_AFTER_S = 3600.0
MAX_SWEPT_ENTRIES = 100_000      # a sweep looks at no more of a huge folder than this
_TEMP_NAME = re.compile(r"\..+\.\d+\.[0-9a-f]{8}\.tmp\Z", re.DOTALL)

_lock = threading.Lock()
_writing: dict[Path, Path] = {}    # temporary file -> destination, for each write in progress
_swept: set[Path] = set()          # folders swept by this process


class WriteAbandoned(Exception):
    """The write was abandoned (`abandon_writes`) before it was complete; nothing was written."""


@contextmanager
def atomic_path(path: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """A temporary path next to `path` for the block to write; renamed over `path` when the block
    ends normally, removed on any exception (KeyboardInterrupt and cancellations included).

    The folder is created if needed. With overwrite=False an existing `path` raises
    FileExistsError before anything is written."""
    path = Path(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep_once(path.parent)
    temp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    with _lock:
        _writing[temp] = path
    try:
        yield temp
        try:
            _sync(temp)
            os.chmod(temp, FILE_MODE)
        except FileNotFoundError:
            with _lock:
                abandoned = temp not in _writing
            if abandoned:   # abandon_writes removed it
                raise WriteAbandoned(f"writing {path} was abandoned; nothing was written") from None
            raise
        with _lock:
            if _writing.pop(temp, None) is None:
                raise WriteAbandoned(f"writing {path} was abandoned; nothing was written")
            os.replace(temp, path)
    finally:
        with _lock:
            _writing.pop(temp, None)
        remove_quietly(temp)


def abandon_writes() -> list[Path]:
    """Ends every write in progress in this process: each temporary file is removed now and none
    will be renamed into place. For a process about to exit while other threads still write.
    Returns the destinations that were not written."""
    with _lock:
        writing = dict(_writing)
        _writing.clear()
    for temp in writing:
        remove_quietly(temp)
    return list(writing.values())


def sweep_stale_temp_files(folder: str | Path, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Removes the temporary files of this module's naming in `folder` (not its sub-folders) that
    no write of this process owns and nothing has touched for `older_than_s` seconds; returns them."""
    folder = Path(folder)
    removed: list[Path] = []
    now = time.time()
    try:
        with os.scandir(folder) as entries:
            for count, entry in enumerate(entries):
                if count >= MAX_SWEPT_ENTRIES:
                    break
                if not _TEMP_NAME.match(entry.name):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                path = folder / entry.name
                with _lock:
                    ours = path in _writing
                if ours or not stat.S_ISREG(info.st_mode) or now - info.st_mtime < older_than_s:
                    continue
                remove_quietly(path)
                removed.append(path)
    except OSError:
        pass      # an unreadable folder: the write itself will say what is wrong
    return removed


def _sweep_once(folder: Path) -> None:
    with _lock:
        if folder in _swept:
            return
        _swept.add(folder)
    sweep_stale_temp_files(folder)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as temp, open(temp, "xb") as f:
        f.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as temp, open(temp, "x", encoding="utf-8") as f:
        f.write(text)


def remove_quietly(path: Path) -> None:
    """Removes a file if it is there; a file that cannot be removed is left (never an error)."""
    try:
        os.unlink(path)
    except OSError:
        pass


def _sync(path: Path) -> None:
    # The rename must not reach the disk before the data does, or a crash could leave an empty file.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
