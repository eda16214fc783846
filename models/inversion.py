"""GAN inversion: find the latent whose image matches a real picture.

A GAN has no encoder, so to put a real image into its latent space we optimise z with Adam
against a reconstruction loss. Pixel MSE alone favours blurry, averaged-looking matches that can
be a different garment of similar brightness; adding a distance in the classifier's feature space
(a perceptual loss, in the spirit of Zhang et al. 2018) pulls z toward an image the classifier
sees the same way. Starting from the best of a few prior samples avoids the worst local minima.

The optimisation is a step iterator (models/steps.py): after each Adam step it yields a
`Progress(step, steps, message, partial=InversionStep(...))` carrying the current loss and the
current reconstructions, and it returns an `InversionResult`. Closing it stops the optimisation
between two steps. `invert_gan` runs it to the end.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from models.steps import Progress, Steps, run_to_end

if TYPE_CHECKING:
    from models.capabilities import Classifier
    from models.generative import GenerativeModel

__all__ = ["InversionConfig", "InversionResult", "InversionStep", "invert_steps", "invert_gan_steps", "invert_gan"]


@dataclass(frozen=True)
class InversionConfig:
    steps: int = 200
    lr: float = 0.05
    feature_weight: float = 0.5     # weight of the (normalised) classifier-feature distance
    prior_weight: float = 1e-3      # keeps z near the N(0, I) shell the generator was trained on
    candidates: int = 32            # prior samples tried per image to pick the starting point

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"inversion needs at least 1 step, got {self.steps}")
        if self.lr <= 0:
            raise ValueError(f"the learning rate must be positive, got {self.lr}")
        if self.feature_weight < 0 or self.prior_weight < 0:
            raise ValueError("loss weights must not be negative")
        if self.candidates < 1:
            raise ValueError(f"at least 1 starting candidate is needed, got {self.candidates}")


@dataclass(frozen=True)
class InversionStep:
    """The partial result of one Adam step, yielded as `Progress.partial`. `images` are the
    current reconstructions (n, C, H, W) in [0, 1], a detached tensor on the model's device: the
    caller converts (to uint8 for display, say) only the steps it shows."""

    step: int                   # 1-based
    loss: float                 # mean reconstruction loss of the current latents
    images: Tensor


@dataclass
class InversionResult:
    z: Tensor                   # (n, *latent_shape): the best latent found for each image (CPU)
    images: Tensor              # (n, C, H, W) in [0, 1]: their decodings (CPU)
    loss: Tensor                # (n,): the reconstruction loss of each best latent
    history: list[float] = field(default_factory=list)          # mean reconstruction loss per step
    pixel_history: list[float] = field(default_factory=list)    # its pixel-MSE part
    feature_history: list[float] = field(default_factory=list)  # its (unweighted) feature part
    initial_loss: float = float("nan")                          # before the first step

    @property
    def steps_run(self) -> int:
        return len(self.history)

    @property
    def final_loss(self) -> float:
        return float(self.loss.mean())


def _losses(images: Tensor, target: Tensor, feature_fn: Callable[[Tensor], Tensor] | None,
            target_features: Tensor | None) -> tuple[Tensor, Tensor]:
    """Per-image pixel MSE and normalised feature distance, each (n,)."""
    n = images.shape[0]
    pixel = (images - target).pow(2).reshape(n, -1).mean(dim=1)
    if feature_fn is None or target_features is None:
        return pixel, torch.zeros_like(pixel)
    features = feature_fn(images).reshape(n, -1)
    # Normalised by the target's feature energy so the weight means the same for any classifier.
    scale = target_features.pow(2).mean(dim=1).clamp_min(1e-8)
    feature = (features - target_features).pow(2).mean(dim=1) / scale
    return pixel, feature


@contextmanager
def _autograd():
    """Gradients on, whatever grad or inference mode the thread is in. Entered and left within one
    step, never held across a yield: the mode is thread-local state, and between two steps the
    thread runs other work."""
    with torch.inference_mode(False), torch.enable_grad():
        yield


def invert_steps(decode_fn: Callable[[Tensor], Tensor], target: Tensor, z_init: Tensor,
                 feature_fn: Callable[[Tensor], Tensor] | None = None,
                 config: InversionConfig = InversionConfig()) -> Steps[InversionResult]:
    """Optimise latents z (n, *latent_shape) so that decode_fn(z) matches target (n, C, H, W),
    yielding one `Progress` with an `InversionStep` partial per Adam step.

    decode_fn and feature_fn must be differentiable; decode_fn returns images in target's range
    (the app uses [0, 1]). Each image is inverted independently (its own loss, summed so that
    one image's scale does not change another's step). The loss minimised per image is
        mean((x - target)^2) + feature_weight * |f(x) - f(target)|^2 / |f(target)|^2
        + prior_weight * mean(z^2)
    and the history records its first two terms (the reconstruction loss). The best latent seen
    for each image is returned, not the last: Adam may overshoot on the final steps.
    """
    if z_init.shape[0] != target.shape[0]:
        raise ValueError(f"{z_init.shape[0]} starting latents for {target.shape[0]} target images")
    device = z_init.device
    with _autograd():
        target = target.detach().to(device, torch.float32)
        with torch.no_grad():
            target_features = feature_fn(target).reshape(len(target), -1).detach() if feature_fn else None
        z = z_init.detach().clone().to(torch.float32).requires_grad_(True)
        optimiser = torch.optim.Adam([z], lr=config.lr)
    result = InversionResult(z=z.detach().clone(), images=torch.empty(0), loss=torch.empty(0))
    best_loss = torch.full((len(target),), float("inf"), device=device)
    best_z = z.detach().clone()
    best_images: Tensor | None = None
    for step in range(config.steps + 1):
        with _autograd():
            images = decode_fn(z)
            pixel, feature = _losses(images, target, feature_fn, target_features)
            recon = pixel + config.feature_weight * feature
            with torch.no_grad():
                better = recon < best_loss
                best_loss = torch.where(better, recon, best_loss)
                best_z[better] = z[better]
                kept = images.detach().clone() if best_images is None else best_images
                kept[better] = images.detach()[better]
                best_images = kept
            # The evaluation after the last update is only there to score it.
            if step < config.steps:
                objective = recon + config.prior_weight * z.pow(2).reshape(len(z), -1).mean(dim=1)
                # Only z gets a gradient: the networks' weights are shared with the rest of the app.
                (grad,) = torch.autograd.grad(objective.sum(), [z])
        if step == 0:
            result.initial_loss = float(recon.detach().mean())
        else:
            loss = float(recon.detach().mean())
            result.history.append(loss)
            result.pixel_history.append(float(pixel.detach().mean()))
            result.feature_history.append(float(feature.detach().mean()))
            yield Progress(step, config.steps, f"inverting: step {step} of {config.steps}, loss {loss:.4f}",
                           InversionStep(step, loss, images.detach()))
        if step < config.steps:
            with _autograd():
                optimiser.zero_grad(set_to_none=True)
                z.grad = grad
                optimiser.step()
    result.z = best_z.cpu()
    result.images = best_images.clamp(0, 1).cpu() if best_images is not None else torch.empty(0)
    result.loss = best_loss.detach().cpu()
    return result


def invert_gan_steps(gan: GenerativeModel, target: Tensor, classifier: Classifier | None = None,
                     labels: Tensor | None = None, seed: int = 0,
                     config: InversionConfig = InversionConfig()) -> Steps[InversionResult]:
    """Invert a generator (a `GenerativeModel` with a prior, decoded in one differentiable pass)
    on target images (n, C, H, W) in [0, 1], as `invert_steps` does.

    `classifier` is a model's classifier capability (`model.classifier`) whose penultimate
    features give the perceptual term (None: pixels only). The start for each image is the best of
    `config.candidates` prior samples drawn from `seed`.
    """
    if gan.prior is None or gan.sampler is not None:
        raise ValueError(f"{gan.name} is a {gan.kind.title}: inversion needs a generator that decodes a "
                         f"prior sample in one differentiable pass (a GAN)")
    device = gan.device
    target = target.detach().to(device, torch.float32)
    if target.ndim != 4 or tuple(target.shape[1:]) != tuple(gan.image_shape):
        raise ValueError(f"target images must be (n, {', '.join(map(str, gan.image_shape))}), "
                         f"got {tuple(target.shape)}")
    n = target.shape[0]
    if labels is not None:
        labels = torch.as_tensor(labels)

    def decode(z: Tensor, lab: Tensor | None = labels) -> Tensor:
        return gan.decode_differentiable(z, lab)

    feature_fn = None
    if classifier is not None and config.feature_weight > 0:
        feature_fn = classifier.features_differentiable

    # Best-of-candidates start: one cheap batched pass instead of a longer optimisation.
    candidates = gan.sample_latent(config.candidates * n, seed).to(device)
    cand_labels = labels.repeat_interleave(config.candidates, dim=0) if labels is not None and labels.ndim else labels
    with torch.no_grad():
        images = decode(candidates, cand_labels)
        repeated = target.repeat_interleave(config.candidates, dim=0)
        target_features = feature_fn(repeated).reshape(len(repeated), -1) if feature_fn else None
        pixel, feature = _losses(images, repeated, feature_fn, target_features)
        scores = (pixel + config.feature_weight * feature).reshape(n, config.candidates)
    best = scores.argmin(dim=1) + torch.arange(n, device=scores.device) * config.candidates
    z_init = candidates[best]
    return (yield from invert_steps(decode, target, z_init, feature_fn, config))


def invert_gan(gan: GenerativeModel, target: Tensor, classifier: Classifier | None = None,
               labels: Tensor | None = None, seed: int = 0,
               config: InversionConfig = InversionConfig(),
               progress: Callable[[int, int], None] | None = None) -> InversionResult:
    """`invert_gan_steps` run to the end; `progress(step, steps)` after each Adam step."""
    return run_to_end(invert_gan_steps(gan, target, classifier, labels, seed, config),
                      None if progress is None else (lambda p: progress(p.done, p.total)))
