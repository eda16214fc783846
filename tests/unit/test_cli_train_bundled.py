"""`latent-explorer train-bundled` writes to a new folder: the shipped checkpoints are replaced
only when asked for by name."""
from __future__ import annotations

import hashlib

from explorer.cli import main
from resources import CHECKPOINTS


def digests() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(CHECKPOINTS.glob("*.safetensors"))}


def test_by_default_it_trains_into_a_new_folder_and_leaves_the_shipped_models(idx_data, tmp_path, monkeypatch,
                                                                             capsys):
    monkeypatch.chdir(tmp_path)
    before = digests()
    assert main(["train-bundled", "--data", str(idx_data), "--only", "vae-2d", "--epochs", "1"]) == 0
    assert (tmp_path / "bundled-models" / "vae-2d.safetensors").is_file()
    assert digests() == before
    # a second run does not overwrite what the first one made unless told to
    assert main(["train-bundled", "--data", str(idx_data), "--only", "vae-2d", "--epochs", "1"]) == 2
    assert "--force" in capsys.readouterr().err


def test_the_shipped_folder_needs_its_own_flag(idx_data, capsys):
    before = digests()
    assert main(["train-bundled", "--data", str(idx_data), "--only", "vae-2d", "--out", str(CHECKPOINTS)]) == 2
    assert "--replace-bundled" in capsys.readouterr().err
    assert digests() == before
