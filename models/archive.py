"""What the zip archives of other people's models may hold, checked before torch reads them.

torch.load, torch.jit.load and torch.export.load each trust their archive: torch.export calls
plain `pickle.loads` on any constant whose `path_name` in `model_constants_config.json` starts
with `opaque_obj_` (whatever the entry itself is called), dlopens the `.so` files of an
AOTInductor payload (their constructors run, and an extracted /tmp/aotinductor_* folder stays),
execs the program's `guards_code` as Python, evaluates its symbolic shapes with `sympy.sympify`
(an `eval`), and resolves node targets by attribute path from `torch` (`torch.os.system`).
So every archive is read here first, from the same bytes torch will get, and refused unless each
entry is on an allow-list and every place torch would take code from holds only what it must:

- torch.save state dicts (.pt/.pth): a pickle plus raw tensor storages; the pickle is read by
  torch's tensors-only unpickler (weights_only=True), never here.
- TorchScript (.pt): compiled graphs as TorchScript source, read by TorchScript's own
  unpickler, which builds no Python objects; the source must not call ops that reach files.
- torch.export (.pt2): one program `model` as JSON, weights and tensor constants as raw bytes,
  example inputs as a tensors-only pickle. No pickled objects, no AOTInductor payload; node
  targets are ATen operators, symbolic shapes are plain arithmetic on named sizes, no guards
  code; every declared tensor size is bounded.
"""
from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from models import bounded_json
from models.errors import CheckpointError, one_line
from models.limits import (
    MAX_ARCHIVE_ENTRIES,
    MAX_ARCHIVE_JSON_BYTES,
    MAX_MODEL_FILE_BYTES,
    MAX_PROGRAM_JSON_DEPTH,
    MAX_TENSOR_ELEMENTS,
)
from models.user_files import describe_size

ZIP_MAGIC = b"PK\x03\x04"
_MAX_LISTED = 5

_COMMON = (r"version", r"\.data/version", r"byteorder", r"\.data/serialization_id")
STATE_DICT_ENTRIES = _COMMON + (r"data\.pkl", r"\.format_version", r"\.storage_alignment", r"data/\d+")
TORCHSCRIPT_ENTRIES = _COMMON + (
    r"data\.pkl", r"constants\.pkl", r"data/\d+", r"constants/\d+", r"traced_inputs\.pkl", r"traced_inputs/\d+",
    r"code/(?:[\w.-]+/)*[\w.-]+\.py", r"code/(?:[\w.-]+/)*[\w.-]+\.py\.debug_pkl", r"extra/[\w.-]+")
EXPORT_ENTRIES = (
    r"archive_format", r"archive_version", r"byteorder", r"\.data/version", r"\.data/serialization_id",
    r"models/model\.json", r"data/weights/model_weights_config\.json", r"data/weights/weight_\d+",
    r"data/constants/model_constants_config\.json", r"data/constants/tensor_\d+",
    r"data/sample_inputs/model\.pt")

# ATen operators that read or write files, or print to the terminal: no generator needs them
_DENIED_OPS = frozenset({"from_file", "_print", "print"})
_ATEN_TARGET = re.compile(r"torch\.ops\.aten\.(\w+)\.(\w+)")
# the arithmetic of symbolic sizes (torch._export.serde.serialize's _SYM_OPS)
_SYM_TARGETS = frozenset({
    "_operator.add", "_operator.sub", "_operator.mul", "_operator.floordiv", "_operator.truediv",
    "_operator.mod", "_operator.neg", "_operator.pos", "_operator.pow", "_operator.eq", "_operator.ne",
    "_operator.lt", "_operator.le", "_operator.gt", "_operator.ge", "_operator.and_", "_operator.or_",
    "torch.sym_int", "torch.sym_float", "torch.sym_ite", "torch.sym_max", "torch.sym_min",
    "torch.sym_not", "torch.sym_sqrt", "math.trunc", "math.ceil", "math.floor"})
# A symbolic size is written as sympy's srepr, e.g. "Mul(Integer(2), Symbol('s0', positive=True,
# integer=True))"; torch evaluates it with sympify (an eval), so only these names, small integers,
# quoted size names and arithmetic punctuation may appear. No Pow: 10**10**9 would never finish.
_SYM_NAMES = frozenset({
    "Symbol", "Integer", "Add", "Mul", "Max", "Min", "Mod", "FloorDiv", "CeilDiv", "CleanDiv",
    "PythonMod", "ModularIndexing", "Eq", "Ne", "Lt", "Le", "Gt", "Ge", "StrictLessThan",
    "StrictGreaterThan", "LessThan", "GreaterThan", "Equality", "Unequality", "And", "Or", "Not",
    "true", "false", "oo", "True", "False", "positive", "negative", "integer", "nonnegative",
    "nonpositive", "real", "finite"})
