"""Training loops behind `latent-explorer train KIND`.

Every loop is deterministic on the CPU for a fixed seed (one process, seeded shuffling, no data
workers), uses bfloat16 autocast on CUDA, reports progress through a callback, and writes its
checkpoint atomically only once training has finished: an interrupted run leaves no file behind.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import os
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.atomic import remove_quietly
from models.augment import diff_augment
from models.checkpoint import save_checkpoint
from models.data import ImageDataset
from models.devices import pick_device
from models.diffusion import NoiseSchedule, ScheduleConfig
from models.distributed import Processes
from models.generative import ARCHITECTURES
from models.lapgan_train import train_lapgan
from models.latent_prior import fit_mixture
from models.losses import LABEL_SMOOTHING, discriminator_loss, generator_loss, min_snr_weights
from models.metadata import CheckpointMetadata, DatasetInfo, ScheduleInfo, TrainingInfo
from models.nets.classifier import AutoencoderClassifier, ClassifierConfig
from models.nets.gan import DCGANConfig, DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGANConfig, MLPGenerator
from models.nets.unet import UNet, UNetConfig
from models.nets.vae import VAE, VAEConfig
from models.train_state import check_same_run, read_state, restore, state_of, state_path_for, write_state
from models.sr_train import train_srgan
from models.cyclegan_train import train_cyclegan

KINDS = ("vae", "cvae", "gan", "dcgan", "cgan", "ddpm", "classifier", "srgan", "lapgan", "cyclegan")


@dataclass
class TrainOptions:
    kind: str
    epochs: int = 10
    batch_size: int = 128
    lr: float | None = None          # None: the kind's default
    latent_dim: int | None = None    # None: the kind's default
    seed: int = 0
    device: str = "auto"
    half: bool = False               # store weights as float16
    name: str | None = None
    arch: dict[str, Any] = field(default_factory=dict)   # extra config values for the network
    data: str | None = None          # a recipe's dataset ("emoji"); None: Fashion-MNIST or --data
    bfloat16: bool = False           # bfloat16 autocast on the CPU too (CUDA always uses it)
    flip: bool = False               # mirror a random half of every batch left to right
    diff_augment: bool = False       # GANs: DiffAugment (translation, cutout) on D's inputs
    ema_decay: float = 0.0           # GANs: keep and save a moving average of G's weights
    gan_loss: str = "bce"            # GANs: "bce" (non-saturating) or "hinge" (models/losses.py)
    min_snr_gamma: float = 0.0       # DDPM: min-SNR-γ loss weighting; 0 for the plain loss
    resume: str | None = None        # a training state (OUT.state) to continue from
    domain_a: str | None = None      # cyclegan: the two domains (models/domains.py)
    domain_b: str | None = None
    epoch_size: int | None = None    # cyclegan: pairs drawn per epoch (None: the larger domain)
    identity_weight: float | None = None   # cyclegan: None for half the cycle weight


@dataclass(frozen=True)
class Progress:
    epoch: int          # 1-based
    epochs: int
    step: int           # steps done in this epoch
    steps: int          # steps per epoch
    losses: dict[str, float]
    elapsed_s: float
    remaining_s: float


ProgressFn = Callable[[Progress], None]

DEFAULT_LR = {"vae": 1e-3, "cvae": 1e-3, "gan": 2e-4, "dcgan": 2e-4, "cgan": 2e-4, "ddpm": 1e-3, "classifier": 1e-3,
              "srgan": 5e-4, "lapgan": 2e-4, "cyclegan": 2e-4}
DEFAULT_LATENT = {"vae": 16, "cvae": 16, "gan": 64, "dcgan": 64, "cgan": 64}


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


class Trainer:
    """Shared machinery: batches, autocast, progress, the loss curve and metadata."""

    def __init__(self, options: TrainOptions, data: ImageDataset, progress: ProgressFn | None = None):
        if options.kind not in KINDS:
            raise ValueError(f"unknown kind {options.kind!r}; choose one of {', '.join(KINDS)}")
        self.options = options
        self.data = data
        self.progress = progress
        self.processes = Processes.from_environment()     # several under torchrun
        self.device = self.processes.join(pick_device(options.device, strict=True))
        self.lr = options.lr or DEFAULT_LR[options.kind]
        torch.manual_seed(self.processes.seed(options.seed))
        self.shuffle = torch.Generator().manual_seed(options.seed)
        self.images = torch.as_tensor(data.images)   # uint8 (N, C, H, W), kept on the CPU
        self.labels = torch.as_tensor(data.labels)
        self.image_shape = tuple(self.images.shape[1:])
        self.loss_curve: dict[str, list[float]] = {}
        self.step_curve: dict[str, list[float]] = {}
        self.start = time.perf_counter()
        self.earlier_s = 0.0                  # time spent in earlier sittings of a resumed run
        self.steps_done = 0                   # optimisation steps over all epochs and stages
        self.epochs_done = 0
        self.tracked: dict[str, Any] = {}     # what a training state saves and restores
        self.state_path: Path | None = None   # where the state goes after each epoch
        self.saved: dict[str, Any] | None = None
        self.discriminator: nn.Module | None = None   # a GAN's D, kept in its checkpoint
        if options.resume and self.processes.distributed:
            raise ValueError("--resume continues a run of one process; run it without torchrun")
        if options.resume:
            self.saved = read_state(options.resume)
            check_same_run(self.saved, dataclasses.asdict(options), len(self.images), Path(options.resume))

    def track(self, **objects: Any) -> None:
        """Registers what a training state must hold to continue the run: networks, optimizers,
        schedules, weight averages (anything with a state_dict) and random generators. Register
        everything an epoch changes before that epoch's `run_epochs`."""
        self.tracked.update(objects)

    def wrap(self, module: nn.Module, some_unused: bool = False) -> nn.Module:
        """`module` as the training step should call it: in DistributedDataParallel under
        torchrun (its gradients averaged over the processes), else itself. `some_unused`: a
        step leaves some of its parameters without gradients."""
        return self.processes.wrap(module, self.device, some_unused)

    def generator(self, offset: int, device: torch.device | None = None) -> torch.Generator:
        """A random generator for the loop's draws, seeded from the run's seed, the offset and the
        process (so processes under torchrun do not repeat each other's draws)."""
        return torch.Generator(device=device or self.device).manual_seed(self.processes.seed(self.options.seed + offset))

    def elapsed(self) -> float:
        return self.earlier_s + time.perf_counter() - self.start

    @property
    def conditional_classes(self) -> int:
        if len(self.data.class_names) == 0 or (self.labels < 0).any():
            raise ValueError("this kind needs class labels: use Fashion-MNIST or an image folder with class sub-folders")
        return len(self.data.class_names)

    def autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        if self.device.type == "cpu" and self.options.bfloat16:
            # about twice as fast where the CPU has bfloat16 instructions; losses stay float32
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return nullcontext()

    def batches(self) -> Iterator[tuple[Tensor, Tensor]]:
        """Shuffled (images in [0, 1], labels) batches for one epoch, on the training device."""
        order = torch.randperm(len(self.images), generator=self.shuffle)
        size = self.options.batch_size
        for b in range(self.steps_per_epoch()):   # the last, short batch is dropped
            whole = order[b * size:(b + 1) * size]
            idx = self.processes.share(whole)       # every process draws the same, keeps its share
            x = self.images[idx].to(self.device, non_blocking=True).float().div_(255)
            if self.options.flip:
                mirrored = self.processes.share(torch.rand(len(whole), generator=self.shuffle) < 0.5).to(self.device)
                x = torch.where(mirrored[:, None, None, None], x.flip(3), x)
            yield x, self.labels[idx].to(self.device)

    def steps_per_epoch(self) -> int:
        return max(1, len(self.images) // self.options.batch_size)

    def run_epochs(self, epochs: int, step_fn: Callable[[Tensor, Tensor], dict[str, float]],
                   offset: int = 0, total: int | None = None) -> None:
        """Calls step_fn per batch; records the loss curve and reports progress."""
        total = total or epochs
        steps = self.steps_per_epoch()
        for epoch in range(1, epochs + 1):
            if self.saved is not None:
                if offset + epoch <= self.saved["epochs_done"]:
                    continue                  # done in an earlier sitting
                self._restore()
            sums: dict[str, float] = {}
            for step, (x, y) in enumerate(self.batches(), start=1):
                losses = step_fn(x, y)
                self.steps_done += 1
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + v
                    self.step_curve.setdefault(k, []).append(v)
                if self.progress and self.processes.main and (step % 20 == 0 or step == steps):
                    done = (offset + epoch - 1) * steps + step
                    elapsed = self.elapsed()
                    remaining = elapsed / done * (total * steps - done)
                    self.progress(Progress(offset + epoch, total, step, steps, losses, elapsed, remaining))
            for k, v in sums.items():
                self.loss_curve.setdefault(k, []).append(v / steps)
            self.epochs_done = offset + epoch
            if self.state_path is not None and self.tracked and self.processes.main:
                self._save()

    def _save(self) -> None:
        write_state(self.state_path, {
            "options": dataclasses.asdict(self.options), "images": len(self.images),
            "epochs_done": self.epochs_done, "steps_done": self.steps_done, "elapsed_s": self.elapsed(),
            "loss_curve": self.loss_curve, "step_curve": self.step_curve,
            "torch_rng": torch.get_rng_state(), "shuffle": self.shuffle.get_state(),
            "objects": {name: state_of(obj) for name, obj in self.tracked.items()}})

    def _restore(self) -> None:
        """Puts the saved run's state back, once, where its first unfinished epoch starts."""
        saved, self.saved = self.saved, None
        if not self.tracked:
            raise ValueError(f"train {self.options.kind} cannot resume a run; start it again without --resume")
        missing = sorted(set(saved["objects"]) ^ set(self.tracked))
        if missing:
            raise ValueError(f"the training state does not fit this training loop (it differs in "
                             f"{', '.join(missing)}); start again without --resume")
        for name, obj in self.tracked.items():
            restore(obj, saved["objects"][name])
        torch.set_rng_state(saved["torch_rng"])
        self.shuffle.set_state(saved["shuffle"])
        self.epochs_done, self.steps_done = saved["epochs_done"], saved["steps_done"]
        self.loss_curve, self.step_curve = saved["loss_curve"], saved["step_curve"]
        self.earlier_s, self.start = saved["elapsed_s"], time.perf_counter()

    def metadata(self, kind: str, architecture: str, config: Any, model_latent: tuple[int, ...],
                 extra: dict[str, Any] | None = None) -> CheckpointMetadata:
        """The checkpoint's metadata, through the schema every reader uses (models/metadata.py).
        `extra` may hold "recipe" (merged into the recipe), "schedule" and any other keys."""
        extra = dict(extra or {})
        o = self.options
        recipe = {"kind": o.kind, "epochs": o.epochs, "batch_size": o.batch_size, "lr": self.lr, "seed": o.seed,
                  **({"data": o.data} if o.data else {}), **({"bfloat16_autocast": True} if o.bfloat16 else {}),
                  **({"flip": True} if o.flip else {}), **extra.pop("recipe", {})}
        schedule = extra.pop("schedule", None)
        source = str(self.data.source)
        return CheckpointMetadata(
            name=self.options.name or self.options.kind,
            kind=kind,
            architecture=architecture,
            config=dataclasses.asdict(config),
            image_shape=tuple(self.image_shape),
            latent_shape=tuple(model_latent),
            class_names=tuple(self.data.class_names),
            dataset=DatasetInfo(name=self.data.name or Path(source).name or "unnamed", source=source, split="train",
                                size=len(self.images)),
            training=TrainingInfo(
                recipe=recipe,
                seed=self.options.seed,
                epochs=self.options.epochs,
                hardware=hardware(self.device),
                device=self.device.type,
                torch=torch.__version__,
                time_s=round(self.elapsed(), 1),
                loss_curve={k: [round(v, 5) for v in vs] for k, vs in self.loss_curve.items()},
                step_losses={k: _coarse(vs) for k, vs in self.step_curve.items()},
            ),
            schedule=ScheduleInfo(**schedule) if schedule else None,
            extras=extra,
        )


def _coarse(values: list[float], points: int = 200) -> list[float]:
    """At most `points` averages of consecutive values, to keep the metadata small."""
    if len(values) <= points:
        return [round(v, 5) for v in values]
    chunk = math.ceil(len(values) / points)
    return [round(sum(values[i:i + chunk]) / len(values[i:i + chunk]), 5) for i in range(0, len(values), chunk)]


def _adam(params, lr: float, betas=(0.9, 0.999)) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr, betas=betas)


