"""Checkpoints: Latent Explorer's own .safetensors format, and the one entry point that opens any
model file (`open_model`).

The native format is a .safetensors file (tensors only; reading it never runs code) whose
`__metadata__` holds one key, `latent_explorer`, a JSON document with everything needed to rebuild
the model (the schema is models/metadata.py), including a digest of the tensor data that is
checked at load. Other people's files are imported by models/importers.py.

Reading is bounded from the first byte: only regular files are opened (models/user_files.py),
the header and the metadata are read up to a limit and parsed with bounds (models/limits.py), and
the declared config is checked against limits and against the tensors' shapes before any
network is built (models/config_check.py). Every failure is a `CheckpointError` whose message
says what is wrong and what to do about it.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save_file
from torch import Tensor, nn

from models import bounded_json
from models.atomic import atomic_path
from models.config_check import check_weights_fit, inline_config, strip_wrapper_prefix
from models.describe import describe
from models.errors import CheckpointError, one_line
from models.limits import MAX_HEADER_BYTES, MAX_METADATA_BYTES, MAX_MODEL_FILE_BYTES
from models.metadata import (
    DIGEST_PREFIX,
    FORMAT_VERSION,
    CheckpointMetadata,
    parse_metadata,
)
from models.user_files import open_regular_file, read_at_most, read_exactly

if TYPE_CHECKING:
    from models.generative import GenerativeModel

__all__ = ["FORMAT_VERSION", "METADATA_KEY", "CheckpointError", "CheckpointMetadata", "describe",
           "import_scripted", "import_state_dict", "inspect_model_file", "load_checkpoint", "load_metadata",
           "open_model", "read_metadata", "save_checkpoint", "tensor_digest"]

METADATA_KEY = "latent_explorer"
NATIVE_SUFFIX = ".safetensors"
STATE_DICT_SUFFIXES = frozenset({".pt", ".pth"})
EXPORT_SUFFIX = ".pt2"
KNOWN_SUFFIXES = frozenset({NATIVE_SUFFIX, EXPORT_SUFFIX, *STATE_DICT_SUFFIXES})
_HEADER_DEPTH = 4        # {"name": {"shape": [...]}} and {"__metadata__": {...}}


# -- saving ------------------------------------------------------------------------------------

def save_checkpoint(path: str | Path, net: nn.Module, metadata: CheckpointMetadata | Mapping[str, Any],
                    half: bool = False, discriminator: nn.Module | None = None) -> None:
    """Write net's weights and metadata as a native checkpoint, atomically. The metadata goes
    through the schema (models/metadata.py); its format, dtype and digest are set here.

    half stores floating-point tensors as float16 (half the size); they are loaded back as float32.
    A GAN's `discriminator`, when given, is kept in the file beside the generator."""
    path = Path(path)
    if path.suffix.lower() != NATIVE_SUFFIX:
        raise CheckpointError(f"cannot save {path}: checkpoints are .safetensors files; "
                              f"name it {path.with_suffix(NATIVE_SUFFIX).name}")
    meta = parse_metadata(metadata, f"cannot save {path}: metadata")
    given = meta.to_json() if isinstance(metadata, CheckpointMetadata) else metadata
    missing = [k for k in ("kind", "architecture", "config") if given.get(k) in ("", None)]
    if missing:
        raise CheckpointError(f"cannot save {path}: metadata lacks {', '.join(missing)}; a checkpoint must "
                              f"say what it is (kind, architecture, config) to be loadable")

    tensors: dict[str, Tensor] = {}
    from models.generative import DISCRIMINATOR_PREFIX

    weights = dict(net.state_dict())
    if discriminator is not None:
        weights.update({DISCRIMINATOR_PREFIX + k: v for k, v in discriminator.state_dict().items()})
    for key, value in weights.items():
        # cloning each tensor also separates tied weights, which safetensors refuses to store shared
        t = value.detach().to("cpu").contiguous().clone()
        if half and t.is_floating_point():
            t = t.to(torch.float16)
        tensors[key] = t
    meta = replace(meta, format=FORMAT_VERSION, dtype="float16" if half else "float32",
                   digest=tensor_digest(tensors))
    document = json.dumps(meta.to_json(), sort_keys=True)
    try:
        with atomic_path(path) as temp:
            save_file(tensors, str(temp), metadata={METADATA_KEY: document})
    except OSError as exc:
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}; check the directory "
                              f"exists and is writable and the disk is not full") from None


