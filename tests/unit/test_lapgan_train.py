"""Training a LAPGAN end to end on a tiny IDX data set: `latent-explorer train lapgan` (class-
conditional), then inspect, sample and evaluate on the file it wrote."""
from __future__ import annotations

import json
import math

import pytest
from PIL import Image

from explorer.cli import main
from models.checkpoint import load_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ARCH = '{"num_classes": 10, "base_hidden": 16, "channels": [8, 8], "d_channels": 8, "noise_dims": [8, 4, 4]}'


def test_cli_trains_a_conditional_lapgan_that_inspect_sample_and_evaluate_read(idx_data, tiny_models, tmp_path,
                                                                               capsys):
    out = tmp_path / "cc-lapgan.safetensors"
    code = main(["train", "lapgan", "--data", str(idx_data), "--epochs", "2", "--batch-size", "8",
                 "--latent-dim", "6", "--arch", ARCH, "--out", str(out), "--device", "cpu", "--seed", "3"])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()

    assert main(["inspect", str(out), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["architecture"] == "lapgan" and meta["kind"] == "gan"
    assert meta["latent_shape"] == [14]                     # --latent-dim sets the base level's noise: 6 + 4 + 4
    assert meta["config"]["num_classes"] == 10
    curve = meta["training"]["loss_curve"]
    assert {"d_loss", "g_loss", "d0", "g0", "d1", "g1", "d2", "g2"} <= set(curve)
    assert len(curve["d_loss"]) == 2
    assert math.isclose(curve["d_loss"][-1], curve["d0"][-1] + curve["d1"][-1] + curve["d2"][-1], rel_tol=1e-3)

    model = load_checkpoint(out)
    assert model.conditional is not None and model.pyramid is not None
    assert [lv.size for lv in model.pyramid.levels] == [6, 4, 4]

    grid = tmp_path / "grid.png"
    assert main(["sample", str(out), str(grid), "--columns", "4", "--scale", "1"]) == 0
    assert "wrote" in capsys.readouterr().out
    with Image.open(grid) as image:
        assert image.height >= 10 * 28                       # one row per class

    assert main(["evaluate", str(out), "--classifier", str(tiny_models["classifier"]), "--data", str(idx_data),
                 "--device", "cpu", "--samples", "20", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert math.isfinite(report["fid"]) and report["fid"] >= 0
    assert report["model"]["architecture"] == "lapgan"
    assert 0 <= report["conditional_accuracy"] <= 1


def test_a_conditional_lapgan_needs_labelled_data(tmp_path, capsys):
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i in range(8):
        Image.new("L", (28, 28), 30 * i).save(folder / f"{i}.png")
    code = main(["train", "lapgan", "--data", str(folder), "--epochs", "1", "--batch-size", "4", "--arch", ARCH,
                 "--out", str(tmp_path / "x.safetensors"), "--device", "cpu"])
    assert code == 2
    assert "class labels" in capsys.readouterr().err
    assert not (tmp_path / "x.safetensors").exists()
