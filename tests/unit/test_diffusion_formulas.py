"""One-step closed forms of the samplers and of classifier-free guidance, computed by hand.

Every expected value here is worked out with plain Python floats from the schedule's betas, never
by calling the code under test, so a wrong coefficient in the samplers of models/diffusion.py
(alpha-bar where alpha belongs, the wrong variance) or a flipped guidance sign in
models/generative.py fails a named test. Indices follow the code: t runs over [0, T) and
alpha-bar before t = 0 is 1.
"""

from __future__ import annotations

import math

import pytest
import torch

from models.diffusion import DDIMSampler, DDPMSampler, NoiseSchedule, ScheduleConfig

# A tiny fixed x_t and a fixed predicted noise, one image of 2x2 pixels, in float64 so that the
# comparison with the hand computation can be tight.
X_T = [0.3, -0.7, 1.2, -0.05]
EPS = [0.5, -1.0, 0.25, 2.0]
SHAPE = (1, 1, 2, 2)

SCHEDULES = {
    "linear-1000": ScheduleConfig(),
    # Few steps with large betas: every coefficient is far from 0 and 1.
    "linear-10": ScheduleConfig(num_timesteps=10, beta_start=0.05, beta_end=0.3),
}


def _tensor(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64).reshape(SHAPE)


def _close(actual: torch.Tensor, expected: list[float]) -> None:
    torch.testing.assert_close(actual, _tensor(expected), rtol=1e-9, atol=1e-12)


def _alpha_bars(betas: list[float]) -> list[float]:
    out, product = [], 1.0
    for beta in betas:
        product *= 1.0 - beta
        out.append(product)
    return out


def _predict_x0(x_t: float, eps: float, ab: float, clip: bool) -> float:
    x0 = (x_t - math.sqrt(1.0 - ab) * eps) / math.sqrt(ab)
    return min(max(x0, -1.0), 1.0) if clip else x0


