"""The metadata document of a checkpoint, typed: one schema for the trainer that writes it and for
every reader (the loader, `inspect`, `models`, the model library).

A checkpoint's `latent_explorer` JSON document reads into a `CheckpointMetadata` with
`parse_metadata`, which checks every field's type and bounds (depth, sizes, finite numbers,
integer ranges) and raises one CheckpointError naming the first bad field; `to_json` writes it
back. Keys the schema does not know are kept in `extras`, so files from newer versions and
imported sidecars keep what they carry. Text from a file stays data: readers get plain strings.

Torch-free, so the model library can read metadata without importing torch.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

from models.bounded_json import deeper_than
from models.errors import CheckpointError
from models.limits import (
    MAX_ABS_INT,
    MAX_CLASSES,
    MAX_IMAGE_CHANNELS,
    MAX_IMAGE_SIDE,
    MAX_JSON_DEPTH,
    MAX_LATENT_ELEMENTS,
    MAX_LIST_ITEMS,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    MAX_TIMESTEPS,
)

FORMAT_VERSION = 1
DTYPES = ("float32", "float16")
DIGEST_PREFIX = "sha256:"

Json = Any   # None, bool, int, float, str, list of Json, dict of str -> Json


@dataclass(frozen=True)
class DatasetInfo:
    """What the model was trained on."""

    name: str = ""               # what people call it ("fashion-mnist")
    source: str = ""             # where it was read from (a folder)
    split: str = ""
    size: int | None = None      # images
    extras: dict[str, Json] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingInfo:
    """How the model was trained: enough to reproduce the run and judge its cost."""

    recipe: dict[str, Json] = field(default_factory=dict)
    seed: int | None = None
    epochs: int | None = None
    hardware: str = ""
    device: str = ""
    torch: str = ""
    threads: int | None = None
    cpu_count: int | None = None
    time_s: float | None = None                                    # wall-clock seconds
    loss_curve: dict[str, list[float]] = field(default_factory=dict)   # one point per epoch
    step_losses: dict[str, list[float]] = field(default_factory=dict)  # coarse, per step
    extras: dict[str, Json] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduleInfo:
    """A DDPM's noise schedule (defaults: models.diffusion.ScheduleConfig's)."""

    num_timesteps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02
    kind: str = "linear"


@dataclass(frozen=True)
class CheckpointMetadata:
    """The whole document. `config` holds the network's settings as JSON values; `extras` any
    other key (e.g. `source`, `imported_from`, a scripted generator's `output_range`)."""

    kind: str = ""
    architecture: str = ""
    config: dict[str, Json] = field(default_factory=dict)
    format: int = FORMAT_VERSION
    name: str = ""
    image_shape: tuple[int, int, int] | None = None
    latent_shape: tuple[int, ...] | None = None
    class_names: tuple[str, ...] = ()
    dataset: DatasetInfo | None = None
    training: TrainingInfo | None = None
    metrics: dict[str, Json] = field(default_factory=dict)
    schedule: ScheduleInfo | None = None
    dtype: str = ""                  # how the tensors are stored: "float32" or "float16"
    digest: str = ""                 # "sha256:<hex>" of the tensor data, see models.checkpoint
    extras: dict[str, Json] = field(default_factory=dict)

    def to_json(self) -> dict[str, Json]:
        return to_json(self)


# -- reading ------------------------------------------------------------------------------------

def parse_metadata(value: Any, where: str = "metadata") -> CheckpointMetadata:
    """A CheckpointMetadata from a JSON object (a dict read from a file, or built by a program),
    every field checked; CheckpointError naming `where` and the field otherwise."""
    if isinstance(value, CheckpointMetadata):
        value = value.to_json()       # a program's typed value is checked like a file's
    if not isinstance(value, Mapping):
        raise CheckpointError(f"{where} should be a JSON object, not {_type_name(value)}")
    doc = _Fields(json_value(value, where), where)
    return CheckpointMetadata(
        kind=doc.text("kind", MAX_NAME_CHARS),
        architecture=doc.text("architecture", MAX_NAME_CHARS),
        config=doc.object("config"),
        format=_format(doc),
        name=doc.text("name", MAX_NAME_CHARS),
        image_shape=doc.shape("image_shape", image_shape_of),
        latent_shape=doc.shape("latent_shape", latent_shape_of),
        class_names=_class_names(doc),
        dataset=_dataset(doc.section("dataset")),
        training=_training(doc.section("training")),
        metrics=doc.object("metrics"),
        schedule=_schedule(doc.section("schedule")),
        dtype=doc.choice("dtype", DTYPES),
        digest=_digest(doc),
        extras=doc.extras(CheckpointMetadata),
    )


class _Fields:
    """Typed reads of the fields of one JSON object; messages name the document and the field
    ("x.safetensors: metadata 'training.epochs' ...")."""

    def __init__(self, doc: Mapping[str, Json], where: str, prefix: str = ""):
        self.doc, self.where, self.prefix = doc, where, prefix

    def what(self, key: str) -> str:
        return f"{self.where} '{self.prefix}{key}'"

    def text(self, key: str, limit: int = MAX_TEXT_CHARS) -> str:
        value = self.doc.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise CheckpointError(f"{self.what(key)} should be a string, got {_short(value)}")
        if len(value) > limit:
            raise CheckpointError(f"{self.what(key)} is {len(value)} characters long (at most {limit})")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.text(key)
        if value and value not in choices:
            raise CheckpointError(f"{self.what(key)} should be one of {', '.join(choices)}, got {_short(value)}")
        return value

    def object(self, key: str) -> dict[str, Json]:
        value = self.doc.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise CheckpointError(f"{self.what(key)} should be a JSON object, got {_short(value)}")
        return value

    def section(self, key: str) -> _Fields | None:
        value = self.doc.get(key)
        return None if value is None else _Fields(self.object(key), self.where, f"{self.prefix}{key}.")

    def integer(self, key: str, low: int = 0, high: int = MAX_ABS_INT) -> int | None:
        value = self.doc.get(key)
        return None if value is None else _int_in(value, low, high, self.what(key))

    def number(self, key: str, low: float = -math.inf, high: float = math.inf) -> float | None:
        value = self.doc.get(key)
        return None if value is None else _number(value, self.what(key), low, high)

    def shape(self, key: str, check: Any) -> Any:
        value = self.doc.get(key)
        return None if value is None else check(value, self.what(key))

    def extras(self, schema: type) -> dict[str, Json]:
        known = {f.name for f in fields(schema)}
        return {k: v for k, v in self.doc.items() if k not in known}


def json_value(value: Any, where: str) -> Json:
    """value as plain JSON (lists, dicts with str keys, str, finite numbers, bool, None), checked
    against the limits; numpy and torch scalars and arrays, tuples, sets and paths are converted.
    CheckpointError naming `where` for anything else."""
    if deeper_than(value, MAX_JSON_DEPTH):
        raise CheckpointError(f"{where} nests more than {MAX_JSON_DEPTH} levels deep")
    return _plain(value, where)


def _plain(value: Any, where: str) -> Json:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise CheckpointError(f"{where} holds a text of {len(value)} characters (at most {MAX_TEXT_CHARS})")
        return value
    if isinstance(value, int):
        if abs(value) > MAX_ABS_INT:
            raise CheckpointError(f"{where} holds {_short(value)}, outside the 64-bit range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CheckpointError(f"{where} holds {value}; store finite numbers (or null)")
        return value
    if isinstance(value, Mapping):
        if len(value) > MAX_LIST_ITEMS:
            raise CheckpointError(f"{where} has {len(value)} keys (at most {MAX_LIST_ITEMS})")
        out = {}
        for key, item in value.items():
            if isinstance(key, Enum):
                key = key.value
            if not isinstance(key, str):
                raise CheckpointError(f"{where} has a key {_short(key)} that is not a string")
            shown = key if key.isprintable() and len(key) <= 40 else repr(key[:40])
            out[key] = _plain(item, f"{where}.{shown}")
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        if len(value) > MAX_LIST_ITEMS:
            raise CheckpointError(f"{where} has {len(value)} items (at most {MAX_LIST_ITEMS})")
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [_plain(item, f"{where}[{i}]") for i, item in enumerate(items)]
    if isinstance(value, PurePath):
        return str(value)
    if type(value).__module__ == "torch" and type(value).__name__ in ("device", "dtype"):
        return str(value)
    if hasattr(value, "tolist") and callable(value.tolist):   # numpy and torch scalars and arrays
        return _plain(value.tolist(), where)
    raise CheckpointError(f"{where} holds a {_type_name(value)}, which is not JSON-serialisable; "
                          f"store plain numbers, strings, lists and dicts")


def _format(doc: _Fields) -> int:
    version = doc.doc.get("format", FORMAT_VERSION)
    if not _is_int(version):
        raise CheckpointError(f"{doc.where} has no valid format version (got {_short(version)}); the file "
                              f"is damaged or not written by Latent Explorer; re-save it")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{doc.where} uses checkpoint format {version}, newer than this Latent "
                              f"Explorer reads ({FORMAT_VERSION}); upgrade Latent Explorer")
    if version < 1:
        raise CheckpointError(f"{doc.where} uses unknown checkpoint format {version}; re-save it with "
                              f"this version of Latent Explorer")
    return version


def _digest(doc: _Fields) -> str:
    value = doc.text("digest")
    hexpart = value[len(DIGEST_PREFIX):]
    if value and not (value.startswith(DIGEST_PREFIX) and len(hexpart) == 64
                      and all(c in "0123456789abcdef" for c in hexpart)):
        raise CheckpointError(f"{doc.what('digest')} should be '{DIGEST_PREFIX}' and 64 hex digits, got "
                              f"{_short(value)}; the file is damaged: re-save it")
    return value


def _class_names(doc: _Fields) -> tuple[str, ...]:
    names = doc.doc.get("class_names") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CheckpointError(f"{doc.what('class_names')} should be a list of strings; re-save it")
    if len(names) > MAX_CLASSES:
        raise CheckpointError(f"{doc.what('class_names')} lists {len(names)} classes (at most {MAX_CLASSES})")
    long = [n for n in names if len(n) > MAX_NAME_CHARS]
    if long:
        raise CheckpointError(f"{doc.what('class_names')} holds a name of {len(long[0])} characters "
                              f"(at most {MAX_NAME_CHARS})")
    return tuple(names)


def _dataset(doc: _Fields | None) -> DatasetInfo | None:
    if doc is None:
        return None
    source = doc.text("source")
    return DatasetInfo(
        # files written before the name was recorded say only where the data came from
        name=doc.text("name", MAX_NAME_CHARS) or Path(source).name,
        source=source, split=doc.text("split", MAX_NAME_CHARS), size=doc.integer("size"),
        extras=doc.extras(DatasetInfo))


def _curves(doc: _Fields, key: str) -> dict[str, list[float]]:
    value = doc.doc.get(key)
    if value is None:
        return {}
    if isinstance(value, list):          # one unnamed curve
        value = {"loss": value}
    if not isinstance(value, dict):
        raise CheckpointError(f"{doc.what(key)} should be an object of named lists of numbers, "
                              f"got {_short(value)}")
    curves = {}
    for name, curve in value.items():
        if not isinstance(curve, list):
            raise CheckpointError(f"{doc.what(key)} '{name}' should be a list of numbers, got {_short(curve)}")
        curves[name] = [float(_number(v, f"{doc.what(key)} '{name}'")) for v in curve]
    return curves


def _training(doc: _Fields | None) -> TrainingInfo | None:
    if doc is None:
        return None
    time_s = doc.number("time_s", 0.0)
    return TrainingInfo(
        recipe=doc.object("recipe"), seed=doc.integer("seed", -MAX_ABS_INT), epochs=doc.integer("epochs"),
        hardware=doc.text("hardware", MAX_NAME_CHARS), device=doc.text("device", MAX_NAME_CHARS),
        torch=doc.text("torch", MAX_NAME_CHARS), threads=doc.integer("threads"), cpu_count=doc.integer("cpu_count"),
        time_s=None if time_s is None else float(time_s),
        loss_curve=_curves(doc, "loss_curve"), step_losses=_curves(doc, "step_losses"),
        extras=doc.extras(TrainingInfo))


def _schedule(doc: _Fields | None) -> ScheduleInfo | None:
    if doc is None:
        return None
    names = [f.name for f in fields(ScheduleInfo)]
    unknown = sorted(set(doc.doc) - set(names))
    if unknown:
        raise CheckpointError(f"{doc.where} 'schedule' has unknown keys {', '.join(unknown)}; it takes "
                              f"{', '.join(names)}")
    default = ScheduleInfo()
    steps = doc.integer("num_timesteps", 1, MAX_TIMESTEPS)
    start, end = doc.number("beta_start", 0.0, 1.0), doc.number("beta_end", 0.0, 1.0)
    return ScheduleInfo(num_timesteps=default.num_timesteps if steps is None else steps,
                        beta_start=default.beta_start if start is None else float(start),
                        beta_end=default.beta_end if end is None else float(end),
                        kind=doc.choice("kind", ("linear", "cosine")) or default.kind)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_in(value: Json, low: int, high: int, what: str) -> int:
    if not _is_int(value):
        raise CheckpointError(f"{what} should be an integer, got {_short(value)}")
    if not low <= value <= high:
        raise CheckpointError(f"{what} is {_short(value)}, outside {low}..{high}")
    return value


def _number(value: Json, what: str, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CheckpointError(f"{what} should be a number, got {_short(value)}")
    if not low <= value <= high:
        raise CheckpointError(f"{what} is {_short(value)}, outside {low:g}..{high:g}")
    return value


def shape_of(value: Json, what: str, rank: int | None = None) -> tuple[int, ...]:
    """A list of positive integers (of length `rank` when given) as a tuple."""
    if not isinstance(value, list) or not value or (rank is not None and len(value) != rank):
        length = f" of length {rank}" if rank else ""
        raise CheckpointError(f"{what} should be a list of positive integers{length}, got {_short(value)}")
    return tuple(_int_in(s, 1, MAX_ABS_INT, f"{what}[{i}]") for i, s in enumerate(value))


def image_shape_of(value: Json, what: str) -> tuple[int, int, int]:
    """[C, H, W] within the limits: 1 to MAX_IMAGE_CHANNELS channels, sides up to MAX_IMAGE_SIDE."""
    c, h, w = shape_of(value, what, 3)
    if c > MAX_IMAGE_CHANNELS:
        raise CheckpointError(f"{what} {list(value)} has {c} channels; images have 1 to {MAX_IMAGE_CHANNELS}")
    if max(h, w) > MAX_IMAGE_SIDE:
        raise CheckpointError(f"{what} {list(value)} has a side over {MAX_IMAGE_SIDE} pixels, the most "
                              f"this app shows")
    return c, h, w


def latent_shape_of(value: Json, what: str) -> tuple[int, ...]:
    """A latent shape of at most MAX_LATENT_ELEMENTS elements in up to 4 dimensions."""
    shape = shape_of(value, what)
    if len(shape) > 4 or math.prod(shape) > MAX_LATENT_ELEMENTS:
        raise CheckpointError(f"{what} {_short(value)} asks for latents of {math.prod(shape):,} values "
                              f"in {len(shape)} dimensions; at most {MAX_LATENT_ELEMENTS:,} values in up "
                              f"to 4 dimensions are allowed")
    return shape


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _short(value: Any, limit: int = 60) -> str:
    """A value for a message, never longer than about `limit` characters whatever it holds."""
    if _is_int(value) and abs(value) > 10 ** 30:
        return "an integer of more than 30 digits"
    if isinstance(value, (list, dict)) and deeper_than(value, 4):
        return f"{_type_name(value)} nested more than 4 levels deep"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# -- writing ------------------------------------------------------------------------------------

def to_json(meta: CheckpointMetadata) -> dict[str, Json]:
    """The JSON document of meta (what parse_metadata reads back). Unset fields are left out,
    except the ones every checkpoint has."""
    doc = _section(meta)
    for key in ("format", "kind", "architecture", "config", "class_names", "metrics"):
        doc[key] = _section_value(getattr(meta, key))
    return doc


def _section(obj: Any) -> dict[str, Json]:
    doc: dict[str, Json] = dict(obj.extras)
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.name != "extras" and value not in (None, "", {}, ()):
            doc[f.name] = _section_value(value)
    return doc


def _section_value(value: Any) -> Json:
    if isinstance(value, (DatasetInfo, TrainingInfo)):
        return _section(value)
    if isinstance(value, ScheduleInfo):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return {k: _section_value(v) for k, v in value.items()}
    return value
