"""Noise schedules and samplers (DDPM, DDIM) for the diffusion view.

The schedule and the samplers are plain objects, not ``nn.Module``s: they hold a config, expose
``timesteps`` and a ``step(...)`` that returns a small dataclass, and the network is passed in by
the caller as ``eps_fn(x, t_batch)`` (the scheduler design of diffusers). ``sample_steps`` turns a
sampler into an iterator of ``Step`` records, so the viewer, the GIF export and the tests all
consume the same thing.

The schedule is kept in float64 on the CPU; the per-step arithmetic runs in the sample's dtype on
the sample's device. Coefficients that are the same for the whole batch are Python floats (a
CPU→GPU copy or a device sync per step would be pure overhead); per-sample coefficients in
``add_noise`` are cached per (device, dtype).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "ScheduleConfig",
    "NoiseSchedule",
    "StepOutput",
    "DDPMConfig",
    "DDPMSampler",
    "DDIMConfig",
    "DDIMSampler",
    "Step",
    "sample_steps",
]

# Nichol & Dhariwal (2021), eq. 17: the small offset keeps beta_0 from being vanishingly small,
# and the clip keeps the last betas from reaching 1 (a singularity at t = T).
_COSINE_OFFSET = 0.008
_COSINE_MAX_BETA = 0.999


@dataclass(frozen=True)
class ScheduleConfig:
    num_timesteps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02
    kind: str = "linear"  # or "cosine" (Nichol & Dhariwal 2021); beta_start/end unused there


def _cosine_betas(num_timesteps: int) -> Tensor:
    steps = torch.arange(num_timesteps + 1, dtype=torch.float64) / num_timesteps
    f = torch.cos((steps + _COSINE_OFFSET) / (1 + _COSINE_OFFSET) * (math.pi / 2)) ** 2
    alpha_bar = f / f[0]
    betas = 1.0 - alpha_bar[1:] / alpha_bar[:-1]
    return betas.clamp(min=0.0, max=_COSINE_MAX_BETA)


class NoiseSchedule:
    """The forward process q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I), t in [0, T).

    All tensors are float64 on the CPU, shape (T,).
    """

    def __init__(self, config: ScheduleConfig | None = None) -> None:
        config = config if config is not None else ScheduleConfig()
        T = int(config.num_timesteps)
        if T < 1:
            raise ValueError(f"num_timesteps must be at least 1, got {config.num_timesteps}")
        if config.kind == "linear":
            if not 0.0 < config.beta_start <= config.beta_end < 1.0:
                raise ValueError(
                    "linear schedule needs 0 < beta_start <= beta_end < 1, got "
                    f"{config.beta_start}, {config.beta_end}"
                )
            betas = torch.linspace(config.beta_start, config.beta_end, T, dtype=torch.float64)
        elif config.kind == "cosine":
            betas = _cosine_betas(T)
        else:
            raise ValueError(f"unknown schedule kind {config.kind!r}; use 'linear' or 'cosine'")

        self.config = config
        self.betas = betas
        self.alphas = 1.0 - betas
        self.alpha_bars = torch.cumprod(self.alphas, dim=0)
        self.alpha_bars_prev = torch.cat(
            [torch.ones(1, dtype=torch.float64), self.alpha_bars[:-1]]
        )
        # Variance of q(x_{t-1} | x_t, x_0); exactly 0 at t = 0 because abar_{-1} = 1.
        self.posterior_variance = (
            self.betas * (1.0 - self.alpha_bars_prev) / (1.0 - self.alpha_bars)
        )
        self.snr = self.alpha_bars / (1.0 - self.alpha_bars)
        self._noise_coeffs: dict[tuple[torch.device, torch.dtype], tuple[Tensor, Tensor]] = {}

    @property
    def num_timesteps(self) -> int:
        return int(self.betas.shape[0])

    def __len__(self) -> int:
        return self.num_timesteps

    def _coeffs_on(self, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        key = (device, dtype)
        cached = self._noise_coeffs.get(key)
        if cached is None:
            cached = (
                self.alpha_bars.sqrt().to(device=device, dtype=dtype),
                (1.0 - self.alpha_bars).sqrt().to(device=device, dtype=dtype),
            )
            self._noise_coeffs[key] = cached
        return cached

    def add_noise(self, x0: Tensor, t: Tensor | int, noise: Tensor) -> Tensor:
        """Sample q(x_t | x_0) with the given noise. ``t`` is an int or a LongTensor, () or (n,)."""
        if noise.shape != x0.shape:
            raise ValueError(f"noise shape {tuple(noise.shape)} != x0 shape {tuple(x0.shape)}")
        t = torch.as_tensor(t, dtype=torch.long, device=x0.device)
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= self.num_timesteps):
            raise ValueError(f"timesteps must lie in [0, {self.num_timesteps}), got {t.tolist()}")
        sqrt_ab, sqrt_1m_ab = self._coeffs_on(x0.device, x0.dtype)
        a = sqrt_ab[t]
        s = sqrt_1m_ab[t]
        if t.ndim == 1:
            # One timestep per sample: broadcast over all non-batch dims.
            shape = (-1,) + (1,) * (x0.ndim - 1)
            a, s = a.reshape(shape), s.reshape(shape)
        return a * x0 + s * noise


@dataclass(frozen=True)
class StepOutput:
    prev_sample: Tensor
    pred_original_sample: Tensor


def _predict_x0(x_t: Tensor, eps: Tensor, alpha_bar: float) -> Tensor:
    return (x_t - math.sqrt(1.0 - alpha_bar) * eps) / math.sqrt(alpha_bar)


def _randn_like(x: Tensor, generator: torch.Generator) -> Tensor:
    # Draw on the generator's device so a seed gives the same noise whatever device x is on.
    noise = torch.randn(x.shape, generator=generator, device=generator.device, dtype=x.dtype)
    return noise.to(x.device)


class _Sampler:
    """Shared bits: timestep validation and the fallback generator."""

    schedule: NoiseSchedule
    timesteps: list[int]

    def __init__(self, schedule: NoiseSchedule) -> None:
        self.schedule = schedule
        # Used only when step() gets no generator: seeded, so runs stay reproducible per process.
        self._fallback_generator: torch.Generator | None = None

    def __len__(self) -> int:
        return len(self.timesteps)

    def _generator(self, generator: torch.Generator | None) -> torch.Generator:
        if generator is not None:
            return generator
        if self._fallback_generator is None:
            self._fallback_generator = torch.Generator().manual_seed(0)
        return self._fallback_generator

    @staticmethod
    def _check_shapes(eps: Tensor, x_t: Tensor) -> None:
        if eps.shape != x_t.shape:
            raise ValueError(f"eps shape {tuple(eps.shape)} != x_t shape {tuple(x_t.shape)}")


@dataclass(frozen=True)
class DDPMConfig:
    clip_x0: bool = True


class DDPMSampler(_Sampler):
    """Ancestral sampling (Ho et al. 2020) over every timestep T-1 .. 0.

    The mean of p(x_{t-1} | x_t) is the posterior mean of q(x_{t-1} | x_t, x0_pred), with x0_pred
    optionally clipped to [-1, 1]; the noise has the posterior variance and is omitted at t = 0,
    where the returned sample is x0_pred itself.
    """

    def __init__(self, schedule: NoiseSchedule, clip_x0: bool = True) -> None:
        super().__init__(schedule)
        self.config = DDPMConfig(clip_x0=clip_x0)
        self.timesteps: list[int] = list(range(schedule.num_timesteps - 1, -1, -1))
        s = schedule
        # Posterior mean = c_x0 * x0 + c_xt * x_t (Ho et al. 2020, eq. 7).
        denom = 1.0 - s.alpha_bars
        self._c_x0 = (s.betas * s.alpha_bars_prev.sqrt() / denom).tolist()
        self._c_xt = ((1.0 - s.alpha_bars_prev) * s.alphas.sqrt() / denom).tolist()
        self._std = s.posterior_variance.sqrt().tolist()
        self._alpha_bars = s.alpha_bars.tolist()

    @property
    def clip_x0(self) -> bool:
        return self.config.clip_x0

    def step(
        self,
        eps: Tensor,
        t: int | Tensor,
        x_t: Tensor,
        generator: torch.Generator | None = None,
    ) -> StepOutput:
        t = int(t)
        if not 0 <= t < self.schedule.num_timesteps:
            raise ValueError(f"timestep {t} outside [0, {self.schedule.num_timesteps})")
        self._check_shapes(eps, x_t)
        x0 = _predict_x0(x_t, eps, self._alpha_bars[t])
        if self.config.clip_x0:
            x0 = x0.clamp(-1.0, 1.0)
        if t == 0:
            # abar_{-1} = 1: the posterior collapses onto x0. Returning x0 itself (not a mean
            # whose coefficient is 1 only up to rounding) keeps the final sample == x0_pred.
            return StepOutput(prev_sample=x0, pred_original_sample=x0)
        mean = self._c_x0[t] * x0 + self._c_xt[t] * x_t
        noise = _randn_like(x_t, self._generator(generator))
        return StepOutput(prev_sample=mean + self._std[t] * noise, pred_original_sample=x0)


@dataclass(frozen=True)
class DDIMConfig:
    num_steps: int = 50
    eta: float = 0.0
    clip_x0: bool = True


def _ddim_timesteps(num_timesteps: int, num_steps: int) -> list[int]:
    if num_steps == 1:
        return [num_timesteps - 1]
    # Spacing >= 1 whenever num_steps <= T, so rounding keeps the timesteps distinct.
    span = num_timesteps - 1
    return [round(span * (num_steps - 1 - i) / (num_steps - 1)) for i in range(num_steps)]


class DDIMSampler(_Sampler):
    """DDIM (Song et al. 2021) over ``num_steps`` timesteps evenly spaced from T-1 down to 0.

    ``eta`` = 0 is the deterministic sampler; ``eta`` = 1 matches DDPM's ancestral variance. The
    step after the last timestep goes to abar = 1, so the final sample is x0_pred exactly.
    """

    def __init__(
        self,
        schedule: NoiseSchedule,
        num_steps: int = 50,
        eta: float = 0.0,
        clip_x0: bool = True,
    ) -> None:
        super().__init__(schedule)
        T = schedule.num_timesteps
        if not 1 <= num_steps <= T:
            raise ValueError(f"num_steps must be in [1, {T}], got {num_steps}")
        if eta < 0:
            raise ValueError(f"eta must be >= 0, got {eta}")
        self.config = DDIMConfig(num_steps=int(num_steps), eta=float(eta), clip_x0=clip_x0)
        self.timesteps: list[int] = _ddim_timesteps(T, int(num_steps))
        # -1 stands for "clean": abar = 1.
        self._prev = dict(zip(self.timesteps, self.timesteps[1:] + [-1]))
        self._alpha_bars = schedule.alpha_bars.tolist()

    @property
    def num_steps(self) -> int:
        return self.config.num_steps

    @property
    def eta(self) -> float:
        return self.config.eta

    @property
    def clip_x0(self) -> bool:
        return self.config.clip_x0

    def prev_timestep(self, t: int) -> int:
        """The timestep this sampler moves to from ``t``; -1 means the clean image."""
        try:
            return self._prev[int(t)]
        except KeyError:
            raise ValueError(f"timestep {int(t)} is not one of this sampler's timesteps") from None

    def step(
        self,
        eps: Tensor,
        t: int | Tensor,
        x_t: Tensor,
        generator: torch.Generator | None = None,
    ) -> StepOutput:
        t = int(t)
        prev_t = self.prev_timestep(t)
        self._check_shapes(eps, x_t)
        ab_t = self._alpha_bars[t]
        x0 = _predict_x0(x_t, eps, ab_t)
        if self.config.clip_x0:
            x0 = x0.clamp(-1.0, 1.0)
            # Re-derive the noise from the clipped x0 so the update stays on the trajectory
            # through x_t that the clipped estimate implies.
            eps = (x_t - math.sqrt(ab_t) * x0) / math.sqrt(1.0 - ab_t)
        if prev_t < 0:
            return StepOutput(prev_sample=x0, pred_original_sample=x0)
        ab_prev = self._alpha_bars[prev_t]
        # Song et al. 2021, eq. 16.
        sigma = self.config.eta * math.sqrt((1.0 - ab_prev) / (1.0 - ab_t) * (1.0 - ab_t / ab_prev))
        direction = math.sqrt(max(1.0 - ab_prev - sigma * sigma, 0.0))
        prev = math.sqrt(ab_prev) * x0 + direction * eps
        if sigma > 0.0:
            # eta = 0 never touches a generator: the sampler is then fully deterministic.
            prev = prev + sigma * _randn_like(x_t, self._generator(generator))
        return StepOutput(prev_sample=prev, pred_original_sample=x0)


@dataclass(frozen=True)
class Step:
    index: int  # 0 .. len(timesteps)-1
    t: int  # the timestep the network was evaluated at
    x_t: Tensor  # the sample AFTER this step (x_{t-1}); at the last step it equals x0_pred
    x0_pred: Tensor
    eps: Tensor


def sample_steps(
    eps_fn: Callable[[Tensor, Tensor], Tensor],
    sampler: DDPMSampler | DDIMSampler,
    x_T: Tensor,
    generator: torch.Generator | None = None,
    start_index: int = 0,
) -> Iterator[Step]:
    """Run ``sampler`` from ``x_T`` at ``sampler.timesteps[start_index]``, one ``Step`` per step.

    ``x_T`` is (n, *shape). ``eps_fn(x, t_batch)`` gets ``t_batch`` as a LongTensor (n,) on x's
    device. The iterator is lazy: a consumer can stop between steps (cancellation).
    """
    timesteps = sampler.timesteps
    if not 0 <= start_index < len(timesteps):
        raise ValueError(f"start_index must be in [0, {len(timesteps)}), got {start_index}")
    if x_T.ndim < 1:
        raise ValueError("x_T needs a batch dimension")
    x = x_T
    for index in range(start_index, len(timesteps)):
        t = timesteps[index]
        # no_grad per step rather than around the loop: grad mode is thread-local state and must
        # not leak into the consumer's code between yields.
        with torch.no_grad():
            t_batch = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
            eps = eps_fn(x, t_batch)
            out = sampler.step(eps, t, x, generator)
        x = out.prev_sample
        yield Step(index=index, t=t, x_t=x, x0_pred=out.pred_original_sample, eps=eps)
