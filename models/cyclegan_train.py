"""Training a CycleGAN translator (Zhu et al. 2017) behind `latent-explorer train cyclegan
--domain-a SPEC --domain-b SPEC` (specs: models/domains.py).

Least-squares adversarial losses (Mao et al. 2017), cycle losses weighted `CYCLE_WEIGHT`, identity
losses weighted a fraction of that, a pool of 50 past translations for each discriminator, Adam
(2e-4, beta1 = 0.5) at a constant rate for the first half of training and decaying linearly to 0
over the second, as in the paper. The two domains are drawn in independent random orders, so no
true pair is ever seen together.
"""
from __future__ import annotations

import time
from typing import Any

import torch
from torch import Tensor, nn

from models.domains import Domain, load_domain
from models.image_pool import ImagePool
from models.nets.cyclegan import (
    CycleGAN,
    CycleGANConfig,
    PatchDiscriminator,
    init_weights,
)

CYCLE_WEIGHT = 10.0
IDENTITY_SHARE = 0.5        # identity weight = IDENTITY_SHARE x CYCLE_WEIGHT unless the options say
POOL_SIZE = 50


def lsgan_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """Least-squares discriminator loss: real patches to 1, translated ones to 0, halved as in the
    paper so D learns at half G's speed."""
    return 0.5 * (((d_real - 1) ** 2).mean() + (d_fake ** 2).mean())


def lsgan_g_loss(d_fake: Tensor) -> Tensor:
    """Least-squares generator loss: translated patches should look real (1)."""
    return ((d_fake - 1) ** 2).mean()


def cycle_loss(real: Tensor, reconstructed: Tensor) -> Tensor:
    """Mean L1 between an image and its round trip F(G(x))."""
    return (real - reconstructed).abs().mean()


def identity_loss(real: Tensor, mapped: Tensor) -> Tensor:
    """Mean L1 between an image of the target domain and what the generator makes of it."""
    return (real - mapped).abs().mean()


def domain_info(domain: Domain) -> dict[str, Any]:
    classes = sorted({int(c) for c in domain.labels if c >= 0})
    return {"spec": domain.spec, "name": domain.name, "classes": classes, "size": len(domain)}


