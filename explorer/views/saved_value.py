"""Reading one saved choice of the diffusion view back from its QSettings."""
from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QSettings

T = TypeVar("T")


def saved_value(settings: QSettings, key: str, default: T, kind: type) -> T:
    """The value under `key` as `kind`, or `default` when Qt cannot convert what is stored."""
    try:
        return settings.value(key, default, type=kind)
    except (TypeError, ValueError):
        return default
