"""Named points of a model's latent space, kept between runs in a JSON file in the config folder.

The store never blocks the window and never loses a bookmark:

- Reading is bounded: a file over MAX_FILE_BYTES is not parsed (it is moved aside and the store
  starts empty), and of more than MAX_BOOKMARKS entries the newest MAX_BOOKMARKS are kept (the full
  file is copied aside). A file that cannot be read is moved aside (bookmarks.corrupt-<time>.json);
  where it cannot be moved (a read-only folder) it is left alone and nothing is written over it.
  Each case leaves a `warning` for the window to show; a damaged file never stops the app.
- Saving happens on a background thread: an edit changes the list in memory, and the thread
  writes it out. Two app instances may share the file: each write takes a file lock, re-reads the
  file when someone else changed it, applies this store's own edits (adds and removals) on top,
  and writes the result atomically, so neither instance drops what the other saved.
- The file carries its format version; a file from a newer version of the app is read as far as
  it can be but never rewritten in the older format: changes stay in memory and `problem` says so.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import stat
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from PySide6.QtCore import QObject, Signal

from explorer.settings import config_dir
from models.atomic import atomic_write_text

FORMAT = 1
FILE_NAME = "bookmarks.json"
TEXT_TAG = "latent-explorer-point"

MAX_FILE_BYTES = 16 * 1024 * 1024     # some 10,000 bookmarks of 64-d points; parsing it takes ~0.2 s
MAX_BOOKMARKS = 10_000
MAX_NAME_CHARS = 200
MAX_LATENT_VALUES = 65_536            # numbers in one point (a 256 x 256 latent image)
LOCK_TIMEOUT_S = 10.0                 # another instance holds the lock for one write: milliseconds

Label = int | list[float] | None
Key = tuple[str, str]                 # (model_name, name)


class BookmarksFull(Exception):
    """The store holds MAX_BOOKMARKS bookmarks already; delete some before adding more."""


@dataclass(frozen=True)
class Bookmark:
    name: str
    model_name: str
    latent: list[float]
    label: Label = None          # a class index, class weights (blending), or None
    psi: float = 1.0             # GAN truncation
    created: float = field(default_factory=time.time)

    @property
    def key(self) -> Key:
        return (self.model_name, self.name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Bookmark:
        """A bookmark from its JSON form; ValueError saying what is wrong otherwise."""
        if not isinstance(data, dict):
            raise ValueError("a bookmark must be a JSON object")
        name = data.get("name")
        model = data.get("model_name")
        if not isinstance(name, str) or not isinstance(model, str):
            raise ValueError("a bookmark needs a 'name' and a 'model_name' (strings)")
        if len(name) > MAX_NAME_CHARS or len(model) > MAX_NAME_CHARS:
            raise ValueError(f"a bookmark's name and model name have at most {MAX_NAME_CHARS} characters")
        return cls(name=name, model_name=model, latent=_floats(data.get("latent"), "latent"),
                   label=_label(data.get("label")), psi=_number(data.get("psi", 1.0), "psi"),
                   created=_number(data.get("created", 0.0), "created"))


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, not {_shown(value)}")
    return float(value)


def _floats(values: Any, what: str) -> list[float]:
    if not isinstance(values, list) or not values:
        raise ValueError(f"{what} must be a non-empty list of numbers")
    if len(values) > MAX_LATENT_VALUES:
        raise ValueError(f"{what} has {len(values)} numbers, more than the {MAX_LATENT_VALUES} a point may have")
    # the quick check first: a file holds thousands of these lists
    if all(type(v) in (float, int) for v in values):
        floats = [float(v) for v in values]
        if all(map(math.isfinite, floats)):
            return floats
    return [_number(v, what) for v in values]   # raises, naming the value that is wrong


def _label(value: Any) -> Label:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < 2**31:
            raise ValueError(f"class index must be from 0 to {2**31 - 1}, not {_shown(value)}")
        return value
    return _floats(value, "label weights")


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 64 else "a huge integer"
    return text if len(text) <= 40 else text[:37] + "..."


# -- points as text (copy / paste) ---------------------------------------------------------------

def point_to_text(model_name: str, latent: list[float], label: Label = None, psi: float = 1.0) -> str:
    """One line of JSON that `point_from_text` reads back exactly (floats keep all their digits)."""
    return json.dumps({TEXT_TAG: FORMAT, "model": model_name, "latent": [float(v) for v in latent],
                       "label": label, "psi": float(psi)})


def point_from_text(text: str) -> dict[str, Any]:
    """{"model", "latent", "label", "psi"} from `point_to_text`'s JSON, or from a bare list of
    numbers ("0.1, -2, 0.5" or "[0.1 -2 0.5]"). ValueError with a readable message otherwise."""
    text = text.strip()
    if not text:
        raise ValueError("the clipboard is empty")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        if "latent" not in data:
            raise ValueError("the pasted JSON has no 'latent' list")
        model = data.get("model")
        return {"model": model if isinstance(model, str) else None,
                "latent": _floats(data["latent"], "latent"), "label": _label(data.get("label")),
                "psi": _number(data.get("psi", 1.0), "psi")}
    if isinstance(data, list):
        return {"model": None, "latent": _floats(data, "latent"), "label": None, "psi": 1.0}
    parts = [p for p in re.split(r"[\s,;\[\]()]+", text) if p]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ValueError("the pasted text is not a point: copy one with Copy point, or paste a "
                         "list of numbers") from None
    return {"model": None, "latent": _floats(numbers, "latent"), "label": None, "psi": 1.0}


# -- the file -----------------------------------------------------------------------------------

class _Unreadable(Exception):
    """The file cannot be read as bookmarks: it is set aside."""


class _TooLarge(_Unreadable):
    pass


@dataclass
class _Contents:
    """What a bookmarks file held, as far as it could be read."""

    items: dict[Key, Bookmark]
    format: int = FORMAT
    skipped: int = 0          # entries that could not be read
    dropped: int = 0          # readable entries past MAX_BOOKMARKS (the oldest)


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    """What tells whether a file changed since we last saw it (None: there is none)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _read_bytes(path: Path) -> bytes | None:
    """The file's bytes, None when there is none; _Unreadable for a file that is not a regular
    file or holds more than MAX_FILE_BYTES (checked before reading)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))   # a FIFO must not block us
    except FileNotFoundError:
        return None
    except OSError as e:
        raise _Unreadable(e.strerror or str(e)) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _Unreadable("it is not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise _TooLarge(f"{st.st_size / 2**20:.0f} MiB, more than the {MAX_FILE_BYTES // 2**20} MiB read")
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _TooLarge(f"more than the {MAX_FILE_BYTES // 2**20} MiB read")
    return data


def _parse(data: bytes) -> _Contents:
    try:
        doc = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise _Unreadable("it nests too deep to be bookmarks") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise _Unreadable(_short(e)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("bookmarks"), list):
        raise _Unreadable("no 'bookmarks' list")
    version = doc.get("format")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _Unreadable(f"no valid format version (got {_shown(version)})")
    items: dict[Key, Bookmark] = {}
    skipped = 0
    for entry in doc["bookmarks"]:
        try:
            bookmark = Bookmark.from_dict(entry)
        except ValueError:
            skipped += 1
            continue
        items.pop(bookmark.key, None)
        items[bookmark.key] = bookmark
    dropped = max(0, len(items) - MAX_BOOKMARKS)
    if dropped:
        newest = sorted(items.values(), key=lambda b: b.created)[dropped:]
        kept = {b.key for b in newest}
        items = {k: b for k, b in items.items() if k in kept}
    return _Contents(items, version, skipped, dropped)


def _line(bookmark: Bookmark) -> str:
    return json.dumps(bookmark.to_dict(), separators=(",", ":"), allow_nan=False)


def _document(lines: list[str]) -> str:
    """The file: one bookmark per line, readable in an editor and small."""
    return f'{{"format": {FORMAT}, "bookmarks": [\n' + ",\n".join(lines) + "\n]}\n"


# -- the store ----------------------------------------------------------------------------------

class BookmarkStore(QObject):
    """All bookmarks, every model's, in one JSON file. Emits `changed` after each edit (and when a
    save brought in bookmarks another instance saved), `saved` after each write, `problem` when a
    save fails or is refused (both from the saving thread: connect them to QObjects' slots)."""

    changed = Signal()
    saved = Signal()
    problem = Signal(str)
    _merged = Signal()        # from the saving thread: the file's merged contents are ready

    def __init__(self, path: str | Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.path = Path(path) if path is not None else config_dir() / FILE_NAME
        self.warning: str | None = None        # what went wrong reading the file at start
        self.save_problem: str | None = None   # the last save's failure; None once a save works
        self._read_only: str | None = None     # why nothing may be written over the file
        self._lock = threading.Lock()
        self._pending: dict[Key, Bookmark | None] = {}   # edits not yet written; None = removed
        self._saver: threading.Thread | None = None
        self._lines: dict[Key, tuple[Bookmark, str]] = {}  # each bookmark's line in the file
        self._on_disk: dict[Key, Bookmark] = {}          # the file as we last read or wrote it
        self._disk_stamp: tuple[int, int, int] | None = None
        self._latest: dict[Key, Bookmark] | None = None  # merged by the saver, for the UI thread
        self._merged.connect(self._apply_merged)
        self._items: dict[Key, Bookmark] = self._load()

    # -- reading -------------------------------------------------------------------------------
    def all(self) -> list[Bookmark]:
        with self._lock:
            return list(self._items.values())

    def for_model(self, model_name: str) -> list[Bookmark]:
        with self._lock:
            return [b for b in self._items.values() if b.model_name == model_name]

    def get(self, model_name: str, name: str) -> Bookmark | None:
        with self._lock:
            return self._items.get((model_name, name))

    def unique_name(self, model_name: str, base: str = "Point") -> str:
        taken = {b.name for b in self.for_model(model_name)}
        i = len(taken) + 1
        while f"{base} {i}" in taken:
            i += 1
        return f"{base} {i}"

    def is_full(self) -> bool:
        with self._lock:
            return len(self._items) >= MAX_BOOKMARKS

    @property
    def read_only(self) -> str | None:
        """Why changes are not saved (None when they are)."""
        return self._read_only

    # -- editing -------------------------------------------------------------------------------
    def add(self, bookmark: Bookmark) -> None:
        """Adds, or replaces the bookmark of the same model with the same name. BookmarksFull when
        the store already holds MAX_BOOKMARKS others."""
        with self._lock:
            if bookmark.key not in self._items and len(self._items) >= MAX_BOOKMARKS:
                raise BookmarksFull(f"there are {MAX_BOOKMARKS:,} bookmarks already, the most kept; "
                                    f"delete some first")
            self._items.pop(bookmark.key, None)
            self._items[bookmark.key] = bookmark
            self._pending[bookmark.key] = bookmark
        self._save_soon()
        self.changed.emit()

    def remove(self, model_name: str, name: str) -> bool:
        key = (model_name, name)
        with self._lock:
            if self._items.pop(key, None) is None:
                return False
            self._pending[key] = None
        self._save_soon()
        self.changed.emit()
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Writes what is not written yet and waits for it; True when everything is on disk."""
        self._save_soon()
        saver = self._saver
        if saver is not None:
            saver.join(timeout)
        self._apply_merged()
        with self._lock:
            return not self._pending and self._saver is None

    # -- saving (on the saver thread) ------------------------------------------------------------
    def _save_soon(self) -> None:
        with self._lock:
            if self._read_only or not self._pending or self._saver is not None:
                return
            self._saver = threading.Thread(target=self._save_pending, name="bookmarks", daemon=False)
            self._saver.start()

    def _save_pending(self) -> None:
        while True:
            with self._lock:
                edits, self._pending = self._pending, {}
                if not edits:
                    self._saver = None
                    return
            try:
                merged = self._write(edits)
            except Exception as e:    # a full disk, a read-only folder, a lock held too long, ...
                with self._lock:
                    for key, edit in edits.items():   # kept for the next save; newer edits win
                        self._pending.setdefault(key, edit)
                    self._saver = None
                self._report(e)
                return
            with self._lock:
                self._latest = merged
            self.save_problem = None
            self._merged.emit()
            self.saved.emit()

    def _write(self, edits: dict[Key, Bookmark | None]) -> dict[Key, Bookmark]:
        """Under the file lock: the file as it is now, this store's edits on top, written back."""
        with FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_S):
            stamp = _file_stamp(self.path)
            if stamp != self._disk_stamp:      # someone else wrote it since we last did
                self._on_disk = self._read_for_merge()
            merged = dict(self._on_disk)
            for key, edit in edits.items():
                merged.pop(key, None)
                if edit is not None:
                    merged[key] = edit
            atomic_write_text(self.path, _document([self._line(b) for b in merged.values()]))
            self._on_disk, self._disk_stamp = merged, _file_stamp(self.path)
            for gone in self._lines.keys() - merged.keys():
                del self._lines[gone]
            return merged

    def _line(self, bookmark: Bookmark) -> str:
        """The bookmark's line in the file, made once: a save of 10,000 bookmarks mostly joins
        lines already made."""
        cached = self._lines.get(bookmark.key)
        if cached is None or cached[0] is not bookmark:
            cached = self._lines[bookmark.key] = (bookmark, _line(bookmark))
        return cached[1]

    def _read_for_merge(self) -> dict[Key, Bookmark]:
        try:
            contents = _parse(_read_bytes(self.path) or _document([]).encode())
        except _Unreadable as e:   # damaged since we read it: keep it aside, write ours
            aside = self._set_aside("corrupt", move=True)
            self.problem.emit(f"The bookmarks file had become unreadable ({e}); it was moved to "
                              f"{aside.name} and your bookmarks were saved in a new one.")
            return {}
        if contents.format > FORMAT:
            self._read_only = (f"the bookmarks file is now in format {contents.format}, written by a newer "
                               f"Latent Explorer; this one (format {FORMAT}) will not rewrite it")
            raise PermissionError(self._read_only)
        if contents.skipped or contents.dropped:
            aside = self._set_aside(_aside_kind(contents), move=False)
            self.problem.emit(f"{_lost(contents)}; the file as it was is kept in {aside.name}.")
        return contents.items

    def _report(self, e: Exception) -> None:
        if isinstance(e, Timeout):
            text = (f"another Latent Explorer kept the bookmarks file locked for {LOCK_TIMEOUT_S:.0f} s; "
                    f"the latest bookmarks are not saved yet (they will be at the next change)")
        elif self._read_only:
            text = f"Bookmarks are not saved: {self._read_only}. Update Latent Explorer to save them."
        else:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else _short(e)
            text = (f"The bookmarks could not be saved to {self.path} ({reason}); they are kept "
                    f"while the app runs and saved at the next change that succeeds")
        self.save_problem = text
        self.problem.emit(text)

    def _apply_merged(self) -> None:
        """In the UI thread: show the file as the last save left it, plus the edits not yet saved."""
        with self._lock:
            merged, self._latest = self._latest, None
            if merged is None:
                return
            items = dict(merged)
            for key, edit in self._pending.items():
                items.pop(key, None)
                if edit is not None:
                    items[key] = edit
            if items == self._items:
                return
            self._items = items
        self.changed.emit()

    # -- loading (at start, in the UI thread) -----------------------------------------------------
    def _load(self) -> dict[Key, Bookmark]:
        self._disk_stamp = _file_stamp(self.path)
        try:
            data = _read_bytes(self.path)
            if data is None:
                return {}
            contents = _parse(data)
        except _Unreadable as e:
            kind = "too-large" if isinstance(e, _TooLarge) else "corrupt"
            self.warning = self._set_aside_or_ignore(kind, e)
            return {}
        if contents.format > FORMAT:
            self._read_only = (f"the file is in format {contents.format}, written by a newer Latent "
                               f"Explorer; this one (format {FORMAT}) does not rewrite it")
            self.warning = (f"Bookmarks are read-only: {self._read_only}. Changes to bookmarks are "
                            f"kept while the app runs but not saved; update Latent Explorer to save them.")
        elif contents.skipped or contents.dropped:
            # Keep a copy with what could not be loaded: the next save rewrites the file without it.
            try:
                aside = self._set_aside(_aside_kind(contents), move=False)
                kept = f"the original file was copied to {aside.name}"
            except OSError as e:
                self._read_only = f"the original file could not be copied aside ({_short(e)})"
                kept = "it could not be copied aside, so it is left as it is and changes are not saved"
            self.warning = f"{_lost(contents)}; {kept}."
        self._on_disk = dict(contents.items)
        return dict(contents.items)

    def _set_aside_or_ignore(self, kind: str, problem: Exception) -> str:
        what = ("The bookmarks file is too large to read" if kind == "too-large"
                else "The bookmarks file could not be read")
        try:
            aside = self._set_aside(kind, move=True)
        except OSError as e:
            self._read_only = "the unreadable file could not be moved aside"
            return (f"{what} ({problem}) and could not be moved aside ({_short(e)}): it is left as it "
                    f"is, and bookmarks made now are not saved.")
        self._disk_stamp = None
        return f"{what} ({problem}); it was moved to {aside.name} and a new one started."

    def _set_aside(self, kind: str, move: bool) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.stem}.{kind}-{stamp}{self.path.suffix}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.stem}.{kind}-{stamp}-{n}{self.path.suffix}")
        (shutil.move if move else shutil.copyfile)(str(self.path), str(aside))
        return aside


def _aside_kind(contents: _Contents) -> str:
    return "corrupt" if contents.skipped else "over-limit"


def _lost(contents: _Contents) -> str:
    parts = []
    if contents.skipped:
        parts.append(f"{contents.skipped} bookmark(s) could not be read and were skipped")
    if contents.dropped:
        parts.append(f"the {contents.dropped} oldest bookmark(s) were not loaded (at most "
                     f"{MAX_BOOKMARKS:,} are kept)")
    return "; ".join(parts)


def _short(e: Exception) -> str:
    text = str(e) or type(e).__name__
    return text if len(text) < 80 else text[:77] + "..."
