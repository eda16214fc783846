"""Importers for other people's model files, each described by a JSON sidecar next to it.

- plain state dicts (.pt / .pth, or a foreign .safetensors) loaded into a built-in architecture
  named by the sidecar ({"architecture", "config", "kind"?, "class_names"?, "name"?}). A .pt file
  is read with `torch.load(weights_only=True)` only, so a pickle that carries code is refused,
  never run.
- TorchScript (.pt with `"scripted": true` in the sidecar) and torch.export (.pt2) generators
  z -> image, with a sidecar giving {"latent_shape", "image_shape", "output_range": "tanh" |
  "sigmoid"}. Their archives are checked entry by entry before torch reads them
  (models/archive.py). A compiled graph is still a program, so it is run once on one latent to
  check the sidecar: open only generators you trust.

Each file is read once, bounded, from a regular file; torch only ever sees those bytes.
"""
from __future__ import annotations

import io
import logging
import math
import os
import pickle
import re
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from models import bounded_json
from models.archive import (
    check_export_archive,
    check_state_dict_archive,
    check_torch_save_start,
    check_torchscript_archive,
)
from models.checkpoint import (
    EXPORT_SUFFIX,
    NATIVE_SUFFIX,
    STATE_DICT_SUFFIXES,
    build,
    check_class_names,
    load_weights,
    open_model_file,
    read_header,
    read_tensors,
)
from models.config_check import check_config, check_weights_fit
from models.errors import CheckpointError, one_line
from models.limits import MAX_MODEL_FILE_BYTES, MAX_SIDECAR_BYTES
from models.metadata import (
    FORMAT_VERSION,
    CheckpointMetadata,
    image_shape_of,
    json_value,
    latent_shape_of,
    parse_metadata,
)
from models.user_files import file_kind, os_error_message, read_regular_file

if TYPE_CHECKING:
    from models.generative import GenerativeModel

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
_SCRIPTED_EXAMPLE = '{"latent_shape": [100], "image_shape": [1, 28, 28], "output_range": "tanh"}'


# -- sidecars ----------------------------------------------------------------------------------

def sidecar_path(path: Path, sidecar: str | Path | None) -> Path | None:
    """The explicit sidecar, else FILE.pt.json, else FILE.json next to the file, else None. A
    candidate that exists but is not a regular file is an error, not a missing sidecar."""
    if sidecar is not None:
        return Path(sidecar).expanduser()
    for candidate in (path.with_name(path.name + ".json"), path.with_suffix(".json")):
        try:
            mode = os.stat(candidate).st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise CheckpointError(os_error_message(candidate, "sidecar", exc)) from None
        if not stat.S_ISREG(mode):
            raise CheckpointError(f"the sidecar of {path.name}, {candidate}, is {file_kind(mode)}, not a "
                                  f"JSON file; remove it or put the JSON description there")
        return candidate
    return None


def read_sidecar(sidecar: Path | None) -> CheckpointMetadata:
    """A sidecar's JSON object through the metadata schema (empty when there is no sidecar)."""
    if sidecar is None:
        return CheckpointMetadata()
    where = f"sidecar {sidecar}"
    value = bounded_json.loads(read_regular_file(sidecar, "sidecar", MAX_SIDECAR_BYTES), where)
    if not isinstance(value, dict):
        raise CheckpointError(f"{where} must hold a JSON object, not a {type(value).__name__}")
    return parse_metadata(value, where)


def is_scripted(sidecar: Path | None) -> bool:
    return read_sidecar(sidecar).extras.get("scripted") is True


# -- state dicts -------------------------------------------------------------------------------

def _torch_load_weights_only(data: bytes, path: Path) -> Any:
    check_state_dict_archive(data, path)
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+)", str(exc))
        if found:
            raise CheckpointError(
                f"{path} holds code or Python objects besides tensors (it refers to {found.group(1)[:80]}); "
                f"it was not run. Only plain state dicts can be imported: in the program that made "
                f"it, save model.state_dict() (or export a TorchScript / torch.export generator)") from None
        raise CheckpointError(f"{path} is not a readable PyTorch file (the tensors-only reader stopped "
                              f"at data it does not accept; nothing in it was run); it is damaged or "
                              f"not written by torch.save: save model.state_dict() with torch.save") from None
    except Exception as exc:  # zip, EOF and format errors from torch's reader
        raise CheckpointError(f"{path} is not a readable PyTorch file ({one_line(exc)}); it is damaged "
                              f"or of another kind: re-save it") from None


