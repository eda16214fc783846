"""The one atomic file writer: all or nothing, never a stray temporary file."""
from __future__ import annotations

import stat

import pytest

from models.atomic import atomic_path, atomic_write_bytes, atomic_write_text


def test_a_finished_block_replaces_the_file_world_readable(tmp_path):
    target = tmp_path / "sub" / "out.bin"
    atomic_write_bytes(target, b"old")
    with atomic_path(target) as temp:
        assert temp.parent == target.parent and temp.name != target.name
        temp.write_bytes(b"new")
        assert target.read_bytes() == b"old"      # readers see the old file until the rename
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["out.bin"]


def test_a_failed_block_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out" / "settings.json"
    atomic_write_text(target, "kept")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as temp:
            temp.write_text("half")
            raise KeyboardInterrupt
    assert target.read_text() == "kept"
    assert [p.name for p in target.parent.iterdir()] == ["settings.json"]


def test_overwrite_false_refuses_an_existing_file_before_writing(tmp_path):
    target = tmp_path / "out" / "a.gif"
    target.parent.mkdir()
    target.write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        with atomic_path(target, overwrite=False):
            pytest.fail("the block must not run")
    assert target.read_bytes() == b"mine"
    assert [p.name for p in target.parent.iterdir()] == ["a.gif"]


def test_a_cleanup_that_fails_never_hides_the_error_of_the_block(tmp_path, monkeypatch):
    import errno
    import os

    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(os, "unlink", read_only)
    with pytest.raises(ValueError, match="the real problem"):
        with atomic_path(tmp_path / "x.bin"):
            raise ValueError("the real problem")


def test_the_next_write_sweeps_stale_temporary_files_of_our_naming(tmp_path):
    import os
    import time

    folder = tmp_path / "exports"
    folder.mkdir()
    hour_ago = time.time() - 2 * 3600
    stale = folder / ".walk.gif.4242.0badc0de.tmp"          # left by a writer killed long ago
    fresh = folder / ".walk.gif.4243.00c0ffee.tmp"          # a live writer's, in another process
    foreign = folder / ".notes.txt.tmp"                     # not ours: a different naming
    for path in (stale, fresh, foreign):
        path.write_bytes(b"x" * 100)
    for path in (stale, foreign):
        os.utime(path, (hour_ago, hour_ago))
    (folder / "sub").mkdir()
    deep = folder / "sub" / ".old.gif.1.12345678.tmp"
    deep.write_bytes(b"x")
    os.utime(deep, (hour_ago, hour_ago))

    atomic_write_bytes(folder / "new.gif", b"gif")
    assert sorted(p.name for p in folder.iterdir()) == sorted([fresh.name, foreign.name, "new.gif", "sub"])
    assert deep.exists()


def test_abandoned_writes_are_removed_and_never_renamed(tmp_path):
    import threading

    from models.atomic import WriteAbandoned, abandon_writes

    target = tmp_path / "out" / "out.gif"
    started, release, errors = threading.Event(), threading.Event(), []

    def writer() -> None:
        try:
            with atomic_path(target) as temp:
                temp.write_bytes(b"half")
                started.set()
                release.wait(10)
        except WriteAbandoned as e:
            errors.append(e)

    thread = threading.Thread(target=writer)
    thread.start()
    assert started.wait(10)
    assert abandon_writes() == [target]
    assert list(target.parent.iterdir()) == []    # gone at once, while the writer still holds it
    release.set()
    thread.join(10)
    assert errors and list(target.parent.iterdir()) == []
