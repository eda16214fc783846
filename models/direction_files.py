"""Directions on disk: our own small JSON file, tied to the model it was computed for, and the
component files GANSpace (github.com/harskish/ganspace) writes.

Our file (`save_directions`, `load_directions`) is one JSON object:

    {"format": "latent-explorer directions", "version": 1,
     "model": {"name": "cgan", "digest": "sha256:...", "latent_shape": [64]},
     "method": "SeFa", "message": "", "scale_name": "eigenvalue", "layers": [0, 1],
     "names": [...], "mean": [D numbers], "std": [k], "scale": [k], "directions": [k lists of D]}

Its values are float32 numbers written in full, so they come back exactly. A file is only read
for the model whose digest it names: the digest in the checkpoint's metadata, else the sha256 of
the loaded weights (models.checkpoint.tensor_digest).

A GANSpace component file (`read_ganspace_components`) is the `.npz` its decomposition writes
(`np.savez_compressed`): `lat_comp` (k, *latent_shape) float, the directions in the latent space,
required; `lat_mean` (*latent_shape), `lat_stdev` (k,) (the slider unit, 1 in a Gaussian latent),
`act_stdev` (k,) (the σ of the activations along each component) optional; other entries are
ignored. Only components of the generator's own N(0, I) latent (not StyleGAN's W) fit our models.

Both readers treat the file as a stranger's: regular files only, bounded sizes, no pickles, every
value checked; anything wrong is one DirectionsFileError saying what and what to do.
"""
from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from models import bounded_json
from models.atomic import atomic_write_text
from models.directions import GANSPACE_FILE, SIGMA, Directions
from models.errors import CheckpointError
from models.generative import GenerativeModel
from models.limits import MAX_NAME_CHARS, MiB
from models.user_files import describe_size, open_regular_file, read_at_most

FORMAT = "latent-explorer directions"
VERSION = 1
MAX_FILE_BYTES = 64 * MiB           # a directions file: far above k x D numbers of any latent we open
MAX_DIRECTIONS = 1024
MAX_TEXT = 2000                     # the method and the message
NPZ_ENTRY_BYTES = 64 * MiB          # one array of a GANSpace file, as stored uncompressed


class DirectionsFileError(ValueError):
    """A directions file cannot be used; the message says what is wrong and what to do."""


def model_identity(model: GenerativeModel) -> dict[str, Any]:
    """What a directions file says about the model it belongs to."""
    from models.checkpoint import tensor_digest

    digest = model.metadata.get("digest") or tensor_digest(model.net.state_dict())
    return {"name": model.name, "digest": str(digest), "latent_shape": [int(s) for s in model.latent_shape]}


def save_directions(path: str | Path, directions: Directions, model: GenerativeModel) -> None:
    """Write `directions` of `model` as our JSON file, atomically."""
    doc = {
        "format": FORMAT, "version": VERSION, "model": model_identity(model),
        "method": directions.method, "message": directions.message, "scale_name": directions.scale_name,
        "layers": list(directions.layers) if directions.layers is not None else None,
        "names": list(directions.names), "mean": _floats(directions.mean), "std": _floats(directions.std),
        "scale": _floats(directions.scale), "directions": [_floats(row) for row in directions.directions],
    }
    try:
        atomic_write_text(path, json.dumps(doc, ensure_ascii=False, allow_nan=False) + "\n")
    except ValueError:
        raise DirectionsFileError("these directions hold NaN or infinite values; they cannot be saved") from None
    except OSError as e:
        raise DirectionsFileError(f"cannot write {path}: {e.strerror or e}; check the folder exists and is "
                                  f"writable") from None