# -- the kinds ------------------------------------------------------------------------------


def train_vae(tr: Trainer) -> tuple[nn.Module, dict[str, Any]]:
    o = tr.options
    classes = tr.conditional_classes if o.kind == "cvae" else 0
    config = VAEConfig(image_shape=tr.image_shape, latent_dim=o.latent_dim or DEFAULT_LATENT[o.kind],
                       num_classes=classes, **o.arch)
    net = VAE(config).to(tr.device).train()
    model = tr.wrap(net)
    opt = _adam(net.parameters(), tr.lr)
    total_steps = o.epochs * tr.steps_per_epoch()
    # the learning rate anneals to nearly nothing by the end (one cycle, Smith & Topin 2019): the
    # last epochs settle into a sharper decoder than a constant rate leaves
    sched = one_cycle(opt, tr.lr, total_steps)
    warmup = max(1, total_steps // 10)   # KL annealing avoids early posterior collapse
    tr.track(net=net, opt=opt, sched=sched)

    def step_fn(x: Tensor, y: Tensor) -> dict[str, float]:
        with tr.autocast():
            logits, mu, logvar = model(x, y if classes else None)
        recon = F.binary_cross_entropy_with_logits(logits.float(), x, reduction="sum") / len(x)
        kl = -0.5 * torch.sum(1 + logvar.float() - mu.float() ** 2 - logvar.float().exp()) / len(x)
        beta = min(1.0, (tr.steps_done + 1) / warmup)
        loss = recon + beta * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        return {"loss": (recon + kl).item(), "recon": recon.item(), "kl": kl.item()}

    tr.run_epochs(o.epochs, step_fn)
    recipe: dict[str, Any] = {"kl_warmup_steps": warmup, "lr_schedule": "one cycle"}
    if config.prior_components:
        fit_latent_prior(net, tr.images, tr.labels if classes else None, o.seed)
        recipe["prior"] = (f"{config.prior_components}-component Gaussian mixture fitted to the training set's "
                           f"aggregate posterior (Ghosh et al. 2020)")
    return net, tr.metadata("vae", "conv-vae", config, (config.latent_dim,), {"recipe": recipe})


@torch.no_grad()
def fit_latent_prior(net: VAE, images: Tensor, labels: Tensor | None, seed: int, batch_size: int = 500) -> None:
    """Fits the VAE's mixture prior (models/latent_prior.py) to one draw from the posterior of
    each of `images` (uint8 (N, C, H, W)), a sample of the aggregate posterior q(z), and stores
    it in the net's buffers. Fitted to the posterior means alone, the mixture is narrower: on the
    bundled vae its samples' recall fell from 27% to 18%."""
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    noise = torch.Generator().manual_seed(seed)
    draws = []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device, torch.float32) / 255
        y = None if labels is None else labels[start:start + batch_size].to(device)
        mu, logvar = (s.float().cpu() for s in net.encode(x, y))
        draws.append(mu + torch.exp(0.5 * logvar.clamp(-30.0, 20.0)) * torch.randn(mu.shape, generator=noise))
    draws = torch.cat(draws)
    # a training set too small for every component fits as many as it can hold, two images
    # each; the others keep weight 0 (with none fitted the mixture stays N(0, I))
    k = min(net.config.prior_components, len(draws) // 2)
    if k >= 1:
        weights, centres, scale_tril = fit_mixture(draws.numpy(), k, seed)
        net.prior_weights.zero_()[:k] = weights
        net.prior_means[:k] = centres
        net.prior_scale_tril[:k] = scale_tril
    net.train(was_training)


def train_gan(tr: Trainer) -> tuple[nn.Module, dict[str, Any]]:
    """Non-saturating GAN loss (Goodfellow et al. 2014), Adam(2e-4, beta1 = 0.5) as in DCGAN."""
    o = tr.options
    classes = tr.conditional_classes if o.kind == "cgan" else 0
    latent = o.latent_dim or DEFAULT_LATENT[o.kind]
    if o.kind == "gan":
        config = MLPGANConfig(latent_dim=latent, image_shape=tr.image_shape, num_classes=classes, **o.arch)
        gen, disc, architecture = MLPGenerator(config), MLPDiscriminator(config), "mlp-gan"
    else:
        config = DCGANConfig(latent_dim=latent, image_shape=tr.image_shape, num_classes=classes, **o.arch)
        gen, disc, architecture = DCGANGenerator(config), DCGANDiscriminator(config), "dcgan"
    gen, disc = gen.to(tr.device).train(), disc.to(tr.device).train()
    g, d = tr.wrap(gen), tr.wrap(disc)
    opt_g = _adam(gen.parameters(), tr.lr, (0.5, 0.999))
    opt_d = _adam(disc.parameters(), tr.lr, (0.5, 0.999))
    noise = tr.generator(1)
    augment_noise = tr.generator(2, torch.device("cpu"))
    ema = EMA(gen, o.ema_decay) if o.ema_decay else None
    tr.track(gen=gen, disc=disc, opt_g=opt_g, opt_d=opt_d, noise=noise, augment_noise=augment_noise,
             **({"ema": ema} if ema is not None else {}))

    def seen(images: Tensor) -> Tensor:
        """What D is shown: the images, or their DiffAugment (the same for real and generated)."""
        return diff_augment(images, augment_noise) if o.diff_augment else images

    def step_fn(x: Tensor, y: Tensor) -> dict[str, float]:
        n = len(x)
        real = x * 2 - 1
        labels = y if classes else None
        z = torch.randn(n, latent, device=tr.device, generator=noise)
        with tr.autocast():
            fake = g(z, labels)
            d_real, d_fake = d(seen(real), labels).float(), d(seen(fake.detach()), labels).float()
        d_loss = discriminator_loss(o.gan_loss, d_real, d_fake)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        with tr.autocast():
            g_out = d(seen(fake), labels).float()
        g_loss = generator_loss(o.gan_loss, g_out)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        if ema is not None:
            ema.update(gen)
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

    tr.run_epochs(o.epochs, step_fn)
    recipe: dict[str, Any] = {"betas": [0.5, 0.999]}
    recipe.update({"loss": "hinge"} if o.gan_loss == "hinge" else {"label_smoothing": LABEL_SMOOTHING})
    if o.diff_augment:
        recipe["diff_augment"] = "translation 1/8, cutout 1/2 (Zhao et al. 2020)"
    if ema is not None:
        gen = ema.shadow
        recipe["generator_ema_decay"] = o.ema_decay
        standing_statistics(gen, lambda k: (torch.randn(k, latent, device=tr.device, generator=noise),
                                            balanced_classes(k, classes, tr.device) if classes else None))
        recipe["batchnorm"] = "standing statistics of the averaged generator"
    tr.discriminator = disc
    recipe["discriminator"] = "kept in the file"
    return gen, tr.metadata("gan", architecture, config, (latent,), {"recipe": recipe})


def balanced_classes(n: int, classes: int, device: torch.device) -> Tensor:
    return torch.arange(n, device=device) % classes


@torch.no_grad()
def standing_statistics(net: nn.Module, inputs: Callable[[int], tuple[Tensor, Tensor | None]],
                        batches: int = 16, batch_size: int = 128) -> None:
    """Re-estimates every BatchNorm's running mean and variance as plain averages over `batches`
    forward passes of `inputs(batch_size)`. The moving averages a generator's BatchNorm layers
    kept during training belong to the live weights; an averaged (EMA) copy needs its own."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None            # None: a cumulative average over the passes
    net.train()
    for _ in range(batches):
        net(*inputs(batch_size))
    net.eval()
    for m, momentum in zip(norms, saved):
        m.momentum = momentum


class EMA:
    """Exponential moving average of weights; the averaged copy samples better (Ho et al. 2020)."""

    def __init__(self, net: nn.Module, decay: float = 0.999):
        self.decay = decay
        self.shadow = copy.deepcopy(net).eval().requires_grad_(False)
        self.updates = 0

    def state_dict(self) -> dict[str, Any]:
        return {"shadow": self.shadow.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.shadow.load_state_dict(state["shadow"])
        self.updates = int(state["updates"])

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))   # warm-up for short runs
        for s, p in zip(self.shadow.parameters(), net.parameters()):
            s.lerp_(p.detach(), 1 - d)
        for s, b in zip(self.shadow.buffers(), net.buffers()):
            s.copy_(b)


def one_cycle(opt: torch.optim.Optimizer, lr: float, total: int) -> torch.optim.lr_scheduler.LRScheduler:
    """A one-cycle schedule warming up over 5% of `total` steps, at least two: torch's
    OneCycleLR divides by the warm-up length minus one, so a short run (a small dataset, one
    epoch) would crash. Runs of under four steps keep the learning rate constant."""
    if total < 4:
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=max(0.05, 3 / total))


def train_ddpm(tr: Trainer) -> tuple[nn.Module, dict[str, Any]]:
    """Noise-prediction loss (Ho et al. 2020) with 10% label dropout for classifier-free guidance."""
    o = tr.options
    classes = len(tr.data.class_names) if (tr.labels >= 0).all() and tr.data.class_names else 0
    config = UNetConfig(image_shape=tr.image_shape, num_classes=classes, **o.arch)
    schedule_config = ScheduleConfig()
    schedule = NoiseSchedule(schedule_config)
    abar = schedule.alpha_bars.float().to(tr.device)
    # channels-last convolutions run about a fifth faster on CPUs; the saved weights are the same
    net = UNet(config).to(tr.device, memory_format=torch.channels_last).train()
    model = tr.wrap(net)
    ema = EMA(net)
    opt = torch.optim.AdamW(net.parameters(), lr=tr.lr, weight_decay=0.0)
    total = o.epochs * tr.steps_per_epoch()
    sched = one_cycle(opt, tr.lr, total)
    noise = tr.generator(1)
    p_uncond = 0.1
    tr.track(net=net, ema=ema, opt=opt, sched=sched, noise=noise)

    def step_fn(x: Tensor, y: Tensor) -> dict[str, float]:
        n = len(x)
        x0 = x * 2 - 1
        t = torch.randint(0, schedule_config.num_timesteps, (n,), device=tr.device, generator=noise)
        eps = torch.randn(x0.shape, device=tr.device, generator=noise)
        a = abar[t].view(n, 1, 1, 1)
        x_t = (a.sqrt() * x0 + (1 - a).sqrt() * eps).contiguous(memory_format=torch.channels_last)
        labels = None
        if classes:
            drop = torch.rand(n, device=tr.device, generator=noise) < p_uncond
            labels = torch.where(drop, torch.full_like(y, classes), y)
        with tr.autocast():
            pred = model(x_t, t, labels)
        per_image = F.mse_loss(pred.float().contiguous(), eps, reduction="none").mean(dim=(1, 2, 3))
        loss = (min_snr_weights(schedule.snr, t, o.min_snr_gamma) * per_image).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        ema.update(net)
        return {"loss": loss.item()}

    tr.run_epochs(o.epochs, step_fn)
    extra = {"schedule": dataclasses.asdict(schedule_config),
             "recipe": {"label_dropout": p_uncond, "ema_decay": ema.decay, "optimizer": "AdamW one-cycle", "grad_clip": 1.0,
                        **({"min_snr_gamma": o.min_snr_gamma} if o.min_snr_gamma > 0 else {})}}
    ema.shadow.to(memory_format=torch.contiguous_format)
    return ema.shadow, tr.metadata("ddpm", "unet-ddpm", config, tuple(tr.image_shape), extra)


class Reconstruction(nn.Module):
    """The classifier's autoencoder as a module of its own, for the first training stage."""

    def __init__(self, net: AutoencoderClassifier):
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return self.net.decode(self.net.encode(x))


def train_classifier(tr: Trainer) -> tuple[nn.Module, dict[str, Any]]:
    """Stage 1: the autoencoder learns to reconstruct. Stage 2: a head learns the classes from the
    code, with the encoder fine-tuned at half the learning rate. --epochs applies to each stage."""
    o = tr.options
    classes = tr.conditional_classes
    config = ClassifierConfig(image_shape=tr.image_shape, num_classes=classes, **o.arch)
    net = AutoencoderClassifier(config).to(tr.device).train()
    ae_params = [p for n, p in net.named_parameters() if not n.startswith("head")]
    opt_ae = _adam(ae_params, tr.lr)
    # each stage trains part of the network: the autoencoder, then the head on the encoder
    autoencoder, classifier = tr.wrap(Reconstruction(net), some_unused=True), tr.wrap(net, some_unused=True)

    def ae_step(x: Tensor, y: Tensor) -> dict[str, float]:
        with tr.autocast():
            recon = autoencoder(x)
        loss = F.mse_loss(recon.float(), x)
        opt_ae.zero_grad(set_to_none=True)
        loss.backward()
        opt_ae.step()
        return {"recon": loss.item()}

    encoder_params = [p for n, p in net.named_parameters() if n.startswith(("encoder", "to_code"))]
    head_params = [p for n, p in net.named_parameters() if n.startswith("head")]
    opt_head = _adam([{"params": head_params, "lr": tr.lr}, {"params": encoder_params, "lr": tr.lr / 2}], tr.lr)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt_head, T_max=o.epochs * tr.steps_per_epoch())
    tr.track(net=net, opt_ae=opt_ae, opt_head=opt_head, decay=decay)

    def head_step(x: Tensor, y: Tensor) -> dict[str, float]:
        with tr.autocast():
            logits = classifier(x)
        loss = F.cross_entropy(logits.float(), y)
        opt_head.zero_grad(set_to_none=True)
        loss.backward()
        opt_head.step()
        decay.step()
        return {"ce": loss.item(), "accuracy": (logits.argmax(1) == y).float().mean().item()}

    tr.run_epochs(o.epochs, ae_step, offset=0, total=2 * o.epochs)
    tr.run_epochs(o.epochs, head_step, offset=o.epochs, total=2 * o.epochs)
    return net, tr.metadata("classifier", "ae-classifier", config, (config.code_dim,),
                            {"recipe": {"stages": ["autoencoder (MSE)", "head (cross-entropy, cosine decay), encoder at lr/2"]}})


