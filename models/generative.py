"""The one interface every loadable model is adapted to.

The app, the command line and the metrics only ever talk to a `GenerativeModel`: a network plus
what is needed to use it (latent prior, image range, class names). Adapters turn each network
family's own conventions (tanh output, logits, noise prediction) into images in [0, 1].

Callers ask what a model can do, never what it is. Every model decodes
(`decode(z, labels=None, *, psi=1.0)`); everything else is a capability, an object that is
present or None:

- `prior`: latents drawn from N(0, I) decode to samples of the data (a generator; an
  autoencoder's code space has no such prior)
- `encoder`: images to latents (a VAE's posterior mean)
- `conditional`: the model draws a class, given as an index or as class weights (a blend)
- `truncation`: `decode(psi=...)` pulls latents toward the prior's mean
- `early_layer`: activations of the first layer, what GANSpace takes its PCA of
- `latent_weights`: the weight matrices of the layers that read the latent, what SeFa factorises
- `discriminator`: a realness score in [0, 1] (a GAN whose file kept its discriminator)
- `sampler`: an iterative model (a DDPM) that makes an image in many steps
- `classifier`: class probabilities and features of images (the bundled judge)
- `pyramid`: a LAPGAN's levels, each with its noise, and the images each level draws
- `translator`: a CycleGAN's two generators, A -> B and B -> A (its "latent" is the input image)
- `upscaler`: an SR model's SRResNet and SRGAN weights and their blend (its input: the small image)

The capability objects are in models/capabilities.py. `kind` is a label for people; no code
branches on it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any

import torch
from torch import Tensor, nn

from models.capabilities import (Classifier, Conditioning, DiffusionSampling, Discriminator, EarlyLayer, Encoder,
                                 Labels, LatentWeights, Prior, Translator, Truncation, Upscaler, check_finite,
                                 seeded_normal)
from models.diffusion import NoiseSchedule, ScheduleConfig
from models.lapgan_levels import PyramidLevels
from models.layer_weights import latent_weight_matrices
from models.latent_prior import sample_mixture
from models.nets.classifier import AutoencoderClassifier, ClassifierConfig
from models.nets.cyclegan import CycleGAN, CycleGANConfig
from models.nets.gan import DCGANConfig, DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGANConfig, MLPGenerator
from models.nets.lapgan import LAPGANConfig, LAPGANGenerator
from models.nets.sr import SRConfig, SRPair
from models.nets.unet import UNet, UNetConfig
from models.nets.vae import VAE, VAEConfig



class ModelKind(str, Enum):
    """What a model is, for people to read. Compares equal to its value ("vae", ...)."""

    VAE = "vae"
    GAN = "gan"
    DDPM = "ddpm"
    CLASSIFIER = "classifier"
    SRGAN = "srgan"
    CYCLEGAN = "cyclegan"

    @property
    def title(self) -> str:
        return "classifier" if self is ModelKind.CLASSIFIER else self.value.upper()

    def __str__(self) -> str:
        return self.value


# -- the interface ------------------------------------------------------------------------------

class GenerativeModel:
    """A network adapted to the app: latents in, images in [0, 1] out."""

    kind: ModelKind

    def __init__(self, net: nn.Module, metadata: dict[str, Any]):
        self.net = net.eval()
        self.metadata = metadata
        self.name: str = metadata.get("name") or metadata.get("architecture", str(self.kind))
        self.class_names: list[str] = list(metadata.get("class_names") or [])
        self.prior: Prior | None = Prior()
        self.encoder: Encoder | None = None
        self.conditional: Conditioning | None = None
        self.truncation: Truncation | None = None
        self.early_layer: EarlyLayer | None = None
        self.latent_weights: LatentWeights | None = None
        self.discriminator: Discriminator | None = None
        self.sampler: DiffusionSampling | None = None
        self.classifier: Classifier | None = None
        self.pyramid: Any = None
        self.translator: Any = None
        self.upscaler: Any = None
        num_classes = int(getattr(getattr(net, "config", None), "num_classes", 0) or 0)
        if num_classes:
            names = tuple(self.class_names[:num_classes])
            names += tuple(f"class {i}" for i in range(len(names), num_classes))
            self.conditional = Conditioning(num_classes, names)

    # -- description -------------------------------------------------------------------------
    @property
    def latent_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.net.config.image_shape)

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
        if self.discriminator is not None:
            self.discriminator.net.to(device)
        return self

    # -- use ---------------------------------------------------------------------------------
    def sample_latent(self, n: int, seed: int) -> Tensor:
        """n latents from the prior N(0, I), reproducible from the seed, on the CPU."""
        return seeded_normal((n, *self.latent_shape), seed)

    def decode(self, z: Tensor, labels: Labels = None, *, psi: float = 1.0) -> Tensor:
        """Images (n, C, H, W) in [0, 1] for latents z (n, *latent_shape). `psi` below 1 needs the
        truncation capability. ModelOutputError when the network's output is not finite."""
        if psi != 1.0 and self.truncation is None:
            raise ValueError(f"{self.name} has no truncation: decode it with psi = 1")
        with torch.inference_mode():
            z = z.to(self.device, torch.float32)
            images = self._images(z * psi if psi != 1.0 else z, self.labels_on_device(labels, len(z)))
        return check_finite(images, self.name)

    def decode_differentiable(self, z: Tensor, labels: Labels = None) -> Tensor:
        """Like decode, keeping the graph so z can be optimised (GAN inversion)."""
        return self._images(z, self.labels_on_device(labels, len(z)))

    def _images(self, z: Tensor, labels: Labels) -> Tensor:
        """The network's images in [0, 1] for latents on its device."""
        raise NotImplementedError

    def labels_on_device(self, labels: Labels, n: int) -> Labels:
        """Labels moved to the model's device; class 0 for a conditional model given none, None
        for an unconditional one."""
        if self.conditional is None:
            return None
        if labels is None:
            labels = torch.zeros(n, dtype=torch.long)
        labels = torch.as_tensor(labels)
        if labels.ndim == 0:
            labels = labels.expand(n)
        return labels.to(self.device)

    @classmethod
    def capabilities_of(cls, config: dict[str, Any]) -> frozenset[str]:
        """The capability names a model of this adapter has, from its config alone (for listing
        checkpoints without reading their weights)."""
        names = {"prior"}
        if config.get("num_classes"):
            names.add("conditional")
        return frozenset(names)


