"""The bookmarks file under stress: huge, hostile, shared by two instances, from a newer version,
in a folder that cannot be written. The store must start, say what happened, and lose nothing."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import explorer.bookmarks as bookmarks
from explorer.bookmarks import FORMAT, Bookmark, BookmarkStore, BookmarksFull

ROOT = Path(__file__).resolve().parents[2]


def write_file(path: Path, marks: list[Bookmark], version: int = FORMAT) -> None:
    path.write_text(json.dumps({"format": version, "bookmarks": [b.to_dict() for b in marks]}), encoding="utf-8")


def marks(n: int, model: str = "vae", prefix: str = "p") -> list[Bookmark]:
    return [Bookmark(f"{prefix}{i}", model, [float(i), 0.5], created=1000.0 + i) for i in range(n)]


def names(store: BookmarkStore) -> set[str]:
    return {b.name for b in store.all()}


def on_disk(path: Path) -> list[str]:
    return [entry["name"] for entry in json.loads(path.read_text())["bookmarks"]]


# -- size -----------------------------------------------------------------------------------------

def test_a_file_too_large_to_read_is_set_aside_unparsed(isolated_config, monkeypatch):
    path = isolated_config / "bookmarks.json"
    write_file(path, marks(400))
    monkeypatch.setattr(bookmarks, "MAX_FILE_BYTES", path.stat().st_size - 1)
    monkeypatch.setattr(bookmarks.json, "loads", lambda *a, **k: pytest.fail("a file too large was parsed"))
    store = BookmarkStore()
    assert store.all() == [] and not path.exists()
    assert "too large" in store.warning and "moved to bookmarks.too-large-" in store.warning
    aside = list(isolated_config.glob("bookmarks.too-large-*.json"))
    assert len(aside) == 1 and aside[0].stat().st_size == bookmarks.MAX_FILE_BYTES + 1


def test_past_the_most_bookmarks_the_newest_are_kept_and_the_file_copied(isolated_config, monkeypatch):
    path = isolated_config / "bookmarks.json"
    write_file(path, marks(80)[::-1])           # newest first in the file: order must not matter
    monkeypatch.setattr(bookmarks, "MAX_BOOKMARKS", 50)
    store = BookmarkStore()
    assert names(store) == {f"p{i}" for i in range(30, 80)}
    assert "30 oldest bookmark(s) were not loaded" in store.warning
    assert len(on_disk(next(isolated_config.glob("bookmarks.over-limit-*.json")))) == 80
    with pytest.raises(BookmarksFull):
        store.add(Bookmark("one more", "vae", [0.0]))
    store.add(Bookmark("p79", "vae", [9.0]))    # replacing one is not adding one
    assert store.flush() and len(on_disk(path)) == 50


def test_saving_happens_off_the_calling_thread_and_edits_coalesce(isolated_config, monkeypatch):
    """An edit returns at once; while one write runs, further edits wait and go out together."""
    writes, gate = [], threading.Event()
    real_write = bookmarks.atomic_write_text

    def slow_write(path, text):
        writes.append((threading.current_thread(), len(json.loads(text)["bookmarks"])))
        gate.wait(10)
        real_write(path, text)

    monkeypatch.setattr(bookmarks, "atomic_write_text", slow_write)
    store = BookmarkStore()
    first, *others = marks(200)
    store.add(first)
    deadline = time.monotonic() + 10
    while not writes:                           # the first save is now held in its write
        assert time.monotonic() < deadline
        time.sleep(0.01)
    for bookmark in others:
        store.add(bookmark)
    gate.set()
    assert store.flush()
    assert all(thread is not threading.main_thread() for thread, _ in writes)
    assert [count for _, count in writes] == [1, 200]
    assert len(on_disk(store.path)) == 200


# -- two instances --------------------------------------------------------------------------------

def test_two_stores_on_one_file_keep_each_others_bookmarks(isolated_config):
    path = isolated_config / "bookmarks.json"
    write_file(path, marks(1, prefix="shared"))
    a, b = BookmarkStore(), BookmarkStore()
    for i in range(50):
        a.add(Bookmark(f"a{i}", "vae", [1.0]))
        b.add(Bookmark(f"b{i}", "vae", [2.0]))
        if i % 7 == 0:
            a.flush()
    assert a.flush() and b.flush()
    assert len(on_disk(path)) == 101
    assert b.remove("vae", "shared0") and b.flush()
    a.add(Bookmark("a-last", "vae", [3.0]))     # a still has "shared" in memory: it must stay gone
    assert a.flush()
    kept = on_disk(path)
    assert len(kept) == 101 and "shared0" not in kept and "a-last" in kept
    assert json.loads(path.read_text())["format"] == FORMAT
    assert "b7" in names(a)                     # a's list now shows what b saved


CHILD = """
import sys
from explorer.bookmarks import Bookmark, BookmarkStore
store = BookmarkStore()
for i in range(50):
    store.add(Bookmark(f"{sys.argv[1]}{i}", "vae", [float(i)]))
    store.flush()
