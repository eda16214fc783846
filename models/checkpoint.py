"""Checkpoints: Latent Explorer's own .safetensors format, and importers for other people's files.

The native format is a .safetensors file (tensors only; reading it never runs code) whose
`__metadata__` holds one key, `latent_explorer`, a JSON document with everything needed to rebuild
the model: format, kind, architecture, config, image_shape, latent_shape, class_names, dataset,
training, metrics (and optional extras such as a DDPM's `schedule` or a `name`).

Importers:
- plain state dicts (.pt / .pth, or a foreign .safetensors) with the architecture named by the
  caller or by a JSON sidecar. .pt files are read with `torch.load(weights_only=True)` only, so a
  pickle that carries code is refused, never run.
- TorchScript (.pt with `"scripted": true` in the sidecar) and torch.export (.pt2) generators with
  a JSON sidecar describing their latent and image shapes. A TorchScript archive holds TorchScript
  graphs and tensors, which cannot call arbitrary Python; torch.export archives may embed pickled
  objects, so archives with such entries are refused and the rest is read with pickle forced to
  tensors-only. Even so, a compiled graph is a program: open only generators you trust.

Every failure is a `CheckpointError` whose message says what is wrong and what to do about it.
"""
from __future__ import annotations

import json
import math
import os
import pickle
import re
import threading
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from models.atomic import atomic_path

if TYPE_CHECKING:
    from models.generative import GenerativeModel

FORMAT_VERSION = 1
METADATA_KEY = "latent_explorer"
NATIVE_SUFFIX = ".safetensors"
STATE_DICT_SUFFIXES = frozenset({".pt", ".pth"})
EXPORT_SUFFIX = ".pt2"
KNOWN_SUFFIXES = frozenset({NATIVE_SUFFIX, EXPORT_SUFFIX, *STATE_DICT_SUFFIXES})

# What each built-in architecture is, for state dicts imported without a "kind" in their sidecar.
ARCHITECTURE_KINDS = {
    "conv-vae": "vae",
    "mlp-gan": "gan",
    "dcgan": "gan",
    "unet-ddpm": "ddpm",
    "ae-classifier": "classifier",
}
# Outer keys under which training scripts commonly nest the weights.
_NESTED_STATE_KEYS = ("state_dict", "model", "generator", "net")
_OUTPUT_RANGES = ("tanh", "sigmoid")
_MAX_LISTED = 5


class CheckpointError(Exception):
    """A model file cannot be used; the message says what is wrong and what to do."""


# -- saving ------------------------------------------------------------------------------------

def save_checkpoint(path: str | Path, net: nn.Module, metadata: Mapping[str, Any], half: bool = False) -> None:
    """Write net's weights and metadata as a native checkpoint, atomically.

    half stores floating-point tensors as float16 (half the size); they are loaded back as float32."""
    path = Path(path)
    if path.suffix.lower() != NATIVE_SUFFIX:
        raise CheckpointError(f"cannot save {path}: checkpoints are .safetensors files; "
                              f"name it {path.with_suffix(NATIVE_SUFFIX).name}")
    meta = _validated_for_save(metadata)
    meta["format"] = FORMAT_VERSION
    meta["dtype"] = "float16" if half else "float32"
    try:
        document = json.dumps(meta, default=_json_default, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"cannot save {path}: the metadata is not JSON-serialisable ({exc}); "
                              f"store plain numbers, strings, lists and dicts") from None

    tensors: dict[str, Tensor] = {}
    for key, value in net.state_dict().items():
        # cloning each tensor also separates tied weights, which safetensors refuses to store shared
        t = value.detach().to("cpu").contiguous().clone()
        if half and t.is_floating_point():
            t = t.to(torch.float16)
        tensors[key] = t

    try:
        with atomic_path(path) as temp:
            save_file(tensors, str(temp), metadata={METADATA_KEY: document})
    except OSError as exc:
        raise CheckpointError(f"cannot write {path}: {exc.strerror or exc}; check the directory "
                              f"exists and is writable and the disk is not full") from None


