"""The exact recipes of the bundled models (resources/checkpoints), trained by
`latent-explorer train-bundled` on Fashion-MNIST, or on the colour emoji set where a recipe names
it (`data="emoji"`).

Sized for 2 CPU cores: every decoder draws one image in about a millisecond and the whole
bundle trains in a couple of hours on a laptop-class CPU (minutes on a GPU). Epoch counts are
what that budget allows, not what the architectures need: more epochs give better figures.
"""
from __future__ import annotations

from models.train import TrainOptions

# Order matters: the classifier comes first because evaluating the others needs it.
BUNDLED: dict[str, TrainOptions] = {
    "classifier": TrainOptions(kind="classifier", epochs=8, seed=1),
    # Every Fashion-MNIST recipe trains under bfloat16 autocast, about twice as fast on a CPU with
    # AMX, and spends what that saves on epochs (the first bundle had 4 to 12). The VAEs anneal
    # their learning rate (one cycle) and warm up their KL term (models/train.py). The two
    # unconditional VAEs then sample from a 30-component Gaussian mixture fitted to their encoded
    # training set (Ghosh et al. 2020; models/latent_prior.py) instead of N(0, I): for the vae it
    # cut the classifier-FID from 110 to 20 (10,000 samples). The cvae keeps N(0, I): its latent
    # is meant to carry no class, and the mixture gained it little (35.3 to 33.9) and cost
    # conditional accuracy (90.1% to 88.5%).
    "vae-2d": TrainOptions(kind="vae", epochs=15, latent_dim=2, seed=2, bfloat16=True,
                           arch={"prior_components": 30}),
    "vae": TrainOptions(kind="vae", epochs=15, latent_dim=16, seed=3, bfloat16=True, arch={"prior_components": 30}),
    "cvae": TrainOptions(kind="cvae", epochs=15, latent_dim=16, seed=4, bfloat16=True),
    # The GANs save a moving average of the generator's weights (Karras et al. 2018; Yazici et
    # al. 2019 measure its gain). Hinge loss with a spectral-norm D at the same learning rates was
    # tried on the DCGAN and was far worse at this budget: classifier-FID 127.6 against 51.3 for
    # the non-saturating loss after 3 epochs (2,000 samples), so the GANs keep the latter.
    "gan-mlp": TrainOptions(kind="gan", epochs=30, latent_dim=64, seed=5, bfloat16=True, ema_decay=0.999),
    "dcgan": TrainOptions(kind="dcgan", epochs=20, latent_dim=64, seed=6, bfloat16=True, ema_decay=0.999,
                          arch={"g_channels": 32, "d_channels": 32}),
    "cgan": TrainOptions(kind="cgan", epochs=20, latent_dim=64, seed=7, bfloat16=True, ema_decay=0.999,
                         arch={"g_channels": 32, "d_channels": 32}),
    # bfloat16 autocast (twice as fast on a CPU with AMX) buys six times the epochs of the first
    # bundled DDPM in less time; min-SNR-5 weighting (Hang et al. 2023) converges faster
    "ddpm": TrainOptions(kind="ddpm", epochs=12, seed=8, half=True, bfloat16=True, min_snr_gamma=5.0),
    # colour, 64 x 64, from the Noto emoji font (models/emoji.py): the judge of the emoji models
    # first, then the DCGAN. 1,266 training glyphs are few for a GAN: mirrored batches,
    # DiffAugment and a spectral-norm discriminator keep D from memorising them (with a BatchNorm D
    # the generator learnt nothing for the first 30 epochs), and the averaged generator is the one
    # saved. Trained with `--threads 1`: on two shared cores a second thread made it ten times slower.
    "emoji-classifier": TrainOptions(kind="classifier", data="emoji", epochs=15, batch_size=32, seed=11,
                                     bfloat16=True, flip=True,
                                     arch={"base_channels": 16, "code_dim": 64, "head_hidden": 64}),
    "emoji-dcgan": TrainOptions(kind="dcgan", data="emoji", epochs=160, batch_size=32, latent_dim=100, seed=12,
                                half=True, bfloat16=True, flip=True, diff_augment=True, ema_decay=0.999,
                                arch={"g_channels": 32, "d_channels": 32, "d_norm": "spectral"}),
    # x4 super-resolution (7x7 -> 28x28): --epochs applies to each of its two phases, SRResNet
    # then SRGAN; the content loss uses the bundled classifier's conv features (models/sr_train.py)
    "srgan": TrainOptions(kind="srgan", epochs=3, seed=13, half=True,
                          arch={"scale": 4, "channels": 32, "blocks": 6}),
    # x2 (14x14 -> 28x28): the same network at four times the pixels, so one epoch per phase
    "srgan-x2": TrainOptions(kind="srgan", epochs=1, seed=14, half=True,
                             arch={"scale": 2, "channels": 32, "blocks": 6}),
    # unpaired translators (models/cyclegan_train.py), batches of 16 drawn from each domain in its
    # own order; the sketch translator's edge maps are Canny's of the training images (models/edges.py)
    "cyclegan-footwear": TrainOptions(kind="cyclegan", epochs=6, batch_size=16, seed=21, half=True,
                                      domain_a="Sneaker", domain_b="Ankle boot"),
    "cyclegan-sketch": TrainOptions(kind="cyclegan", epochs=4, batch_size=16, seed=22, half=True,
                                    domain_a="edges", domain_b="all", epoch_size=12000),
    # a three-level Laplacian pyramid GAN, 7 -> 14 -> 28 (models/nets/lapgan.py), every level
    # trained at once on the real pyramid; bfloat16 autocast makes it four times faster on the CPU
    "lapgan": TrainOptions(kind="lapgan", epochs=4, seed=13, bfloat16=True),
}
for _name, _options in BUNDLED.items():
    _options.name = _name