def _noise(seed: int) -> list[float]:
    """The standard normal draw a sampler makes from a CPU generator with this seed."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(SHAPE, generator=generator, dtype=torch.float64).flatten().tolist()


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- DDPM (Ho et al. 2020, eq. 6-7) ---------------------------------------------------------


def _ddpm_hand(
    betas: list[float], t: int, x_t: list[float], clip: bool
) -> tuple[list[float], list[float], float]:
    """(posterior mean, x0_pred, posterior std) of q(x_{t-1} | x_t, x0_pred), element by element."""
    ab = _alpha_bars(betas)
    ab_t = ab[t]
    ab_prev = ab[t - 1] if t > 0 else 1.0
    beta_t = betas[t]
    alpha_t = 1.0 - beta_t
    c_x0 = math.sqrt(ab_prev) * beta_t / (1.0 - ab_t)
    c_xt = math.sqrt(alpha_t) * (1.0 - ab_prev) / (1.0 - ab_t)
    std = math.sqrt(beta_t * (1.0 - ab_prev) / (1.0 - ab_t))  # sqrt of beta-tilde_t
    x0 = [_predict_x0(x, e, ab_t, clip) for x, e in zip(x_t, EPS)]
    mean = [c_x0 * a + c_xt * x for a, x in zip(x0, x_t)]
    return mean, x0, std


@pytest.mark.parametrize("clip", [False, True], ids=["raw", "clipped"])
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_ddpm_step_mean_is_posterior_mean_eq7(name: str, clip: bool) -> None:
    schedule = NoiseSchedule(SCHEDULES[name])
    sampler = DDPMSampler(schedule, clip_x0=clip)
    betas = schedule.betas.tolist()
    T = len(betas)
    other = [x + d for x, d in zip(X_T, [0.2, 0.1, -0.4, 0.3])]
    for t in (0, 1, 2, T // 2, T - 1):
        # The same seed draws the same noise in both steps, so the difference of the two samples
        # is the difference of the two posterior means: the noise and its scale drop out.
        a = sampler.step(_tensor(EPS), t, _tensor(X_T), _seeded(7))
        b = sampler.step(_tensor(EPS), t, _tensor(other), _seeded(7))
        mean_a, x0_a, _ = _ddpm_hand(betas, t, X_T, clip)
        mean_b, x0_b, _ = _ddpm_hand(betas, t, other, clip)
        _close(a.pred_original_sample, x0_a)
        _close(b.pred_original_sample, x0_b)
        _close(a.prev_sample - b.prev_sample, [p - q for p, q in zip(mean_a, mean_b)])


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_ddpm_step_noise_has_posterior_variance_eq7(name: str) -> None:
    """The code uses beta-tilde_t = beta_t (1 - abar_{t-1}) / (1 - abar_t), not beta_t."""
    schedule = NoiseSchedule(SCHEDULES[name])
    sampler = DDPMSampler(schedule, clip_x0=False)
    betas = schedule.betas.tolist()
    T = len(betas)
    z1, z2 = _noise(1), _noise(2)
    for t in (1, 2, T // 2, T - 1):
        mean, _, std = _ddpm_hand(betas, t, X_T, clip=False)
        one = sampler.step(_tensor(EPS), t, _tensor(X_T), _seeded(1)).prev_sample
        two = sampler.step(_tensor(EPS), t, _tensor(X_T), _seeded(2)).prev_sample
        # Same x_t, two seeds: the means cancel and only std * (z1 - z2) is left.
        _close(one - two, [std * (p - q) for p, q in zip(z1, z2)])
        _close(one, [m + std * z for m, z in zip(mean, z1)])
    # At t = 0 the posterior variance is 0: no noise at all, the sample is x0_pred.
    _, x0, _ = _ddpm_hand(betas, 0, X_T, clip=False)
    _close(sampler.step(_tensor(EPS), 0, _tensor(X_T), _seeded(1)).prev_sample, x0)


# --- DDIM (Song et al. 2021, eq. 12 and 16) -------------------------------------------------


def _ddim_hand(
    betas: list[float], t: int, prev_t: int, eta: float, clip: bool, z: list[float]
) -> tuple[list[float], list[float], float]:
    """(x_{prev_t}, x0_pred, sigma) of one DDIM step with noise z; prev_t = -1 is the clean image."""
    ab = _alpha_bars(betas)
    ab_t = ab[t]
    x0 = [_predict_x0(x, e, ab_t, clip) for x, e in zip(X_T, EPS)]
    # With a clipped x0 the noise is the one that clipped x0 implies for this x_t.
    eps = [(x - math.sqrt(ab_t) * a) / math.sqrt(1.0 - ab_t) for x, a in zip(X_T, x0)] if clip else EPS
    if prev_t < 0:
        return x0, x0, 0.0
    ab_prev = ab[prev_t]
    sigma = eta * math.sqrt((1.0 - ab_prev) / (1.0 - ab_t)) * math.sqrt(1.0 - ab_t / ab_prev)
    direction = math.sqrt(1.0 - ab_prev - sigma**2)
    prev = [math.sqrt(ab_prev) * a + direction * e + sigma * n for a, e, n in zip(x0, eps, z)]
    return prev, x0, sigma


# (schedule, num_steps, [(t, the timestep DDIM moves to from t), ...]); timesteps are evenly
# spaced from T-1 down to 0: round(999 * k / 9) for 10 of 1000, round(9 * k / 3) for 4 of 10.
DDIM_CASES = [
    ("linear-1000", 10, [(999, 888), (555, 444), (111, 0), (0, -1)]),
    ("linear-10", 4, [(9, 6), (6, 3), (3, 0), (0, -1)]),
]


@pytest.mark.parametrize("clip", [False, True], ids=["raw", "clipped"])
@pytest.mark.parametrize(("name", "num_steps", "pairs"), DDIM_CASES, ids=[c[0] for c in DDIM_CASES])
def test_ddim_eta0_step_eq12(name: str, num_steps: int, pairs: list[tuple[int, int]], clip: bool) -> None:
    schedule = NoiseSchedule(SCHEDULES[name])
    sampler = DDIMSampler(schedule, num_steps=num_steps, eta=0.0, clip_x0=clip)
    betas = schedule.betas.tolist()
    no_noise = [0.0] * len(X_T)
    for t, prev_t in pairs:
        assert sampler.prev_timestep(t) == prev_t
        out = sampler.step(_tensor(EPS), t, _tensor(X_T), _seeded(3))
        prev, x0, sigma = _ddim_hand(betas, t, prev_t, 0.0, clip, no_noise)
        assert sigma == 0.0
        _close(out.pred_original_sample, x0)
        _close(out.prev_sample, prev)


@pytest.mark.parametrize("clip", [False, True], ids=["raw", "clipped"])
@pytest.mark.parametrize(("name", "num_steps", "pairs"), DDIM_CASES, ids=[c[0] for c in DDIM_CASES])
def test_ddim_eta1_step_eq12_with_sigma_eq16(
    name: str, num_steps: int, pairs: list[tuple[int, int]], clip: bool
) -> None:
    schedule = NoiseSchedule(SCHEDULES[name])
    sampler = DDIMSampler(schedule, num_steps=num_steps, eta=1.0, clip_x0=clip)
    betas = schedule.betas.tolist()
    z1, z2 = _noise(5), _noise(6)
    for t, prev_t in pairs:
        assert sampler.prev_timestep(t) == prev_t
        one = sampler.step(_tensor(EPS), t, _tensor(X_T), _seeded(5))
        two = sampler.step(_tensor(EPS), t, _tensor(X_T), _seeded(6)).prev_sample
        prev, x0, sigma = _ddim_hand(betas, t, prev_t, 1.0, clip, z1)
        if prev_t >= 0:
            assert sigma > 0.0
        _close(one.pred_original_sample, x0)
        _close(one.prev_sample, prev)
        _close(one.prev_sample - two, [sigma * (p - q) for p, q in zip(z1, z2)])


def test_ddim_eta1_over_every_timestep_is_the_ddpm_step() -> None:
    """With all T timesteps, sigma(eta = 1) is the DDPM posterior std and the DDIM mean is eq. 7."""
    schedule = NoiseSchedule(SCHEDULES["linear-10"])
    ddim = DDIMSampler(schedule, num_steps=schedule.num_timesteps, eta=1.0, clip_x0=False)
    ddpm = DDPMSampler(schedule, clip_x0=False)
    betas = schedule.betas.tolist()
    for t in range(1, schedule.num_timesteps):
        _, _, sigma = _ddim_hand(betas, t, t - 1, 1.0, False, _noise(0))
        _, _, std = _ddpm_hand(betas, t, X_T, clip=False)
        assert sigma == pytest.approx(std, rel=1e-12)
        a = ddim.step(_tensor(EPS), t, _tensor(X_T), _seeded(t)).prev_sample
        b = ddpm.step(_tensor(EPS), t, _tensor(X_T), _seeded(t)).prev_sample
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


# --- classifier-free guidance (Ho & Salimans 2022) --------------------------------------------
# The convention documented in models/generative.py: eps = eps_uncond + (1 + w)(eps_cond - eps_uncond),
# so w = 0 is plain conditional sampling. models.generative is imported inside the tests so that
# the sampler pins above stay independent of the adapter module.

NUM_CLASSES = 3
# Known predictions for each class (rows 0..2) and for the null class (row 3, the unconditional
# prediction), over a 1x2x2 image. Dyadic values, so float32 arithmetic is exact.
STUB_EPS = torch.tensor(
    [
        [0.5, -0.25, 1.0, 0.0],  # class 0
        [-1.0, 0.75, 0.25, 2.0],  # class 1
        [0.0, 0.0, -0.5, 1.5],  # class 2
        [0.25, 0.5, -0.75, 1.0],  # null class
    ]
)
GUIDANCE_SCALES = [0.0, 1.0, 2.5, -1.0]


def _hand_guided(labels: list[int], w: float) -> torch.Tensor:
    uncond = STUB_EPS[NUM_CLASSES].tolist()
    rows = [[u + (1.0 + w) * (c - u) for c, u in zip(STUB_EPS[k].tolist(), uncond)] for k in labels]
    return torch.tensor(rows).reshape(len(labels), 1, 2, 2)


@pytest.mark.parametrize("w", GUIDANCE_SCALES)
def test_guided_eps_is_uncond_plus_one_plus_w_times_difference(w: float) -> None:
    from models.capabilities import guided_eps

    cond = STUB_EPS[[0, 1, 2]].reshape(3, 1, 2, 2)
    uncond = STUB_EPS[[NUM_CLASSES] * 3].reshape(3, 1, 2, 2)
    torch.testing.assert_close(guided_eps(cond, uncond, w), _hand_guided([0, 1, 2], w), rtol=0, atol=1e-6)


def test_guidance_pushes_away_from_the_unconditional_prediction() -> None:
    """w > 0 lands beyond the conditional prediction, on the far side from the unconditional one."""
    from models.capabilities import guided_eps

    cond, uncond = STUB_EPS[1], STUB_EPS[NUM_CLASSES]
    guided = guided_eps(cond, uncond, 2.0)
    direction = cond - uncond
    assert float(torch.dot(guided - cond, direction)) > 0
    assert float(torch.dot(guided - uncond, direction)) > float(torch.dot(direction, direction))


def _stub_forward(x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    if labels is None:
        labels = torch.full((x.shape[0],), NUM_CLASSES, dtype=torch.long)
    assert labels.dtype == torch.long and labels.shape == (x.shape[0],)
    return STUB_EPS[labels].reshape(x.shape)


def _adapter_eps(labels: torch.Tensor | None, guidance: float) -> torch.Tensor:
    """The DDPM adapter's predicted noise with its network's forward replaced by ``_stub_forward``.

    The one place in this file that knows the adapter: a tiny conditional UNet is built through
    the architecture registry and asked for its noise through the ``sampler`` capability.
    """
    from models.generative import build_model

    config = {"image_shape": [1, 2, 2], "base_channels": 8, "channel_mults": [1],
              "time_embed_dim": 8, "num_classes": NUM_CLASSES}
    model = build_model("unet-ddpm", config, {"schedule": {"num_timesteps": 10}})
    model.net.forward = _stub_forward
    n = 1 if labels is None else len(labels)
    x = torch.zeros((n, 1, 2, 2))
    t = torch.full((n,), 5, dtype=torch.long)
    return model.sampler.eps(x, t, labels, guidance)


@pytest.mark.parametrize("w", GUIDANCE_SCALES)
def test_adapter_guides_with_its_class_and_the_null_class(w: float) -> None:
    """The batched forward pass pairs each sample's class prediction with the null-class one."""
    labels = [0, 1, 2, 1]
    eps = _adapter_eps(torch.tensor(labels), w)
    torch.testing.assert_close(eps, _hand_guided(labels, w), rtol=0, atol=1e-6)


def test_adapter_without_labels_predicts_unconditionally_whatever_the_guidance() -> None:
    torch.testing.assert_close(_adapter_eps(None, 3.0), STUB_EPS[NUM_CLASSES].reshape(1, 1, 2, 2))
