"""`latent-explorer evaluate` on colour models: the judge is the bundled classifier that reads the
model's images, measured on the data it was trained on; a model no classifier reads gets a
message, not a failure."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import resources
from explorer.cli import main
from explorer.commands import evaluate as command
from models.checkpoint import save_checkpoint
from models.generative import build_model
from models.metadata import CheckpointMetadata, TrainingInfo

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _checkpoint(folder: Path, name: str, architecture: str, config: dict, recipe: dict | None = None) -> Path:
    torch.manual_seed(0)
    model = build_model(architecture, config, {"name": name})
    path = folder / f"{name}.safetensors"
    save_checkpoint(path, model.net, CheckpointMetadata(
        kind=str(model.kind), architecture=architecture, config=config, name=name,
        image_shape=tuple(model.image_shape), latent_shape=tuple(model.latent_shape),
        training=TrainingInfo(recipe=recipe or {"kind": "untrained"})))
    return path


RGB32_GAN = {"image_shape": [3, 32, 32], "latent_dim": 8, "g_channels": 8, "d_channels": 8}
RGB32_JUDGE = {"image_shape": [3, 32, 32], "code_dim": 8, "base_channels": 8, "head_hidden": 16, "num_classes": 7}


def test_the_judge_is_the_bundled_classifier_of_the_models_image_shape(tmp_path, tiny_models, monkeypatch):
    grey = tiny_models["classifier"]
    rgb = _checkpoint(tmp_path, "rgb-judge", "ae-classifier", RGB32_JUDGE, {"kind": "classifier", "data": "emoji"})
    gan = _checkpoint(tmp_path, "rgb-gan", "dcgan", RGB32_GAN)
    monkeypatch.setattr(resources, "bundled_checkpoints",
                        lambda: {"classifier": grey, "rgb-gan": gan, "rgb-judge": rgb})
    assert command.bundled_judge((3, 32, 32)) == str(rgb)
    assert command.bundled_judge((1, 28, 28)) == str(grey)
    assert command.bundled_judge((3, 64, 64)) is None
    from models.checkpoint import open_model

    assert command.judge_data(open_model(rgb)) == "emoji"
    assert command.judge_data(open_model(grey)) is None       # Fashion-MNIST, or --data


def test_a_model_no_classifier_reads_gets_a_message_not_a_failure(capsys, tmp_path):
    path = _checkpoint(tmp_path, "rgb32", "dcgan", RGB32_GAN)
    assert main(["evaluate", str(path), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "no classifier reads 3x32x32 images" in out and "do not apply" in out
    assert "--image-size 32 --channels 3" in out
    assert main(["evaluate", str(path), "--device", "cpu", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["applicable"] is False
