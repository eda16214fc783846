"""Colour training images from Debian's `fonts-noto-color-emoji` font: every emoji the font maps a
single code point to, drawn in colour and scaled to a square RGB image.

The glyphs are listed from the font's cmap (through fontTools), drawn by Pillow from the font's
embedded colour bitmaps (136 x 128 pixels at size 109), composited onto a background and scaled
down. Nothing is cached: the whole set draws in about a second. The order is the code points',
so a split is the same on every machine with the same font.

Labels are colour groups read off each image (the hue most of its coloured pixels share), so a
classifier trained on them has classes to learn and its features measure colour models
(models/metrics.py).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from models.data import DataError, ImageDataset

DEFAULT_EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_DATA = "emoji"          # the name `--data` and the recipes give this dataset
FONT_SUFFIXES = frozenset({".ttf", ".otf", ".ttc"})
HOW_TO_GET_EMOJI = ("run `apt-get install fonts-noto-color-emoji` (the font lands in "
                    f"{DEFAULT_EMOJI_FONT.parent}) or pass --data FONT.ttf with a colour emoji font")

BITMAP_SIZE = 109             # the one size Noto Color Emoji's bitmaps come in (136 x 128 pixels)
CANVAS = 136                  # square canvas the bitmap is centred on before scaling
WHITE = (255, 255, 255)
# every TEST_EVERY-th glyph (in code-point order) is held out as the test split
TEST_EVERY = 8
MAX_FONT_BYTES = 64 * 2**20   # Debian's font is 11 MB; a bigger file is not an emoji font

# Colour groups: hue ranges in degrees over the image's strongly coloured pixels; images with few
# of those are "grey" (black, white, grey and silver glyphs).
COLOUR_GROUPS: tuple[str, ...] = ("red", "orange", "yellow", "green", "blue", "purple", "grey")
_HUE_EDGES = (15.0, 40.0, 70.0, 165.0, 255.0, 330.0)   # red | orange | yellow | green | blue | purple | red
_SATURATED = 0.35             # a pixel counts as coloured above this saturation ...
_BRIGHT = 0.25                # ... and this value (HSV)
_COLOURED_SHARE = 0.2         # an image with fewer coloured pixels than this share is grey


def is_font_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in FONT_SUFFIXES


def find_emoji_font(path: str | Path | None = None) -> Path:
    """The font file: `path` (a font or "emoji"), else Debian's; DataError saying how to install it."""
    font = DEFAULT_EMOJI_FONT if path is None or str(path) in ("", EMOJI_DATA) else Path(path).expanduser()
    if not font.is_file():
        where = "is not installed" if font == DEFAULT_EMOJI_FONT else "does not exist"
        raise DataError(f"the colour emoji font {font} {where}; {HOW_TO_GET_EMOJI}")
    size = font.stat().st_size
    if size > MAX_FONT_BYTES:
        raise DataError(f"{font} is {size / 2**20:.0f} MB, too big for an emoji font (at most "
                        f"{MAX_FONT_BYTES // 2**20} MB); {HOW_TO_GET_EMOJI}")
    return font


def emoji_code_points(font_path: str | Path) -> list[int]:
    """The code points the font's cmap maps to a glyph, ascending (control characters left out)."""
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with TTFont(str(font_path), lazy=True) as font:
            cmap = font.getBestCmap() or {}
    except (TTLibError, OSError, AssertionError, KeyError, ValueError) as exc:
        raise DataError(f"cannot read the font {font_path} ({exc}); {HOW_TO_GET_EMOJI}") from None
    return sorted(cp for cp in cmap if cp >= 0x20)


def open_font(font_path: str | Path) -> ImageFont.FreeTypeFont:
    try:
        # the basic layout draws one code point as its own glyph, with or without libraqm
        return ImageFont.truetype(str(font_path), BITMAP_SIZE, layout_engine=ImageFont.Layout.BASIC)
    except OSError as exc:
        raise DataError(f"cannot open the font {font_path} ({exc}); {HOW_TO_GET_EMOJI}") from None


