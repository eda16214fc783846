"""The one interface every loadable model is adapted to.

The app, the command line and the metrics only ever talk to a `GenerativeModel`: a network plus
what is needed to use it (latent prior, image range, class names). Adapters turn each network
family's own conventions (tanh output, logits, noise prediction) into images in [0, 1].
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from models.diffusion import DDIMSampler, DDPMSampler, NoiseSchedule, ScheduleConfig, Step, sample_steps
from models.nets.classifier import AutoencoderClassifier, ClassifierConfig
from models.nets.gan import DCGANConfig, DCGANGenerator, MLPGANConfig, MLPGenerator
from models.nets.unet import UNet, UNetConfig
from models.nets.vae import VAE, VAEConfig

Labels = Tensor | None


def seeded_normal(shape: tuple[int, ...], seed: int) -> Tensor:
    """Standard normal noise that depends only on the seed (always drawn on the CPU)."""
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(shape, generator=generator)


class GenerativeModel:
    """A network adapted to the app: latents in, images in [0, 1] out."""

    kind: str = ""

    def __init__(self, net: nn.Module, metadata: dict[str, Any]):
        self.net = net.eval()
        self.metadata = metadata
        self.name: str = metadata.get("name") or metadata.get("architecture", self.kind)
        self.class_names: list[str] = list(metadata.get("class_names") or [])

    # -- description -------------------------------------------------------------------------
    @property
    def latent_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.net.config.image_shape)

    @property
    def is_conditional(self) -> bool:
        return bool(getattr(self.net.config, "num_classes", 0))

    @property
    def num_classes(self) -> int:
        return int(getattr(self.net.config, "num_classes", 0))

    @property
    def latent_dim(self) -> int:
        return int(torch.Size(self.latent_shape).numel())

    @property
    def device(self) -> torch.device:
        for p in self.net.parameters():
            return p.device
        return torch.device("cpu")

    def to(self, device: str | torch.device) -> GenerativeModel:
        self.net.to(device)
        return self

    # -- use ---------------------------------------------------------------------------------
    def sample_latent(self, n: int, seed: int) -> Tensor:
        """n latents from the prior N(0, I), reproducible from the seed, on the CPU."""
        return seeded_normal((n, *self.latent_shape), seed)

    @property
    def can_encode(self) -> bool:
        return False

    def decode(self, z: Tensor, labels: Labels = None) -> Tensor:
        raise NotImplementedError

    def encode(self, x: Tensor, labels: Labels = None) -> Tensor:
        raise NotImplementedError(f"a {self.kind} has no encoder")

    def _labels(self, labels: Labels, n: int) -> Labels:
        """Labels moved to the model's device; class 0 for a conditional model given none."""
        if not self.is_conditional:
            return None
        if labels is None:
            labels = torch.zeros(n, dtype=torch.long)
        labels = torch.as_tensor(labels)
        if labels.ndim == 0:
            labels = labels.expand(n)
        return labels.to(self.device)


class VAEModel(GenerativeModel):
    kind = "vae"
    net: VAE

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.net.config.latent_dim,)

    @property
    def can_encode(self) -> bool:
        return True

    @torch.inference_mode()
    def decode(self, z: Tensor, labels: Labels = None) -> Tensor:
        z = z.to(self.device, torch.float32)
        return self.net.decode(z, self._labels(labels, len(z)))

    @torch.inference_mode()
    def encode(self, x: Tensor, labels: Labels = None) -> Tensor:
        """The posterior mean of each image."""
        x = x.to(self.device, torch.float32)
        mu, _ = self.net.encode(x, self._labels(labels, len(x)))
        return mu

    @torch.inference_mode()
    def posterior(self, x: Tensor, labels: Labels = None) -> tuple[Tensor, Tensor]:
        x = x.to(self.device, torch.float32)
        return self.net.encode(x, self._labels(labels, len(x)))


