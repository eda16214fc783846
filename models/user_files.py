"""Opening and reading a user's file without letting the file decide how long it takes.

A FIFO, a socket or a device named `x.safetensors` would block a plain `open()` or `read()`
forever, or read without end, so a file is checked to be a regular file before one byte is read,
and every read is bounded by a limit the caller gives (models/limits.py holds them).
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from models.errors import CheckpointError

# O_NONBLOCK makes opening a FIFO return at once instead of waiting for a writer; the file type
# is then checked on the open descriptor, so what is checked is what gets read.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def describe_size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def open_regular_file(path: Path, what: str, max_bytes: int) -> BinaryIO:
    """`path` opened for reading in binary mode, if it is a regular file of at most max_bytes;
    CheckpointError saying what it is otherwise. `what` names the file for messages ("sidecar")."""
    try:
        before = os.stat(path)          # refuse devices before even opening them
    except OSError as exc:
        raise CheckpointError(os_error_message(path, what, exc)) from None
    _check_regular(path, what, before.st_mode)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise CheckpointError(os_error_message(path, what, exc)) from None
    try:
        st = os.fstat(fd)
        _check_regular(path, what, st.st_mode)
        if st.st_size > max_bytes:
            raise CheckpointError(f"{what} {path} is {describe_size(st.st_size)}, more than the "
                                  f"{describe_size(max_bytes)} a {what} may be; it is not one, or "
                                  f"it is damaged")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)    # a regular file never blocks: plain reads from here on
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: Path, what: str, max_bytes: int) -> bytes:
    """All bytes of a regular file of at most max_bytes (CheckpointError otherwise)."""
    with open_regular_file(path, what, max_bytes) as f:
        return read_at_most(f, max_bytes, path, what)


def read_at_most(f: BinaryIO, max_bytes: int, path: Path, what: str) -> bytes:
    """The rest of f, refusing a file that has grown past max_bytes, or past the size it had,
    since it was opened. (Asking for only what the file holds also keeps the reader from
    setting aside max_bytes of memory for one read.)"""
    try:
        expected = os.fstat(f.fileno()).st_size - f.tell()
        data = f.read(min(expected, max_bytes) + 1)
    except OSError as exc:
        raise CheckpointError(os_error_message(path, what, exc)) from None
    if len(data) > min(expected, max_bytes):
        raise CheckpointError(f"{what} {path} grew while it was read; open it once it is complete")
    return data


def read_exactly(f: BinaryIO, n: int, path: Path, what: str) -> bytes:
    """n bytes from f, or CheckpointError saying the file ends early."""
    try:
        data = f.read(n)
    except OSError as exc:
        raise CheckpointError(os_error_message(path, what, exc)) from None
    if len(data) != n:
        raise CheckpointError(f"{what} {path} ends early (truncated): a save or copy was "
                              f"interrupted; re-save or re-copy it")
    return data


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _check_regular(path: Path, what: str, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"{what} {path} is {file_kind(mode)}, not a regular file; "
                              f"pass the {what} itself")


def os_error_message(path: Path, what: str, exc: OSError) -> str:
    """A one-line message for an OSError met opening or reading path, true to its cause."""
    code = exc.errno
    if code == errno.ENOENT:
        return f"{what} {path} does not exist; check the path"
    if code in (errno.EACCES, errno.EPERM):
        return (f"cannot read {what} {path}: permission denied; check the file's permissions "
                f"(it must be readable by you)")
    if code == errno.ELOOP:
        return f"{what} {path} is a symbolic link that loops (or a chain of too many links); point it at a real file"
    if code == errno.EISDIR:
        return f"{what} {path} is a directory, not a regular file; pass the {what} itself"
    if code == errno.ENOTDIR:
        return f"{what} {path}: a folder on its path is a file; check the path"
    if code == errno.ENXIO:
        return f"{what} {path} is a socket or a device that cannot be read; pass a regular file"
    if code == errno.ENAMETOOLONG:
        return f"the path of {what} {path} is too long"
    return f"cannot read {what} {path}: {exc.strerror or exc}"