def load_directions(path: str | Path, model: GenerativeModel) -> Directions:
    """Directions from our JSON file, or from a GANSpace `.npz` component file, for `model`."""
    path = Path(path)
    if path.suffix.lower() == ".npz":
        return read_ganspace_components(path, model)
    doc = _read_json(path)
    where = f"directions file {path}"
    if doc.get("format") != FORMAT:
        raise DirectionsFileError(f"{path} is not a directions file of this app (no \"format\": \"{FORMAT}\"); "
                                  f"GANSpace component files end in .npz")
    if doc.get("version") != VERSION:
        raise DirectionsFileError(f"{where} has version {_short(doc.get('version'))}; this app reads version "
                                  f"{VERSION}")
    _check_model(doc.get("model"), model, path)
    d = model.latent_dim
    k = _count(doc.get("names"), where)
    rows = _matrix(doc.get("directions"), k, d, f"{where}: directions")
    names = tuple(_text(n, f"{where}: a name", MAX_NAME_CHARS) for n in doc["names"])
    layers = doc.get("layers")
    if layers is not None and not (isinstance(layers, list) and len(layers) == 2
                                   and all(type(v) is int and 0 <= v <= 10_000 for v in layers)
                                   and layers[0] < layers[1]):
        raise DirectionsFileError(f"{where}: layers must be null or [start, stop] with start < stop")
    std = _vector(doc.get("std"), k, f"{where}: std")
    if not (std > 0).all():
        raise DirectionsFileError(f"{where}: every std must be above 0")
    return Directions(_vector(doc.get("mean"), d, f"{where}: mean"), _unit_rows(rows, where), std,
                      _text(doc.get("method"), f"{where}: method", MAX_TEXT),
                      _text(doc.get("message", ""), f"{where}: message", MAX_TEXT), names,
                      _vector(doc.get("scale"), k, f"{where}: scale"),
                      _text(doc.get("scale_name", SIGMA), f"{where}: scale_name", MAX_NAME_CHARS),
                      tuple(layers) if layers is not None else None)


def read_ganspace_components(path: str | Path, model: GenerativeModel) -> Directions:
    """The directions of a GANSpace `.npz` component file (see the module's docstring) for `model`."""
    path = Path(path)
    where = f"GANSpace file {path}"
    try:
        with open_regular_file(path, "GANSpace file", MAX_FILE_BYTES) as f:
            data = read_at_most(f, MAX_FILE_BYTES, path, "GANSpace file")
    except CheckpointError as e:
        raise DirectionsFileError(str(e)) from None
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DirectionsFileError(f"{where} is not an .npz archive (a zip file); GANSpace writes its components "
                                  f"with np.savez_compressed") from None
    with archive:
        entries = {info.filename: info for info in archive.infolist()}
        if "lat_comp.npy" not in entries:
            raise DirectionsFileError(f"{where} has no lat_comp array: it is not a GANSpace component file")
        d = model.latent_dim
        comp = _npz_array(archive, entries["lat_comp.npy"], where)
        if comp.ndim < 2 or math.prod(comp.shape[1:]) != d:
            raise DirectionsFileError(f"{where}: lat_comp has shape {comp.shape}, not (k, {d}) components of "
                                      f"{model.name}'s {d}-dimensional latent; it was computed for another model")
        rows = comp.reshape(len(comp), d)
        k = len(rows)
        if not 1 <= k <= MAX_DIRECTIONS:
            raise DirectionsFileError(f"{where} holds {k} components; 1 to {MAX_DIRECTIONS} can be read")
        optional = {name: _npz_array(archive, entries[f"{name}.npy"], where).reshape(-1)
                    for name in ("lat_mean", "lat_stdev", "act_stdev") if f"{name}.npy" in entries}
    for name, size in (("lat_mean", d), ("lat_stdev", k), ("act_stdev", k)):
        if name in optional and optional[name].size != size:
            raise DirectionsFileError(f"{where}: {name} holds {optional[name].size} values, not {size}")
    std = optional.get("lat_stdev", np.ones(k))
    if not (std > 0).all():
        raise DirectionsFileError(f"{where}: every lat_stdev must be above 0")
    scale, scale_name = (optional["act_stdev"], "σ of the activations") if "act_stdev" in optional else (std, SIGMA)
    return Directions(optional.get("lat_mean", np.zeros(d)).astype(np.float32), _unit_rows(rows, where),
                      std.astype(np.float32), GANSPACE_FILE, f"{k} components read from {path.name}",
                      tuple(f"PC{j + 1}" for j in range(k)), scale.astype(np.float32), scale_name)


# -- checks --------------------------------------------------------------------------------------