class GANModel(GenerativeModel):
    kind = "gan"

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.net.config.latent_dim,)

    @torch.inference_mode()
    def decode(self, z: Tensor, labels: Labels = None, psi: float = 1.0) -> Tensor:
        """Images for latents z; psi < 1 pulls z toward the prior's mean (the truncation trick)."""
        z = z.to(self.device, torch.float32) * psi
        return (self.net(z, self._labels(labels, len(z))) + 1) / 2

    def decode_differentiable(self, z: Tensor, labels: Labels = None) -> Tensor:
        """Like decode, but keeps the graph so z can be optimised (GAN inversion)."""
        return (self.net(z, self._labels(labels, len(z))) + 1) / 2

    @torch.inference_mode()
    def early_features(self, z: Tensor, labels: Labels = None) -> Tensor:
        z = z.to(self.device, torch.float32)
        return self.net.early_features(z, self._labels(labels, len(z)))


class DDPMModel(GenerativeModel):
    """A noise-predicting UNet with its schedule; the latent is the starting noise x_T."""

    kind = "ddpm"
    net: UNet
    # guidance 1 gave the lowest classifier-FID of the scales tried on the bundled DDPM (README)
    default_guidance = 1.0

    def __init__(self, net: UNet, metadata: dict[str, Any]):
        super().__init__(net, metadata)
        self.schedule = NoiseSchedule(ScheduleConfig(**metadata.get("schedule", {})))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return tuple(self.net.config.image_shape)

    @torch.inference_mode()
    def eps(self, x: Tensor, t: Tensor, labels: Labels = None, guidance: float = 0.0) -> Tensor:
        """Predicted noise; with labels and guidance w > 0, classifier-free guidance:
        eps_uncond + (1 + w) (eps_cond - eps_uncond), as in Ho & Salimans 2022."""
        if labels is None or not self.is_conditional:
            return self.net(x, t, None)
        labels = self._labels(labels, len(x))
        if guidance == 0.0:
            return self.net(x, t, labels)
        both = self.net(torch.cat([x, x]), torch.cat([t, t]), _with_null(labels, self.num_classes))
        cond, uncond = both.chunk(2)
        return uncond + (1 + guidance) * (cond - uncond)

    def make_sampler(self, sampler: str = "ddim", steps: int = 50, eta: float = 0.0):
        if sampler == "ddpm":
            return DDPMSampler(self.schedule)
        if sampler == "ddim":
            return DDIMSampler(self.schedule, num_steps=steps, eta=eta)
        raise ValueError(f"unknown sampler {sampler!r}: use 'ddpm' or 'ddim'")

    def steps(self, x_T: Tensor, labels: Labels = None, guidance: float | None = None,
              sampler: str = "ddim", num_steps: int = 50, eta: float = 0.0, seed: int = 0,
              start_index: int = 0) -> Iterator[Step]:
        """One Step per sampler step, images in the model's [-1, 1] range."""
        guidance = self.default_guidance if guidance is None else guidance
        x = x_T.to(self.device, torch.float32)
        if labels is not None:
            labels = self._labels(labels, len(x))   # once, not at every step
        fn: Callable[[Tensor, Tensor], Tensor] = lambda x_, t_: self.eps(x_, t_, labels, guidance)  # noqa: E731
        generator = torch.Generator(device=x.device).manual_seed(noise_seed(seed))
        with torch.inference_mode():
            yield from sample_steps(fn, self.make_sampler(sampler, num_steps, eta), x, generator, start_index)

    def decode(self, z: Tensor, labels: Labels = None, num_steps: int = 20) -> Tensor:
        """Deterministic DDIM (eta = 0) from the noise z: the DDPM's latent-to-image map."""
        last = None
        for last in self.steps(z, labels, sampler="ddim", num_steps=num_steps, eta=0.0):
            pass
        return to_unit(last.x_t)