def capability_names(model: GenerativeModel) -> frozenset[str]:
    """The names of the capabilities `model` has."""
    return frozenset(name for name in CAPABILITIES if getattr(model, name) is not None)


CAPABILITIES = ("prior", "encoder", "conditional", "truncation", "early_layer", "latent_weights", "discriminator",
                "sampler", "classifier", "pyramid", "translator", "upscaler")


class VAEModel(GenerativeModel):
    kind = ModelKind.VAE
    net: VAE

    def __init__(self, net: VAE, metadata: dict[str, Any]):
        super().__init__(net, metadata)
        self.encoder = Encoder(self._posterior, gives_posterior=True)
        self.latent_weights = LatentWeights(lambda: latent_weight_matrices(self.net, self.latent_dim))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.net.config.latent_dim,)

    def _images(self, z: Tensor, labels: Labels) -> Tensor:
        return self.net.decode(z, labels)

    def sample_latent(self, n: int, seed: int) -> Tensor:
        """n latents from the prior, reproducible from the seed, on the CPU: the mixture fitted to
        the encoded training set when the file has one, else N(0, I)."""
        if not self.net.config.prior_components:
            return super().sample_latent(n, seed)
        net = self.net
        return sample_mixture(net.prior_weights, net.prior_means, net.prior_scale_tril, n, seed)

    def _posterior(self, x: Tensor, labels: Labels) -> tuple[Tensor, Tensor]:
        x = x.to(self.device, torch.float32)
        return self.net.encode(x, self.labels_on_device(labels, len(x)))

    @classmethod
    def capabilities_of(cls, config: dict[str, Any]) -> frozenset[str]:
        return super().capabilities_of(config) | {"encoder", "latent_weights"}


