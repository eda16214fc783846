"""The two image domains a translator is trained on, each named by a short spec:

- class names of the dataset, comma-separated: `Sneaker`, `Shirt,T-shirt/top`; `all` for every
  class;
- `edges` or `edges:CLASSES`: the Canny edge maps (models/edges.py) of those images;
- a folder of pictures, read at the dataset's image shape.

A domain keeps, for every image, the dataset index it came from (`source_index`), so the true
garment of an edge map is known; training draws the two domains in independent orders, so the
translator never sees a true pair.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.data import DataError, ImageDataset, load_image_folder
from models.edges import edge_maps

EDGES = "edges"
ALL = "all"


@dataclass(frozen=True)
class Domain:
    spec: str                 # what was asked for
    name: str                 # what people call it ("Sneaker", "edge maps of all classes")
    images: np.ndarray        # uint8 (N, C, H, W)
    labels: np.ndarray        # int64 (N,): the class of each image (of its garment), -1 if none
    source_index: np.ndarray  # int64 (N,): index into the dataset, -1 for a folder's pictures

    def __len__(self) -> int:
        return len(self.images)


def _class_indices(names: str, data: ImageDataset, spec: str) -> list[int]:
    if names.strip().lower() == ALL:
        if not data.class_names:
            raise DataError(f"domain {spec!r}: the data has no classes to take 'all' of")
        return list(range(len(data.class_names)))
    lookup = {n.lower(): i for i, n in enumerate(data.class_names)}
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n.lower() not in lookup]
    if unknown or not wanted:
        raise DataError(f"domain {spec!r}: {', '.join(unknown) or 'no class'} is not a class of the data; "
                        f"name classes ({', '.join(data.class_names) or 'none'}), 'all', 'edges[:CLASSES]' or a "
                        f"folder of pictures")
    return [lookup[n.lower()] for n in wanted]


def load_domain(spec: str, data: ImageDataset | None) -> Domain:
    """The images of one domain spec, from `data` (a labelled dataset) or a folder."""
    text = spec.strip()
    if not text:
        raise DataError("a domain spec is empty: name classes, 'edges[:CLASSES]' or a folder")
    edges = text.lower() == EDGES or text.lower().startswith(EDGES + ":")
    if not edges and ("/" in text or Path(text).is_dir()):
        return _folder_domain(text, data)
    if data is None:
        raise DataError(f"domain {spec!r} names classes, but there is no labelled dataset to take them from")
    classes = _class_indices(text.split(":", 1)[1] if ":" in text else ALL, data, spec) if edges \
        else _class_indices(text, data, spec)
    index = np.flatnonzero(np.isin(data.labels, classes)).astype(np.int64)
    if len(index) == 0:
        raise DataError(f"domain {spec!r} has no images in {data.source or 'the data'}")
    images = data.images[index]
    what = ALL if len(classes) == len(data.class_names) else ", ".join(data.class_names[c] for c in classes)
    if edges:
        maps = edge_maps(images)
        maps = np.ascontiguousarray(np.repeat(maps, images.shape[1], axis=1))   # as many channels as the images
        return Domain(spec, f"edge maps of {what}" if what != ALL else "edge maps", maps, data.labels[index], index)
    return Domain(spec, what if what != ALL else "garments", np.ascontiguousarray(images), data.labels[index], index)


def _folder_domain(folder: str, data: ImageDataset | None) -> Domain:
    c, h, w = data.image_shape if data is not None else (1, 28, 28)
    pictures = load_image_folder(folder, (h, w), c)
    if len(pictures) == 0:
        raise DataError(f"domain folder {folder} holds no pictures")
    none = np.full(len(pictures), -1, dtype=np.int64)    # a folder's sub-folders are not the dataset's classes
    return Domain(folder, Path(folder).name or folder, pictures.images, none, none.copy())