def tensor_digest(tensors: Mapping[str, Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order: "sha256:<hex>"."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        digest.update(json.dumps([name, str(t.dtype).removeprefix("torch."), list(t.shape)]).encode())
        digest.update(memoryview(t.reshape(-1).view(torch.uint8).numpy()))
    return DIGEST_PREFIX + digest.hexdigest()


# -- reading the native format -----------------------------------------------------------------

@dataclass(frozen=True)
class SafetensorsHeader:
    """What a .safetensors file says about itself, read without its tensor data."""

    shapes: dict[str, tuple[int, ...]]        # tensor name -> shape
    metadata: dict[str, str] | None           # its __metadata__


def read_header(f: BinaryIO, path: Path) -> SafetensorsHeader:
    """The header of an open .safetensors file, checked against the file's size."""
    size = os.fstat(f.fileno()).st_size
    if size == 0:
        raise CheckpointError(f"{path} is empty (0 bytes): a save or copy was interrupted; "
                              f"re-save or re-copy it")
    if size < 8:
        raise _not_safetensors(path, "shorter than its header")
    (length,) = struct.unpack("<Q", read_exactly(f, 8, path, "checkpoint"))
    if length > MAX_HEADER_BYTES or 8 + length > size:
        raise _not_safetensors(path, f"its header claims {length:,} bytes" + (
            f", more than the {MAX_HEADER_BYTES:,} allowed" if length > MAX_HEADER_BYTES else " past its end"))
    try:
        header = bounded_json.loads(read_exactly(f, length, path, "checkpoint"), "header", _HEADER_DEPTH)
    except CheckpointError as exc:
        raise _not_safetensors(path, str(exc)) from None
    if not isinstance(header, dict):
        raise _not_safetensors(path, "its header is not a JSON object")
    raw_meta = header.pop("__metadata__", None)
    if raw_meta is not None and not (isinstance(raw_meta, dict) and all(isinstance(v, str) for v in raw_meta.values())):
        raise _not_safetensors(path, "its __metadata__ is not an object of strings")
    shapes: dict[str, tuple[int, ...]] = {}
    data_end = 0
    for name, info in header.items():
        shape = info.get("shape") if isinstance(info, dict) else None
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(shape, list) and all(_is_count(s) for s in shape)
                and isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)):
            raise _not_safetensors(path, f"tensor {name!r} has no valid shape and offsets")
        shapes[name] = tuple(shape)
        data_end = max(data_end, offsets[1])
    if 8 + length + data_end != size:
        raise _not_safetensors(path, "it is truncated" if 8 + length + data_end > size else
                               "it has bytes past its last tensor")
    return SafetensorsHeader(shapes, raw_meta)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _not_safetensors(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"{path} is not a readable .safetensors file ({why}); it is damaged or of "
                           f"another kind: re-save or re-copy it")


def read_tensors(f: BinaryIO, path: Path) -> dict[str, Tensor]:
    """All tensors of an open .safetensors file whose header was read."""
    f.seek(0)
    data = read_at_most(f, MAX_MODEL_FILE_BYTES, path, "checkpoint")
    try:
        return load_safetensors(data)
    except Exception as exc:  # safetensors' own error type
        raise _not_safetensors(path, one_line(exc)) from None


def open_model_file(path: str | Path) -> BinaryIO:
    """A model file opened for reading: a regular file within the size limit."""
    return open_regular_file(Path(path).expanduser(), "model file", MAX_MODEL_FILE_BYTES)


def _native_metadata(header: SafetensorsHeader, path: Path) -> CheckpointMetadata:
    raw = header.metadata or {}
    if METADATA_KEY not in raw:
        from models.generative import ARCHITECTURES

        raise CheckpointError(
            f"{path} is a safetensors file but not a Latent Explorer checkpoint (it has no "
            f"'{METADATA_KEY}' metadata); to use its weights, write a sidecar {path.name}.json "
            f"next to it: {{\"architecture\": NAME, \"config\": {{...}}}}, NAME one of "
            f"{', '.join(ARCHITECTURES)}")
    text = raw[METADATA_KEY]
    if len(text) > MAX_METADATA_BYTES:
        raise CheckpointError(f"{path} has {len(text):,} bytes of metadata, more than the "
                              f"{MAX_METADATA_BYTES:,} allowed; it is damaged or hostile")
    doc = bounded_json.loads(text, f"{path} has damaged metadata: it")
    if not isinstance(doc, dict):
        raise CheckpointError(f"{path} has damaged metadata (a JSON {type(doc).__name__}, not an "
                              f"object); re-save or re-copy it")
    if "format" not in doc:
        raise CheckpointError(f"{path} has no format version in its metadata; the file is damaged "
                              f"or not written by Latent Explorer; re-save it")
    meta = parse_metadata(doc, f"{path}: metadata")
    for key in ("kind", "architecture"):
        if not getattr(meta, key):
            raise CheckpointError(f"{path}: metadata '{key}' is missing or empty; the file is damaged: "
                                  f"re-save it")
    if not isinstance(doc.get("config"), dict):
        raise CheckpointError(f"{path}: metadata 'config' is missing or not an object; the file is "
                              f"damaged: re-save it")
    return meta