def draw_glyph(font: ImageFont.FreeTypeFont, text: str) -> Image.Image | None:
    """The glyph of `text` in colour on a transparent CANVAS x CANVAS square, or None when it draws
    nothing (spaces, joiners, variation selectors)."""
    canvas = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    try:
        left, top, right, bottom = font.getbbox(text)
        # centre the bitmap: 136 x 128 at this size leaves 4 rows above and below
        origin = ((CANVAS - (right - left)) // 2 - left, (CANVAS - (bottom - top)) // 2 - top)
        # a plain outline font draws in black; a colour font its own colours
        ImageDraw.Draw(canvas).text(origin, text, font=font, fill=(0, 0, 0, 255), embedded_color=True)
    except (OSError, ValueError):
        return None
    return canvas if canvas.getchannel("A").getbbox() is not None else None


def to_square_rgb(glyph: Image.Image, size: int, background: Sequence[int] = WHITE) -> np.ndarray:
    """An RGBA glyph composited onto `background` and scaled to size x size: uint8 (3, size, size)."""
    base = Image.new("RGBA", glyph.size, (*(int(c) for c in background), 255))
    base.alpha_composite(glyph)
    image = base.convert("RGB")
    if image.size != (size, size):
        # reducing_gap makes the large down-scale average whole blocks first: no aliasing
        image = image.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).copy()


def colour_group(rgba: np.ndarray) -> int:
    """The index in COLOUR_GROUPS of an (H, W, 4) uint8 glyph: the hue range holding most of its
    strongly coloured, opaque pixels, or grey when fewer than a fifth of them are coloured."""
    pixels = rgba.reshape(-1, 4).astype(np.float64) / 255.0
    opaque = pixels[pixels[:, 3] > 0.5, :3]
    if len(opaque) == 0:
        return COLOUR_GROUPS.index("grey")
    high, low = opaque.max(axis=1), opaque.min(axis=1)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1e-12), 0.0)
    coloured = opaque[(saturation > _SATURATED) & (high > _BRIGHT)]
    if len(coloured) < _COLOURED_SHARE * len(opaque):
        return COLOUR_GROUPS.index("grey")
    hues = _hue_degrees(coloured)
    bins = np.searchsorted(_HUE_EDGES, hues, side="right")   # 0..6, where 6 wraps round to red
    counts = np.bincount(np.where(bins == len(_HUE_EDGES), 0, bins), minlength=len(_HUE_EDGES))
    return int(counts.argmax())


def _hue_degrees(rgb: np.ndarray) -> np.ndarray:
    """HSV hue in [0, 360) of (n, 3) RGB rows in [0, 1] that are not grey (max > min)."""
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    high, low = rgb.max(axis=1), rgb.min(axis=1)
    span = high - low
    hue = np.where(high == r, (g - b) / span % 6, np.where(high == g, (b - r) / span + 2, (r - g) / span + 4))
    return hue * 60.0


def _in_split(index: int, split: str) -> bool:
    held_out = index % TEST_EVERY == TEST_EVERY - 1
    return split == "all" or (split == "test") == held_out


def load_emoji(font_path: str | Path | None = None, split: str = "train", size: int = 64,
               background: Sequence[int] = WHITE) -> ImageDataset:
    """The emoji of a colour font as uint8 (N, 3, size, size) on `background`, labelled with their
    colour group. `split` is "train", "test" (every TEST_EVERY-th glyph) or "all"."""
    if split not in ("train", "test", "all"):
        raise DataError(f"unknown split {split!r}: use 'train', 'test' or 'all'")
    if not 8 <= int(size) <= 1024:
        raise DataError(f"emoji images are 8 to 1024 pixels a side, not {size}")
    if len(background) != 3 or not all(0 <= int(c) <= 255 for c in background):
        raise DataError(f"the background is an RGB colour of three values 0 to 255, not {tuple(background)}")
    font_file = find_emoji_font(font_path)
    font = open_font(font_file)
    images, labels = [], []
    index = 0
    for cp in emoji_code_points(font_file):
        glyph = draw_glyph(font, chr(cp))
        if glyph is None:
            continue
        if _in_split(index, split):
            images.append(to_square_rgb(glyph, int(size), background))
            labels.append(colour_group(np.asarray(glyph)))
        index += 1
    if not images:
        raise DataError(f"{font_file} has no colour glyphs to draw; {HOW_TO_GET_EMOJI}")
    name = "noto-color-emoji" if font_file == DEFAULT_EMOJI_FONT else font_file.stem
    return ImageDataset(np.stack(images), np.asarray(labels, dtype=np.int64), list(COLOUR_GROUPS),
                        str(font_file), name)