class GANModel(GenerativeModel):
    kind = ModelKind.GAN

    def __init__(self, net: nn.Module, metadata: dict[str, Any]):
        super().__init__(net, metadata)
        self.truncation = Truncation()
        self.early_layer = EarlyLayer(self._early_features)
        self.latent_weights = LatentWeights(lambda: latent_weight_matrices(self.net, self.latent_dim))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.net.config.latent_dim,)

    def _images(self, z: Tensor, labels: Labels) -> Tensor:
        return (self.net(z, labels) + 1) / 2

    def _early_features(self, z: Tensor, labels: Labels) -> Tensor:
        z = z.to(self.device, torch.float32)
        return self.net.early_features(z, self.labels_on_device(labels, len(z)))

    @classmethod
    def capabilities_of(cls, config: dict[str, Any]) -> frozenset[str]:
        return super().capabilities_of(config) | {"truncation", "early_layer", "latent_weights"}


class LAPGANModel(GenerativeModel):
    """A Laplacian pyramid GAN (models/nets/lapgan.py): the latent is one noise vector per level,
    coarse to fine, and the `pyramid` capability shows what each level draws."""

    kind = ModelKind.GAN
    net: LAPGANGenerator

    def __init__(self, net: LAPGANGenerator, metadata: dict[str, Any]):
        super().__init__(net, metadata)
        self.truncation = Truncation()
        self.pyramid = PyramidLevels(net, self.labels_on_device, lambda: self.device)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.net.latent_dim,)

    def _images(self, z: Tensor, labels: Labels) -> Tensor:
        # a residual may overshoot the image range a little where the coarse image is near black
        return ((self.net(z, labels) + 1) / 2).clamp(0, 1)

    @classmethod
    def capabilities_of(cls, config: dict[str, Any]) -> frozenset[str]:
        return super().capabilities_of(config) | {"truncation", "pyramid"}


class DDPMModel(GenerativeModel):
    """A noise-predicting UNet with its schedule; the latent is the starting noise x_T."""

    kind = ModelKind.DDPM
    net: UNet

    def __init__(self, net: UNet, metadata: dict[str, Any]):
        super().__init__(net, metadata)
        self.sampler = DiffusionSampling(self, NoiseSchedule(ScheduleConfig(**metadata.get("schedule", {}))))

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return tuple(self.net.config.image_shape)

    def _images(self, z: Tensor, labels: Labels) -> Tensor:
        """Deterministic DDIM (eta = 0) from the noise z: the DDPM's latent-to-image map."""
        return self.sampler.sample(z, labels, num_steps=self.sampler.decode_steps)

    @classmethod
    def capabilities_of(cls, config: dict[str, Any]) -> frozenset[str]:
        return super().capabilities_of(config) | {"sampler"}


class ClassifierModel(GenerativeModel):
    """The bundled judge: a convolutional autoencoder with a class head on its code. It decodes
    codes (the autoencoder's reconstruction) but has no prior: its random codes are not samples."""

    kind = ModelKind.CLASSIFIER
    net: AutoencoderClassifier

    def __init__(self, net: AutoencoderClassifier, metadata: dict[str, Any]):
        super().__init__(net, metadata)
        self.prior = None
        self.conditional = None          # it reads classes, it does not draw them
        self.encoder = Encoder(self._code, gives_posterior=False)
        self.latent_weights = LatentWeights(lambda: latent_weight_matrices(self.net, self.latent_dim))
        self.classifier = Classifier(net, tuple(self.class_names), lambda: self.device)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.net.config.code_dim,)

    def _images(self, z: Tensor, labels: Labels) -> Tensor:
        return self.net.decode(z)

    def _code(self, x: Tensor, labels: Labels) -> tuple[Tensor, None]:
        return self.net.encode(x.to(self.device, torch.float32)), None

    @classmethod
    def capabilities_of(cls, config: dict[str, Any]) -> frozenset[str]:
        return frozenset({"encoder", "latent_weights", "classifier"})


class ScriptedGenerator(GenerativeModel):
    """A user's TorchScript or torch.export generator, described by a JSON sidecar."""

    kind = ModelKind.GAN

    def __init__(self, module: nn.Module, sidecar: dict[str, Any]):
        super().__init__(module, {"architecture": "scripted", **sidecar})
        self._latent_shape = tuple(int(s) for s in sidecar["latent_shape"])
        self._image_shape = tuple(int(s) for s in sidecar["image_shape"])
        self._tanh = sidecar.get("output_range", "tanh") == "tanh"
        self.conditional = None

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return self._latent_shape

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self._image_shape

    def _images(self, z: Tensor, labels: Labels) -> Tensor:
        out = self.net(z)
        out = (out + 1) / 2 if self._tanh else out
        return out.reshape(len(z), *self._image_shape).clamp(0, 1)

    @classmethod
    def capabilities_of(cls, config: dict[str, Any]) -> frozenset[str]:
        return frozenset({"prior"})