def _read_json(path: Path) -> dict[str, Any]:
    try:
        with open_regular_file(path, "directions file", MAX_FILE_BYTES) as f:
            doc = bounded_json.loads(read_at_most(f, MAX_FILE_BYTES, path, "directions file"),
                                     f"directions file {path}", max_depth=4)
    except CheckpointError as e:
        raise DirectionsFileError(str(e)) from None
    if not isinstance(doc, dict):
        raise DirectionsFileError(f"directions file {path} is not a JSON object")
    return doc


def _check_model(value: Any, model: GenerativeModel, path: Path) -> None:
    if not isinstance(value, dict):
        raise DirectionsFileError(f"directions file {path} does not say which model it belongs to")
    mine = model_identity(model)
    if value.get("latent_shape") != mine["latent_shape"]:
        raise DirectionsFileError(f"{path} holds directions of a latent of shape {_short(value.get('latent_shape'))}, "
                                  f"and {model.name}'s latent has shape {mine['latent_shape']}")
    if value.get("digest") != mine["digest"]:
        raise DirectionsFileError(f"{path} holds directions of model {_short(value.get('name'))} "
                                  f"({_short(value.get('digest'))}), not of {model.name} ({mine['digest'][:19]}...): "
                                  f"its weights differ; compute the directions of this model instead")


def _count(names: Any, where: str) -> int:
    if not isinstance(names, list) or not 1 <= len(names) <= MAX_DIRECTIONS:
        raise DirectionsFileError(f"{where}: names must be a list of 1 to {MAX_DIRECTIONS} directions' names")
    return len(names)


def _vector(value: Any, size: int, where: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) != size:
        raise DirectionsFileError(f"{where} must be a list of {size} numbers")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise DirectionsFileError(f"{where} must hold numbers only")
    array = np.asarray(value, dtype=np.float64)
    if not np.isfinite(array).all() or (np.abs(array) > 3.4e38).any():
        raise DirectionsFileError(f"{where} holds a number too large for float32")
    return array.astype(np.float32)


def _matrix(value: Any, rows: int, size: int, where: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) != rows:
        raise DirectionsFileError(f"{where} must be a list of {rows} directions, one per name")
    return np.stack([_vector(row, size, f"{where} [{i}]") for i, row in enumerate(value)])


def _unit_rows(rows: np.ndarray, where: str) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(rows).all():
        raise DirectionsFileError(f"{where}: the directions hold NaN or infinite values")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    if (norms == 0).any():
        raise DirectionsFileError(f"{where}: a direction is all zeros")
    # rows that are unit already (ours always are) stay as they are, bit for bit
    return np.where(np.abs(norms - 1) < 1e-6, rows, rows / norms).astype(np.float32)


def _text(value: Any, where: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise DirectionsFileError(f"{where} must be text of at most {limit} characters")
    return value


def _npz_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> np.ndarray:
    """One .npy entry, its declared size and header checked before its data is read."""
    name = info.filename.removesuffix(".npy")
    if info.file_size > NPZ_ENTRY_BYTES:
        raise DirectionsFileError(f"{where}: {name} unpacks to {describe_size(info.file_size)}, more than the "
                                  f"{describe_size(NPZ_ENTRY_BYTES)} an array of directions may be")
    try:
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            shape, fortran, dtype = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                                     else np.lib.format.read_array_header_2_0(f))
            count = math.prod(shape)
            wanted = count * dtype.itemsize
            raw = f.read(wanted) if dtype.kind in "fiu" and wanted <= info.file_size else b""
    except (ValueError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise DirectionsFileError(f"{where}: {name} cannot be read ({e})") from None
    if dtype.kind not in "fiu":
        raise DirectionsFileError(f"{where}: {name} holds {dtype} values, not numbers")
    if len(raw) != wanted:
        raise DirectionsFileError(f"{where}: {name} claims more values than it holds")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if fortran else "C").astype(np.float64)
    if not np.isfinite(array).all():
        raise DirectionsFileError(f"{where}: {name} holds NaN or infinite values")
    return array


def _floats(values: np.ndarray) -> list[float]:
    return np.asarray(values, dtype=np.float32).reshape(-1).tolist()


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
