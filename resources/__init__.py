"""Paths of the files bundled with Latent Explorer. Qt-free and tiny on purpose."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent
CHECKPOINTS = ROOT / "checkpoints"
ICONS = ROOT / "icons"


def bundled_checkpoints() -> dict[str, Path]:
    """Bundled model names (file stems) mapped to their files, sorted by name."""
    return {p.stem: p for p in sorted(CHECKPOINTS.glob("*.safetensors"))}


def checkpoint_path(name: str) -> Path:
    """The file of the bundled model `name`; KeyError naming the known models otherwise."""
    known = bundled_checkpoints()
    if name not in known:
        listed = ", ".join(known) or "none are installed"
        raise KeyError(f"no bundled model named {name!r} (bundled: {listed})")
    return known[name]


def icon_path(name: str) -> Path:
    path = ICONS / name
    if not path.is_file():
        raise KeyError(f"no bundled icon named {name!r}")
    return path
