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
- `translator`, `upscaler`: reserved for CycleGAN and SR models

`kind` is a label for people; no code branches on it.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

import torch
from torch import Tensor, nn

from models.diffusion import DDIMSampler, DDPMSampler, NoiseSchedule, ScheduleConfig, Step, sample_steps
from models.lapgan_levels import PyramidLevels
from models.layer_weights import latent_weight_matrices
from models.nets.classifier import AutoencoderClassifier, ClassifierConfig
from models.nets.cyclegan import CycleGAN, CycleGANConfig
from models.nets.gan import DCGANConfig, DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGANConfig, MLPGenerator
from models.nets.lapgan import LAPGANConfig, LAPGANGenerator
from models.nets.sr import SRConfig, SRPair
from models.nets.unet import UNet, UNetConfig
from models.nets.vae import VAE, VAEConfig

Labels = Tensor | None


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


class ModelOutputError(ValueError):
    """A model produced something that is not an image (NaN or infinite values)."""


def seeded_normal(shape: tuple[int, ...], seed: int) -> Tensor:
    """Standard normal noise that depends only on the seed (always drawn on the CPU)."""
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(shape, generator=generator)


def check_finite(images: Tensor, what: str = "the model") -> Tensor:
    """`images` unchanged, or ModelOutputError when any value is NaN or infinite."""
    if not bool(torch.isfinite(images).all()):
        raise ModelOutputError(f"{what} produced NaN or infinite values here, so there is no image to "
                               f"show; its weights may be damaged or overflow for this input")
    return images


# -- capabilities -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prior:
    """Latents from N(0, I) decode to samples of the data."""


@dataclass(frozen=True)
class Conditioning:
    """The model draws a class: labels are class indices (n,) or class weights (n, K)."""

    num_classes: int
    class_names: tuple[str, ...]


@dataclass(frozen=True)
class Truncation:
    """`decode(psi=...)` scales latents toward the prior's mean (the truncation trick)."""

    lowest: float = 0.0


class Discriminator:
    """A GAN's discriminator kept beside its generator: how real it finds an image."""

    def __init__(self, net: nn.Module):
        self.net = net.eval()

    def realness(self, images: Tensor, labels: Labels = None) -> Tensor:
        """(n,) in [0, 1], D's probability that each image (n, C, H, W) in [0, 1] is a training
        image, for the class `labels` of a conditional GAN."""
        device = next(self.net.parameters()).device
        with torch.inference_mode():
            x = images.to(device, torch.float32) * 2 - 1
            labels = labels.to(device) if isinstance(labels, Tensor) else labels
            return torch.sigmoid(self.net(x, labels).float())


class Encoder:
    """Images (n, C, H, W) in [0, 1] to latents: the posterior mean, and for a VAE its
    log-variance (`gives_posterior`)."""

    def __init__(self, encode: Callable[[Tensor, Labels], tuple[Tensor, Tensor | None]], gives_posterior: bool):
        self._encode = encode
        self.gives_posterior = gives_posterior

    @torch.inference_mode()
    def encode(self, x: Tensor, labels: Labels = None) -> Tensor:
        return self._encode(x, labels)[0]

    @torch.inference_mode()
    def posterior(self, x: Tensor, labels: Labels = None) -> tuple[Tensor, Tensor]:
        """(mean, log-variance) of q(z | x); ValueError for an encoder without a variance."""
        mu, logvar = self._encode(x, labels)
        if logvar is None:
            raise ValueError("this encoder gives a point, not a distribution")
        return mu, logvar


class EarlyLayer:
    """The first layer's activations for latents: what GANSpace takes its PCA of."""

    def __init__(self, features: Callable[[Tensor, Labels], Tensor]):
        self._features = features

    @torch.inference_mode()
    def features(self, z: Tensor, labels: Labels = None) -> Tensor:
        return self._features(z, labels)


class LatentWeights:
    """The weight matrices (features, latent_dim) of the layers that read the latent, coarse to
    fine: what SeFa (models/sefa.py) factorises."""

    def __init__(self, matrices: Callable[[], list[Tensor]]):
        self._matrices = matrices

    @torch.inference_mode()
    def matrices(self) -> list[Tensor]:
        return self._matrices()


