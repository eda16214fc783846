"""Training and evaluation images: Fashion-MNIST's IDX files, or any folder of pictures.

Nothing is downloaded: Fashion-MNIST comes from Debian's `dataset-fashion-mnist` package (or any
directory holding the four IDX files), and a user's own images come from a folder.
"""
from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from models.atomic import atomic_write_bytes

DEFAULT_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
DATA_ENV_VAR = "LATENT_EXPLORER_DATA"

FASHION_MNIST_CLASSES: list[str] = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})

# Pictures bigger than this are refused before they are decoded (a small file can claim a huge size).
MAX_IMAGE_PIXELS = 64_000_000
HOW_TO_GET_DATA = "run `apt-get install dataset-fashion-mnist` or pass --data DIR"

# IDX type codes (third magic byte) and the big-endian NumPy types they stand for.
_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES: dict[tuple[str, int], int] = {(dt.kind, dt.itemsize): code for code, dt in _IDX_TYPES.items()}

# Both the canonical and the occasionally-seen dotted spelling of the file names.
_SPLIT_PREFIXES = {"train": ("train",), "test": ("t10k", "test")}


class DataError(Exception):
    """The data is missing or unreadable; the message says how to get or fix it."""


@dataclass
class ImageDataset:
    """Images as uint8 (N, C, H, W) with int64 labels (N,), -1 where there is no label."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str] = field(default_factory=list)
    source: str = ""
    name: str = ""       # what people call the data ("noto-color-emoji"); "" for the source's name

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.images.dtype} {self.images.shape}")
        if self.labels.dtype != np.int64 or self.labels.shape != (len(self.images),):
            raise ValueError(f"labels must be int64 ({len(self.images)},), got {self.labels.dtype} {self.labels.shape}")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def has_labels(self) -> bool:
        return self.num_classes > 0 and bool((self.labels >= 0).all())

    def tensor(self, indices: Sequence[int] | np.ndarray | slice | None = None) -> torch.Tensor:
        """Images as float32 in [0, 1], (n, C, H, W); all of them unless indices are given."""
        images = self.images if indices is None else self.images[indices]
        return torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)

    def labels_tensor(self, indices: Sequence[int] | np.ndarray | slice | None = None) -> torch.Tensor:
        """Labels as a LongTensor (n,); -1 marks an unlabelled image."""
        labels = self.labels if indices is None else self.labels[indices]
        return torch.from_numpy(np.ascontiguousarray(labels)).long()

    def subset(self, indices: Sequence[int] | np.ndarray | slice) -> ImageDataset:
        return ImageDataset(np.ascontiguousarray(self.images[indices]),
                            np.ascontiguousarray(self.labels[indices]),
                            list(self.class_names), self.source, self.name)


# -- IDX files ---------------------------------------------------------------------------------

def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (gzipped or not, told apart by its first bytes) as a native-endian array."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; {HOW_TO_GET_DATA}") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path} is a damaged gzip file ({exc}); re-install the data "
                            f"({HOW_TO_GET_DATA})") from None
    if len(raw) < 4:
        raise DataError(f"{path} is too short to be an IDX file ({len(raw)} bytes); re-install the data "
                        f"({HOW_TO_GET_DATA})")
    zero, code, ndim = raw[:2], raw[2], raw[3]
    if zero != b"\x00\x00" or code not in _IDX_TYPES or ndim == 0:
        raise DataError(f"{path} is not an IDX file: bad magic number 0x{raw[:4].hex()} "
                        f"(expected 0x0000080N for unsigned bytes); check that --data points at the "
                        f"Fashion-MNIST files")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated: its header announces {ndim} dimensions but the file "
                        f"ends after {len(raw)} bytes; re-install the data ({HOW_TO_GET_DATA})")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_TYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    payload = len(raw) - header
    if payload != expected:
        problem = "is truncated" if payload < expected else "has trailing bytes"
        raise DataError(f"{path} {problem}: shape {dims} needs {expected} bytes of data but the file "
                        f"holds {payload}; re-install the data ({HOW_TO_GET_DATA})")
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    # astype copies into a writable, native-endian array (frombuffer over bytes is read-only)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write an array as an IDX file, gzipped when the name ends with .gz; atomic."""
    path = Path(path)
    array = np.asarray(array)
    key = (array.dtype.kind, array.dtype.itemsize)
    if key not in _IDX_CODES or array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"IDX cannot hold a {array.dtype} array of {array.ndim} dimensions")
    code = _IDX_CODES[key]
    body = (bytes([0, 0, code, array.ndim])
            + np.asarray(array.shape, dtype=">u4").tobytes()
            + np.ascontiguousarray(array, dtype=_IDX_TYPES[code]).tobytes())
    if path.name.endswith(".gz"):
        body = gzip.compress(body, mtime=0)
    atomic_write_bytes(path, body)


