"""Hostile torch.export and TorchScript archives: refused before torch reads them, nothing in them runs.

Each hostile file carries a payload that creates a marker file when it runs; the control tests
show each payload is live, so the marker's absence after loading proves nothing ran.
"""
from __future__ import annotations

import glob
import io
import json
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from models.checkpoint import CheckpointError, open_model

pytestmark = [
    pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning"),
]

SIDECAR = {"latent_shape": [4], "image_shape": [1, 28, 28], "output_range": "tanh"}


class _Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 28 * 28)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z)).view(-1, 1, 28, 28)


class _CodePayload:
    """Unpickling this runs open(marker, 'w'): the file appearing means code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


_EXPORTED: dict[str, bytes] = {}


def _exported_bytes() -> bytes:
    """A valid torch.export archive of the tiny generator (exported once: it takes a second)."""
    if "raw" not in _EXPORTED:
        with tempfile.TemporaryDirectory() as d:
            batch = torch.export.Dim("batch")
            program = torch.export.export(_Generator().eval(), (torch.randn(2, 4),), dynamic_shapes=({0: batch},))
            torch.export.save(program, str(Path(d) / "g.pt2"))
            _EXPORTED["raw"] = (Path(d) / "g.pt2").read_bytes()
    return _EXPORTED["raw"]


def _archive(folder: Path, name: str, change: Callable[[dict[str, bytes], str], None] | None = None,
             source: bytes | None = None) -> Path:
    """A copy of the exported archive (or `source`) with its entries changed, plus a sidecar."""
    src = Path(tempfile.mkdtemp(dir=folder)) / "src.zip"
    src.write_bytes(source if source is not None else _exported_bytes())
    with zipfile.ZipFile(src) as z:
        entries = {i.filename: z.read(i.filename) for i in z.infolist()}
    root = next(iter(entries)).split("/")[0]
    if change is not None:
        change(entries, root)
    path = folder / name
    with zipfile.ZipFile(path, "w") as z:
        for entry, data in entries.items():
            z.writestr(entry, data)
    (folder / f"{name}.json").write_text(json.dumps(SIDECAR))
    return path


def _edit_program(entries: dict[str, bytes], root: str, edit: Callable[[dict], None]) -> None:
    name = f"{root}/models/model.json"
    program = json.loads(entries[name])
    edit(program)
    entries[name] = json.dumps(program).encode()


def test_the_unchanged_archive_loads(tmp_path):
    model = open_model(_archive(tmp_path, "good.pt2"))
    assert model.decode(model.sample_latent(2, seed=0)).shape == (2, 1, 28, 28)


def test_the_code_payload_is_live_when_unpickled_unsafely(tmp_path):
    pickle.loads(pickle.dumps(_CodePayload(tmp_path / "proof")))
    assert (tmp_path / "proof").exists()


def test_a_constant_whose_path_name_leads_to_a_pickle_is_refused_and_not_run(tmp_path):
    # the entry is called "payload", but path_name "opaque_obj_x/payload" makes torch pickle.loads it
    marker = tmp_path / "ran"

    def change(entries, root):
        config_name = f"{root}/data/constants/model_constants_config.json"
        config = json.loads(entries[config_name])
        config["config"]["x"] = {"path_name": "opaque_obj_x/payload", "is_param": False,
                                 "use_pickle": True, "tensor_meta": None}
        entries[config_name] = json.dumps(config).encode()
        entries[f"{root}/data/constants/opaque_obj_x/payload"] = pickle.dumps(_CodePayload(marker))

    path = _archive(tmp_path, "opaque.pt2", change)
    with pytest.raises(CheckpointError, match="pickled Python objects") as info:
        open_model(path)
    assert not marker.exists()
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_path_name_outside_the_tensor_entries_is_refused(tmp_path):
    def change(entries, root):
        config_name = f"{root}/data/weights/model_weights_config.json"
        config = json.loads(entries[config_name])
        first = next(iter(config["config"].values()))
        first["path_name"] = "../weights/weight_0"
        entries[config_name] = json.dumps(config).encode()

    with pytest.raises(CheckpointError, match="only raw tensors named weight_N"):
        open_model(_archive(tmp_path, "path.pt2", change))


def test_weights_stored_as_pickles_are_refused(tmp_path):
    marker = tmp_path / "ran"

    def change(entries, root):
        config_name = f"{root}/data/weights/model_weights_config.json"
        config = json.loads(entries[config_name])
        for payload in config["config"].values():
            payload["use_pickle"] = True
        entries[config_name] = json.dumps(config).encode()
        entries[f"{root}/data/weights/weight_0"] = pickle.dumps(_CodePayload(marker))

    with pytest.raises(CheckpointError, match="stored as a pickle"):
        open_model(_archive(tmp_path, "pickled.pt2", change))
    assert not marker.exists()


def _shared_library(folder: Path, marker: Path) -> bytes:
    """A shared library whose constructor creates `marker` when it is loaded."""
    if shutil.which("cc") is None:
        pytest.skip("no C compiler here to build the native payload")
    source = folder / "payload.c"
    source.write_text('#include <stdio.h>\n__attribute__((constructor)) static void ran(void) '
                      f'{{ FILE *f = fopen("{marker}", "w"); if (f) fclose(f); }}\n')
    library = folder / "payload.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return library.read_bytes()


def test_the_native_payload_is_live_when_loaded(tmp_path):
    marker = tmp_path / "ran"
    library = tmp_path / "lib.so"
    library.write_bytes(_shared_library(tmp_path, marker))
    subprocess.run([sys.executable, "-c", f"import ctypes; ctypes.CDLL({str(library)!r})"], check=True)
    assert marker.exists()


def test_an_aotinductor_payload_is_refused_and_nothing_runs_or_stays_behind(tmp_path):
    marker = tmp_path / "ran"
    library = _shared_library(tmp_path, marker)

    def change(entries, root):
        # what torch needs to dlopen it: a wrapper library and its metadata
        entries[f"{root}/data/aotinductor/model/x.so"] = library
        entries[f"{root}/data/aotinductor/model/x.wrapper.so"] = library
        entries[f"{root}/data/aotinductor/model/x.wrapper_metadata.json"] = b'{"AOTI_DEVICE_KEY": "cpu"}'
        entries[f"{root}/data/aotinductor/model/x.wrapper.cpp"] = b"// compiled wrapper"

    before = set(glob.glob(str(Path(tempfile.gettempdir()) / "aotinductor_*")))
    with pytest.raises(CheckpointError, match="AOTInductor payload") as info:
        open_model(_archive(tmp_path, "aoti.pt2", change))
    assert not marker.exists()
    assert set(glob.glob(str(Path(tempfile.gettempdir()) / "aotinductor_*"))) == before
    assert "native code" in str(info.value)


def test_a_shared_library_anywhere_in_the_archive_is_refused(tmp_path):
    def change(entries, root):
        entries[f"{root}/extra/helper.so"] = b"\x7fELF not really"

    with pytest.raises(CheckpointError, match="AOTInductor payload"):
        open_model(_archive(tmp_path, "so.pt2", change))


def test_guards_code_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "ran"

    def change(entries, root):
        _edit_program(entries, root, lambda p: p.update(guards_code=[f"open({str(marker)!r}, 'w') is not None"]))

    with pytest.raises(CheckpointError, match="guards_code"):
        open_model(_archive(tmp_path, "guards.pt2", change))
    assert not marker.exists()


def test_a_symbolic_size_holding_python_is_refused_and_not_run(tmp_path):
    # torch writes sizes as sympy's srepr, "Symbol('s68', positive=True, integer=True)", and
    # reads them back with sympify, which evaluates the text as Python
    marker = tmp_path / "ran"

    def change(entries, root):
        name = f"{root}/models/model.json"
        text = entries[name].decode()
        symbol = re.search(r"Symbol\('s\d+', positive=True, integer=True\)", text).group(0)
        evil = f"{symbol} + 0*len(str(open({str(marker)!r}, 'w')))"
        entries[name] = text.replace(symbol, evil, 1).encode()

    with pytest.raises(CheckpointError, match="symbolic size"):
        open_model(_archive(tmp_path, "sym.pt2", change))
    assert not marker.exists()


def test_a_node_calling_something_other_than_an_aten_operator_is_refused(tmp_path):
    def change(entries, root):
        def edit(program):
            program["graph_module"]["graph"]["nodes"][0]["target"] = "torch.os.system"
        _edit_program(entries, root, edit)

    with pytest.raises(CheckpointError, match="'torch.os.system'"):
        open_model(_archive(tmp_path, "target.pt2", change))


def test_an_operator_that_reads_files_is_refused(tmp_path):
    def change(entries, root):
        def edit(program):
            program["graph_module"]["graph"]["nodes"][0]["target"] = "torch.ops.aten.from_file.default"
        _edit_program(entries, root, edit)

    with pytest.raises(CheckpointError, match="from_file"):
        open_model(_archive(tmp_path, "from_file.pt2", change))


def test_example_inputs_that_carry_code_are_refused_and_not_run(tmp_path):
    marker = tmp_path / "ran"

    def change(entries, root):
        buffer = io.BytesIO()
        torch.save(((torch.zeros(1, 4),), {"x": _CodePayload(marker)}), buffer)
        entries[f"{root}/data/sample_inputs/model.pt"] = buffer.getvalue()

    with pytest.raises(CheckpointError, match="more than tensors"):
        open_model(_archive(tmp_path, "inputs.pt2", change))
    assert not marker.exists()


def test_an_entry_not_on_the_allow_list_is_refused(tmp_path):
    def change(entries, root):
        entries[f"{root}/extra/run_me.py"] = b"import os"

    with pytest.raises(CheckpointError, match="'extra/run_me.py'"):
        open_model(_archive(tmp_path, "extra.pt2", change))


def test_a_declared_tensor_larger_than_its_data_is_refused_before_allocation(tmp_path):
    def change(entries, root):
        config_name = f"{root}/data/weights/model_weights_config.json"
        config = json.loads(entries[config_name])
        payload = next(iter(config["config"].values()))
        payload["tensor_meta"]["sizes"] = [{"as_int": 100_000}, {"as_int": 100_000}]
        entries[f"{root}/data/weights/{payload['path_name']}"] = b""      # torch would allocate zeros
        entries[config_name] = json.dumps(config).encode()

    with pytest.raises(CheckpointError, match="10,000,000,000 elements"):
        open_model(_archive(tmp_path, "big.pt2", change))


def test_a_program_asking_for_a_huge_tensor_is_refused(tmp_path):
    def change(entries, root):
        def edit(program):
            node = program["graph_module"]["graph"]["nodes"][-1]      # the final view(-1, 1, 28, 28)
            for argument in node["inputs"]:
                if "as_ints" in argument["arg"]:
                    argument["arg"]["as_ints"] = [100_000, 100_000, 28, 28]
        _edit_program(entries, root, edit)

    with pytest.raises(CheckpointError, match="a tensor of"):
        open_model(_archive(tmp_path, "view.pt2", change))


def test_a_truncated_archive_is_one_checkpoint_error(tmp_path):
    path = tmp_path / "damaged.pt2"
    path.write_bytes(_exported_bytes()[:-200])
    (tmp_path / "damaged.pt2.json").write_text(json.dumps(SIDECAR))
    with pytest.raises(CheckpointError):
        open_model(path)


# -- TorchScript --------------------------------------------------------------------------------

class _FileWriter(nn.Module):
    """A TorchScript generator whose forward maps a file with shared=True: it creates the file."""

    def __init__(self, marker: str):
        super().__init__()
        self.marker = marker
        self.fc = nn.Linear(4, 28 * 28)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        mapped = torch.from_file(self.marker, True, 4)      # used, so TorchScript keeps the call
        return torch.tanh(self.fc(z)).view(-1, 1, 28, 28) + 0 * mapped.sum()


def test_a_torchscript_generator_that_writes_files_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "ran"
    scripted = torch.jit.script(_FileWriter(str(marker)))
    scripted(torch.zeros(1, 4))                    # the payload is live: it creates the file
    assert marker.exists()
    marker.unlink()
    scripted.save(str(tmp_path / "w.pt"))
    (tmp_path / "w.pt.json").write_text(json.dumps({**SIDECAR, "scripted": True}))
    with pytest.raises(CheckpointError, match="from_file"):
        open_model(tmp_path / "w.pt")
    assert not marker.exists()


def test_a_torchscript_archive_with_unknown_entries_is_refused(tmp_path):
    torch.jit.script(_Generator()).save(str(tmp_path / "g.pt"))
    raw = (tmp_path / "g.pt").read_bytes()
    path = _archive(tmp_path, "odd.pt", lambda entries, root: entries.update({f"{root}/payload.bin": b"x"}),
                    source=raw)
    (tmp_path / "odd.pt.json").write_text(json.dumps({**SIDECAR, "scripted": True}))
    with pytest.raises(CheckpointError, match="'payload.bin'"):
        open_model(path)