def _validated_for_save(metadata: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(metadata, Mapping):
        raise CheckpointError(f"metadata must be a dict, not {type(metadata).__name__}")
    missing = [k for k in ("kind", "architecture", "config") if k not in metadata]
    if missing:
        raise CheckpointError(f"cannot save: metadata lacks {', '.join(missing)}; a checkpoint must "
                              f"say what it is (kind, architecture, config) to be loadable")
    if not isinstance(metadata["kind"], str) or not isinstance(metadata["architecture"], str):
        raise CheckpointError("cannot save: metadata kind and architecture must be strings")
    if not isinstance(metadata["config"], Mapping):
        raise CheckpointError("cannot save: metadata config must be a dict of the network's settings")
    meta = dict(metadata)  # only top-level keys are added, so the caller's dict stays untouched
    meta.setdefault("class_names", [])
    return meta


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (np.ndarray, Tensor)):
        return value.tolist() if isinstance(value, np.ndarray) else value.detach().cpu().tolist()
    if isinstance(value, (Path, torch.device, torch.dtype)):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


# -- reading the native format -----------------------------------------------------------------

def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON document of a native checkpoint, validated; CheckpointError on any problem."""
    path = _existing_file(path)
    raw = _raw_metadata(path)
    if raw is None or METADATA_KEY not in raw:
        raise CheckpointError(
            f"{path} is a safetensors file but not a Latent Explorer checkpoint (it has no "
            f"'{METADATA_KEY}' metadata); to use its weights, open it with --architecture NAME "
            f"[--config JSON] or put a sidecar {path.name}.json next to it")
    try:
        meta = json.loads(raw[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} has damaged metadata (not valid JSON: {exc}); the file is "
                              f"corrupt: re-save or re-copy it") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path} has damaged metadata (a JSON {type(meta).__name__}, not an "
                              f"object); re-save or re-copy it")
    _validate_metadata(meta, path)
    return meta


def _validate_metadata(meta: dict[str, Any], path: Path) -> None:
    version = meta.get("format")
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(f"{path} has no valid format version in its metadata (got {version!r}); "
                              f"the file is damaged or not written by Latent Explorer; re-save it")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path} uses checkpoint format {version}, newer than this Latent "
                              f"Explorer reads ({FORMAT_VERSION}); upgrade Latent Explorer")
    if version < 1:
        raise CheckpointError(f"{path} uses unknown checkpoint format {version}; re-save it with "
                              f"this version of Latent Explorer")
    for key in ("kind", "architecture"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            raise CheckpointError(f"{path}: metadata '{key}' is missing or not a string; the file is "
                                  f"damaged: re-save it")
    if not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{path}: metadata 'config' is missing or not an object; the file is "
                              f"damaged: re-save it")
    for key, rank in (("image_shape", 3), ("latent_shape", None)):
        if key in meta and not _is_shape(meta[key], rank):
            raise CheckpointError(f"{path}: metadata '{key}' should be a list of positive integers"
                                  f"{f' of length {rank}' if rank else ''}, got {meta[key]!r}; re-save it")
    names = meta.get("class_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{path}: metadata 'class_names' should be a list of strings; re-save it")


def _is_shape(value: Any, rank: int | None) -> bool:
    return (isinstance(value, list) and len(value) > 0 and (rank is None or len(value) == rank)
            and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in value))


def _existing_file(path: str | Path) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise CheckpointError(f"{path} does not exist; check the path (`latent-explorer models` "
                              f"lists the bundled models)")
    if not path.is_file():
        raise CheckpointError(f"{path} is not a file; pass a checkpoint file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size == 0:
        raise CheckpointError(f"{path} is empty (0 bytes): a save or copy was interrupted; "
                              f"re-save or re-copy it")
    return path


def _raw_metadata(path: Path) -> dict[str, str] | None:
    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata()
    except Exception as exc:  # safetensors' own error type and OSErrors alike
        raise CheckpointError(f"{path} is not a readable .safetensors file ({exc}); it is damaged "
                              f"or of another kind: re-save or re-copy it") from None


def _read_safetensors(path: Path) -> dict[str, Tensor]:
    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:
        raise CheckpointError(f"cannot read the tensors of {path} ({exc}); the file is damaged: "
                              f"re-save or re-copy it") from None


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> GenerativeModel:
    """A native checkpoint as a ready-to-use GenerativeModel (weights in float32) on device."""
    path = _existing_file(path)
    meta = read_metadata(path)
    tensors = _read_safetensors(path)
    model = _build(meta["architecture"], meta["config"], meta, path)
    _check_declared_shapes(model, meta, path)
    if meta["kind"] != model.kind:
        raise CheckpointError(f"{path}: metadata says kind {meta['kind']!r} but architecture "
                              f"{meta['architecture']!r} builds a {model.kind}; the metadata is wrong: "
                              f"re-save the checkpoint")
    _load_weights(model.net, tensors, path, meta["architecture"])
    model.metadata.setdefault("source", str(path))
    return _to_device(model, device)


def _build(architecture: str, config: dict[str, Any], metadata: dict[str, Any], path: Path) -> GenerativeModel:
    from models.generative import ARCHITECTURES, build_model

    if architecture not in ARCHITECTURES:
        raise CheckpointError(f"{path}: unknown architecture {architecture!r}; known architectures: "
                              f"{', '.join(ARCHITECTURES)}. Upgrade Latent Explorer, or name the right "
                              f"one with --architecture")
    try:
        return build_model(architecture, dict(config), metadata)
    except KeyError as exc:
        raise CheckpointError(f"{path}: cannot build architecture {architecture!r} ({exc}); known "
                              f"architectures: {', '.join(ARCHITECTURES)}") from None
    except Exception as exc:  # a config a network rejects surfaces as any of several types
        raise CheckpointError(f"{path}: the config {json.dumps(config, sort_keys=True, default=str)} "
                              f"does not build a {architecture!r} network ({type(exc).__name__}: {exc}); "
                              f"fix the config (or the sidecar) to match the weights") from None


def _check_declared_shapes(model: GenerativeModel, meta: dict[str, Any], path: Path) -> None:
    """The metadata's shapes must be what the built network actually works with."""
    for key in ("image_shape", "latent_shape"):
        if key not in meta:
            continue
        declared = tuple(meta[key])
        actual = tuple(int(s) for s in getattr(model, key))
        if declared != actual:
            raise CheckpointError(f"{path}: metadata says {key} {list(declared)} but the network "
                                  f"produces {list(actual)}; the metadata is wrong: re-save the checkpoint")