class ClassifierModel(GenerativeModel):
    kind = "classifier"
    net: AutoencoderClassifier

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.net.config.code_dim,)

    @property
    def is_conditional(self) -> bool:
        return False

    @property
    def can_encode(self) -> bool:
        return True

    @torch.inference_mode()
    def encode(self, x: Tensor, labels: Labels = None) -> Tensor:
        return self.net.encode(x.to(self.device, torch.float32))

    @torch.inference_mode()
    def decode(self, z: Tensor, labels: Labels = None) -> Tensor:
        """The autoencoder's reconstruction from a code."""
        return self.net.decode(z.to(self.device, torch.float32))

    @torch.inference_mode()
    def predict(self, x: Tensor) -> Tensor:
        """Class probabilities (n, num_classes) for images in [0, 1]."""
        return torch.softmax(self.net(x.to(self.device, torch.float32)), dim=1)

    @torch.inference_mode()
    def features(self, x: Tensor) -> Tensor:
        """Penultimate-layer features, the space classifier-FID is measured in."""
        return self.net.features(x.to(self.device, torch.float32))


class ScriptedGenerator(GenerativeModel):
    """A user's TorchScript or torch.export generator, described by a JSON sidecar."""

    kind = "gan"

    def __init__(self, module: nn.Module, sidecar: dict[str, Any]):
        super().__init__(module, {"architecture": "scripted", **sidecar})
        self._latent_shape = tuple(int(s) for s in sidecar["latent_shape"])
        self._image_shape = tuple(int(s) for s in sidecar["image_shape"])
        self._tanh = sidecar.get("output_range", "tanh") == "tanh"

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return self._latent_shape

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self._image_shape

    @property
    def is_conditional(self) -> bool:
        return False

    @property
    def num_classes(self) -> int:
        return 0

    @torch.inference_mode()
    def decode(self, z: Tensor, labels: Labels = None) -> Tensor:
        out = self.net(z.to(self.device, torch.float32))
        out = (out + 1) / 2 if self._tanh else out
        return out.reshape(len(z), *self._image_shape).clamp(0, 1)


def _with_null(labels: Tensor, num_classes: int) -> Tensor:
    """Conditional labels followed by the null class, for one batched CFG forward pass."""
    if labels.is_floating_point():  # class weights (n, K): the null class is a one-hot K+1 row
        padded = torch.nn.functional.pad(labels, (0, 1))
        null = torch.zeros_like(padded)
        null[:, num_classes] = 1
        return torch.cat([padded, null])
    return torch.cat([labels, torch.full_like(labels, num_classes)])


def noise_seed(seed: int) -> int:
    """The seed of a sampler's per-step noise. The starting noise x_T is drawn from `seed` itself;
    drawing the per-step noise from the same stream would make the first DDPM noise equal x_T."""
    return (int(seed) * 0x9E3779B1 + 0x5EED) % (2 ** 62)


def to_unit(x: Tensor) -> Tensor:
    """[-1, 1] -> [0, 1]."""
    return ((x + 1) / 2).clamp(0, 1)


@dataclass(frozen=True)
class Architecture:
    config: type
    net: type
    adapter: type[GenerativeModel]


ARCHITECTURES: dict[str, Architecture] = {
    "conv-vae": Architecture(VAEConfig, VAE, VAEModel),
    "mlp-gan": Architecture(MLPGANConfig, MLPGenerator, GANModel),
    "dcgan": Architecture(DCGANConfig, DCGANGenerator, GANModel),
    "unet-ddpm": Architecture(UNetConfig, UNet, DDPMModel),
    "ae-classifier": Architecture(ClassifierConfig, AutoencoderClassifier, ClassifierModel),
}


def make_config(config_cls: type, values: dict[str, Any]):
    """A config dataclass from JSON values (lists become tuples; unknown keys are an error)."""
    fields = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ValueError(f"unknown config keys for {config_cls.__name__}: {', '.join(unknown)}")
    return config_cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def build_model(architecture: str, config: dict[str, Any], metadata: dict[str, Any]) -> GenerativeModel:
    """A freshly initialised network of the named architecture, wrapped in its adapter."""
    if architecture not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {architecture!r} (known: {', '.join(ARCHITECTURES)})")
    arch = ARCHITECTURES[architecture]
    net = arch.net(make_config(arch.config, config))
    return arch.adapter(net, {"architecture": architecture, **metadata})