"""


def test_two_processes_saving_at_once_lose_nothing(isolated_config):
    path = isolated_config / "bookmarks.json"
    write_file(path, marks(1, prefix="shared"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), LATENT_EXPLORER_CONFIG=str(isolated_config))
    children = [subprocess.Popen([sys.executable, "-c", CHILD, tag], env=env, stderr=subprocess.PIPE, text=True)
                for tag in ("a", "b")]
    for child in children:
        assert child.wait(120) == 0, child.stderr.read()
    assert len(on_disk(path)) == 101


# -- versions -------------------------------------------------------------------------------------

def test_a_file_from_a_newer_version_is_read_but_never_rewritten(isolated_config):
    path = isolated_config / "bookmarks.json"
    write_file(path, marks(3), version=FORMAT + 1)
    before = path.read_bytes()
    store = BookmarkStore()
    assert names(store) == {"p0", "p1", "p2"}
    assert "read-only" in store.warning and f"format {FORMAT + 1}" in store.warning
    store.add(Bookmark("mine", "vae", [0.0]))
    assert "mine" in names(store)
    assert not store.flush()                    # kept in memory, not written
    assert path.read_bytes() == before


def test_a_newer_version_writing_meanwhile_stops_our_saves(qtbot, isolated_config):
    path = isolated_config / "bookmarks.json"
    store = BookmarkStore()
    store.add(Bookmark("first", "vae", [0.0]))
    assert store.flush()
    write_file(path, marks(2), version=FORMAT + 1)    # a newer app instance saved since
    before = path.read_bytes()
    with qtbot.waitSignal(store.problem, timeout=5000) as problem:
        store.add(Bookmark("second", "vae", [0.0]))
    assert f"format {FORMAT + 1}" in problem.args[0] and "not saved" in problem.args[0]
    assert not store.flush() and path.read_bytes() == before
    assert store.read_only


# -- hostile or unreachable files -----------------------------------------------------------------

def test_a_file_nested_100000_deep_is_set_aside(isolated_config):
    path = isolated_config / "bookmarks.json"
    path.write_text('{"format": 1, "bookmarks": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    store = BookmarkStore()
    assert store.all() == [] and "could not be read" in store.warning
    assert len(list(isolated_config.glob("bookmarks.corrupt-*.json"))) == 1
    store.add(Bookmark("fresh", "vae", [0.0]))
    assert store.flush() and on_disk(path) == ["fresh"]


def test_a_fifo_named_like_the_file_does_not_block(isolated_config):
    os.mkfifo(isolated_config / "bookmarks.json")
    store = BookmarkStore()                     # blocked forever before: nobody writes the FIFO
    assert store.all() == [] and "not a regular file" in store.warning


def test_a_corrupt_file_that_cannot_be_moved_is_left_alone(isolated_config, monkeypatch):
    """A read-only config folder: the file can be neither moved aside nor written over."""
    path = isolated_config / "bookmarks.json"
    path.write_text("{corrupt", encoding="utf-8")

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(shutil, "move", read_only)
    store = BookmarkStore()
    assert store.all() == [] and store.read_only
    assert "could not be moved aside" in store.warning and "Read-only file system" in store.warning
    store.add(Bookmark("new", "vae", [0.0]))
    assert not store.flush()
    assert path.read_text() == "{corrupt"


def test_a_really_read_only_config_folder(isolated_config):
    path = isolated_config / "bookmarks.json"
    path.write_text("{corrupt", encoding="utf-8")
    isolated_config.chmod(0o555)
    try:
        if os.access(isolated_config, os.W_OK):
            pytest.skip("this user writes into read-only folders (root)")
        store = BookmarkStore()
        assert store.all() == [] and "could not be moved aside" in store.warning
    finally:
        isolated_config.chmod(0o755)


def test_a_failed_save_is_reported_and_retried_at_the_next_change(qtbot, isolated_config, monkeypatch):
    real_write, failing = bookmarks.atomic_write_text, [True]

    def full_disk(path, text):
        if failing[0]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(path, text)

    monkeypatch.setattr(bookmarks, "atomic_write_text", full_disk)
    store = BookmarkStore()
    with qtbot.waitSignal(store.problem, timeout=5000) as problem:
        store.add(Bookmark("kept", "vae", [0.0]))
    assert "No space left on device" in problem.args[0] and store.save_problem
    assert not store.flush()
    failing[0] = False
    store.add(Bookmark("next", "vae", [0.0]))
    assert store.flush() and sorted(on_disk(store.path)) == ["kept", "next"] and store.save_problem is None


@pytest.mark.slow
def test_ten_thousand_bookmarks_load_and_save(isolated_config):
    """The most the store keeps still loads and saves (figures in the report, not asserted)."""
    path = isolated_config / "bookmarks.json"
    write_file(path, [Bookmark(f"p{i}", "vae", [0.123456789] * 64, created=float(i))
                      for i in range(bookmarks.MAX_BOOKMARKS)])
    began = time.perf_counter()
    store = BookmarkStore()
    loaded = time.perf_counter() - began
    assert len(store.all()) == bookmarks.MAX_BOOKMARKS and store.warning is None
    store.remove("vae", "p0")
    assert store.flush() and len(on_disk(path)) == bookmarks.MAX_BOOKMARKS - 1
    print(f"loaded {bookmarks.MAX_BOOKMARKS} bookmarks in {loaded:.2f} s")