_SYM_TOKEN = re.compile(r"\s+|[A-Za-z]\w*|'[a-z]\w{0,30}'|-?\d{1,12}|[(),=+*/-]")
_MAX_SYM_CHARS = 4000
_TORCHSCRIPT_DENIED = re.compile(r"\b(?:from_file|_print|print)\s*\(")


# -- entries ------------------------------------------------------------------------------------

def _open_zip(data: bytes, path: Path, what: str) -> tuple[zipfile.ZipFile, str, dict[str, zipfile.ZipInfo]]:
    """The archive, its root folder and its entries by name below that folder."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except Exception as exc:  # a damaged zip raises BadZipFile, OverflowError, ValueError, ...
        raise CheckpointError(f"{path} is not a readable {what} (not a valid zip archive: {exc}); "
                              f"it is damaged or of another kind") from None
    if not infos:
        raise CheckpointError(f"{path} is an empty zip archive, not a {what}")
    if len(infos) > MAX_ARCHIVE_ENTRIES:
        raise CheckpointError(f"{path} holds {len(infos)} entries, more than the {MAX_ARCHIVE_ENTRIES} "
                              f"a {what} may have")
    root = infos[0].filename.split("/", 1)[0]
    entries: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        inner = name[len(root) + 1:] if name.startswith(root + "/") else None
        if inner is None or "\\" in name or "\x00" in name or "/../" in f"/{inner}/" or inner in entries:
            raise CheckpointError(f"{path}: entry {name!r} is outside the archive's folder {root!r} or "
                                  f"repeats another; a {what} has one folder of distinct entries")
        if info.flag_bits & 0x1:
            raise CheckpointError(f"{path}: entry {name!r} is encrypted; a {what} never is")
        total += info.file_size
        entries[inner] = info
    if total > MAX_MODEL_FILE_BYTES:
        raise CheckpointError(f"{path} unpacks to {describe_size(total)}, more than the "
                              f"{describe_size(MAX_MODEL_FILE_BYTES)} a model file may hold")
    return archive, root, entries


def _refuse_unlisted(entries: dict[str, zipfile.ZipInfo], allowed: tuple[str, ...], path: Path,
                     what: str) -> None:
    pattern = re.compile("|".join(f"(?:{p})" for p in allowed))
    unlisted = [n for n in entries if not pattern.fullmatch(n)]
    if unlisted:
        raise CheckpointError(f"{path} holds entries a {what} does not have ({_few(unlisted)}); they "
                              f"could carry code, so it was not opened")


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, limit: int) -> bytes:
    if info.file_size > limit:
        raise CheckpointError(f"{path}: entry {info.filename!r} is {describe_size(info.file_size)}, more "
                              f"than the {describe_size(limit)} allowed")
    try:
        with archive.open(info) as f:
            return f.read()      # zipfile stops at the declared size and checks the CRC
    except Exception as exc:  # BadZipFile, zlib.error, OverflowError, EOFError, ... from damage
        raise CheckpointError(f"{path}: entry {info.filename!r} cannot be read ({exc}); the archive is "
                              f"damaged") from None


def _few(items: list[str]) -> str:
    shown = ", ".join(repr(i) for i in items[:_MAX_LISTED])
    return shown + (f", ... ({len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else "")


# -- torch.save state dicts ---------------------------------------------------------------------

def check_torch_save_start(start: bytes, path: Path) -> None:
    """CheckpointError unless a .pt / .pth file starts as torch.save writes them (a zip archive)."""
    if start.startswith(ZIP_MAGIC):
        return
    if not start:
        raise CheckpointError(f"{path} is empty; it is not a file written by torch.save")
    if all(32 <= b < 127 or b in b"\t\r\n" for b in start[:64]):
        raise CheckpointError(f"{path} is a text file, not a zip archive as torch.save has written; open a "
                              f".pt / .pth saved with torch.save(model.state_dict(), ...) or a .safetensors file")
    raise CheckpointError(
        f"{path} is not a zip archive as torch.save has written since PyTorch 1.6 (it may be "
        f"the legacy format, a raw pickle, or damaged); legacy files can ask for any amount of "
        f"memory, so they are not read: load it in PyTorch and save model.state_dict() again "
        f"with torch.save")


def check_state_dict_archive(data: bytes, path: Path) -> None:
    """A torch.save file may hold only its pickle and raw storages (read tensors-only by torch)."""
    check_torch_save_start(data[:64], path)
    _, _, entries = _open_zip(data, path, "PyTorch state dict")
    _refuse_unlisted(entries, STATE_DICT_ENTRIES, path, "PyTorch state dict")
    if "data.pkl" not in entries:
        raise CheckpointError(f"{path} has no data.pkl; it is not a file written by torch.save")


# -- TorchScript --------------------------------------------------------------------------------

def check_torchscript_archive(data: bytes, path: Path) -> None:
    """A TorchScript archive may hold graphs, tensors and its own pickles; its source may not call
    operators that open files or print."""
    archive, _, entries = _open_zip(data, path, "TorchScript archive")
    _refuse_unlisted(entries, TORCHSCRIPT_ENTRIES, path, "TorchScript archive")
    if "data.pkl" not in entries or not any(n.startswith("code/") for n in entries):
        raise CheckpointError(f"{path} is a zip archive but not TorchScript (no data.pkl and code/); save "
                              f"the generator with torch.jit.save(torch.jit.script(generator))")
    for name, info in entries.items():
        if name.endswith(".py"):
            source = _read_entry(archive, info, path, MAX_ARCHIVE_JSON_BYTES).decode("utf-8", "replace")
            found = _TORCHSCRIPT_DENIED.search(source)
            if found:
                raise CheckpointError(f"{path}: its TorchScript code calls {found.group(0).rstrip('( ')}, which "
                                      f"reads or writes outside the model; it was not opened")


# -- torch.export -------------------------------------------------------------------------------

def check_export_archive(data: bytes, path: Path) -> None:
    """A torch.export archive may hold one program of ATen operators with tensor weights and
    constants; see the module's docstring for what is refused and why."""
    archive, _, entries = _open_zip(data, path, "torch.export archive")
    aot = [n for n in entries if n.startswith("data/aotinductor/") or n.endswith(".so")]
    if aot:
        raise CheckpointError(f"{path} holds an AOTInductor payload ({_few(aot)}): compiled native code that "
                              f"would run as soon as it is loaded; it was not opened. Export the generator "
                              f"with torch.export.save only (not torch._inductor.aoti_compile_and_package)")
    pickled = [n for n in entries if re.search(r"(?:^|/)(?:opaque_obj_|custom_obj_)", n)]
    if pickled:
        raise CheckpointError(f"{path} embeds pickled Python objects ({_few(pickled)}), which could run "
                              f"code; it was not opened. Export a generator whose constants are tensors")
    _refuse_unlisted(entries, EXPORT_ENTRIES, path, "torch.export archive")
    for required in ("models/model.json", "data/weights/model_weights_config.json",
                     "data/constants/model_constants_config.json"):
        if required not in entries:
            raise CheckpointError(f"{path} lacks {required}; it is not a torch.export archive of one "
                                  f"program: export the generator with torch.export.save")

    def json_entry(name: str) -> Any:
        raw = _read_entry(archive, entries[name], path, MAX_ARCHIVE_JSON_BYTES)
        return bounded_json.loads(raw, f"{path}: {name}", MAX_PROGRAM_JSON_DEPTH)

    for kind, prefix in (("weights", "weight_"), ("constants", "tensor_")):
        config = json_entry(f"data/{kind}/model_{kind}_config.json")
        _check_payload_config(config, kind, prefix, entries, path)
    _check_program(json_entry("models/model.json"), path)
    if "data/sample_inputs/model.pt" in entries:
        # torch reads the example inputs tensors-only first and falls back to plain pickle when
        # that fails: reading them tensors-only here, from the same bytes, refuses that fallback
        raw = _read_entry(archive, entries["data/sample_inputs/model.pt"], path, MAX_ARCHIVE_JSON_BYTES)
        _tensors_only(raw, path, "data/sample_inputs/model.pt")


