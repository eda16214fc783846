"""Importing other people's files: plain state dicts (never unpickling code), sidecars, and
TorchScript and torch.export generators."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from models.checkpoint import (
    CheckpointError,
    import_scripted,
    import_state_dict,
    open_model,
)

# the TorchScript importer is tested on purpose, deprecated or not; the raw-pickle case is
# refused before torch's protocol warning could matter
pytestmark = [
    pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning"),
]

from tests.unit.checkpoint_helpers import (ARCH, CONFIG, _model, _same_weights)


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    """A directory of the test's own (tmp_path also holds the shared config folder)."""
    folder = tmp_path / "t"
    folder.mkdir()
    return folder


# -- importing state dicts ---------------------------------------------------------------------

class _CodePayload:
    """Unpickling this runs open(marker, 'w'): the file appearing means code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_the_code_payload_is_live_when_unpickled_unsafely(tmp):
    marker = tmp / "proof"
    pickle.loads(pickle.dumps(_CodePayload(marker)))
    assert marker.exists()


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_pickle_with_code_is_refused_and_not_run(tmp, writer):
    marker = tmp / "ran"
    path = tmp / "evil.pt"
    payload = {"decoder.weight": torch.zeros(2), "x": _CodePayload(marker)}
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(payload, f)
    with pytest.raises(CheckpointError) as info:
        import_state_dict(path, ARCH, CONFIG)
    assert not marker.exists()
    if writer == "torch.save":
        assert "not run" in str(info.value) and "code" in str(info.value)
    with pytest.raises(CheckpointError):
        open_model(path, architecture=ARCH, config=CONFIG)
    assert not marker.exists()


@pytest.mark.parametrize("wrap", ["raw", "state_dict", "model", "module-prefix"])
def test_import_state_dict_variants(tmp, wrap):
    model = _model(seed=3)
    sd = model.net.state_dict()
    obj = {
        "raw": sd,
        "state_dict": {"state_dict": sd, "epoch": 4, "optimizer": {"lr": 0.1}},
        "model": {"model": sd},
        "module-prefix": {f"module.{k}": v for k, v in sd.items()},
    }[wrap]
    torch.save(obj, tmp / "w.pt")
    imported = import_state_dict(tmp / "w.pt", ARCH, CONFIG)
    assert _same_weights(model.net, imported.net)
    assert imported.kind == "vae" and imported.metadata["latent_shape"] == [4]
    assert imported.metadata["architecture"] == ARCH


def test_import_with_a_sidecar(tmp):
    model = _model(seed=4)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.net.state_dict().items()},
               tmp / "w.pth")
    sidecar = {"architecture": ARCH, "config": CONFIG, "class_names": [], "name": "theirs"}
    (tmp / "w.pth.json").write_text(json.dumps(sidecar))
    imported = open_model(tmp / "w.pth")
    assert imported.name == "theirs"
    assert all(v.dtype == torch.float32 for v in imported.net.state_dict().values() if v.is_floating_point())
    for key, value in model.net.state_dict().items():
        torch.testing.assert_close(imported.net.state_dict()[key], value.half().to(value.dtype))


def test_import_without_an_architecture_says_how_to_write_the_sidecar(tmp):
    torch.save(_model().net.state_dict(), tmp / "w.pt")
    with pytest.raises(CheckpointError, match=r"write a sidecar w\.pt\.json") as info:
        import_state_dict(tmp / "w.pt")
    assert "conv-vae" in str(info.value) and "--architecture" not in str(info.value)
    (tmp / "w.pt.json").write_text(json.dumps({"architecture": ARCH, "config": CONFIG}))
    assert open_model(tmp / "w.pt").latent_shape == (4,)


def test_import_into_the_wrong_config_raises(tmp):
    torch.save(_model().net.state_dict(), tmp / "w.pt")
    with pytest.raises(CheckpointError, match="wrong shape"):
        import_state_dict(tmp / "w.pt", ARCH, {**CONFIG, "base_channels": 16})


def test_import_something_that_is_not_a_state_dict_raises(tmp):
    torch.save([torch.zeros(2)], tmp / "list.pt")
    with pytest.raises(CheckpointError, match="state dict"):
        import_state_dict(tmp / "list.pt", ARCH, CONFIG)
    (tmp / "junk.pt").write_bytes(b"\x00garbage" * 20)
    with pytest.raises(CheckpointError, match="not a zip archive as torch.save has written"):
        import_state_dict(tmp / "junk.pt", ARCH, CONFIG)
    (tmp / "junk.pt").write_bytes(b"PK\x03\x04" + b"\x00garbage" * 20)
    with pytest.raises(CheckpointError, match="not a readable PyTorch state dict"):
        import_state_dict(tmp / "junk.pt", ARCH, CONFIG)


def test_foreign_safetensors_can_be_imported_with_an_architecture(tmp):
    model = _model(seed=5)
    save_file({k: v.contiguous() for k, v in model.net.state_dict().items()}, str(tmp / "f.safetensors"))
    imported = open_model(tmp / "f.safetensors", architecture=ARCH, config=CONFIG)
    assert _same_weights(model.net, imported.net)


# -- TorchScript and torch.export generators ---------------------------------------------------

class _TinyGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 28 * 28)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z)).view(-1, 1, 28, 28)


SCRIPTED_SIDECAR = {"latent_shape": [4], "image_shape": [1, 28, 28], "output_range": "tanh"}


def test_torchscript_generator_with_sidecar(tmp):
    torch.manual_seed(0)
    gen = _TinyGenerator().eval()
    torch.jit.script(gen).save(str(tmp / "g.pt"))
    (tmp / "g.pt.json").write_text(json.dumps({**SCRIPTED_SIDECAR, "scripted": True, "name": "ts"}))
    model = open_model(tmp / "g.pt")
    assert model.latent_shape == (4,) and model.image_shape == (1, 28, 28) and model.name == "ts"
    z = model.sample_latent(3, seed=1)
    torch.testing.assert_close(model.decode(z), (gen(z) + 1) / 2)


def test_scripted_sidecar_with_the_wrong_image_shape_raises(tmp):
    torch.jit.script(_TinyGenerator()).save(str(tmp / "g.pt"))
    (tmp / "g.json").write_text(json.dumps({**SCRIPTED_SIDECAR, "image_shape": [3, 28, 28]}))
    with pytest.raises(CheckpointError, match="image_shape"):
        import_scripted(tmp / "g.pt")
    (tmp / "g.json").write_text(json.dumps({**SCRIPTED_SIDECAR, "latent_shape": [7]}))
    with pytest.raises(CheckpointError, match="latent_shape"):
        import_scripted(tmp / "g.pt")
    (tmp / "g.json").write_text(json.dumps({**SCRIPTED_SIDECAR, "output_range": "relu"}))
    with pytest.raises(CheckpointError, match="output_range"):
        import_scripted(tmp / "g.pt")


def test_scripted_generator_needs_a_sidecar(tmp):
    torch.jit.script(_TinyGenerator()).save(str(tmp / "g.pt"))
    with pytest.raises(CheckpointError, match="sidecar"):
        import_scripted(tmp / "g.pt")


def test_a_state_dict_marked_scripted_raises(tmp):
    torch.save(_model().net.state_dict(), tmp / "w.pt")
    (tmp / "w.pt.json").write_text(json.dumps({**SCRIPTED_SIDECAR, "scripted": True}))
    with pytest.raises(CheckpointError, match="TorchScript"):
        open_model(tmp / "w.pt")


def test_torch_export_generator(tmp):
    torch.manual_seed(0)
    gen = _TinyGenerator().eval()
    batch = torch.export.Dim("batch")
    program = torch.export.export(gen, (torch.randn(2, 4),), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(tmp / "g.pt2"))
    (tmp / "g.pt2.json").write_text(json.dumps({**SCRIPTED_SIDECAR, "output_range": "sigmoid"}))
    model = open_model(tmp / "g.pt2")
    z = model.sample_latent(2, seed=0)
    torch.testing.assert_close(model.decode(z), gen(z).clamp(0, 1))


def test_torch_export_with_a_fixed_batch_says_to_export_a_dynamic_one(tmp):
    program = torch.export.export(_TinyGenerator(), (torch.randn(2, 4),))
    torch.export.save(program, str(tmp / "g.pt2"))
    (tmp / "g.pt2.json").write_text(json.dumps(SCRIPTED_SIDECAR))
    with pytest.raises(CheckpointError, match="dynamic"):
        import_scripted(tmp / "g.pt2")


def test_not_an_export_archive_raises(tmp):
    (tmp / "g.pt2").write_bytes(b"nope")
    (tmp / "g.pt2.json").write_text(json.dumps(SCRIPTED_SIDECAR))
    with pytest.raises(CheckpointError, match="torch.export"):
        open_model(tmp / "g.pt2")


class _Failing(nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z.view(-1, 1, 28, 28)


def test_a_torchscript_error_is_one_line_without_its_traceback(tmp):
    torch.jit.script(_Failing()).save(str(tmp / "f.pt"))
    (tmp / "f.pt.json").write_text(json.dumps({**SCRIPTED_SIDECAR, "latent_shape": [7], "scripted": True}))
    with pytest.raises(CheckpointError, match=r"failed on a latent of shape \[1, 7\]") as info:
        open_model(tmp / "f.pt")
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message and "invalid for input of size 7" in message
