"""Training: every kind learns on a tiny synthetic IDX dataset and writes a checkpoint that loads."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.cli import main
from models.checkpoint import load_checkpoint, read_metadata
from models.data import load_dataset, write_idx
from models.train import KINDS, TrainOptions, train

# Small but real architectures, so one epoch takes a second or two.
SMALL_ARCH = {
    "vae": {"base_channels": 8}, "cvae": {"base_channels": 8},
    "gan": {"hidden": [32, 64, 128]}, "dcgan": {"g_channels": 8, "d_channels": 8},
    "cgan": {"g_channels": 8, "d_channels": 8},
    "ddpm": {"base_channels": 8, "channel_mults": [1, 2], "time_embed_dim": 16},
    "classifier": {"base_channels": 8, "code_dim": 8, "head_hidden": 16},
    "lapgan": {"base_hidden": 16, "channels": [8, 8], "d_channels": 8},
}


def synthetic_idx(folder: Path, n: int = 512, seed: int = 0) -> Path:
    """Fashion-MNIST-shaped IDX files: class c is a bright bar at row 2c + 4, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, c in enumerate(labels):
        images[i, 2 * c + 4: 2 * c + 7, 4:24] = 220
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images[:128])
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels[:128])
    return folder


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return synthetic_idx(tmp_path_factory.mktemp("idx"))


MAIN_LOSS = {"vae": "loss", "cvae": "loss", "gan": "d_loss", "dcgan": "d_loss", "cgan": "d_loss",
             "ddpm": "loss", "classifier": "ce", "lapgan": "d_loss"}


# srgan has two phases (tests/unit/test_sr_train.py), cyclegan two domains (tests/unit/test_cyclegan.py)
@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("srgan", "cyclegan")])
def test_one_epoch_lowers_the_loss_and_writes_a_loadable_checkpoint(kind, data_dir, tmp_path):
    torch.manual_seed(0)
    data = load_dataset(data_dir, split="train")
    out = tmp_path / f"{kind}.safetensors"
    options = TrainOptions(kind=kind, epochs=1, batch_size=16, seed=0, device="cpu",
                           latent_dim=None if kind in ("ddpm", "classifier") else 8, arch=SMALL_ARCH[kind])
    meta = train(options, data, out)

    steps = meta["training"]["step_losses"][MAIN_LOSS[kind]]
    assert len(steps) == 32
    first, last = np.mean(steps[:4]), np.mean(steps[-4:])
    assert last < first, f"{kind}: loss went from {first:.4f} to {last:.4f}"

    model = load_checkpoint(out)
    assert model.kind == meta["kind"]
    z = model.sample_latent(2, seed=0)
    if kind == "classifier":
        probs = model.classifier.predict(data.tensor(slice(0, 4)))
        assert probs.shape == (4, 10)
    else:
        images = model.decode(z, torch.tensor([1, 2]) if model.conditional is not None else None)
        assert images.shape == (2, 1, 28, 28)
        assert 0 <= float(images.min()) and float(images.max()) <= 1
    stored = read_metadata(out)
    assert stored["training"]["loss_curve"][MAIN_LOSS[kind]] == meta["training"]["loss_curve"][MAIN_LOSS[kind]]
    assert stored["training"]["seed"] == 0 and stored["training"]["epochs"] == 1


def test_training_is_deterministic_on_the_cpu(data_dir, tmp_path):
    data = load_dataset(data_dir, split="train")
    options = TrainOptions(kind="vae", epochs=1, batch_size=32, seed=3, device="cpu", latent_dim=4,
                           arch=SMALL_ARCH["vae"])
    train(options, data, tmp_path / "a.safetensors")
    train(options, data, tmp_path / "b.safetensors")
    a, b = load_checkpoint(tmp_path / "a.safetensors"), load_checkpoint(tmp_path / "b.safetensors")
    for (name, pa), pb in zip(a.net.state_dict().items(), b.net.state_dict().values()):
        assert torch.equal(pa, pb), name