def _check_payload_config(config: Any, kind: str, prefix: str, entries: dict[str, zipfile.ZipInfo],
                          path: Path) -> None:
    """Each weight or constant must be raw tensor bytes in an entry of its own kind, of a size
    that matches what it declares. torch picks the reader from `path_name` (opaque_obj_... means
    pickle.loads) and `use_pickle`, not from the entry's name."""
    where = f"{path}: data/{kind}/model_{kind}_config.json"
    items = config.get("config") if isinstance(config, dict) else None
    if not isinstance(items, dict):
        raise CheckpointError(f"{where} should be an object with a 'config' object; the archive is damaged")
    for fqn, payload in items.items():
        if not isinstance(payload, dict):
            raise CheckpointError(f"{where}: {fqn!r} should be an object; the archive is damaged")
        name = payload.get("path_name")
        if not isinstance(name, str) or not re.fullmatch(rf"{prefix}\d+", name):
            raise CheckpointError(f"{where}: {fqn!r} is read from {name!r}; only raw tensors named "
                                  f"{prefix}N are accepted (other names make torch unpickle Python "
                                  f"objects), so it was not opened")
        if payload.get("use_pickle") is not False:
            raise CheckpointError(f"{where}: {fqn!r} is stored as a pickle; only raw tensors are "
                                  f"accepted, so it was not opened")
        entry = entries.get(f"data/{kind}/{name}")
        if entry is None:
            raise CheckpointError(f"{where}: {fqn!r} refers to data/{kind}/{name}, which is not in the "
                                  f"archive; it is damaged")
        meta = payload.get("tensor_meta")
        sizes = meta.get("sizes") if isinstance(meta, dict) else None
        if not isinstance(sizes, list) or not all(_static_size(s) is not None for s in sizes):
            raise CheckpointError(f"{where}: {fqn!r} has no fixed size; the archive is damaged")
        numel = math.prod(_static_size(s) for s in sizes)
        # torch allocates zeros of the declared size for an empty entry, and views the bytes of
        # any other: a tensor cannot hold more elements than its entry has bytes
        if numel > entry.file_size:
            raise CheckpointError(f"{where}: {fqn!r} declares {numel:,} elements but its data is "
                                  f"{entry.file_size:,} bytes; the archive is damaged or hostile")


