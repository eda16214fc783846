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
