"""Where Latent Explorer keeps its files, and the recent-files list.

Qt-free on purpose: `latent-explorer models` lists recent models without starting Qt. The window's
own preferences (geometry, toggles) live in a QSettings INI file in the same folder
(`open_qsettings`).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from models.atomic import atomic_write_text

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

CONFIG_ENV_VAR = "LATENT_EXPLORER_CONFIG"
APP_NAME = "latent-explorer"
RECENT_FILE = "recent.json"
SETTINGS_FILE = "settings.ini"
MAX_RECENT = 10


def config_dir() -> Path:
    """$LATENT_EXPLORER_CONFIG, else the XDG config folder / latent-explorer (created if needed)."""
    env = os.environ.get(CONFIG_ENV_VAR)
    if env:
        folder = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_CONFIG_HOME")
        if not base:
            base = (os.environ.get("APPDATA") if sys.platform == "win32" else None) or "~/.config"
        folder = Path(base).expanduser() / APP_NAME
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def recent_files() -> list[str]:
    """Recently opened checkpoint paths, newest first. A damaged list reads as empty."""
    path = config_dir() / RECENT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    return [str(p) for p in data if isinstance(p, str)][:MAX_RECENT]


def add_recent_file(path: str | Path) -> list[str]:
    """Put `path` (made absolute) at the top of the recent list and return the new list."""
    entry = str(Path(path).expanduser().resolve())
    files = [entry] + [p for p in recent_files() if p != entry]
    files = files[:MAX_RECENT]
    atomic_write_text(config_dir() / RECENT_FILE, json.dumps(files, indent=2))
    return files


def clear_recent_files() -> None:
    atomic_write_text(config_dir() / RECENT_FILE, "[]")


def open_qsettings() -> QSettings:
    """The window's preferences, an INI file next to the bookmarks and the recent list."""
    from PySide6.QtCore import QSettings

    return QSettings(str(config_dir() / SETTINGS_FILE), QSettings.Format.IniFormat)