def _check_torch_save_file(path: Path) -> None:
    """Whether `path` starts as torch.save files do, before anything else is said about it: a text
    file or a picture renamed .pt is not a state dict, whatever its sidecar says."""
    from models.user_files import open_regular_file

    with open_regular_file(path, "model file", MAX_MODEL_FILE_BYTES) as f:
        check_torch_save_start(f.read(64), path)


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
    into the built-in architecture its JSON sidecar names ({"architecture", "config", "kind"?,
    "class_names"?, "name"?, ...}); `architecture` and `config`, when given, win over the sidecar."""
    path = Path(path).expanduser()
    if path.suffix.lower() in STATE_DICT_SUFFIXES:
        _check_torch_save_file(path)
    side_path = sidecar_path(path, sidecar)
    side = read_sidecar(side_path)
    architecture = architecture or side.architecture
    if not architecture:
        from models.generative import ARCHITECTURES

        raise CheckpointError(
            f"{path} holds bare weights and nothing says which network they belong to; write a "
            f"sidecar {path.name}.json next to it: {{\"architecture\": NAME, \"config\": {{...}}}}, "
            f"NAME one of {', '.join(ARCHITECTURES)} and the config the network's settings")
    if config is None:
        config = side.config
    elif not isinstance(config, Mapping):
        raise CheckpointError(f"the config for {path} must be a JSON object of the network's settings")
    else:
        config = json_value(dict(config), f"the config for {path}")
    where = str(side_path or path)
    meta = parse_metadata({
        **side.to_json(),
        "format": FORMAT_VERSION,
        "kind": side.kind or ARCHITECTURE_KINDS.get(architecture, ""),
        "architecture": architecture,
        "config": dict(config),
        "name": side.name or path.stem,
        "imported_from": str(path),
    }, f"{where}: metadata")
    check_config(config, where)
    check_class_names(meta, where)

    if path.suffix.lower() == NATIVE_SUFFIX:
        with open_model_file(path) as f:
            header = read_header(f, path)
            check_weights_fit(architecture, config, header.shapes, str(path))
            tensors = read_tensors(f, path)
    else:
        data = read_regular_file(path, "state dict", MAX_MODEL_FILE_BYTES)
        tensors = _state_dict_from(_torch_load_weights_only(data, path), path)
        check_weights_fit(architecture, config, {k: tuple(v.shape) for k, v in tensors.items()}, str(path))

    model = build(meta, path)
    if meta.kind and meta.kind != str(model.kind):
        raise CheckpointError(f"{where}: says kind {meta.kind!r} but architecture {architecture!r} is a "
                              f"{model.kind}; fix the sidecar")
    load_weights(model.net, tensors, path)
    model.metadata["kind"] = str(model.kind)
    model.metadata.setdefault("image_shape", [int(s) for s in model.image_shape])
    model.metadata.setdefault("latent_shape", [int(s) for s in model.latent_shape])
    model.metadata.setdefault("source", str(path))
    return model


# -- TorchScript and torch.export generators ---------------------------------------------------

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


@contextmanager
def _torch_export_logs_errors_only() -> Iterator[None]:
    """torch.export.load logs a whole traceback as a warning before raising; the error it raises
    says what matters, so the warning would only spill a traceback onto the console."""
    logger = logging.getLogger("torch.export")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _load_exported(data: bytes, path: Path) -> nn.Module:
    check_export_archive(data, path)
    try:
        with _torch_export_logs_errors_only():
            program = torch.export.load(io.BytesIO(data))
        return _ExportedGenerator(program.module())
    except Exception as exc:
        raise CheckpointError(f"{path} could not be loaded as a torch.export program ({one_line(exc)}); "
                              f"re-export it with torch.export.save from this PyTorch version "
                              f"({torch.__version__})") from None


def _load_torchscript(data: bytes, path: Path) -> nn.Module:
    check_torchscript_archive(data, path)
    try:
        return torch.jit.load(io.BytesIO(data), map_location="cpu")
    except Exception as exc:
        raise CheckpointError(f"{path} is not a TorchScript archive torch can read ({one_line(exc)}); save "
                              f"it with torch.jit.save(torch.jit.script(generator)), or drop "
                              f"\"scripted\": true from its sidecar if it is a state dict") from None


def _scripted_description(side: CheckpointMetadata, where: Path) -> dict[str, Any]:
    """The sidecar of a scripted generator as the metadata of its model."""
    doc = side.to_json()
    problems = []
    for key, check, example in (("latent_shape", latent_shape_of, "[100]"),
                                ("image_shape", image_shape_of, "[1, 28, 28]")):
        if doc.get(key) is None:
            problems.append(f"'{key}' (e.g. {example})")
        else:
            check(doc[key], f"sidecar {where} '{key}'")     # raises naming the value and the limit
    output_range = doc.get("output_range", "tanh")
    if output_range not in _OUTPUT_RANGES:
        problems.append("'output_range' (\"tanh\" for [-1, 1] or \"sigmoid\" for [0, 1])")
    if problems:
        raise CheckpointError(f"sidecar {where} needs valid {', '.join(problems)}, e.g. {_SCRIPTED_EXAMPLE}")
    doc.pop("scripted", None)
    doc.update(architecture="scripted", output_range=output_range)
    return doc


def import_scripted(path: str | Path, sidecar: str | Path | None = None) -> GenerativeModel:
    """A TorchScript (.pt/.pth) or torch.export (.pt2) generator z -> image, described by a JSON
    sidecar: {"latent_shape", "image_shape", "output_range": "tanh"|"sigmoid", "class_names"?, "name"?}."""
    path = Path(path).expanduser()
    side_path = sidecar_path(path, sidecar)
    if side_path is None:
        raise CheckpointError(f"{path} needs a sidecar {path.name}.json describing the generator, e.g. "
                              f"{_SCRIPTED_EXAMPLE}")
    side = _scripted_description(read_sidecar(side_path), side_path)
    data = read_regular_file(path, "model file", MAX_MODEL_FILE_BYTES)
    module = _load_exported(data, path) if path.suffix.lower() == EXPORT_SUFFIX else _load_torchscript(data, path)
    _probe_generator(module, side, path)

    from models.generative import ScriptedGenerator

    side.setdefault("name", path.stem)
    side["format"] = FORMAT_VERSION
    side["source"] = str(path)
    try:
        return ScriptedGenerator(module, side)
    except Exception as exc:
        raise CheckpointError(f"{path} cannot be used as a generator ({one_line(exc)}); check its "
                              f"sidecar {side_path}") from None


def _probe_generator(module: nn.Module, side: dict[str, Any], path: Path) -> None:
    """Run one latent through the generator so a wrong sidecar fails now, not mid-drag."""
    z = torch.randn(1, *side["latent_shape"], generator=torch.Generator().manual_seed(0))
    try:
        with torch.inference_mode():
            out = module(z)
    except Exception as exc:
        hint = (" and export it with a dynamic batch dimension (dynamic_shapes)"
                if path.suffix.lower() == EXPORT_SUFFIX else "")
        raise CheckpointError(f"{path} failed on a latent of shape {list(z.shape)} ({one_line(exc)}); "
                              f"check 'latent_shape' in its sidecar{hint}") from None
    image_shape = tuple(side["image_shape"])
    if not isinstance(out, Tensor) or out.ndim == 0 or out.shape[0] != 1 or out[0].numel() != math.prod(image_shape):
        got = list(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise CheckpointError(f"{path}: the sidecar says image_shape {list(image_shape)} but the "
                              f"generator produces {got} for one latent; fix 'image_shape' in the sidecar")