# -- Fashion-MNIST -----------------------------------------------------------------------------

def resolve_data_dir(path: str | Path | None = None) -> Path:
    """The data directory: the argument, else $LATENT_EXPLORER_DATA, else DEFAULT_DATA_DIR."""
    if path is not None and str(path) != "":
        return Path(path).expanduser()
    env = os.environ.get(DATA_ENV_VAR)
    return Path(env).expanduser() if env else DEFAULT_DATA_DIR


def _find_idx(directory: Path, split: str, what: str) -> Path | None:
    """The IDX file for split ("train"/"test") and what ("images"/"labels"), if present."""
    rank = "idx3" if what == "images" else "idx1"
    for prefix in _SPLIT_PREFIXES[split]:
        for sep in ("-", "."):
            for suffix in (".gz", ""):
                candidate = directory / f"{prefix}-{what}{sep}{rank}-ubyte{suffix}"
                if candidate.is_file():
                    return candidate
    return None


def _has_idx_files(directory: Path) -> bool:
    return any(_find_idx(directory, split, what) is not None
               for split in _SPLIT_PREFIXES for what in ("images", "labels"))


def _check_split(split: str) -> None:
    if split not in _SPLIT_PREFIXES:
        raise DataError(f"unknown split {split!r}: use 'train' or 'test'")


def load_fashion_mnist(data_dir: str | Path | None = None, split: str = "train") -> ImageDataset:
    """Fashion-MNIST (or any MNIST-style IDX set with labels 0..9) as uint8 (N, 1, 28, 28)."""
    _check_split(split)
    directory = resolve_data_dir(data_dir)
    if not directory.is_dir():
        raise DataError(f"Fashion-MNIST not found: {directory} is not a directory; {HOW_TO_GET_DATA}")
    images_path = _find_idx(directory, split, "images")
    labels_path = _find_idx(directory, split, "labels")
    if images_path is None or labels_path is None:
        prefix = _SPLIT_PREFIXES[split][0]
        missing = [f"{prefix}-{w}-{r}-ubyte.gz" for w, r, p in
                   (("images", "idx3", images_path), ("labels", "idx1", labels_path)) if p is None]
        raise DataError(f"Fashion-MNIST {split} split not found in {directory} (missing "
                        f"{' and '.join(missing)}, gzipped or not); {HOW_TO_GET_DATA}")
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{images_path} should hold uint8 images (N, H, W) but holds "
                        f"{images.dtype} {images.shape}; check that --data points at Fashion-MNIST")
    if labels.ndim != 1:
        raise DataError(f"{labels_path} should hold labels (N,) but holds shape {labels.shape}")
    if len(labels) != len(images):
        raise DataError(f"{images_path.name} has {len(images)} images but {labels_path.name} has "
                        f"{len(labels)} labels; re-install the data ({HOW_TO_GET_DATA})")
    labels = labels.astype(np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= len(FASHION_MNIST_CLASSES)):
        raise DataError(f"{labels_path} has labels outside 0..9 ({labels.min()}..{labels.max()}); "
                        f"it is not Fashion-MNIST")
    return ImageDataset(np.ascontiguousarray(images[:, None]), labels,
                        list(FASHION_MNIST_CLASSES), str(directory))


# -- folders of images -------------------------------------------------------------------------

def _image_files(folder: Path, recursive: bool) -> list[Path]:
    pattern = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in pattern
                  if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith("."))


def read_image(path: str | Path, image_shape: Sequence[int]) -> np.ndarray:
    """One picture file as uint8 (C, H, W) of image_shape: EXIF-rotated, transparency flattened
    onto black (Fashion-MNIST-style data has a black background), converted to grey or RGB and
    resized. The one image reader of the app, the training data and the command line."""
    channels, height, width = (int(s) for s in image_shape)
    path = Path(path).expanduser()
    try:
        with Image.open(path) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise DataError(f"{path} is {im.width} x {im.height} pixels, more than this app reads "
                                f"({MAX_IMAGE_PIXELS:,}); choose a smaller picture")
            im = ImageOps.exif_transpose(im)
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                im = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
                im.alpha_composite(rgba)
            im = im.convert("L" if channels == 1 else "RGB")
            if im.size != (width, height):
                im = im.resize((width, height), Image.Resampling.LANCZOS)
            array = np.array(im, dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; choose another picture") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a folder, not a picture; choose a PNG or JPEG file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot read the image {path} ({exc}); choose a PNG or JPEG file") from None
    return np.ascontiguousarray(array[None] if channels == 1 else array.transpose(2, 0, 1))


