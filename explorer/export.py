"""Animated GIF and PNG filmstrip writers (Pillow), atomic and cancellable.

Frames come in as uint8 arrays (n, H, W) or (n, H, W, C) with C in {1, 3}. A file is written
under a hidden temporary name next to its destination and renamed over it only once complete, so
a failed or cancelled export never leaves a broken file behind. The interpolation's settings ride
along as JSON (the GIF's comment extension, a PNG text chunk) so the path can be rebuilt from the
file alone.

The GIF is assembled frame by frame with Pillow's GIF primitives instead of `save(save_all=True)`:
that call merges consecutive identical frames into one longer frame, which would break the frame
count a user asked for, and it gives no chance to cancel between frames.
"""
from __future__ import annotations

import errno
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import GifImagePlugin, Image, ImageDraw, ImageFont, PngImagePlugin, UnidentifiedImageError

from models.atomic import atomic_path

# Marker identifying our settings JSON inside a GIF comment or PNG text chunk.
SETTINGS_MARKER = "latent-explorer"
SETTINGS_KIND = "interpolation"
SETTINGS_VERSION = 1
PNG_TEXT_KEY = "latent-explorer"

MIN_FPS = 1.0
MAX_FPS = 50.0      # GIF delays are whole centiseconds; viewers slow anything under 2 cs down
MAX_SCALE = 32

ProgressFn = Callable[[int, int], None]
CancelledFn = Callable[[], bool]


class ExportError(Exception):
    """The export cannot be done; the message says why and what to do."""


class ExportExistsError(ExportError):
    """The destination exists and overwriting was not allowed."""


class ExportCancelled(Exception):
    """The export was cancelled; nothing was written."""


# -- frame helpers -----------------------------------------------------------------------------

def as_frames(frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """Frames as uint8 (n, H, W, C), C in {1, 3}; ExportError for anything else."""
    array = np.asarray(frames)
    if array.dtype != np.uint8:
        raise ExportError(f"frames must be uint8 images, got {array.dtype}")
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3) or 0 in array.shape:
        raise ExportError(f"frames must be (n, H, W) or (n, H, W, 1 or 3), got shape {array.shape}")
    return array


def frame_order(count: int, pingpong: bool) -> list[int]:
    """Indices of the frames as played: forward, then (ping-pong) back without repeating either end."""
    order = list(range(count))
    if pingpong and count > 2:
        order += list(range(count - 2, 0, -1))
    return order


def upscale(frame: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour upscale of one (H, W, C) frame by an integer factor."""
    if scale == 1:
        return frame
    return np.repeat(np.repeat(frame, scale, axis=0), scale, axis=1)


def frame_duration_ms(fps: float) -> int:
    """The per-frame delay actually stored: GIF delays are whole centiseconds."""
    fps = min(max(float(fps), MIN_FPS), MAX_FPS)
    return int(round(100.0 / fps)) * 10


def _check_scale(scale: int) -> int:
    if int(scale) != scale or not 1 <= int(scale) <= MAX_SCALE:
        raise ExportError(f"scale must be a whole number from 1 to {MAX_SCALE}, got {scale}")
    return int(scale)


def _to_image(frame: np.ndarray) -> Image.Image:
    if frame.shape[-1] == 1:
        return Image.fromarray(np.ascontiguousarray(frame[..., 0]), "L")
    return Image.fromarray(np.ascontiguousarray(frame), "RGB")


# -- settings ----------------------------------------------------------------------------------

def settings_document(settings: dict[str, Any]) -> str:
    """The JSON stored in a file: our marker, a version and the path's settings."""
    return json.dumps({SETTINGS_MARKER: SETTINGS_KIND, "version": SETTINGS_VERSION, "path": settings},
                      separators=(",", ":"), allow_nan=False)


def parse_settings_document(text: str | bytes) -> dict[str, Any] | None:
    """The path settings in a stored JSON document, or None when it is not one of ours."""
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict) or document.get(SETTINGS_MARKER) != SETTINGS_KIND:
        return None
    version = document.get("version")
    if not isinstance(version, int) or version > SETTINGS_VERSION:
        raise ExportError(f"the file was written by a newer Latent Explorer (settings version {version}); "
                          f"update the app to restore it")
    settings = document.get("path")
    return settings if isinstance(settings, dict) else None


