"""The exact recipes of the bundled models (resources/checkpoints), trained by
`latent-explorer train-bundled` on Fashion-MNIST.

Sized for 2 CPU cores: every decoder draws one image in about a millisecond and the whole
bundle trains in a couple of hours on a laptop-class CPU (minutes on a GPU). Epoch counts are
what that budget allows, not what the architectures need: more epochs give better figures.
"""
from __future__ import annotations

from models.train import TrainOptions

# Order matters: the classifier comes first because evaluating the others needs it.
BUNDLED: dict[str, TrainOptions] = {
    "classifier": TrainOptions(kind="classifier", epochs=8, seed=1),
    "vae-2d": TrainOptions(kind="vae", epochs=4, latent_dim=2, seed=2),
    "vae": TrainOptions(kind="vae", epochs=4, latent_dim=16, seed=3),
    "cvae": TrainOptions(kind="cvae", epochs=4, latent_dim=16, seed=4),
    "gan-mlp": TrainOptions(kind="gan", epochs=12, latent_dim=64, seed=5),
    "dcgan": TrainOptions(kind="dcgan", epochs=4, latent_dim=64, seed=6, arch={"g_channels": 32, "d_channels": 32}),
    "cgan": TrainOptions(kind="cgan", epochs=4, latent_dim=64, seed=7, arch={"g_channels": 32, "d_channels": 32}),
    "ddpm": TrainOptions(kind="ddpm", epochs=2, seed=8, half=True),
}
for _name, _options in BUNDLED.items():
    _options.name = _name
