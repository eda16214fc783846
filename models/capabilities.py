"""What a model can do, each an object that is present or None on a `GenerativeModel`
(models/generative.py lists them), and the small helpers the adapters share: images in [0, 1]
from a network's [-1, 1], non-finite output as an error, seeded noise.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from models.diffusion import DDIMSampler, DDPMSampler, NoiseSchedule, Step, sample_steps
from models.nets.classifier import AutoencoderClassifier
from models.nets.unet import UNet

if TYPE_CHECKING:
    from models.generative import DDPMModel
    from models.nets.cyclegan import CycleGAN
    from models.nets.sr import SRPair

Labels = Tensor | None


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


# -- capabilities -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prior:
    """Latents from the prior (`sample_latent`: N(0, I), or a VAE's fitted mixture) decode to samples of the data."""


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