def read_gif_settings(path: str | Path) -> dict[str, Any] | None:
    """The interpolation settings stored in a GIF (comment) or filmstrip PNG (text chunk).

    None when the picture carries none; ExportError when the file cannot be read as a picture.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            if im.format == "GIF":
                raw = im.info.get("comment")
            elif im.format == "PNG":
                raw = getattr(im, "text", {}).get(PNG_TEXT_KEY)
            else:
                return None
    except FileNotFoundError:
        raise ExportError(f"{path} does not exist") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ExportError(f"cannot read {path} as a picture ({e})") from None
    if not raw:
        return None
    return parse_settings_document(raw)


# -- atomic writing ----------------------------------------------------------------------------

@contextmanager
def atomic_output(path: str | Path, overwrite: bool = False) -> Iterator[BinaryIO]:
    """A binary file written under a temporary name and renamed to `path` when the block ends
    without an exception; on any exception (cancellation included) the temporary file is removed.
    A failed write (a full disk, a read-only folder) is an ExportError saying so."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ExportError(f"{path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise ExportError(f"the folder {path.parent} does not exist")
    if path.exists() and not overwrite:
        raise ExportExistsError(f"{path} already exists; choose another name or allow overwriting")
    try:
        with atomic_path(path) as temp, open(temp, "xb") as fp:
            yield fp
    except OSError as e:
        raise ExportError(write_error_message(path, e)) from None


def write_error_message(path: Path, e: OSError) -> str:
    """What went wrong writing `path`, and what to do about it."""
    reason = e.strerror or str(e) or type(e).__name__
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free some space or choose another folder"
    elif e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        hint = "choose a folder you can write to"
    else:
        hint = "check the folder and try again"
    return f"cannot write {path}: {reason}; nothing was written; {hint}"


def _checkpoint(step: int, total: int, cancelled: CancelledFn | None, progress: ProgressFn | None) -> None:
    if cancelled is not None and cancelled():
        raise ExportCancelled()
    if progress is not None:
        progress(step, total)


# -- GIF ---------------------------------------------------------------------------------------

def _shared_palette(frames: np.ndarray, order: list[int]) -> Image.Image:
    """One 256-colour palette for all RGB frames, so every frame uses the global colour table."""
    sample = order[:: max(1, len(order) // 16)]
    mosaic = np.concatenate([frames[i] for i in sample], axis=0)
    return _to_image(mosaic).quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def write_gif(path: str | Path, frames: np.ndarray | Sequence[np.ndarray], *, fps: float = 12.0,
              scale: int = 1, loop: bool = True, pingpong: bool = False,
              settings: dict[str, Any] | None = None, overwrite: bool = False,
              cancelled: CancelledFn | None = None, progress: ProgressFn | None = None) -> Path:
    """Write an animated GIF; returns its path.

    `fps` becomes a per-frame delay of whole centiseconds (see `frame_duration_ms`); `scale`
    enlarges each frame by nearest neighbour; `loop` repeats forever (otherwise it plays once);
    `pingpong` plays forward then back. `settings` is stored as JSON in the comment.
    `cancelled()` is asked before each frame and `progress(done, total)` told after each one;
    cancelling (or any exception from either callback) removes the temporary file.
    """
    array = as_frames(frames)
    scale = _check_scale(scale)
    order = frame_order(len(array), pingpong)
    duration = frame_duration_ms(fps)
    info: dict[str, Any] = {"optimize": False}
    if loop:
        info["loop"] = 0          # NETSCAPE2.0 with 0 repeats = forever; no block = play once
    if settings is not None:
        info["comment"] = settings_document(settings).encode("utf-8")
    palette = _shared_palette(array, order) if array.shape[-1] == 3 else None
    total = len(order)

    def image(index: int) -> Image.Image:
        im = _to_image(upscale(array[index], scale))
        if palette is not None:
            im = im.quantize(palette=palette, dither=Image.Dither.NONE)
        return im

    with atomic_output(path, overwrite) as fp:
        for step, index in enumerate(order):
            _checkpoint(step, total, cancelled, None)
            im = image(index)
            if step == 0:
                header, _ = GifImagePlugin.getheader(im, None, dict(info))
                fp.writelines(header)
            fp.writelines(GifImagePlugin.getdata(im, (0, 0), duration=duration))
            if progress is not None:
                progress(step + 1, total)
        fp.write(b";")
    return Path(path).expanduser()


# -- PNG filmstrip -----------------------------------------------------------------------------

def filmstrip_array(frames: np.ndarray | Sequence[np.ndarray], scale: int = 1, columns: int | None = None,
                    gap: int = 2, background: int = 40) -> np.ndarray:
    """All frames tiled left to right, top to bottom, `gap` pixels apart: (H', W', C) uint8."""
    from models.images import tile

    array = as_frames(frames)
    scale = _check_scale(scale)
    n = len(array)
    columns = n if not columns else max(1, min(int(columns), n))
    return tile(np.stack([upscale(frame, scale) for frame in array]), columns, max(0, int(gap)), background)


def label_rows(picture: np.ndarray, labels: Sequence[str], gap: int = 2, background: int = 40) -> np.ndarray:
    """`picture` (a grid of len(labels) rows, `gap` pixels apart) with each row's label written
    in a margin on its left."""
    font = ImageFont.load_default(size=max(10, min(18, picture.shape[0] // max(1, len(labels)) // 2)))
    width = 8 + max(int(font.getlength(text)) for text in labels)
    c = picture.shape[2]
    out = np.full((picture.shape[0], width + picture.shape[1], c), background, np.uint8)
    out[:, width:] = picture
    image = _to_image(out)
    draw = ImageDraw.Draw(image)
    pitch = (picture.shape[0] + gap) / len(labels)
    white = 255 if c == 1 else (255, 255, 255)
    for i, text in enumerate(labels):
        draw.text((4, i * pitch + (pitch - gap) / 2), text, fill=white, font=font, anchor="lm")
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if c == 1 else array


def write_filmstrip(path: str | Path, frames: np.ndarray | Sequence[np.ndarray], *, scale: int = 1,
                    columns: int | None = None, gap: int = 2, settings: dict[str, Any] | None = None,
                    overwrite: bool = False, cancelled: CancelledFn | None = None,
                    progress: ProgressFn | None = None, row_labels: Sequence[str] | None = None) -> Path:
    """Write all frames as one PNG (a single row unless `columns` is given), each row labelled
    with `row_labels` when given; returns its path."""
    array = as_frames(frames)
    _checkpoint(0, 2, cancelled, progress)
    strip = filmstrip_array(array, scale, columns, gap)
    if row_labels:
        strip = label_rows(strip, row_labels, gap)
    image = _to_image(strip)
    pnginfo = PngImagePlugin.PngInfo()
    if settings is not None:
        pnginfo.add_itxt(PNG_TEXT_KEY, settings_document(settings), zip=True)
    _checkpoint(1, 2, cancelled, progress)
    with atomic_output(path, overwrite) as fp:
        image.save(fp, format="PNG", pnginfo=pnginfo)
        _checkpoint(2, 2, cancelled, progress)
    return Path(path).expanduser()