TRAINERS = {"vae": train_vae, "cvae": train_vae, "gan": train_gan, "dcgan": train_gan, "cgan": train_gan,
            "ddpm": train_ddpm, "classifier": train_classifier, "srgan": train_srgan,
            "lapgan": train_lapgan, "cyclegan": train_cyclegan}


def train(options: TrainOptions, data: ImageDataset, out: str | Path,
          progress: ProgressFn | None = None) -> dict[str, Any]:
    """Trains one model and writes its checkpoint atomically; returns the metadata written (as
    JSON, without the format, dtype and digest that saving adds)."""
    trainer = Trainer(options, data, progress)
    processes = trainer.processes
    trainer.state_path = state_path_for(out)
    net, meta = TRAINERS[options.kind](trainer)
    assert meta.architecture in ARCHITECTURES
    net = net.to("cpu").eval()
    recipe = {**meta.training.recipe, "processes": processes.world} if processes.distributed else meta.training.recipe
    meta = dataclasses.replace(meta, training=dataclasses.replace(
        meta.training, recipe=recipe, time_s=round(trainer.elapsed(), 1),
        threads=torch.get_num_threads(), cpu_count=os.cpu_count()))
    if processes.main:
        disc = trainer.discriminator.to("cpu").eval() if trainer.discriminator is not None else None
        save_checkpoint(out, net, meta, half=options.half, discriminator=disc)
        remove_quietly(trainer.state_path)      # the run is complete: its checkpoint replaces the state
    processes.leave()
    return meta.to_json()