class UpscalerModel(GenerativeModel):
    """An SR model (SRResNet + SRGAN weights in one file). It has no prior: its input, the
    "latent", is a low-resolution image, and `decode` upscales it with the SRGAN weights."""

    kind = ModelKind.SRGAN
    net: SRPair

    def __init__(self, net: SRPair, metadata: dict[str, Any]):
        super().__init__(net, metadata)
        self.prior = None
        self.upscaler = Upscaler(net, lambda: self.device)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return tuple(self.net.config.low_shape)

    def _images(self, z: Tensor, labels: Labels) -> Tensor:
        return self.upscaler.upscale(z)

    @classmethod
    def capabilities_of(cls, config: dict[str, Any]) -> frozenset[str]:
        return frozenset({"upscaler"})


class TranslatorModel(GenerativeModel):
    """A CycleGAN's two generators. It has no prior: its input, the "latent", is an image of
    domain A, and `decode` translates it to domain B."""

    kind = ModelKind.CYCLEGAN
    net: CycleGAN

    def __init__(self, net: CycleGAN, metadata: dict[str, Any]):
        super().__init__(net, metadata)
        self.prior = None
        self.translator = Translator(net, *domain_names(metadata), lambda: self.device)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.net.config.image_shape)

    def _images(self, z: Tensor, labels: Labels) -> Tensor:
        return self.translator.a_to_b(z)

    @classmethod
    def capabilities_of(cls, config: dict[str, Any]) -> frozenset[str]:
        return frozenset({"translator"})


def domain_names(metadata: dict[str, Any]) -> tuple[str, str]:
    """The names of a translator's domains A and B from its metadata ("domain A", "domain B" where
    the file does not say)."""
    domains = metadata.get("domains")
    names = []
    for key in ("a", "b"):
        domain = domains.get(key) if isinstance(domains, dict) else None
        name = domain.get("name") if isinstance(domain, dict) else None
        names.append(name if isinstance(name, str) and name else f"domain {key.upper()}")
    return names[0], names[1]


@dataclass(frozen=True)
class Architecture:
    config: type
    net: type
    adapter: type[GenerativeModel]
    discriminator: type | None = None     # a GAN's D, built from the same config, kept when saved


ARCHITECTURES: dict[str, Architecture] = {
    "conv-vae": Architecture(VAEConfig, VAE, VAEModel),
    "mlp-gan": Architecture(MLPGANConfig, MLPGenerator, GANModel, MLPDiscriminator),
    "dcgan": Architecture(DCGANConfig, DCGANGenerator, GANModel, DCGANDiscriminator),
    "unet-ddpm": Architecture(UNetConfig, UNet, DDPMModel),
    "ae-classifier": Architecture(ClassifierConfig, AutoencoderClassifier, ClassifierModel),
    "srgan": Architecture(SRConfig, SRPair, UpscalerModel),
    "cyclegan": Architecture(CycleGANConfig, CycleGAN, TranslatorModel),
    "lapgan": Architecture(LAPGANConfig, LAPGANGenerator, LAPGANModel),
}


def declared_capabilities(architecture: str, config: dict[str, Any]) -> frozenset[str]:
    """What a checkpoint of `architecture` with `config` can do, without building it ("scripted"
    for a user's TorchScript / torch.export generator)."""
    if architecture == "scripted":
        return ScriptedGenerator.capabilities_of(config)
    arch = ARCHITECTURES.get(architecture)
    return arch.adapter.capabilities_of(config) if arch is not None else frozenset()


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


DISCRIMINATOR_PREFIX = "discriminator."     # a kept D's tensors in a checkpoint


def build_discriminator(architecture: str, config: dict[str, Any]) -> nn.Module:
    """A freshly initialised discriminator of the GAN architecture (KeyError if it has none)."""
    arch = ARCHITECTURES[architecture]
    if arch.discriminator is None:
        raise KeyError(f"architecture {architecture!r} has no discriminator")
    return arch.discriminator(make_config(arch.config, config))
