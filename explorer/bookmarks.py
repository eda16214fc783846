"""Named points of a model's latent space, kept between runs in a JSON file in the config folder.

The file is rewritten atomically on every change. A file that cannot be read is moved aside
(bookmarks.corrupt-<time>.json) and the store starts empty with a `warning` for the window to
show: a damaged file never stops the app.
"""
from __future__ import annotations

import json
import math
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from explorer.settings import config_dir
from models.atomic import atomic_write_text

FORMAT = 1
FILE_NAME = "bookmarks.json"
TEXT_TAG = "latent-explorer-point"

Label = int | list[float] | None


@dataclass(frozen=True)
class Bookmark:
    name: str
    model_name: str
    latent: list[float]
    label: Label = None          # a class index, class weights (blending), or None
    psi: float = 1.0             # GAN truncation
    created: float = field(default_factory=time.time)

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
        return cls(name=name, model_name=model, latent=_floats(data.get("latent"), "latent"),
                   label=_label(data.get("label")), psi=_number(data.get("psi", 1.0), "psi"),
                   created=_number(data.get("created", 0.0), "created"))


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    return float(value)


def _floats(values: Any, what: str) -> list[float]:
    if not isinstance(values, list) or not values:
        raise ValueError(f"{what} must be a non-empty list of numbers")
    return [_number(v, what) for v in values]


def _label(value: Any) -> Label:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"class index must be >= 0, not {value}")
        return value
    return _floats(value, "label weights")


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
    except ValueError:
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


# -- the store ----------------------------------------------------------------------------------

class BookmarkStore(QObject):
    """All bookmarks, every model's, in one JSON file. Emits `changed` after each edit."""

    changed = Signal()

    def __init__(self, path: str | Path | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.path = Path(path) if path is not None else config_dir() / FILE_NAME
        self.warning: str | None = None
        self._items: list[Bookmark] = self._load()

    def all(self) -> list[Bookmark]:
        return list(self._items)

    def for_model(self, model_name: str) -> list[Bookmark]:
        return [b for b in self._items if b.model_name == model_name]

    def get(self, model_name: str, name: str) -> Bookmark | None:
        return next((b for b in self._items if b.model_name == model_name and b.name == name), None)

    def add(self, bookmark: Bookmark) -> None:
        """Adds, or replaces the bookmark of the same model with the same name."""
        self._items = [b for b in self._items
                       if not (b.model_name == bookmark.model_name and b.name == bookmark.name)]
        self._items.append(bookmark)
        self._save()

    def remove(self, model_name: str, name: str) -> bool:
        before = len(self._items)
        self._items = [b for b in self._items if not (b.model_name == model_name and b.name == name)]
        if len(self._items) == before:
            return False
        self._save()
        return True

    def unique_name(self, model_name: str, base: str = "Point") -> str:
        taken = {b.name for b in self.for_model(model_name)}
        i = len(taken) + 1
        while f"{base} {i}" in taken:
            i += 1
        return f"{base} {i}"

    def _save(self) -> None:
        doc = {"format": FORMAT, "bookmarks": [b.to_dict() for b in self._items]}
        atomic_write_text(self.path, json.dumps(doc, indent=1))
        self.changed.emit()

    def _load(self) -> list[Bookmark]:
        if not self.path.exists():
            return []
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or not isinstance(doc.get("bookmarks"), list):
                raise ValueError("no 'bookmarks' list")
        except (OSError, ValueError) as e:
            aside = self._set_aside(move=True)
            self.warning = (f"The bookmarks file could not be read ({_short(e)}); it was moved to "
                            f"{aside.name} and a new one started.")
            return []
        items, bad = [], 0
        for entry in doc["bookmarks"]:
            try:
                items.append(Bookmark.from_dict(entry))
            except ValueError:
                bad += 1
        if bad:
            # Keep a copy with the unreadable entries: the next save rewrites the file without them.
            aside = self._set_aside(move=False)
            self.warning = (f"{bad} bookmark(s) could not be read and were skipped; the original "
                            f"file was copied to {aside.name}.")
        return items

    def _set_aside(self, move: bool) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.stem}.corrupt-{stamp}{self.path.suffix}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.stem}.corrupt-{stamp}-{n}{self.path.suffix}")
        (shutil.move if move else shutil.copyfile)(str(self.path), str(aside))
        return aside


def _short(e: Exception) -> str:
    text = str(e) or type(e).__name__
    return text if len(text) < 80 else text[:77] + "..."
