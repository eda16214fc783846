"""The typed metadata schema: what the trainer writes is what every reader reads."""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

import resources
from explorer.cli import main
from explorer.model_info import ModelInfo
from models.checkpoint import read_metadata
from models.data import load_dataset
from models.diffusion import ScheduleConfig
from models.errors import CheckpointError
from models.metadata import (
    CheckpointMetadata,
    DatasetInfo,
    ScheduleInfo,
    TrainingInfo,
    json_value,
    parse_metadata,
)
from models.train import TrainOptions, train


@pytest.fixture
def trained(idx_data, tmp_path):
    """One epoch of a tiny VAE on the synthetic IDX data, written by the trainer."""
    options = TrainOptions(kind="vae", epochs=1, batch_size=16, seed=3, device="cpu", latent_dim=2,
                           arch={"base_channels": 8}, name="tiny")
    out = tmp_path / "tiny.safetensors"
    returned = train(options, load_dataset(idx_data, split="train"), out)
    return out, returned


def test_train_then_inspect_shows_the_training_time_epochs_and_dataset(trained, capsys):
    out, returned = trained
    stored = read_metadata(out)
    time_s = returned["training"]["time_s"]
    assert stored["training"]["time_s"] == time_s >= 0
    assert stored["dataset"]["name"] == "fashion"          # the data folder the trainer read
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    lines = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip() for line in text.splitlines() if ":" in line}
    assert lines["time"] == f"{time_s:.1f} s"
    assert lines["epochs"] == "1" and lines["seed"] == "3"
    assert lines["dataset"].startswith("fashion (train split, 40 images, from ")
    assert "time_s" not in text                             # nothing of the schema shows raw
    assert main(["inspect", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["training"]["epochs"] == 1


def test_the_tooltip_reads_the_trainers_metadata(trained):
    out, returned = trained
    tooltip = ModelInfo.from_metadata(str(out), read_metadata(out)).tooltip()
    assert "dataset: fashion" in tooltip
    assert "trained: 1 epochs, seed 3" in tooltip
    assert f"training time: {returned['training']['time_s']:.1f} s" in tooltip


def test_every_bundled_checkpoint_reads_and_writes_back_unchanged():
    bundled = resources.bundled_checkpoints()
    if not bundled:
        pytest.skip("no bundled checkpoints installed")
    for name, path in bundled.items():
        meta = parse_metadata(read_metadata(path))
        assert meta.training is not None and meta.training.time_s > 0, name
        expected = "noto-color-emoji" if name.startswith("emoji-") else "fashion-mnist"
        assert meta.dataset.name == expected, name     # from its source, recorded before names were
        assert parse_metadata(meta.to_json()) == meta, name


def test_unknown_keys_are_kept_at_every_level():
    doc = {"kind": "vae", "architecture": "conv-vae", "config": {}, "source": "x", "future": [1, 2],
           "dataset": {"name": "d", "licence": "CC"}, "training": {"epochs": 2, "optimizer": "sgd"}}
    meta = parse_metadata(doc)
    assert meta.extras == {"source": "x", "future": [1, 2]}
    assert meta.dataset.extras == {"licence": "CC"} and meta.training.extras == {"optimizer": "sgd"}
    back = meta.to_json()
    assert back["future"] == [1, 2] and back["dataset"]["licence"] == "CC" and back["training"]["optimizer"] == "sgd"


@pytest.mark.parametrize("doc, field", [
    ({"training": {"epochs": "3"}}, "'training.epochs' should be an integer"),
    ({"training": {"time_s": -1}}, "'training.time_s' is -1"),
    ({"training": {"loss_curve": {"loss": [0.5, "x"]}}}, "'training.loss_curve' 'loss' should be a number"),
    ({"dataset": {"size": 2.5}}, "'dataset.size' should be an integer"),
    ({"dataset": "fashion"}, "'dataset' should be a JSON object"),
    ({"image_shape": [1, 28]}, "'image_shape' should be a list of positive integers of length 3"),
    ({"image_shape": [1, 100_000, 100_000]}, "'image_shape' .* side over 1024"),
    ({"latent_shape": [100_000, 100_000]}, "'latent_shape' .* 10,000,000,000 values"),
    ({"class_names": ["a", 3]}, "'class_names' should be a list of strings"),
    ({"schedule": {"num_timesteps": 300_000_000}}, "'schedule.num_timesteps' is 300000000, outside 1..100000"),
    ({"schedule": {"steps": 10}}, "'schedule' has unknown keys steps"),
    ({"dtype": "int4"}, "'dtype' should be one of float32, float16"),
    ({"digest": "md5:abc"}, "'digest' should be 'sha256:'"),
    ({"format": 99}, "newer than this Latent Explorer reads"),
    ({"name": "x" * 1000}, "'name' is 1000 characters long"),
])
def test_a_bad_field_is_one_checkpoint_error_naming_it(doc, field):
    with pytest.raises(CheckpointError, match=field):
        parse_metadata({"kind": "vae", "architecture": "conv-vae", "config": {}, **doc}, "m.safetensors: metadata")


def test_values_no_json_reader_could_handle_are_refused():
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(CheckpointError, match="nests more than 32 levels"):
        parse_metadata({"metrics": {"x": deep}})
    with pytest.raises(CheckpointError, match="outside the 64-bit range"):
        parse_metadata({"metrics": {"x": 10 ** 5000}})
    with pytest.raises(CheckpointError, match="nan; store finite numbers"):
        parse_metadata({"training": {"time_s": math.nan}})
    with pytest.raises(CheckpointError, match="not JSON-serialisable"):
        parse_metadata({"metrics": {"x": object()}})


def test_numbers_from_numpy_and_torch_become_plain_json():
    value = json_value({"a": np.float32(2.5), "b": np.arange(3), "c": torch.tensor([1.5]), "d": (1, 2),
                        "e": torch.float16}, "metrics")
    assert value == {"a": 2.5, "b": [0, 1, 2], "c": [1.5], "d": [1, 2], "e": "torch.float16"}
    assert json.loads(json.dumps(value)) == value


def test_the_typed_value_checks_like_a_file():
    bad = CheckpointMetadata(kind="vae", architecture="conv-vae", training=TrainingInfo(time_s=math.inf))
    with pytest.raises(CheckpointError, match="inf"):
        parse_metadata(bad)


def test_the_schedule_defaults_are_the_samplers():
    assert dataclasses.asdict(ScheduleInfo()) == dataclasses.asdict(ScheduleConfig())


def test_from_metadata_refuses_what_does_not_fit_and_the_tooltip_never_raises():
    with pytest.raises(CheckpointError, match="'latent_shape'"):
        ModelInfo.from_metadata("x.safetensors", {"kind": "vae", "architecture": "conv-vae", "config": {},
                                                  "latent_shape": "four"})
    info = ModelInfo("x", "x", "vae", (4,), (1, 28, 28), metadata={"training": {"epochs": "many"}})
    assert info.tooltip().splitlines()[-1] == "source: x"


def test_a_dataset_without_a_name_is_called_after_its_folder():
    meta = parse_metadata({"dataset": {"source": "/data/fashion-mnist", "split": "train"}})
    assert meta.dataset == DatasetInfo(name="fashion-mnist", source="/data/fashion-mnist", split="train")
