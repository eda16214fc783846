"""`latent-explorer models`: bundled and recent models with their metadata, damaged files named."""
from __future__ import annotations

import json
import shutil

import pytest

import resources
from explorer.cli import main
from explorer.settings import add_recent_file, recent_files


@pytest.fixture
def bundled_dir(tmp_path, monkeypatch, tiny_models):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for name in ("vae", "dcgan"):
        shutil.copy(tiny_models[name], folder / f"{name}.safetensors")
    monkeypatch.setattr(resources, "CHECKPOINTS", folder)
    return folder


def test_json_lists_bundled_and_recent_models_with_metadata(bundled_dir, tiny_models, capsys):
    add_recent_file(tiny_models["cgan"])
    assert main(["models", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    bundled = {e["name"]: e for e in listing["bundled"]}
    assert set(bundled) == {"vae", "dcgan"}
    assert bundled["vae"]["kind"] == "vae" and bundled["vae"]["latent_shape"] == [4]
    assert bundled["dcgan"]["kind"] == "gan" and bundled["dcgan"]["architecture"] == "dcgan"
    assert bundled["dcgan"]["image_shape"] == [1, 28, 28]
    assert all(e["bundled"] for e in listing["bundled"])
    (recent,) = listing["recent"]
    assert recent["path"] == str(tiny_models["cgan"].resolve())
    assert recent["conditional"] is True and len(recent["class_names"]) == 10
    assert recent["bundled"] is False


def test_text_listing_names_each_model(bundled_dir, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "Bundled models:" in out and "Recent files:" in out
    assert "vae" in out and "dcgan" in out and "latent 8" in out


def test_a_damaged_recent_file_is_listed_with_its_problem(bundled_dir, tmp_path, capsys):
    bad = tmp_path / "half-written.safetensors"
    bad.write_bytes(b"\x00\x01 not safetensors")
    add_recent_file(bad)
    gone = tmp_path / "deleted.safetensors"
    gone.write_bytes(b"")
    add_recent_file(gone)
    gone.unlink()
    assert main(["models", "--json"]) == 0
    recent = {e["name"]: e for e in json.loads(capsys.readouterr().out)["recent"]}
    assert "half-written" in recent["half-written"]["error"]
    assert "no longer exists" in recent["deleted"]["error"]


def test_no_bundled_models_says_how_to_get_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(resources, "CHECKPOINTS", tmp_path / "empty")
    assert main(["models"]) == 0
    assert "latent-explorer train" in capsys.readouterr().out


def test_recent_list_is_newest_first_without_duplicates(tiny_models):
    add_recent_file(tiny_models["vae"])
    add_recent_file(tiny_models["dcgan"])
    add_recent_file(tiny_models["vae"])
    assert recent_files() == [str(tiny_models["vae"].resolve()), str(tiny_models["dcgan"].resolve())]


def test_a_damaged_recent_list_reads_as_empty(isolated_config):
    (isolated_config / "recent.json").write_text("{not json")
    assert recent_files() == []


# -- inspect and models on every kind of file, in plain text -------------------------------------

def _with_metadata_text(src, dst, text):
    from safetensors.torch import load_file, save_file

    from models.checkpoint import METADATA_KEY

    save_file(load_file(str(src)), str(dst), metadata={METADATA_KEY: text})
    return dst


def _control_characters(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c != "\n") or 0x7f <= ord(c) < 0xa0 or c == "\u202e"]


def test_inspect_describes_a_state_dict_and_an_exported_generator(tmp_path, capsys):
    import torch

    from models.generative import build_model

    config = {"image_shape": [1, 28, 28], "latent_dim": 8, "g_channels": 8, "d_channels": 8}
    torch.save(build_model("dcgan", config, {}).net.state_dict(), tmp_path / "g.pt")
    (tmp_path / "g.pt.json").write_text(json.dumps({"architecture": "dcgan", "config": config, "name": "theirs"}))
    assert main(["inspect", str(tmp_path / "g.pt")]) == 0
    out = capsys.readouterr().out
    assert "name:         theirs" in out and "kind:         gan (architecture dcgan)" in out and "(8,)" in out

    class Generator(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 28 * 28)

        def forward(self, z):
            return torch.tanh(self.fc(z)).view(-1, 1, 28, 28)

    batch = torch.export.Dim("batch")
    program = torch.export.export(Generator().eval(), (torch.randn(2, 4),), dynamic_shapes=({0: batch},))
    torch.export.save(program, str(tmp_path / "e.pt2"))
    (tmp_path / "e.pt2.json").write_text(json.dumps({"latent_shape": [4], "image_shape": [1, 28, 28]}))
    assert main(["inspect", str(tmp_path / "e.pt2")]) == 0
    out = capsys.readouterr().out
    assert "architecture scripted" in out and "latent:       (4,)" in out and "1x28x28" in out
    assert "damaged" not in out


@pytest.mark.parametrize("hostile", ["deep", "huge-int", "nan"])
def test_hostile_metadata_is_the_same_one_line_error_in_inspect_models_and_the_loader(tiny_models, tmp_path,
                                                                                     capsys, hostile):
    from models.checkpoint import CheckpointError, open_model, read_metadata

    value = {"deep": "[" * 100_000 + "]" * 100_000, "huge-int": "7" * 5000, "nan": "NaN"}[hostile]
    text = json.dumps(read_metadata(tiny_models["vae"]))[:-1] + f', "training": {{"time_s": {value}}}}}'
    path = _with_metadata_text(tiny_models["vae"], tmp_path / "hostile.safetensors", text)
    with pytest.raises(CheckpointError) as info:
        open_model(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message

    assert main(["inspect", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"latent-explorer: {message}\n" and "Traceback" not in captured.err

    add_recent_file(path)
    assert main(["models", "--json"]) == 0
    (recent,) = json.loads(capsys.readouterr().out)["recent"]
    assert recent["error"] == message
    assert main(["models"]) == 0
    assert f"cannot be read: {message}" in capsys.readouterr().out


def test_text_from_a_file_is_printed_as_plain_text(tiny_models, tmp_path, capsys):
    from models.checkpoint import read_metadata

    meta = read_metadata(tiny_models["vae"])
    evil = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202eevil"
    meta.update(name=evil, class_names=[evil] * 10, dataset={"name": evil}, metrics={evil: 1.5})
    path = _with_metadata_text(tiny_models["vae"], tmp_path / "evil.safetensors", json.dumps(meta))

    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert _control_characters(out) == [] and "\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202eevil" in out

    assert main(["inspect", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert _control_characters(out) == [] and json.loads(out)["name"] == evil     # escaped, not lost

    add_recent_file(path)
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert _control_characters(out) == [] and "\\x1b]0;owned" in out


def test_an_error_naming_a_file_with_escapes_in_its_name_is_plain_text(tmp_path, capsys):
    path = tmp_path / "bad\x1b[31m.safetensors"
    path.write_bytes(b"not a checkpoint")
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert _control_characters(err) == [] and "bad\\x1b[31m.safetensors" in err


def test_a_sweep_in_the_metrics_reads_as_a_table_and_model_rows_stay_short(tmp_path, capsys):
    from models.describe import describe

    text = describe({"kind": "ddpm", "architecture": "unet-ddpm", "config": {}, "metrics": {
        "fid": 26.5, "guidance": [{"scale": 0, "fid": 71.0}, {"scale": 1, "fid": 26.5}]}})
    lines = text.splitlines()
    at = lines.index("  guidance:")
    assert lines[at + 1].split() == ["scale", "fid"]
    assert lines[at + 2].split() == ["0", "71"] and lines[at + 3].split() == ["1", "26.5"]

    from explorer.commands.models import _line

    row = _line({"name": "classifier", "kind": "classifier", "architecture": "ae-classifier",
                 "latent_shape": [64], "image_shape": [1, 28, 28],
                 "metrics": {"per_class_accuracy": {"Bag": 0.98, "Coat": 0.85}, "test_accuracy": 0.9029}})
    assert "per_class" not in row and "accuracy 0.9029" in row and len(row) < 120


def test_rows_stay_aligned_with_long_names_and_an_image_to_image_model_takes_an_input(capsys):
    from explorer.commands.models import _line

    rows = [_line({"name": name, "kind": "gan", "architecture": "dcgan", "latent_shape": [8], "image_shape": [1, 28, 28],
                   "capabilities": caps}, width=17)
            for name, caps in (("gan", ["prior"]), ("cyclegan-footwear", ["translator"]))]
    assert rows[0].index("dcgan") == rows[1].index("dcgan") and rows[0].index("image") == rows[1].index("image")
    assert " latent 8 " in rows[0] and " input  8 " in rows[1]
