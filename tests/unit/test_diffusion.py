"""Noise schedules and the DDPM / DDIM samplers in models/diffusion.py."""

from __future__ import annotations

import math

import pytest
import torch

from models.diffusion import (
    DDIMSampler,
    DDPMSampler,
    NoiseSchedule,
    ScheduleConfig,
    Step,
    StepOutput,
    sample_steps,
)


@pytest.fixture(scope="module")
def linear() -> NoiseSchedule:
    return NoiseSchedule(ScheduleConfig())


@pytest.fixture(scope="module")
def cosine() -> NoiseSchedule:
    return NoiseSchedule(ScheduleConfig(kind="cosine"))


def _clean_images(n: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand((n, 1, 8, 8), generator=g) * 1.6 - 0.8  # inside [-1, 1], not at the edge


# --- schedule ---------------------------------------------------------------------------------


def test_linear_schedule_shapes_dtype_and_endpoints(linear: NoiseSchedule) -> None:
    for name in ("betas", "alphas", "alpha_bars", "alpha_bars_prev", "posterior_variance", "snr"):
        tensor = getattr(linear, name)
        assert tensor.shape == (1000,), name
        assert tensor.dtype == torch.float64, name
        assert tensor.device.type == "cpu", name
    assert linear.betas[0].item() == pytest.approx(1e-4, rel=1e-12)
    assert linear.betas[-1].item() == pytest.approx(0.02, rel=1e-12)
    steps = linear.betas.diff()
    assert torch.allclose(steps, torch.full_like(steps, (0.02 - 1e-4) / 999), rtol=1e-9)


def test_alpha_bar_matches_independent_computation(linear: NoiseSchedule) -> None:
    betas = [1e-4 + (0.02 - 1e-4) * i / 999 for i in range(1000)]
    via_logs = torch.exp(torch.cumsum(torch.log1p(-torch.tensor(betas, dtype=torch.float64)), 0))
    assert torch.allclose(linear.alpha_bars, via_logs, rtol=1e-10, atol=0)
    # Spot-check against plain Python arithmetic as well.
    product = 1.0
    for i, beta in enumerate(betas):
        product *= 1.0 - beta
        if i in (0, 10, 500, 999):
            assert linear.alpha_bars[i].item() == pytest.approx(product, rel=1e-10)
    assert torch.equal(linear.alphas, 1.0 - linear.betas)


def test_posterior_variance_and_snr_closed_forms(linear: NoiseSchedule) -> None:
    ab = linear.alpha_bars
    assert linear.alpha_bars_prev[0].item() == 1.0
    assert torch.equal(linear.alpha_bars_prev[1:], ab[:-1])
    for t in (1, 2, 100, 999):
        expected = linear.betas[t] * (1 - ab[t - 1]) / (1 - ab[t])
        assert linear.posterior_variance[t].item() == pytest.approx(expected.item(), rel=1e-12)
    assert linear.posterior_variance[0].item() == 0.0
    assert bool((linear.posterior_variance[1:] < linear.betas[1:]).all())
    assert torch.allclose(linear.snr, ab / (1 - ab), rtol=1e-12)
    assert bool((linear.snr.diff() < 0).all())


def test_cosine_schedule_monotone_and_in_range(cosine: NoiseSchedule) -> None:
    ab = cosine.alpha_bars
    assert bool((ab > 0).all()) and bool((ab <= 1).all())
    assert bool((ab.diff() < 0).all())
    assert bool((cosine.betas > 0).all()) and bool((cosine.betas <= 0.999).all())
    assert cosine.betas.max().item() == pytest.approx(0.999)  # the clip is active at the end
    # Closed form of Nichol & Dhariwal away from the clipped tail: abar_t = f(t+1) / f(0).
    f = lambda s: math.cos((s / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    for t in (0, 100, 500, 900):
        assert ab[t].item() == pytest.approx(f(t + 1) / f(0), rel=1e-9)
    # Cosine destroys information more slowly than linear in the middle of the chain.
    assert ab[500].item() > NoiseSchedule().alpha_bars[500].item()


def test_schedule_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown schedule kind"):
        NoiseSchedule(ScheduleConfig(kind="quadratic"))


def test_add_noise_matches_formula_and_statistics(linear: NoiseSchedule) -> None:
    g = torch.Generator().manual_seed(1)
    x0 = torch.full((4000, 1, 4, 4), 0.5)
    noise = torch.randn(x0.shape, generator=g)
    t = 300
    xt = linear.add_noise(x0, torch.full((4000,), t, dtype=torch.long), noise)
    ab = linear.alpha_bars[t].item()
    assert xt.dtype == torch.float32
    assert torch.allclose(xt, math.sqrt(ab) * x0 + math.sqrt(1 - ab) * noise, atol=1e-6)
    assert xt.mean().item() == pytest.approx(0.5 * math.sqrt(ab), abs=0.01)
    assert xt.std().item() == pytest.approx(math.sqrt(1 - ab), rel=0.02)
    # At the last timestep almost nothing of x0 is left: unit variance noise.
    x_last = linear.add_noise(x0, 999, noise)
    assert x_last.std().item() == pytest.approx(1.0, rel=0.02)
    assert abs(x_last.mean().item()) < 0.02


def test_add_noise_per_sample_timesteps(linear: NoiseSchedule) -> None:
    x0 = torch.ones(3, 2, 2, 2)
    noise = torch.zeros_like(x0)
    xt = linear.add_noise(x0, torch.tensor([0, 10, 999]), noise)
    for i, t in enumerate((0, 10, 999)):
        assert torch.allclose(xt[i], torch.full((2, 2, 2), math.sqrt(linear.alpha_bars[t].item())))
    with pytest.raises(ValueError):
        linear.add_noise(x0, torch.tensor([0, 1, 1000]), noise)


# --- samplers ---------------------------------------------------------------------------------


def test_ddpm_timesteps_and_step_count(linear: NoiseSchedule) -> None:
    small = NoiseSchedule(ScheduleConfig(num_timesteps=20))
    sampler = DDPMSampler(small)
    assert sampler.timesteps == list(range(19, -1, -1))
    steps = list(sample_steps(lambda x, t: torch.zeros_like(x), sampler, torch.randn(2, 1, 4, 4)))
    assert len(steps) == len(sampler.timesteps)
    assert [s.index for s in steps] == list(range(20))
    assert [s.t for s in steps] == sampler.timesteps
    assert all(isinstance(s, Step) for s in steps)
    assert len(DDPMSampler(linear).timesteps) == 1000


def test_ddim_timesteps_evenly_spaced(linear: NoiseSchedule) -> None:
    ts = DDIMSampler(linear, num_steps=50).timesteps
    assert len(ts) == 50 and ts[0] == 999 and ts[-1] == 0
    gaps = [a - b for a, b in zip(ts, ts[1:])]
    assert min(gaps) >= 20 and max(gaps) <= 21
    assert DDIMSampler(linear, num_steps=1000).timesteps == list(range(999, -1, -1))
    assert DDIMSampler(linear, num_steps=1).timesteps == [999]
    with pytest.raises(ValueError):
        DDIMSampler(linear, num_steps=1001)


def test_ddim_eta0_is_deterministic(linear: NoiseSchedule) -> None:
    sampler = DDIMSampler(linear, num_steps=10, eta=0.0)
    eps_fn = lambda x, t: 0.3 * x + 0.001 * t.float().reshape(-1, 1, 1, 1)  # noqa: E731
    x_T = torch.randn(2, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    runs = []
    for seed in (1, 2):
        g = torch.Generator().manual_seed(seed)
        runs.append([s.x_t for s in sample_steps(eps_fn, sampler, x_T, generator=g)])
    runs.append([s.x_t for s in sample_steps(eps_fn, sampler, x_T, generator=None)])
    for a, b, c in zip(*runs):
        assert torch.equal(a, b) and torch.equal(a, c)


def test_ddim_eta_positive_uses_generator(linear: NoiseSchedule) -> None:
    sampler = DDIMSampler(linear, num_steps=10, eta=1.0)
    eps_fn = lambda x, t: 0.3 * x  # noqa: E731
    x_T = torch.randn(2, 1, 6, 6, generator=torch.Generator().manual_seed(0))

    def run(seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return list(sample_steps(eps_fn, sampler, x_T, generator=g))[-2].x_t

    assert torch.equal(run(5), run(5))
    assert not torch.allclose(run(5), run(6))


def test_ddpm_reproducible_with_same_seed() -> None:
    schedule = NoiseSchedule(ScheduleConfig(num_timesteps=50))
    sampler = DDPMSampler(schedule)
    eps_fn = lambda x, t: 0.5 * x  # noqa: E731
    x_T = torch.randn(2, 1, 6, 6, generator=torch.Generator().manual_seed(0))

    def run(seed: int) -> list[torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        return [s.x_t for s in sample_steps(eps_fn, sampler, x_T, generator=g)]

    a, b, c = run(3), run(3), run(4)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.allclose(a[-1], c[-1])
    # The noise really is drawn: one step differs from the noiseless posterior mean.
    assert not torch.allclose(a[0], c[0])


@pytest.mark.parametrize(
    "config",
    [
        ScheduleConfig(num_timesteps=40),
        ScheduleConfig(num_timesteps=40, beta_start=3e-4),
        ScheduleConfig(num_timesteps=40, kind="cosine"),
    ],
)
@pytest.mark.parametrize("clip", [True, False])
@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_final_sample_equals_x0_pred_exactly(kind: str, clip: bool, config: ScheduleConfig) -> None:
    schedule = NoiseSchedule(config)
    sampler = DDPMSampler(schedule, clip_x0=clip) if kind == "ddpm" else DDIMSampler(
        schedule, num_steps=8, eta=0.5, clip_x0=clip
    )
    # An eps that pushes x0_pred outside [-1, 1] so clipping has something to do.
    eps_fn = lambda x, t: -0.7 * x + 0.2  # noqa: E731
    x_T = 2.0 * torch.randn(3, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    steps = list(sample_steps(eps_fn, sampler, x_T, generator=torch.Generator().manual_seed(1)))
    last = steps[-1]
    assert last.t == 0 if kind == "ddpm" else last.t == sampler.timesteps[-1]
    assert torch.equal(last.x_t, last.x0_pred)
    if clip:
        assert last.x0_pred.abs().max().item() <= 1.0
        assert all(s.x0_pred.abs().max().item() <= 1.0 for s in steps)
    else:
        assert last.x0_pred.abs().max().item() > 1.0


def test_ddim_clipped_step_stays_on_one_trajectory(linear: NoiseSchedule) -> None:
    # With eta = 0 the clipped x0 and the noise implied by it must explain both x_t and x_prev,
    # i.e. the step moves along the deterministic path through the clipped estimate.
    sampler = DDIMSampler(linear, num_steps=10, eta=0.0, clip_x0=True)
    g = torch.Generator().manual_seed(4)
    x_t = torch.randn(2, 1, 5, 5, generator=g)
    eps = 3.0 * torch.randn(2, 1, 5, 5, generator=g)  # large: forces x0 outside [-1, 1]
    t = sampler.timesteps[6]
    out = sampler.step(eps, t, x_t)
    x0 = out.pred_original_sample
    assert x0.abs().max().item() == 1.0
    ab_t = linear.alpha_bars[t].item()
    ab_prev = linear.alpha_bars[sampler.prev_timestep(t)].item()
    implied_t = (x_t - math.sqrt(ab_t) * x0) / math.sqrt(1 - ab_t)
    implied_prev = (out.prev_sample - math.sqrt(ab_prev) * x0) / math.sqrt(1 - ab_prev)
    assert torch.allclose(implied_t, implied_prev, atol=1e-4)


def test_ddim_oracle_eps_recovers_x0(linear: NoiseSchedule) -> None:
    x0 = _clean_images()
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(7))
    x_T = linear.add_noise(x0, 999, noise)
    sampler = DDIMSampler(linear, num_steps=25, eta=0.0)
    steps = list(sample_steps(lambda x, t: noise, sampler, x_T))
    assert torch.allclose(steps[-1].x_t, x0, atol=1e-4)
    # Every intermediate x0 prediction is already right, and x_t stays on q(x_t | x0, noise).
    for s in steps[:-1]:
        assert torch.allclose(s.x0_pred, x0, atol=1e-3)
        prev_t = sampler.prev_timestep(s.t)
        assert torch.allclose(s.x_t, linear.add_noise(x0, prev_t, noise), atol=1e-4)


def test_ddpm_oracle_eps_converges_to_x0() -> None:
    # With the true noise of x_t (recomputed from the known x0 each step) the ancestral sampler's
    # x0 predictions are exact, and the chain ends on x0.
    schedule = NoiseSchedule(ScheduleConfig(num_timesteps=100))
    x0 = _clean_images()
    x_T = schedule.add_noise(x0, 99, torch.randn(x0.shape, generator=torch.Generator()))
    ab = schedule.alpha_bars

    def oracle(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = ab[t[0]].item()
        return (x - math.sqrt(a) * x0) / math.sqrt(1 - a)

    steps = list(sample_steps(oracle, DDPMSampler(schedule), x_T, torch.Generator().manual_seed(2)))
    assert torch.allclose(steps[-1].x_t, x0, atol=1e-4)
    assert torch.allclose(steps[50].x0_pred, x0, atol=1e-3)


def test_start_index_starts_midway(linear: NoiseSchedule) -> None:
    x0 = _clean_images()
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(3))
    sampler = DDIMSampler(linear, num_steps=20)
    start = 12
    x_start = linear.add_noise(x0, sampler.timesteps[start], noise)
    seen_t: list[int] = []

    def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        assert t.dtype == torch.long and t.shape == (x.shape[0],)
        seen_t.append(int(t[0]))
        return noise

    steps = list(sample_steps(eps_fn, sampler, x_start, start_index=start))
    assert len(steps) == 20 - start
    assert steps[0].index == start and steps[0].t == sampler.timesteps[start]
    assert seen_t == sampler.timesteps[start:]
    assert torch.allclose(steps[-1].x_t, x0, atol=1e-4)
    with pytest.raises(ValueError):
        next(sample_steps(eps_fn, sampler, x_start, start_index=20))


def test_step_returns_step_output_and_validates(linear: NoiseSchedule) -> None:
    sampler = DDIMSampler(linear, num_steps=5)
    x = torch.randn(1, 1, 4, 4)
    out = sampler.step(torch.zeros_like(x), sampler.timesteps[0], x)
    assert isinstance(out, StepOutput)
    assert out.prev_sample.shape == x.shape and out.prev_sample.dtype == torch.float32
    with pytest.raises(ValueError):
        sampler.step(torch.zeros_like(x), 998, x)  # not one of the sampler's timesteps
    with pytest.raises(ValueError):
        DDPMSampler(linear).step(torch.zeros(1, 1, 3, 3), 5, x)


def test_sampling_does_not_track_gradients(linear: NoiseSchedule) -> None:
    net = torch.nn.Conv2d(1, 1, 3, padding=1)
    sampler = DDIMSampler(linear, num_steps=3)
    steps = list(sample_steps(lambda x, t: net(x), sampler, torch.randn(1, 1, 4, 4)))
    assert not steps[-1].x_t.requires_grad and not steps[0].eps.requires_grad
    assert torch.is_grad_enabled()
