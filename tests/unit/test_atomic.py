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