def _batches(domain_a: Domain, domain_b: Domain, size: int, epoch_size: int, shuffle: torch.Generator):
    """(index_a, index_b) per step: each domain in its own random order, cycled to epoch_size."""
    def order(n: int) -> Tensor:
        reps = -(-epoch_size // n)
        return torch.cat([torch.randperm(n, generator=shuffle) for _ in range(reps)])[:epoch_size]

    ia, ib = order(len(domain_a)), order(len(domain_b))
    for s in range(epoch_size // size):
        yield ia[s * size:(s + 1) * size], ib[s * size:(s + 1) * size]


def _to_model_range(images: Tensor, device: torch.device) -> Tensor:
    return images.to(device).float().div_(127.5).sub_(1)


def train_cyclegan(tr: Any) -> tuple[nn.Module, Any]:
    """tr is a models.train.Trainer whose options name the domains; returns the translator and
    its metadata."""
    o = tr.options
    if not o.domain_a or not o.domain_b:
        raise ValueError("cyclegan needs two domains: --domain-a SPEC --domain-b SPEC (classes, 'edges[:CLASSES]' "
                         "or a folder of pictures)")
    domain_a, domain_b = load_domain(o.domain_a, tr.data), load_domain(o.domain_b, tr.data)
    if domain_a.images.shape[1:] != domain_b.images.shape[1:]:
        raise ValueError(f"the domains' images differ in shape ({domain_a.images.shape[1:]} and "
                         f"{domain_b.images.shape[1:]}); give both the same size and channels")
    config = CycleGANConfig(image_shape=tuple(int(s) for s in domain_a.images.shape[1:]), **o.arch)
    net = CycleGAN(config)
    disc_a, disc_b = PatchDiscriminator(config), PatchDiscriminator(config)
    for m in (net, disc_a, disc_b):
        init_weights(m)
    net, disc_a, disc_b = net.to(tr.device).train(), disc_a.to(tr.device).train(), disc_b.to(tr.device).train()
    # the step calls each generator by itself (both ways round), so each is wrapped alone
    g_ab, g_ba, d_a, d_b = (tr.wrap(m) for m in (net.g_ab, net.g_ba, disc_a, disc_b))
    betas = (0.5, 0.999)
    opt_g = torch.optim.Adam(net.parameters(), lr=tr.lr, betas=betas)
    opt_d = torch.optim.Adam([*disc_a.parameters(), *disc_b.parameters()], lr=tr.lr, betas=betas)
    epoch_size = o.epoch_size or max(len(domain_a), len(domain_b))
    steps = max(1, epoch_size // o.batch_size)
    total = o.epochs * steps
    # constant for the first half, then linearly to zero (the paper's schedule)
    decay = lambda step: min(1.0, 2.0 * (1 - step / total))
    scheds = [torch.optim.lr_scheduler.LambdaLR(opt, decay) for opt in (opt_g, opt_d)]
    identity_weight = CYCLE_WEIGHT * IDENTITY_SHARE if o.identity_weight is None else o.identity_weight
    # every process keeps a pool of its own translations, its share of the POOL_SIZE of one process,
    # so the pools together hold as many and as recent images as one process's would
    pool_size = -(-POOL_SIZE // tr.processes.world)
    pools = ImagePool(pool_size, tr.generator(3, torch.device("cpu"))), \
        ImagePool(pool_size, tr.generator(4, torch.device("cpu")))
    images_a, images_b = torch.from_numpy(domain_a.images), torch.from_numpy(domain_b.images)

    def step_fn(real_a: Tensor, real_b: Tensor) -> dict[str, float]:
        with tr.autocast():
            fake_b, fake_a = g_ab(real_a), g_ba(real_b)
            rec_a, rec_b = g_ba(fake_b), g_ab(fake_a)
            adv = lsgan_g_loss(d_b(fake_b).float()) + lsgan_g_loss(d_a(fake_a).float())
            cyc = cycle_loss(real_a, rec_a.float()) + cycle_loss(real_b, rec_b.float())
            loss = adv + CYCLE_WEIGHT * cyc
            idt = torch.zeros(())
            if identity_weight:
                idt = identity_loss(real_b, g_ab(real_b).float()) + identity_loss(real_a, g_ba(real_a).float())
                loss = loss + identity_weight * idt
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        shown_b, shown_a = pools[1].query(fake_b), pools[0].query(fake_a)
        with tr.autocast():
            d_loss = (lsgan_d_loss(d_a(real_a).float(), d_a(shown_a).float())
                      + lsgan_d_loss(d_b(real_b).float(), d_b(shown_b).float()))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        for s in scheds:
            s.step()
        # per direction, and the L1 terms in units of images in [0, 1] (the model works in [-1, 1])
        return {"g_adv": adv.item() / 2, "cycle": cyc.item() / 4, "identity": idt.item() / 4,
                "d_loss": d_loss.item() / 2}

    for epoch in range(1, o.epochs + 1):
        sums: dict[str, float] = {}
        for step, (ia, ib) in enumerate(_batches(domain_a, domain_b, o.batch_size, epoch_size, tr.shuffle), start=1):
            ia, ib = tr.processes.share(ia), tr.processes.share(ib)   # every process draws the same orders
            losses = step_fn(_to_model_range(images_a[ia], tr.device), _to_model_range(images_b[ib], tr.device))
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
                tr.step_curve.setdefault(k, []).append(v)
            if tr.progress and tr.processes.main and (step % 20 == 0 or step == steps):
                from models.train import Progress

                done = (epoch - 1) * steps + step
                elapsed = time.perf_counter() - tr.start
                tr.progress(Progress(epoch, o.epochs, step, steps, losses, elapsed, elapsed / done * (total - done)))
        for k, v in sums.items():
            tr.loss_curve.setdefault(k, []).append(v / steps)
    recipe = {"loss": "least squares (LSGAN)", "cycle_weight": CYCLE_WEIGHT, "identity_weight": identity_weight,
              "image_pool": POOL_SIZE, "betas": list(betas), "lr_schedule": "constant, then linear to 0 over the "
              "second half", "epoch_size": epoch_size, "domain_a": o.domain_a, "domain_b": o.domain_b}
    extra = {"recipe": recipe, "domains": {"a": domain_info(domain_a), "b": domain_info(domain_b)}}
    return net.eval(), tr.metadata("cyclegan", "cyclegan", config, tuple(config.image_shape), extra)
