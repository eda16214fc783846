"""Files written under a temporary name and renamed over their destination once complete.

A reader (or a crash, or a cancelled export) never sees half a file: the data goes to a hidden
file in the same folder, so the final rename is atomic, and that file is removed if anything goes
wrong. Files come out world-readable (0o644) whatever the writer created them with: models,
exports and settings are meant to be shared.

Removing the temporary file never raises: on a read-only or vanished folder that removal fails
too, and its error must not hide the one that says what went wrong.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o644


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
    temp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        yield temp
        _sync(temp)
        os.chmod(temp, FILE_MODE)
        os.replace(temp, path)
    finally:
        remove_quietly(temp)


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
