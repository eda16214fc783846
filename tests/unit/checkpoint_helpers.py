"""What the checkpoint tests share: a tiny VAE, its metadata as the trainer writes it, and
saving it."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from models.checkpoint import CheckpointMetadata, save_checkpoint
from models.generative import build_model
from models.metadata import DatasetInfo, TrainingInfo

ARCH = "conv-vae"
CONFIG = {"image_shape": [1, 28, 28], "latent_dim": 4, "base_channels": 8}
CLASSES = ["a", "b"]


def _model(config: dict | None = None, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(ARCH, dict(config or CONFIG), {})
    # buffers too (e.g. normalisation statistics) must survive, so make them non-default
    with torch.no_grad():
        for buf in model.net.buffers():
            if buf.is_floating_point():
                buf.uniform_(0.5, 1.5)
    return model


def _meta(**overrides) -> CheckpointMetadata:
    """The metadata of the tiny VAE, written through the schema as the trainer writes it."""
    meta = CheckpointMetadata(
        kind="vae", architecture=ARCH, config=dict(CONFIG), image_shape=(1, 28, 28), latent_shape=(4,),
        name="tiny-vae", dataset=DatasetInfo(name="synthetic", size=12),
        training=TrainingInfo(recipe={"kind": "vae"}, seed=7, epochs=3, hardware="cpu", time_s=125.0,
                              loss_curve={"loss": [0.9, 0.5, 0.3]}),
        metrics={"fid": 12.5})
    return replace(meta, **overrides)


def _saved(folder: Path, name: str = "m.safetensors", **meta_overrides) -> tuple[Path, object]:
    model = _model()
    path = folder / name
    save_checkpoint(path, model.net, _meta(**meta_overrides))
    return path, model


def _with_raw_metadata(src: Path, dst: Path, metadata: dict[str, str] | None) -> Path:
    save_file(load_file(str(src)), str(dst), metadata=metadata)
    return dst


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
