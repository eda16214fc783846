"""Shared fixtures. Qt runs offscreen and every test gets its own settings and config folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# name -> (architecture, small config): random weights, real architectures, fast on any CPU
TINY = {
    "vae": ("conv-vae", {"image_shape": [1, 28, 28], "latent_dim": 4, "base_channels": 8}),
    "vae-2d": ("conv-vae", {"image_shape": [1, 28, 28], "latent_dim": 2, "base_channels": 8}),
    "cvae": ("conv-vae", {"image_shape": [1, 28, 28], "latent_dim": 4, "base_channels": 8, "num_classes": 10}),
    "gan-mlp": ("mlp-gan", {"image_shape": [1, 28, 28], "latent_dim": 8, "hidden": [16, 32, 64]}),
    "dcgan": ("dcgan", {"image_shape": [1, 28, 28], "latent_dim": 8, "g_channels": 8, "d_channels": 8}),
    "cgan": ("dcgan", {"image_shape": [1, 28, 28], "latent_dim": 8, "g_channels": 8, "d_channels": 8,
                       "num_classes": 10}),
    "ddpm": ("unet-ddpm", {"image_shape": [1, 28, 28], "base_channels": 8, "channel_mults": [1, 2],
                           "time_embed_dim": 16, "num_classes": 10}),
    "classifier": ("ae-classifier", {"image_shape": [1, 28, 28], "code_dim": 8, "base_channels": 8,
                                     "head_hidden": 16}),
}


def make_tiny_checkpoint(name: str, folder: Path, seed: int = 0) -> Path:
    """A randomly initialised checkpoint of a small real architecture, its metadata written
    through the schema the trainer uses."""
    import torch

    from models.checkpoint import save_checkpoint
    from models.generative import build_model
    from models.metadata import CheckpointMetadata, DatasetInfo, TrainingInfo

    architecture, config = TINY[name]
    torch.manual_seed(seed)
    model = build_model(architecture, config, {"name": name, "class_names": CLASS_NAMES})
    meta = CheckpointMetadata(
        name=name, kind=str(model.kind), architecture=architecture, config=config,
        image_shape=tuple(model.image_shape), latent_shape=tuple(model.latent_shape),
        class_names=tuple(CLASS_NAMES), dataset=DatasetInfo(name="none (random weights for tests)"),
        training=TrainingInfo(recipe={"kind": "untrained"}, seed=seed, epochs=0))
    path = folder / f"{name}.safetensors"
    save_checkpoint(path, model.net, meta)
    return path


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tiny-models")
    return {name: make_tiny_checkpoint(name, folder) for name in TINY}


@pytest.fixture
def idx_data(tmp_path):
    """A tiny Fashion-MNIST look-alike in IDX files: random images, every class equally often."""
    import numpy as np

    from models.data import write_idx

    folder = tmp_path / "fashion"
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 30)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    return folder


@pytest.fixture(scope="module")
def one_torch_thread():
    """For modules of tiny nets: they gain nothing from a second thread, and lose a lot when the
    cores are shared."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    """Each test gets a fresh config folder (bookmarks, recent files) and QSettings."""
    config = tmp_path / "config"
    config.mkdir()
    monkeypatch.setenv("LATENT_EXPLORER_CONFIG", str(config))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    try:
        from PySide6.QtCore import QSettings
    except ImportError:
        yield config
        return
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(config / "qsettings"))
    yield config