def load_metadata(path: str | Path) -> CheckpointMetadata:
    """The typed metadata of a native checkpoint (its header only is read)."""
    path = Path(path).expanduser()
    with open_model_file(path) as f:
        return _native_metadata(read_header(f, path), path)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON document of a native checkpoint, validated by the schema; CheckpointError on any
    problem. Only the header is read."""
    return load_metadata(path).to_json()


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> GenerativeModel:
    """A native checkpoint as a ready-to-use GenerativeModel (weights in float32) on device."""
    path = Path(path).expanduser()
    with open_model_file(path) as f:
        header = read_header(f, path)
        meta = _native_metadata(header, path)
        # before a single tensor is read or a layer built: the config must make these tensors
        check_weights_fit(meta.architecture, meta.config, header.shapes, str(path))
        check_class_names(meta, str(path))
        tensors = read_tensors(f, path)
    if meta.digest and tensor_digest(tensors) != meta.digest:
        raise CheckpointError(f"{path}: its weights were changed or damaged after it was saved (their "
                              f"digest differs from the one recorded in the file); re-copy it from where "
                              f"it came from, or retrain it")
    model = build(meta, path)
    _check_declared_shapes(model, meta, path)
    if meta.kind != str(model.kind):
        raise CheckpointError(f"{path}: metadata says kind {meta.kind!r} but architecture "
                              f"{meta.architecture!r} builds a {model.kind}; the metadata is wrong: "
                              f"re-save the checkpoint")
    from models.capabilities import Discriminator
    from models.generative import DISCRIMINATOR_PREFIX, build_discriminator

    kept_d = {k[len(DISCRIMINATOR_PREFIX):]: v for k, v in tensors.items() if k.startswith(DISCRIMINATOR_PREFIX)}
    load_weights(model.net, {k: v for k, v in tensors.items() if not k.startswith(DISCRIMINATOR_PREFIX)}, path)
    if kept_d:
        disc = build_discriminator(meta.architecture, dict(meta.config))
        load_weights(disc, kept_d, path)
        model.discriminator = Discriminator(disc)
    model.metadata.setdefault("source", str(path))
    return to_device(model, device)


def check_class_names(meta: CheckpointMetadata, where: str) -> None:
    """A conditional model's class names, when given, name each of its classes once."""
    num_classes = meta.config.get("num_classes") or 0
    names = meta.class_names
    if isinstance(num_classes, int) and num_classes > 0 and names and len(names) != num_classes:
        raise CheckpointError(f"{where}: {len(names)} class_names for {num_classes} classes (config "
                              f"num_classes); list exactly one name per class, or none to have them "
                              f"called 'class 0', 'class 1', ...")


def build(meta: CheckpointMetadata, path: Path) -> GenerativeModel:
    """The network the metadata describes, freshly initialised (its config already checked)."""
    from models.generative import build_model

    try:
        return build_model(meta.architecture, dict(meta.config), meta.to_json())
    except Exception as exc:  # a config or schedule a network rejects surfaces as any of several types
        raise CheckpointError(f"{path}: the config {inline_config(meta.config)} does not build a "
                              f"{meta.architecture!r} network ({one_line(exc)}); fix the config (or the "
                              f"sidecar) to match the weights") from None


def _check_declared_shapes(model: GenerativeModel, meta: CheckpointMetadata, path: Path) -> None:
    """The metadata's shapes must be what the built network actually works with."""
    for key in ("image_shape", "latent_shape"):
        declared = getattr(meta, key)
        actual = tuple(int(s) for s in getattr(model, key))
        if declared is not None and tuple(declared) != actual:
            raise CheckpointError(f"{path}: metadata says {key} {list(declared)} but the network "
                                  f"produces {list(actual)}; the metadata is wrong: re-save the checkpoint")