class Classifier:
    """Class probabilities and penultimate-layer features of images in [0, 1]."""

    def __init__(self, net: AutoencoderClassifier, class_names: tuple[str, ...],
                 device: Callable[[], torch.device]):
        self._net = net
        self._device = device
        self.num_classes = int(net.config.num_classes)
        self.class_names = tuple(class_names[:self.num_classes]) + tuple(
            f"class {i}" for i in range(len(class_names), self.num_classes))

    @torch.inference_mode()
    def predict(self, x: Tensor) -> Tensor:
        """(n, num_classes) probabilities."""
        return torch.softmax(self._net(x.to(self._device(), torch.float32)), dim=1)

    @torch.inference_mode()
    def features(self, x: Tensor) -> Tensor:
        """The space classifier-FID is measured in."""
        return self._net.features(x.to(self._device(), torch.float32))

    @torch.inference_mode()
    def outputs(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(features, probabilities) in one pass."""
        features = self._net.features(x.to(self._device(), torch.float32))
        return features, torch.softmax(self._net.head_out(features), dim=1)

    def features_differentiable(self, x: Tensor) -> Tensor:
        """Like features, keeping the graph (the perceptual term of GAN inversion)."""
        return self._net.features(x.to(self._device(), torch.float32))


class Translator:
    """Images of one domain to the other (a CycleGAN): `a_to_b` is G, `b_to_a` is F, both taking
    and giving images (n, C, H, W) in [0, 1]; `domain_a` and `domain_b` name the domains."""

    def __init__(self, net: CycleGAN, domain_a: str, domain_b: str, device: Callable[[], torch.device]):
        self._net = net
        self._device = device
        self.domain_a = domain_a
        self.domain_b = domain_b
        self.image_shape = tuple(int(s) for s in net.config.image_shape)

    def a_to_b(self, x: Tensor) -> Tensor:
        return self._run(self._net.g_ab, x)

    def b_to_a(self, x: Tensor) -> Tensor:
        return self._run(self._net.g_ba, x)

    def translate(self, x: Tensor, reverse: bool = False) -> Tensor:
        """a_to_b, or b_to_a when `reverse`."""
        return self.b_to_a(x) if reverse else self.a_to_b(x)

    @torch.inference_mode()
    def _run(self, generator: nn.Module, x: Tensor) -> Tensor:
        x = x.to(self._device(), torch.float32)
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"this translator takes {'x'.join(map(str, self.image_shape))} images, got "
                             f"{'x'.join(map(str, x.shape[1:]))}")
        out = (generator(x * 2 - 1) + 1) / 2
        return check_finite(out, "the translator").clamp(0, 1)


class Upscaler:
    """Low-resolution images to high-resolution ones (an SR model): `upscale(low, blend)` runs the
    network whose weights are (1 - blend) of the PSNR-trained SRResNet and blend of the SRGAN
    (ESRGAN's network interpolation); `downscale` makes the inputs it was trained on."""

    def __init__(self, pair: SRPair, device: Callable[[], torch.device]):
        self._pair = pair
        self._device = device
        self.scale = int(pair.config.scale)
        self.low_shape = tuple(pair.config.low_shape)
        self._blended: nn.Module | None = None      # a third generator holding the blended weights
        self._blend: float | None = None

    def downscale(self, high: Tensor) -> Tensor:
        from models.upscale import downscale

        return downscale(high.to(self._device(), torch.float32), self.scale)

    def bicubic(self, low: Tensor) -> Tensor:
        from models.upscale import bicubic_upscale

        return bicubic_upscale(low.to(self._device(), torch.float32), self.scale)

    @torch.inference_mode()
    def upscale(self, low: Tensor, blend: float = 1.0) -> Tensor:
        """(n, C, h, w) in [0, 1] -> (n, C, h * scale, w * scale) in [0, 1]."""
        low = low.to(self._device(), torch.float32)
        if tuple(low.shape[1:]) != self.low_shape:
            raise ValueError(f"this upscaler takes {'x'.join(map(str, self.low_shape))} images, got "
                             f"{'x'.join(map(str, low.shape[1:]))}")
        if blend == 0.0:
            out = self._pair.srresnet(low)
        elif blend == 1.0:
            out = self._pair.srgan(low)
        else:
            out = self._blended_net(float(blend), low.device)(low)
        return check_finite(out, "the upscaler").clamp(0, 1)

    def _blended_net(self, blend: float, device: torch.device) -> nn.Module:
        """The generator with the weights of `blend`, remade only when the blend changes: a slider
        drag loads a few hundred thousand weights once per position, then runs a plain forward."""
        from models.upscale import interpolate_weights

        if self._blended is None:
            import copy

            self._blended = copy.deepcopy(self._pair.srresnet).eval().requires_grad_(False)
            self._blend = None
        if next(self._blended.parameters()).device != device:
            self._blended.to(device)
            self._blend = None
        if self._blend != blend:
            self._blended.load_state_dict(
                interpolate_weights(self._pair.srresnet.state_dict(), self._pair.srgan.state_dict(), blend))
            self._blend = blend
        return self._blended


def guided_eps(cond: Tensor, uncond: Tensor, guidance: float) -> Tensor:
    """Classifier-free guidance (Ho & Salimans 2022): eps_uncond + (1 + w)(eps_cond - eps_uncond).
    w = 0 is plain conditional sampling; larger w follows the class more closely."""
    return uncond + (1 + guidance) * (cond - uncond)


class DiffusionSampling:
    """An iterative model: a noise-predicting network with its schedule. The latent is the
    starting noise x_T; images are in [-1, 1] while sampling."""

    # guidance 1 gave the lowest classifier-FID of the scales tried on the bundled DDPM (README)
    default_guidance = 1.0
    decode_steps = 20             # DDIM steps of `decode`, the one-call latent-to-image map

    def __init__(self, model: DDPMModel, schedule: NoiseSchedule):
        self._model = model
        self.schedule = schedule

    @property
    def net(self) -> UNet:
        return self._model.net

    @torch.inference_mode()
    def eps(self, x: Tensor, t: Tensor, labels: Labels = None, guidance: float = 0.0) -> Tensor:
        """Predicted noise; with labels and guidance w > 0, classifier-free guidance."""
        net = self._model.net
        if labels is None or self._model.conditional is None:
            return net(x, t, None)
        labels = self._model.labels_on_device(labels, len(x))
        if guidance == 0.0:
            return net(x, t, labels)
        both = net(torch.cat([x, x]), torch.cat([t, t]), _with_null(labels, self._model.conditional.num_classes))
        cond, uncond = both.chunk(2)
        return guided_eps(cond, uncond, guidance)

    def make(self, sampler: str = "ddim", steps: int = 50, eta: float = 0.0) -> DDPMSampler | DDIMSampler:
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
        x = x_T.to(self._model.device, torch.float32)
        if labels is not None:
            labels = self._model.labels_on_device(labels, len(x))   # once, not at every step
        fn: Callable[[Tensor, Tensor], Tensor] = lambda x_, t_: self.eps(x_, t_, labels, guidance)  # noqa: E731
        generator = torch.Generator(device=x.device).manual_seed(noise_seed(seed))
        # grad mode is switched per step inside sample_steps, never across a yield: whatever runs
        # between two steps (another view's request) sees the thread's own mode
        yield from sample_steps(fn, self.make(sampler, num_steps, eta), x, generator, start_index)

    def sample(self, x_T: Tensor, labels: Labels = None, guidance: float | None = None,
               sampler: str = "ddim", num_steps: int = 50, eta: float = 0.0, seed: int = 0) -> Tensor:
        """The finished images in [0, 1] after the whole run from x_T."""
        last = None
        for last in self.steps(x_T, labels, guidance, sampler, num_steps, eta, seed):
            pass
        if last is None:
            raise ValueError("the sampler made no steps")
        return to_unit(last.x_t)


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
