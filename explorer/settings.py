"""Where Latent Explorer keeps its files, the recent-files list, and reading the window's settings.

Qt-free on purpose (Qt is imported only where a QSettings is made or read): `latent-explorer
models` lists recent models without starting Qt. The window's own preferences (geometry, toggles,
each view's last values) live in a QSettings INI file in the same folder (`open_qsettings`).

Every file here is read as if a stranger had written it: a value of the wrong type, out of range
or absurdly large never reaches a widget (`setting` gives the default instead, with one warning),
and a settings file too large to be ours, or not a file at all, is set aside before Qt reads it.
"""
from __future__ import annotations

import json
import logging
import math
import os
import stat
import time
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from models.atomic import atomic_write_text

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

CONFIG_ENV_VAR = "LATENT_EXPLORER_CONFIG"
APP_NAME = "latent-explorer"
RECENT_FILE = "recent.json"
SETTINGS_FILE = "settings.ini"
MAX_RECENT = 10
MAX_RECENT_BYTES = 256 * 1024          # ten paths; anything larger is not our list
MAX_PATH_CHARS = 4096
MAX_SETTINGS_BYTES = 4 * 1024 * 1024   # window geometry and a few hundred values: a few KB
MAX_SETTING_CHARS = 4096               # one text value (a folder, a model's source)
MAX_SETTING_BYTES = 1024 * 1024        # one binary value (the window's saved state)
INT_BOUNDS = (-(2**31), 2**31 - 1)     # what a Qt widget holds; the default range of an int setting

log = logging.getLogger(__name__)
T = TypeVar("T")
_warned: set[tuple[str, str]] = set()   # (settings file, key) already warned about
_problems: list[tuple[str, str]] = []   # (the file or folder it is about, the warning)


def config_dir() -> Path:
    """$LATENT_EXPLORER_CONFIG, else the platform's config folder / latent-explorer (created if it can be:
    in a read-only place the app still starts, and what it cannot write it says it could not)."""
    env = os.environ.get(CONFIG_ENV_VAR)
    if env:
        folder = Path(env).expanduser()
    else:
        import platformdirs   # ~/.config on Linux, ~/Library/Application Support on macOS, %APPDATA% on Windows

        folder = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        _warn_once(str(folder), "", f"the config folder {folder} cannot be made ({e.strerror or e}); "
                                    f"nothing will be saved")
    return folder


# -- recent files --------------------------------------------------------------------------------

def recent_files() -> list[str]:
    """Recently opened checkpoint paths, newest first. A damaged list reads as empty."""
    path = config_dir() / RECENT_FILE
    try:
        data = json.loads(_read_config_file(path, MAX_RECENT_BYTES) or b"[]")
    except (OSError, ValueError, RecursionError):
        return []
    if not isinstance(data, list):
        return []
    return [p for p in data if isinstance(p, str) and 0 < len(p) <= MAX_PATH_CHARS and "\0" not in p][:MAX_RECENT]


def add_recent_file(path: str | Path) -> list[str]:
    """Put `path` (made absolute) at the top of the recent list and return the new list."""
    entry = _absolute(path)
    files = [entry] + [p for p in recent_files() if p != entry]
    files = files[:MAX_RECENT]
    atomic_write_text(config_dir() / RECENT_FILE, json.dumps(files, indent=2))
    return files


def clear_recent_files() -> None:
    atomic_write_text(config_dir() / RECENT_FILE, "[]")


def _absolute(path: str | Path) -> str:
    """The path with its links resolved, or, where they cannot be (a loop), just made absolute."""
    try:
        return str(Path(path).expanduser().resolve())
    except (OSError, RuntimeError):
        return os.path.abspath(os.path.expanduser(str(path)))