def _load_weights(net: nn.Module, tensors: Mapping[str, Any], path: Path, architecture: str) -> None:
    """Load tensors into net strictly, with a readable error naming a few offenders."""
    expected = net.state_dict()
    tensors = _strip_wrapper_prefix(dict(tensors), expected)
    not_tensors = [k for k, v in tensors.items() if not isinstance(v, Tensor)]
    if not_tensors:
        raise CheckpointError(f"{path}: entries {_few(not_tensors)} are not tensors; pass a plain "
                              f"state dict (name -> tensor)")
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    mismatched = [f"{k} {list(tensors[k].shape)} vs {list(v.shape)}" for k, v in expected.items()
                  if k in tensors and tuple(tensors[k].shape) != tuple(v.shape)]
    if missing or unexpected or mismatched:
        problems = []
        if missing:
            problems.append(f"missing {len(missing)} ({_few(missing)})")
        if unexpected:
            problems.append(f"unexpected {len(unexpected)} ({_few(unexpected)})")
        if mismatched:
            problems.append(f"wrong shape {len(mismatched)} (file vs network: {_few(mismatched)})")
        raise CheckpointError(f"{path}: the weights do not fit architecture {architecture!r} with this "
                              f"config: {'; '.join(problems)}. Check the architecture and config "
                              f"(--architecture/--config or the sidecar) match how it was trained")
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
        raise CheckpointError(f"{path}: the weights do not fit architecture {architecture!r} ({exc}); "
                              f"check the architecture and config") from None