def _static_size(value: Any) -> int | None:
    if isinstance(value, dict) and isinstance(value.get("as_int"), int) and not isinstance(value["as_int"], bool):
        return value["as_int"] if value["as_int"] >= 0 else None
    return None


def _tensors_only(raw: bytes, path: Path, name: str) -> None:
    import torch

    try:
        torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as exc:  # the unpickler's refusal and any damage alike
        raise CheckpointError(f"{path}: {name} holds more than tensors ({one_line(exc)}); it was not "
                              f"opened") from None


def _check_program(program: Any, path: Path) -> None:
    where = f"{path}: models/model.json"
    if not isinstance(program, dict) or not isinstance(program.get("graph_module"), dict):
        raise CheckpointError(f"{where} is not an exported program; the archive is damaged")
    if program.get("guards_code"):
        raise CheckpointError(f"{where} carries guards_code, Python source that torch would run; it was "
                              f"not opened. Export the generator again with torch.export.save")
    for key, value in _items(program):
        if key == "target":
            _check_target(value, where)
        elif key == "expr_str":
            _check_sym_expr(value, where)
        elif key in ("as_ints", "sizes") and isinstance(value, list):
            dims = [v if isinstance(v, int) else _static_size(v) for v in value]
            numel = math.prod(d for d in dims if isinstance(d, int) and not isinstance(d, bool) and d > 0)
            if numel > MAX_TENSOR_ELEMENTS:
                raise CheckpointError(f"{where} asks for a tensor of {numel:,} elements, more than the "
                                      f"{MAX_TENSOR_ELEMENTS:,} allowed; it was not opened")


def _items(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of every object in value, without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                yield key, child
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)


def _check_target(target: Any, where: str) -> None:
    if not isinstance(target, str):
        return
    aten = _ATEN_TARGET.fullmatch(target)
    if (aten and aten.group(1) not in _DENIED_OPS) or target in _SYM_TARGETS:
        return
    raise CheckpointError(f"{where} calls {target[:80]!r}; only ATen tensor operators are accepted in an "
                          f"exported generator (anything else could run code), so it was not opened")


def _check_sym_expr(expr: Any, where: str) -> None:
    if not isinstance(expr, str):
        return
    pos = 0
    bad = len(expr) > _MAX_SYM_CHARS
    while not bad and pos < len(expr):
        token = _SYM_TOKEN.match(expr, pos)
        if token is None or (token.group(0)[0].isalpha() and token.group(0) not in _SYM_NAMES):
            bad = True
            break
        pos = token.end()
    if bad:
        raise CheckpointError(f"{where} has a symbolic size {expr[:60]!r}... that is not plain "
                              f"arithmetic on sizes; torch would evaluate it as Python, so it was not opened")