def _read_config_file(path: Path, max_bytes: int) -> bytes | None:
    """A config file's bytes (None when there is none); OSError for one that is not a regular file
    (a FIFO would block the read forever) or is larger than max_bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            raise OSError(f"{path} is not a config file of at most {max_bytes} bytes")
        return f.read(max_bytes)


# -- the window's settings -------------------------------------------------------------------------

def open_qsettings() -> QSettings:
    """The window's preferences, an INI file next to the bookmarks and the recent list. A file that
    cannot be ours (not a regular file, or larger than MAX_SETTINGS_BYTES) is moved aside first;
    where it cannot be moved, the settings of this session are kept in a fresh file elsewhere."""
    from PySide6.QtCore import QSettings

    path = config_dir() / SETTINGS_FILE
    problem = _settings_file_problem(path)
    if problem:
        aside = path.with_name(f"{path.stem}.unusable-{time.strftime('%Y%m%d-%H%M%S')}{path.suffix}")
        try:
            os.replace(path, aside)
            _warn_once(str(path), "", f"{path} {problem}; it was moved to {aside.name} and the "
                                      f"settings start from their defaults")
        except OSError as e:
            import tempfile

            path = Path(tempfile.mkdtemp(prefix="latent-explorer-")) / SETTINGS_FILE
            _warn_once(str(path), "", f"{SETTINGS_FILE} {problem} and could not be moved aside "
                                      f"({e.strerror or e}); settings are not kept after this session")
    return QSettings(str(path), QSettings.Format.IniFormat)


def _settings_file_problem(path: Path) -> str | None:
    try:
        st = os.stat(path)
    except OSError:
        return None         # none yet (or unreachable: QSettings reads nothing from it)
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_size > MAX_SETTINGS_BYTES:
        return f"is {st.st_size // 2**20} MiB, far more than settings take"
    return None


def setting(settings: QSettings, key: str, default: T, kind: type | None = None,
            bounds: tuple[float, float] | None = None, *, choices: Collection[Any] | None = None) -> T:
    """The value stored under `key`, checked, or `default`.

    The value must be of `kind` (default: the type of `default`; bool, int, float and str are also
    read from their INI text), within `bounds` (low, high, both included; an int without bounds
    must fit INT_BOUNDS) and, with `choices`, one of them. Anything else (missing, `seed=abc`, a
    40-digit number, NaN, a list where a number belongs) gives `default`; a value that is there but
    wrong is also logged, once per key, and listed by `settings_problems()`."""
    raw = settings.value(key)
    if raw is None:
        return default
    kind = kind or type(default)
    try:
        value = _convert(raw, kind)
        if bounds is None and kind is int:
            bounds = INT_BOUNDS
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            raise ValueError(f"outside {bounds[0]:g} to {bounds[1]:g}")
        if choices is not None and value not in choices:
            raise ValueError("not one of the choices")
    except (TypeError, ValueError, OverflowError) as e:
        _warn_once(settings.fileName(), key, f"setting {key} = {_shown(raw)} is not valid ({e}); "
                                             f"using {_shown(default)}")
        return default
    return value


def settings_problems() -> list[str]:
    """The warnings given so far about the settings and files of the config folder in use, oldest
    first."""
    folder = os.path.abspath(os.environ.get(CONFIG_ENV_VAR) or config_dir())
    return [message for where, message in _problems
            if os.path.abspath(where) == folder or os.path.abspath(where).startswith(folder + os.sep)]


def _convert(raw: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower() if isinstance(raw, (str, int)) else None
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValueError("not true or false")
    if kind is int:
        if isinstance(raw, bool):
            raise TypeError("a truth value, not a whole number")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str):
            text = raw.strip()
            if text.lstrip("+-").isdigit() and text.isascii() and len(text) <= 20:
                return int(text)
        raise ValueError("not a whole number")
    if kind is float:
        if isinstance(raw, bool):
            raise TypeError("a truth value, not a number")
        if isinstance(raw, (int, float)) or (isinstance(raw, str) and len(raw) <= 64):
            value = float(raw)
            if math.isfinite(value):
                return value
            raise ValueError("not a finite number")
        raise ValueError("not a number")
    if kind is str:
        if isinstance(raw, str) and len(raw) <= MAX_SETTING_CHARS and "\0" not in raw:
            return raw
        raise ValueError(f"not a text of at most {MAX_SETTING_CHARS} characters")
    if isinstance(raw, kind):
        if hasattr(raw, "size") and callable(raw.size) and raw.size() > MAX_SETTING_BYTES:
            raise ValueError(f"larger than {MAX_SETTING_BYTES} bytes")
        return raw
    raise TypeError(f"a {type(raw).__name__}, not a {kind.__name__}")


def _warn_once(where: str, key: str, message: str) -> None:
    if (where, key) in _warned:
        return
    _warned.add((where, key))
    _problems.append((where, message))
    log.warning("%s", message)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