def _strip_wrapper_prefix(tensors: dict[str, Any], expected: Mapping[str, Tensor]) -> dict[str, Any]:
    """Undo the key prefixes DataParallel ("module.") and torch.compile ("_orig_mod.") add."""
    for prefix in ("module.", "_orig_mod."):
        if tensors and all(k.startswith(prefix) for k in tensors) and not any(k.startswith(prefix) for k in expected):
            tensors = {k[len(prefix):]: v for k, v in tensors.items()}
    return tensors


def _few(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f", ... ({len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else "")


def _to_device(model: GenerativeModel, device: str | torch.device) -> GenerativeModel:
    try:
        model.to(device)
    except (RuntimeError, AssertionError, ValueError) as exc:
        raise CheckpointError(f"cannot move the model to device {str(device)!r} ({exc}); choose an "
                              f"available device, e.g. --device cpu") from None
    return model


# -- importers ---------------------------------------------------------------------------------

def _sidecar_path(path: Path, sidecar: str | Path | None) -> Path | None:
    """The explicit sidecar, else FILE.pt.json, else FILE.json next to the file, else None."""
    if sidecar is not None:
        return Path(sidecar).expanduser()
    for candidate in (path.with_name(path.name + ".json"), path.with_suffix(".json")):
        if candidate.is_file():
            return candidate
    return None


def _read_sidecar(sidecar: Path | None) -> dict[str, Any]:
    if sidecar is None:
        return {}
    try:
        value = json.loads(sidecar.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"sidecar {sidecar} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read sidecar {sidecar} ({exc})") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"sidecar {sidecar} is not valid JSON ({exc}); fix it") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"sidecar {sidecar} must hold a JSON object, not a {type(value).__name__}")
    return value


def _torch_load_weights_only(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+)", str(exc))
        if found:
            raise CheckpointError(
                f"{path} holds code or Python objects besides tensors (it refers to {found.group(1)}); "
                f"it was not run. Only plain state dicts can be imported: in the program that made "
                f"it, save model.state_dict() (or export a TorchScript / torch.export generator)") from None
        raise CheckpointError(f"{path} is not a readable PyTorch file (the tensors-only reader stopped "
                              f"at data it does not accept; nothing in it was run); it is damaged or "
                              f"not written by torch.save: save model.state_dict() with torch.save") from None
    except Exception as exc:  # zip, EOF and format errors from torch's reader
        raise CheckpointError(f"{path} is not a readable PyTorch file ({type(exc).__name__}: {exc}); "
                              f"it is damaged or of another kind: re-save it") from None


def _state_dict_from(obj: Any, path: Path) -> dict[str, Tensor]:
    if isinstance(obj, Mapping):
        if obj and all(isinstance(v, Tensor) for v in obj.values()):
            return dict(obj)
        for key in _NESTED_STATE_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner and all(isinstance(v, Tensor) for v in inner.values()):
                return dict(inner)
    raise CheckpointError(f"{path} does not hold a state dict (a dict of tensors, or one under "
                          f"{', '.join(repr(k) for k in _NESTED_STATE_KEYS)}); save model.state_dict()")