def test_classifier_learns_the_synthetic_classes(data_dir, tmp_path):
    data = load_dataset(data_dir, split="train")
    options = TrainOptions(kind="classifier", epochs=3, batch_size=16, seed=0, device="cpu", lr=3e-3,
                           arch=SMALL_ARCH["classifier"])
    meta = train(options, data, tmp_path / "c.safetensors")
    # the head's last-epoch training accuracy on ten easily told classes, far above chance (0.1)
    accuracy = meta["training"]["loss_curve"]["accuracy"]
    assert accuracy[-1] > 0.5 and accuracy[-1] > accuracy[0]


def test_cli_train_then_inspect(data_dir, tmp_path, capsys):
    out = tmp_path / "vae.safetensors"
    code = main(["train", "vae", "--data", str(data_dir), "--epochs", "1", "--batch-size", "64",
                 "--latent-dim", "2", "--arch", '{"base_channels": 8}', "--out", str(out), "--device", "cpu"])
    assert code == 0 and out.is_file()
    assert "wrote" in capsys.readouterr().out
    assert main(["inspect", str(out), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["kind"] == "vae" and meta["latent_shape"] == [2]
    assert main(["inspect", str(out)]) == 0
    assert "vae" in capsys.readouterr().out
    assert main(["inspect", "ddpm", "--json"]) == 0          # a bundled model, by name
    assert json.loads(capsys.readouterr().out)["kind"] == "ddpm"


def test_cli_train_passes_the_recipe_flags_into_the_checkpoint(data_dir, tmp_path, capsys):
    out = tmp_path / "gan.safetensors"
    code = main(["train", "dcgan", "--data", str(data_dir), "--epochs", "1", "--batch-size", "32", "--latent-dim", "4",
                 "--arch", json.dumps(SMALL_ARCH["dcgan"]), "--ema", "0.99", "--gan-loss", "hinge",
                 "--out", str(out), "--device", "cpu"])
    assert code == 0
    recipe = read_metadata(out)["training"]["recipe"]
    assert recipe["generator_ema_decay"] == 0.99 and recipe["loss"] == "hinge"
    assert main(["train", "dcgan", "--ema", "1.5", "--out", str(out)]) == 2     # a decay is below 1
    assert "--ema" in capsys.readouterr().err


def test_cli_errors_are_messages_with_exit_code_2(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    assert main(["inspect", str(bad)]) == 2
    assert "latent-explorer:" in capsys.readouterr().err
    code = main(["train", "vae", "--data", str(tmp_path / "nowhere"), "--epochs", "1",
                 "--out", str(tmp_path / "x.safetensors")])
    assert code == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "--data" in err and "Traceback" not in err
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(tmp_path / "not-installed"))
    assert main(["train", "vae", "--epochs", "1", "--out", str(tmp_path / "x.safetensors")]) == 2
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err
    assert not (tmp_path / "x.safetensors").exists()


def test_interrupted_training_writes_nothing(data_dir, tmp_path):
    data = load_dataset(data_dir, split="train")
    out = tmp_path / "models" / "never.safetensors"
    out.parent.mkdir()

    def interrupt(progress):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(TrainOptions(kind="vae", epochs=1, batch_size=16, device="cpu", arch=SMALL_ARCH["vae"]),
              data, out, progress=interrupt)
    assert list(out.parent.iterdir()) == []


def test_models_package_does_not_import_qt():
    code = ("import importlib, pkgutil, sys, models; "
            "[importlib.import_module(m.name) for m in pkgutil.walk_packages(models.__path__, 'models.')]; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'explorer'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("total", [1, 3, 4, 20, 39, 1000])
def test_the_ddpm_schedule_runs_any_number_of_steps_and_peaks_at_the_learning_rate(total):
    from models.train import one_cycle

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    sched = one_cycle(opt, 0.01, total)
    rates = []
    for _ in range(total):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert max(rates) == pytest.approx(0.01, rel=0.05)
    assert all(np.isfinite(rates)) and min(rates) > 0