def load_weights(net: nn.Module, tensors: Mapping[str, Tensor], path: Path) -> None:
    """Load tensors (already known to fit) into net as float32, refusing NaN and infinities."""
    expected = net.state_dict()
    tensors = strip_wrapper_prefix(tensors, expected)
    cast: dict[str, Tensor] = {}
    for key, target in expected.items():
        t = tensors[key]
        if t.is_floating_point() and target.is_floating_point():
            t = t.to(target.dtype)
            if not bool(torch.isfinite(t).all()):
                raise CheckpointError(f"{path}: tensor {key} holds NaN or infinite values; the file is "
                                      f"damaged or training diverged: re-save or retrain it")
        cast[key] = t
    try:
        net.load_state_dict(cast, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: the weights do not fit the network ({one_line(exc)}); check "
                              f"the architecture and config") from None


def to_device(model: GenerativeModel, device: str | torch.device) -> GenerativeModel:
    try:
        model.to(device)
    except (RuntimeError, AssertionError, ValueError) as exc:
        raise CheckpointError(f"cannot move the model to device {str(device)!r} ({one_line(exc)}); "
                              f"choose an available device, e.g. --device cpu") from None
    return model


# -- one entry point ---------------------------------------------------------------------------

def _resolve_source(source: str | Path) -> Path:
    path = Path(source).expanduser()
    if os.path.lexists(path):
        return path
    text = str(source)
    looks_like_name = isinstance(source, str) and "/" not in text and os.sep not in text \
        and path.suffix.lower() not in KNOWN_SUFFIXES
    if looks_like_name:
        import resources

        try:
            return resources.checkpoint_path(text)
        except KeyError as exc:
            raise CheckpointError(f"{exc.args[0]}; pass a checkpoint file instead, or see "
                                  f"`latent-explorer models`") from None
    raise CheckpointError(f"{path} does not exist; check the path (`latent-explorer models` lists "
                          f"the bundled models)")


def _is_native(path: Path) -> bool:
    with open_model_file(path) as f:
        header = read_header(f, path)
    return METADATA_KEY in (header.metadata or {})


def open_model(source: str | Path, device: str | torch.device = "cpu", architecture: str | None = None,
               config: Mapping[str, Any] | None = None) -> GenerativeModel:
    """Any model the app can open: a bundled name or a file, dispatched on its suffix.
    `architecture` and `config`, when given, override what a state dict's sidecar says."""
    from models import importers

    path = _resolve_source(source)
    suffix = path.suffix.lower()
    if suffix == NATIVE_SUFFIX:
        if _is_native(path) or (architecture is None and importers.sidecar_path(path, None) is None):
            return load_checkpoint(path, device)  # raises for a foreign file, saying how to import it
        model = importers.import_state_dict(path, architecture, config)
    elif suffix in STATE_DICT_SUFFIXES:
        side_path = importers.sidecar_path(path, None)
        if architecture is None and importers.is_scripted(side_path):
            model = importers.import_scripted(path, side_path)
        else:
            model = importers.import_state_dict(path, architecture, config, side_path)
    elif suffix == EXPORT_SUFFIX:
        model = importers.import_scripted(path)
    else:
        raise CheckpointError(f"{path}: unknown model file type {suffix or '(no suffix)'!r}; open a "
                              f".safetensors checkpoint, a .pt/.pth state dict or TorchScript "
                              f"generator, or a .pt2 torch.export generator")
    return to_device(model, device)


def inspect_model_file(source: str | Path) -> CheckpointMetadata:
    """What a model file is, for `inspect`: a native checkpoint's metadata (its header only), or
    for any other file the metadata of the model it imports as (so the file is fully checked)."""
    path = _resolve_source(source)
    if path.suffix.lower() == NATIVE_SUFFIX and _is_native(path):
        return load_metadata(path)
    model = open_model(path)
    doc = {**model.metadata, "kind": str(model.kind), "image_shape": [int(s) for s in model.image_shape],
           "latent_shape": [int(s) for s in model.latent_shape]}
    return parse_metadata(doc, f"{path}: metadata")


def import_state_dict(path: str | Path, architecture: str | None = None, config: Mapping[str, Any] | None = None,
                      sidecar: str | Path | None = None) -> GenerativeModel:
    """See models.importers.import_state_dict."""
    from models import importers

    return importers.import_state_dict(path, architecture, config, sidecar)


def import_scripted(path: str | Path, sidecar: str | Path | None = None) -> GenerativeModel:
    """See models.importers.import_scripted."""
    from models import importers

    return importers.import_scripted(path, sidecar)