def import_state_dict(path: str | Path, architecture: str | None = None, config: Mapping[str, Any] | None = None,
                      sidecar: str | Path | None = None) -> GenerativeModel:
    """A state dict (.pt/.pth via torch.load(weights_only=True), or a foreign .safetensors) loaded
    into a built-in architecture named by the arguments or by a JSON sidecar
    ({"architecture", "config", "kind"?, "class_names"?, "name"?, ...}); arguments win."""
    path = _existing_file(path)
    side_path = _sidecar_path(path, sidecar)
    side = _read_sidecar(side_path)
    architecture = architecture or side.get("architecture")
    if not architecture:
        from models.generative import ARCHITECTURES

        raise CheckpointError(
            f"{path} holds bare weights and nothing says which network they belong to; pass "
            f"--architecture (one of {', '.join(ARCHITECTURES)}) or write a sidecar "
            f"{path.name}.json with {{\"architecture\": ..., \"config\": {{...}}}}")
    if config is None:
        config = side.get("config", {})
    if not isinstance(config, Mapping):
        raise CheckpointError(f"the config for {path} must be a JSON object of the network's settings")

    if path.suffix.lower() == NATIVE_SUFFIX:
        tensors: dict[str, Tensor] = _read_safetensors(path)
    else:
        tensors = _state_dict_from(_torch_load_weights_only(path), path)

    extras = {k: v for k, v in side.items() if k not in ("architecture", "config", "scripted")}
    meta: dict[str, Any] = {
        **extras,
        "format": FORMAT_VERSION,
        "kind": side.get("kind") or ARCHITECTURE_KINDS.get(architecture, ""),
        "architecture": architecture,
        "config": dict(config),
        "class_names": list(side.get("class_names") or []),
        "name": side.get("name") or path.stem,
        "imported_from": str(path),
    }
    model = _build(architecture, dict(config), meta, path)
    if meta["kind"] and meta["kind"] != model.kind:
        raise CheckpointError(f"{side_path or path}: says kind {meta['kind']!r} but architecture "
                              f"{architecture!r} is a {model.kind}; fix the sidecar")
    _load_weights(model.net, tensors, path, architecture)
    model.metadata["kind"] = model.kind
    model.metadata.setdefault("image_shape", [int(s) for s in model.image_shape])
    model.metadata.setdefault("latent_shape", [int(s) for s in model.latent_shape])
    model.metadata.setdefault("source", str(path))
    return model


# torch.export archives keep arbitrary Python objects under these names, read with plain pickle.
_PICKLED_EXPORT_ENTRIES = ("opaque_obj_", "custom_obj_")
_env_lock = threading.Lock()


@contextmanager
def _tensors_only_unpickling() -> Iterator[None]:
    """Force every torch.load inside (torch.export falls back to weights_only=False) to be safe."""
    with _env_lock:
        old = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
        os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
            else:
                os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = old


