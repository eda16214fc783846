"""Training a LAPGAN (Denton et al. 2015), behind `latent-explorer train lapgan`.

Each batch is split into its Laplacian pyramid (models/pyramid.py). The base level is an
ordinary GAN on the coarsest images; every finer level is a conditional GAN whose generator is
given the real low-pass image (the real coarser image brought up) and draws the residual, and
whose discriminator sees real or generated residuals beside that same low-pass image. So the
levels learn independently and at once: one optimiser step per batch updates every level's
discriminator, then every level's generator. Losses are the non-saturating GAN loss with
one-sided label smoothing, Adam(2e-4, beta1 = 0.5), as the project's other GANs use.

The base level gets BASE_STEPS updates per batch (the extra ones on random batches of real
coarse images): given real 7 x 7 images, the bundled model's finer levels already make images
with a classifier-FID of 20, and its samples' distance came mostly from the base level; four
times the updates brought a base-only GAN from 236 to 200 (real 7 x 7 images score 167), at a
few percent of a step's time, since the base is a small MLP.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models import pyramid
from models.nets.lapgan import LAPGANConfig, LAPGANDiscriminators, LAPGANGenerator

if TYPE_CHECKING:
    from models.train import Trainer

REAL_TARGET = 0.9           # one-sided label smoothing (Salimans et al. 2016)
BASE_STEPS = 4              # updates of the base level per batch


def _d_loss(real: Tensor, fake: Tensor) -> Tensor:
    return (F.binary_cross_entropy_with_logits(real, torch.full_like(real, REAL_TARGET))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))


def _g_loss(fake: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def lapgan_config(tr: Trainer) -> LAPGANConfig:
    """The network config from the options: `--latent-dim` sets the base level's noise size."""
    o = tr.options
    classes = tr.conditional_classes if o.arch.get("num_classes") else 0
    arch = {k: tuple(v) if isinstance(v, list) else v for k, v in o.arch.items() if k != "num_classes"}
    config = LAPGANConfig(image_shape=tr.image_shape, num_classes=classes, **arch)
    if o.latent_dim:
        config.noise_dims = (o.latent_dim, *config.noise_dims[1:])
    return config


def train_lapgan(tr: Trainer) -> tuple[nn.Module, Any]:
    """Every level's generator and discriminator trained side by side; the generators are saved.
    Class-conditional (CC-LAPGAN) with `--arch '{"num_classes": 10}'` (the data's classes)."""
    o = tr.options
    config = lapgan_config(tr)
    gen = LAPGANGenerator(config).to(tr.device).train()
    disc = LAPGANDiscriminators(config).to(tr.device).train()
    opt_g = torch.optim.Adam(gen.parameters(), lr=tr.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=tr.lr, betas=(0.5, 0.999))
    # the loop calls each level's networks by themselves, and DistributedDataParallel averages the
    # gradients of what goes through its own forward: so each level's G and D is wrapped alone
    g_base, g_levels = tr.wrap(gen.base), [tr.wrap(level) for level in gen.levels]
    d_base, d_levels = tr.wrap(disc.base), [tr.wrap(level) for level in disc.levels]
    noise = tr.generator(1)
    levels = len(config.noise_dims)
    conditional = config.num_classes > 0
    draws = torch.Generator().manual_seed(o.seed + 2)      # the same on every process, like the batches
    base_images = torch.cat([pyramid.low_passes(tr.images[i:i + 1000].float().div(127.5).sub(1), levels)[0]
                             for i in range(0, len(tr.images), 1000)])   # every real coarse image
    tr.track(gen=gen, disc=disc, opt_g=opt_g, opt_d=opt_d, noise=noise, draws=draws)

    def base_step() -> None:
        """One more update of the base level alone, on a random batch of real coarse images."""
        idx = tr.processes.share(torch.randint(0, len(base_images), (o.batch_size,), generator=draws))
        real = base_images[idx].to(tr.device)
        labels = tr.labels[idx].to(tr.device) if conditional else None
        z = torch.randn(len(idx), config.noise_dims[0], device=tr.device, generator=noise)
        with tr.autocast():
            fake = g_base(z, labels)
            d_loss = _d_loss(d_base(real, labels).float(), d_base(fake.detach(), labels).float())
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        with tr.autocast():
            g_loss = _g_loss(d_base(fake, labels).float())
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()

    def step_fn(x: Tensor, y: Tensor) -> dict[str, float]:
        for _ in range(BASE_STEPS - 1):
            base_step()
        labels = y if conditional else None
        real = pyramid.low_passes(x * 2 - 1, levels)                # coarse to fine
        low = [pyramid.up(image) for image in real[:-1]]            # each finer level's low-pass
        z = torch.randn(len(x), gen.latent_dim, device=tr.device, generator=noise)
        with tr.autocast():
            fakes = [g_base(gen.noise(z, 0), labels)]
            fakes += [level(low[k - 1], gen.noise(z, k), labels) for k, level in enumerate(g_levels, start=1)]

        def judged(images: list[Tensor], detach: bool) -> list[Tensor]:
            images = [i.detach() for i in images] if detach else images
            with tr.autocast():
                out = [d_base(images[0], labels)]
                out += [d(low[k - 1], images[k], labels) for k, d in enumerate(d_levels, start=1)]
            return [o.float() for o in out]

        real_residuals = [real[0]] + [real[k] - low[k - 1] for k in range(1, levels)]
        d_real, d_fake = judged(real_residuals, False), judged(fakes, True)
        d_losses = [_d_loss(r, f) for r, f in zip(d_real, d_fake)]
        opt_d.zero_grad(set_to_none=True)
        sum(d_losses).backward()
        opt_d.step()
        g_losses = [_g_loss(f) for f in judged(fakes, False)]
        opt_g.zero_grad(set_to_none=True)
        sum(g_losses).backward()
        opt_g.step()
        losses = {"d_loss": sum(v.item() for v in d_losses), "g_loss": sum(v.item() for v in g_losses)}
        for k in range(levels):
            losses[f"d{k}"] = d_losses[k].item()
            losses[f"g{k}"] = g_losses[k].item()
        return losses

    tr.run_epochs(o.epochs, step_fn)
    sides = "-".join(str(s) for s in gen.sides)
    recipe = {"betas": [0.5, 0.999], "label_smoothing": REAL_TARGET,
              "levels": f"{sides}, each trained on the real low-pass image", "base_steps_per_batch": BASE_STEPS}
    return gen, tr.metadata("gan", "lapgan", config, (gen.latent_dim,), {"recipe": recipe})