def load_image_folder(folder: str | Path, size: tuple[int, int] = (28, 28), channels: int = 1) -> ImageDataset:
    """Every picture in a folder, resized to size (H, W) as grayscale (1) or RGB (3).

    Sub-folders holding pictures are the classes (sorted by name); otherwise the pictures directly
    in the folder are used, unlabelled (labels -1, no class names)."""
    folder = Path(folder).expanduser()
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 (grayscale) or 3 (RGB), not {channels}")
    if len(size) != 2 or min(size) < 1:
        raise DataError(f"image size must be (height, width) with positive sides, not {size}")
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist; pass --data DIR with a folder of "
                        f"pictures (or the Fashion-MNIST IDX files: {HOW_TO_GET_DATA})")
    class_dirs = sorted(d for d in folder.iterdir()
                        if d.is_dir() and not d.name.startswith(".") and _image_files(d, recursive=True))
    loose = _image_files(folder, recursive=False)
    if class_dirs:
        if loose:
            raise DataError(f"{folder} has both class sub-folders ({', '.join(d.name for d in class_dirs[:3])}"
                            f"{', ...' if len(class_dirs) > 3 else ''}) and loose pictures (e.g. {loose[0].name}); "
                            f"move the loose pictures into a class folder or remove them")
        files = [(p, i) for i, d in enumerate(class_dirs) for p in _image_files(d, recursive=True)]
        class_names = [d.name for d in class_dirs]
    else:
        files = [(p, -1) for p in loose]
        class_names = []
    if not files:
        raise DataError(f"no pictures ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}; pass --data DIR "
                        f"with a folder of pictures (or the Fashion-MNIST IDX files: {HOW_TO_GET_DATA})")
    size = (int(size[0]), int(size[1]))
    images = np.stack([read_image(p, (channels, *size)) for p, _ in files])
    labels = np.asarray([label for _, label in files], dtype=np.int64)
    return ImageDataset(images, labels, class_names, str(folder))


# -- dispatch ----------------------------------------------------------------------------------

def _conform(dataset: ImageDataset, image_shape: tuple[int, int, int]) -> ImageDataset:
    """Resize / change the channels of a dataset's images to image_shape (C, H, W)."""
    channels, height, width = (int(s) for s in image_shape)
    if dataset.image_shape == (channels, height, width):
        return dataset
    if channels not in (1, 3):
        raise DataError(f"image_shape {tuple(image_shape)} needs 1 or 3 channels")
    mode = "L" if dataset.image_shape[0] == 1 else "RGB"
    out = np.empty((len(dataset), channels, height, width), dtype=np.uint8)
    for i, image in enumerate(dataset.images):
        im = Image.fromarray(image[0] if mode == "L" else image.transpose(1, 2, 0), mode)
        im = im.convert("L" if channels == 1 else "RGB")
        if im.size != (width, height):
            im = im.resize((width, height), Image.Resampling.LANCZOS)
        array = np.asarray(im, dtype=np.uint8)
        out[i] = array[None] if channels == 1 else array.transpose(2, 0, 1)
    return ImageDataset(out, dataset.labels.copy(), list(dataset.class_names), dataset.source, dataset.name)


def load_dataset(data: str | Path | None = None, split: str = "train",
                 image_shape: Sequence[int] | None = None) -> ImageDataset:
    """Fashion-MNIST when `data` (default: the data directory) holds IDX files, else a picture
    folder; images resized to image_shape (C, H, W) when it is given.

    A picture folder has no splits unless it has `train/` and `test/` sub-folders. `data` "emoji"
    (or a font file) is the colour emoji set of models/emoji.py, 64 x 64 RGB unless image_shape
    says otherwise."""
    _check_split(split)
    from models.emoji import EMOJI_DATA, is_font_file, load_emoji   # emoji builds on this module

    if data is not None and (str(data) == EMOJI_DATA or is_font_file(data)):
        side = 64 if image_shape is None else int(image_shape[-1])
        dataset = load_emoji(data, split, side)
        return dataset if image_shape is None else _conform(dataset, _checked_shape(image_shape))
    directory = resolve_data_dir(data)
    if not directory.is_dir():
        if data is None or str(data) == "":
            raise DataError(f"Fashion-MNIST not found: {directory} is not a directory; {HOW_TO_GET_DATA}")
        raise DataError(f"{directory} does not exist; pass --data DIR with the Fashion-MNIST IDX files "
                        f"or a folder of pictures")
    if _has_idx_files(directory):
        dataset = load_fashion_mnist(directory, split)
    else:
        folder = directory
        if (directory / "train").is_dir() and (directory / "test").is_dir():
            folder = directory / split
        if image_shape is None:
            dataset = load_image_folder(folder)
        else:
            c, h, w = (int(s) for s in image_shape)
            dataset = load_image_folder(folder, (h, w), c)
    if image_shape is not None:
        dataset = _conform(dataset, _checked_shape(image_shape))
    return dataset


def _checked_shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
    if len(image_shape) != 3:
        raise DataError(f"image_shape must be (C, H, W), not {tuple(image_shape)}")
    return tuple(int(s) for s in image_shape)  # type: ignore[return-value]