class _ExportedGenerator(nn.Module):
    """Holds a torch.export module. Its train/eval mode was fixed when it was exported and the
    module raises if asked to switch, so switching this wrapper leaves it alone."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def train(self, mode: bool = True) -> _ExportedGenerator:
        self.training = mode
        return self

    def forward(self, z: Tensor) -> Tensor:
        return self.module(z)


def _load_exported(path: Path) -> nn.Module:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise CheckpointError(f"{path} is not a torch.export archive ({exc}); export the generator "
                              f"with torch.export.save") from None
    pickled = [n for n in names if n.rsplit("/", 1)[-1].startswith(_PICKLED_EXPORT_ENTRIES)]
    if pickled:
        raise CheckpointError(f"{path} embeds pickled Python objects ({_few(pickled)}), which could run "
                              f"code; it was not loaded. Export a generator whose constants are tensors")
    try:
        with _tensors_only_unpickling():
            program = torch.export.load(str(path))
        return _ExportedGenerator(program.module())
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"{path} holds code or Python objects besides tensors; it was not run "
                              f"({exc})") from None
    except Exception as exc:
        raise CheckpointError(f"{path} could not be loaded as a torch.export program "
                              f"({type(exc).__name__}: {exc}); re-export it with torch.export.save "
                              f"from this PyTorch version ({torch.__version__})") from None


def _load_torchscript(path: Path) -> nn.Module:
    try:
        return torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        raise CheckpointError(f"{path} is not a TorchScript archive ({type(exc).__name__}: {exc}); save "
                              f"it with torch.jit.save(torch.jit.script(generator)), or drop "
                              f"\"scripted\": true from its sidecar if it is a state dict") from None


def _validated_scripted_sidecar(side: dict[str, Any], where: Path) -> dict[str, Any]:
    problems = []
    if not _is_shape(side.get("latent_shape"), None):
        problems.append("'latent_shape' (a list of positive integers, e.g. [100])")
    if not _is_shape(side.get("image_shape"), 3):
        problems.append("'image_shape' ([C, H, W], e.g. [1, 28, 28])")
    if side.get("output_range", "tanh") not in _OUTPUT_RANGES:
        problems.append("'output_range' (\"tanh\" for [-1, 1] or \"sigmoid\" for [0, 1])")
    names = side.get("class_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        problems.append("'class_names' (a list of strings)")
    if problems:
        raise CheckpointError(f"sidecar {where} needs valid {', '.join(problems)}")
    clean = {k: v for k, v in side.items() if k != "scripted"}
    clean.setdefault("output_range", "tanh")
    return clean


def import_scripted(path: str | Path, sidecar: str | Path | None = None) -> GenerativeModel:
    """A TorchScript (.pt/.pth) or torch.export (.pt2) generator z -> image, described by a JSON
    sidecar: {"latent_shape", "image_shape", "output_range": "tanh"|"sigmoid", "class_names"?, "name"?}."""
    path = _existing_file(path)
    side_path = _sidecar_path(path, sidecar)
    if side_path is None:
        raise CheckpointError(
            f"{path} needs a sidecar {path.name}.json describing the generator, e.g. "
            f'{{"latent_shape": [100], "image_shape": [1, 28, 28], "output_range": "tanh"}}')
    side = _validated_scripted_sidecar(_read_sidecar(side_path), side_path)
    module = _load_exported(path) if path.suffix.lower() == EXPORT_SUFFIX else _load_torchscript(path)
    _probe_generator(module, side, path)

    from models.generative import ScriptedGenerator

    side.setdefault("name", path.stem)
    side.setdefault("format", FORMAT_VERSION)
    side["source"] = str(path)
    try:
        return ScriptedGenerator(module, side)
    except Exception as exc:
        raise CheckpointError(f"{path} cannot be used as a generator ({type(exc).__name__}: {exc}); "
                              f"check its sidecar {side_path}") from None


def _probe_generator(module: nn.Module, side: dict[str, Any], path: Path) -> None:
    """Run one latent through the generator so a wrong sidecar fails now, not mid-drag."""
    z = torch.randn(1, *side["latent_shape"], generator=torch.Generator().manual_seed(0))
    try:
        with torch.inference_mode():
            out = module(z)
    except Exception as exc:
        hint = (" and export it with a dynamic batch dimension (dynamic_shapes)"
                if path.suffix.lower() == EXPORT_SUFFIX else "")
        raise CheckpointError(f"{path} failed on a latent of shape {list(z.shape)} "
                              f"({type(exc).__name__}: {str(exc).strip()}); check 'latent_shape' in its "
                              f"sidecar{hint}") from None
    image_shape = tuple(side["image_shape"])
    if not isinstance(out, Tensor) or out.shape[0] != 1 or out[0].numel() != math.prod(image_shape):
        got = list(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise CheckpointError(f"{path}: the sidecar says image_shape {list(image_shape)} but the "
                              f"generator produces {got} for one latent; fix 'image_shape' in the sidecar")


# -- one entry point ---------------------------------------------------------------------------

def _resolve_source(source: str | Path) -> Path:
    path = Path(source).expanduser()
    if path.exists():
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
    raise CheckpointError(f"{path} does not exist; check the path")


def _is_native(path: Path) -> bool:
    try:
        raw = _raw_metadata(path)
    except CheckpointError:
        return True  # let load_checkpoint report the damage
    return raw is not None and METADATA_KEY in raw


def open_model(source: str | Path, device: str | torch.device = "cpu", architecture: str | None = None,
               config: Mapping[str, Any] | None = None) -> GenerativeModel:
    """Any model the app can open: a bundled name or a file, dispatched on its suffix."""
    path = _resolve_source(source)
    suffix = path.suffix.lower()
    if suffix == NATIVE_SUFFIX:
        if _is_native(path):
            return load_checkpoint(path, device)
        if architecture is None and _sidecar_path(path, None) is None:
            return load_checkpoint(path, device)  # raises, explaining how to import it
        model = import_state_dict(path, architecture, config)
    elif suffix in STATE_DICT_SUFFIXES:
        side_path = _sidecar_path(path, None)
        if architecture is None and _read_sidecar(side_path).get("scripted") is True:
            model = import_scripted(path, side_path)
        else:
            model = import_state_dict(path, architecture, config, side_path)
    elif suffix == EXPORT_SUFFIX:
        model = import_scripted(path)
    else:
        raise CheckpointError(f"{path}: unknown model file type {suffix or '(no suffix)'!r}; open a "
                              f".safetensors checkpoint, a .pt/.pth state dict or TorchScript "
                              f"generator, or a .pt2 torch.export generator")
    return _to_device(model, device)


# -- description -------------------------------------------------------------------------------

def describe(metadata: Mapping[str, Any]) -> str:
    """A human-readable multi-line summary of a checkpoint's metadata."""
    m = metadata
    lines = [f"name:         {m.get('name') or '(unnamed)'}",
             f"kind:         {m.get('kind', '?')} (architecture {m.get('architecture', '?')})"]
    if "image_shape" in m:
        lines.append(f"image:        {'x'.join(str(s) for s in m['image_shape'])} (C x H x W)")
    if "latent_shape" in m:
        lines.append(f"latent:       {tuple(m['latent_shape'])}")
    names = list(m.get("class_names") or [])
    lines.append(f"classes:      {len(names)}: {', '.join(names)}" if names else "classes:      none (unconditional)")
    if m.get("config"):
        lines.append(f"config:       {_inline(m['config'])}")
    if m.get("schedule"):
        lines.append(f"schedule:     {_inline(m['schedule'])}")
    if m.get("dataset"):
        lines.append(f"dataset:      {_inline(m['dataset'])}")
    if m.get("dtype"):
        lines.append(f"stored as:    {m['dtype']}")
    training = m.get("training")
    if isinstance(training, Mapping) and training:
        lines.append("training:")
        for key in ("recipe", "seed", "epochs", "hardware"):
            if training.get(key) is not None:
                lines.append(f"  {key + ':':<12}{_inline(training[key])}")
        if isinstance(training.get("time"), (int, float)):
            lines.append(f"  {'time:':<12}{_duration(training['time'])}")
        loss = training.get("loss_curve", training.get("loss"))
        lines.extend(f"  {line}" for line in _loss_lines(loss))
        for key, value in training.items():
            if key not in ("recipe", "seed", "epochs", "hardware", "time", "loss_curve", "loss"):
                lines.append(f"  {key + ':':<12}{_inline(value)}")
    metrics = m.get("metrics")
    if isinstance(metrics, Mapping) and metrics:
        lines.append("metrics:")
        lines.extend(f"  {key + ':':<12}{_inline(value)}" for key, value in metrics.items())
    if "format" in m:
        lines.append(f"format:       {m['format']}")
    return "\n".join(lines)


def _inline(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_inline(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        if len(value) > 8:
            return f"[{', '.join(_inline(v) for v in value[:3])}, ... {len(value)} items]"
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    return str(value)


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def _loss_lines(loss: Any) -> list[str]:
    curves = loss if isinstance(loss, Mapping) else {"loss": loss}
    lines = []
    for name, curve in curves.items():
        if isinstance(curve, list) and curve and all(isinstance(v, (int, float)) for v in curve):
            lines.append(f"{name + ':':<12}{curve[0]:.4g} -> {curve[-1]:.4g} over {len(curve)} points "
                         f"(best {min(curve):.4g})")
    return lines
